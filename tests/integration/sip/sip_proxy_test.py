#!/usr/bin/env python3
"""SIP registrar and proxy checks with SIPp (RFC 3261 sections 10, 16, 17; RFC 7616).

Starts sipboxd on 127.0.0.1 with a temporary data directory and free ports, provisions
the test users, and drives it with the SIPp scenarios next to this file, one check at a
time (the stale-nonce check, which has to wait out the nonce lifetime, runs alongside
the others). Prints PASS/FAIL per check, the SIP messages of every failed check, and a
summary; exits 1 when a check fails. sipboxd runs in a network namespace of the test's
own when unshare is allowed (tests/integration/netns.py).

    sip_proxy_test.py SIPBOXD SIPBOX [--only NAME] [--keep]
    sip_proxy_test.py --server 127.0.0.1:5060 [--tls-port 5061]    # a server already running

The scenarios: register*.xml are REGISTER clients; callee.xml registers a callee and
hands the incoming INVITE (a Call-ID of its own) to its out-of-call scenario uas_*.xml
(-oocsf), then unregisters; uac_*.xml are the callers (alice). Per-process values come
as SIPp keys (-key domain/proto/me/uri_tp/callee/...); the replay check injects the
captured Authorization header from a CSV (-inf). Every SIPp process has a -timeout, and
its message trace (-trace_msg) and errors (-trace_err) are printed when its check fails.

With --server nothing is started: the server must know the domain test.example, the
users below with the password "secret" (not "nobody"), challenge REGISTER (401) and
INVITEs from its local users (407), use a nonce lifetime of --nonce-lifetime seconds
and a no-answer timeout well under 15 s.

TLS: SIPp is built without TLS here, so SIPp speaks TCP to local stunnel tunnels: a
client tunnel wraps the callers' and callees' outgoing connections in TLS towards the
server's TLS port, and a server tunnel (the callee's Contact, ;transport=tls) unwraps
connections the server opens towards the callee.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel") or "/usr/bin/stunnel4"
DOMAIN = "test.example"
PASSWORD = "secret"
# One user per check, so that no check sees another one's bindings.
USERS = ["alice",  # the caller in every call
         "bob",    # call over UDP
         "carol",  # exists, never registered: 480
         "dave",   # CANCEL before answer
         "erin",   # busy
         "frank",  # no answer
         "grace",  # two contacts: forking
         "heidi",  # call over TCP
         "ivan",   # call over TLS
         "judy",   # behind NAT
         "reg1", "reg2", "reg3", "reg4", "reg5", "reg6"]  # REGISTER checks
NO_ANSWER_SECONDS = 5
NAT_CONTACT = "10.0.0.7:5060"  # what the UA behind NAT puts in Via and Contact

SIPP_TIMEOUT = 15       # seconds: -timeout of a SIPp process (it then fails)
READY_TIMEOUT = 10      # seconds for callees to register
CALLEE_GRACE = 5        # seconds for callees to finish after the caller ended


class Failure(Exception):
    pass


class Context:
    def __init__(self, work):
        self.work = work
        self.procs = []         # every process started, for the final cleanup
        self.used_ports = set()
        self.seq = 0
        self.server = None      # (host, port) for UDP and TCP
        self.tls_port = None
        self.nonce_lifetime = 10

    def name(self, stem):
        self.seq += 1
        return os.path.join(self.work, "%02d-%s" % (self.seq, stem))

    def port(self, host="127.0.0.1", udp=True):
        """A port free for TCP (and UDP) on host, not handed out before."""
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
                if port in self.used_ports:
                    continue
                if udp:
                    try:
                        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                            u.bind((host, port))
                    except OSError:
                        continue
            self.used_ports.add(port)
            return port
        raise RuntimeError("no free port")


def wait_for(predicate, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def stop(proc, sig=signal.SIGTERM, seconds=5):
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


class Sipp:
    """One SIPp process running one scenario with -m 1."""

    def __init__(self, ctx, label, scenario, user, local_ip="127.0.0.1", transport="udp",
                 keys=None, password=PASSWORD, auth_uri=DOMAIN, extra=(), remote=None,
                 timeout=SIPP_TIMEOUT, port=None):
        self.ctx = ctx
        self.label = label
        self.port = port or ctx.port(local_ip)
        self.timeout = timeout
        base = ctx.name(label)
        self.msg_log = base + ".msg.log"
        self.err_log = base + ".err.log"
        self.out_log = base + ".out.log"
        host, port = remote or ctx.server
        all_keys = {"domain": DOMAIN, "proto": transport.upper(),
                    "me": "%s:%d" % (local_ip, self.port),
                    "uri_tp": "" if transport == "udp" else ";transport=" + transport}
        all_keys.update(keys or {})
        self.cmd = [SIPP, "-sf", os.path.join(HERE, scenario), "%s:%d" % (host, port),
                    "-i", local_ip, "-bind_local", "-p", str(self.port),
                    "-t", "u1" if transport == "udp" else "t1",
                    "-s", user, "-ap", password, "-auth_uri", auth_uri,
                    "-m", "1", "-nostdin", "-timeout", "%ds" % timeout, "-timeout_error",
                    "-trace_msg", "-message_file", self.msg_log,
                    "-trace_err", "-error_file", self.err_log]
        for key, value in all_keys.items():
            self.cmd += ["-key", key, value]
        self.cmd += list(extra)
        self.out = open(self.out_log, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=ctx.work)
        ctx.procs.append(self.proc)

    def wait(self, seconds=None):
        """Waits for the exit status (None if SIPp had to be killed)."""
        if seconds is None:
            seconds = self.timeout + 5
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            stop(self.proc, signal.SIGKILL)
            self.out.close()
            return None
        self.out.close()
        return self.proc.returncode

    def report(self):
        """The SIP messages and SIPp's complaints, for a failed check."""
        lines = ["--- %s (exit %s): %s" % (self.label, self.proc.returncode, " ".join(self.cmd))]
        for title, path in (("errors", self.err_log), ("messages", self.msg_log)):
            if os.path.exists(path):
                text = open(path, errors="replace").read()
                if len(text) > 16000:
                    text = "[... %d characters cut ...]\n" % (len(text) - 16000) + text[-16000:]
                lines.append("--- %s %s:\n%s" % (self.label, title, text.rstrip()))
        if self.proc.returncode not in (0, None) and os.path.exists(self.out_log):
            tail = open(self.out_log, errors="replace").read()[-1500:]
            lines.append("--- %s screen (end):\n%s" % (self.label, tail.rstrip()))
        return "\n".join(lines)


def expect_exit(sipp, rc):
    if rc is None:
        raise Failure("%s did not end (killed)" % sipp.label)
    if rc != 0:
        raise Failure("%s exited with %d" % (sipp.label, rc))


# ---- checks -------------------------------------------------------------------------

def register_check(ctx, user, transport="udp", remote=None, keys=None):
    def run(sipps):
        sipp = Sipp(ctx, "register-" + user, "register.xml", user, transport=transport,
                    remote=remote, keys=keys)
        sipps.append(sipp)
        expect_exit(sipp, sipp.wait())
        # The credentials SIPp computed answer an MD5 challenge with qop=auth.
        sent = re.findall(r"^Authorization:(.*)$", open(sipp.msg_log, errors="replace").read(), re.M)
        if not sent or not all("algorithm=MD5" in a and "qop=auth" in a for a in sent):
            raise Failure("expected Digest MD5 with qop=auth; SIPp sent: %s" % sent)
    return run


def wrong_password_check(ctx):
    def run(sipps):
        sipp = Sipp(ctx, "wrong-password", "register_wrong_password.xml", "reg2", password="not-" + PASSWORD)
        sipps.append(sipp)
        expect_exit(sipp, sipp.wait())
    return run


def start_stale_nonce(ctx):
    """Starts the stale-nonce scenario; it waits the nonce lifetime + 2 s itself."""
    pause_ms = (ctx.nonce_lifetime + 2) * 1000
    return Sipp(ctx, "stale-nonce", "register_stale_nonce.xml", "reg3",
                extra=["-d", str(pause_ms)], timeout=ctx.nonce_lifetime + SIPP_TIMEOUT)


def stale_nonce_check(sipp):
    def run(sipps):
        sipps.append(sipp)
        expect_exit(sipp, sipp.wait())
    return run


def replay_check(ctx):
    def run(sipps):
        first = Sipp(ctx, "replay-first", "register_once.xml", "reg4")
        sipps.append(first)
        expect_exit(first, first.wait())
        # The Authorization header of the REGISTER that was accepted.
        text = open(first.msg_log, errors="replace").read()
        found = re.findall(r"^Authorization:[ \t]*(.*?)\r?$", text, re.M)
        if not found:
            raise Failure("no Authorization header in the trace of replay-first")
        auth = found[-1]
        if ";" in auth:
            raise Failure("cannot inject an Authorization header with ';': %r" % auth)
        csv = ctx.name("replay.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n%s;\n" % auth)
        again = Sipp(ctx, "replay-again", "register_replay.xml", "reg4", extra=["-inf", csv])
        sipps.append(again)
        expect_exit(again, again.wait())
    return run


class Callee:
    """A SIPp process that registers `user`, answers a call with `uas`, unregisters."""

    def __init__(self, ctx, user, uas, local_ip="127.0.0.1", transport="udp", remote=None,
                 keys=None, extra=(), label=None, port=None):
        label = label or "callee-" + user
        self.ready = ctx.name(label + ".ready")
        self.done = ctx.name(label + ".done")
        all_keys = {"ready_file": self.ready, "done_file": self.done}
        all_keys.update(keys or {})
        self.sipp = Sipp(ctx, label, "callee.xml", user, local_ip=local_ip, transport=transport,
                         remote=remote, keys=all_keys,
                         extra=["-oocsf", os.path.join(HERE, uas)] + list(extra),
                         timeout=SIPP_TIMEOUT + 10, port=port)


def call_check(ctx, callee_specs, uac, callee_user, transport="udp", remote=None, keys=None):
    """callee_specs: dicts of Callee arguments; uac: the caller's scenario."""
    def run(sipps):
        callees = []
        for spec in callee_specs:
            callee = Callee(ctx, **spec)
            callees.append(callee)
            sipps.append(callee.sipp)
        registered = wait_for(lambda: all(os.path.exists(c.ready) or c.sipp.proc.poll() is not None
                                          for c in callees), READY_TIMEOUT)
        missing = [c.sipp.label for c in callees if not os.path.exists(c.ready)]
        if not registered or missing:
            for c in callees:
                stop(c.sipp.proc, signal.SIGKILL)
            raise Failure("callee did not register: %s" % ", ".join(missing))
        caller = Sipp(ctx, "caller-" + callee_user, uac, "alice", transport=transport, remote=remote,
                      keys=dict(keys or {}, callee=callee_user), auth_uri="%s@%s" % (callee_user, DOMAIN))
        sipps.append(caller)
        caller_rc = caller.wait()
        # The callees end by themselves once their dialog is over (then they unregister).
        deadline = time.monotonic() + CALLEE_GRACE
        for c in callees:
            c.rc = c.sipp.wait(max(0.1, deadline - time.monotonic()))
        expect_exit(caller, caller_rc)
        for c in callees:
            if not os.path.exists(c.done):
                raise Failure("%s: its dialog did not complete (out-of-call scenario %s)"
                              % (c.sipp.label, os.path.basename(c.sipp.cmd[c.sipp.cmd.index("-oocsf") + 1])))
            expect_exit(c.sipp, c.rc)
    return run


def refused_check(ctx, callee_user, uac):
    def run(sipps):
        caller = Sipp(ctx, "caller-" + callee_user, uac, "alice", keys={"callee": callee_user},
                      auth_uri="%s@%s" % (callee_user, DOMAIN))
        sipps.append(caller)
        expect_exit(caller, caller.wait())
    return run


# ---- TLS tunnels ----------------------------------------------------------------------

def start_tunnels(ctx, certificate, key):
    """stunnel: a client tunnel (TCP here -> TLS to the server) and, for the TLS callee,
    a server tunnel (TLS from the server -> TCP to the callee's SIPp). Returns
    (client_port, server_port, callee_tcp_port)."""
    client_port = ctx.port(udp=False)
    server_port = ctx.port(udp=False)
    callee_port = ctx.port()
    conf = ctx.name("stunnel.conf")
    with open(conf, "w") as f:
        f.write("foreground = yes\npid =\noutput = %s\ndebug = 5\n\n" % (conf + ".log") +
                "[to-server]\nclient = yes\naccept = 127.0.0.1:%d\nconnect = %s:%d\n\n"
                % (client_port, ctx.server[0], ctx.tls_port) +
                "[to-callee]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\ncert = %s\nkey = %s\n"
                % (server_port, callee_port, certificate, key))
    proc = subprocess.Popen([STUNNEL, conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    ctx.procs.append(proc)

    def listening():
        for port in (client_port, server_port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                return False
        return True
    if not wait_for(listening, 10, 0.1):
        raise RuntimeError("stunnel did not start: %s" % open(conf + ".log", errors="replace").read()
                           if os.path.exists(conf + ".log") else "stunnel did not start")
    return client_port, server_port, callee_port


def make_certificate(ctx, data_dir):
    """A self-signed certificate for the callee's TLS tunnel."""
    cert, key = os.path.join(ctx.work, "callee-cert.pem"), os.path.join(ctx.work, "callee-key.pem")
    if shutil.which("openssl"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
        return cert, key
    # Without the openssl tool: the pair sipboxd generated at its first start.
    return os.path.join(data_dir, "tls", "cert.pem"), os.path.join(data_dir, "tls", "key.pem")


# ---- sipboxd --------------------------------------------------------------------------

def start_sipboxd(ctx, sipboxd, sipbox):
    data_dir = os.path.join(ctx.work, "data")
    for user in USERS:
        subprocess.run([sipbox, "--data-dir", data_dir, "user", "add", user, "--password", PASSWORD,
                        "--domain", DOMAIN], check=True, capture_output=True, timeout=30)
    for path, value in (("/sipbox-routing:proxy/no-answer-timeout-seconds", NO_ANSWER_SECONDS),
                        ("/sipbox-routing:registrar/nonce-lifetime-seconds", ctx.nonce_lifetime)):
        subprocess.run([sipbox, "--data-dir", data_dir, "config", "set", path, str(value)],
                       check=True, capture_output=True, timeout=30)
    # UDP+TCP on N, TLS on N+1, WebSocket on N+2: all must be free.
    for _ in range(50):
        port = ctx.port()
        try:
            for other in (port + 1, port + 2):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", other))
            break
        except OSError:
            continue
    else:
        raise RuntimeError("no three free ports in a row")
    ctx.used_ports.update((port + 1, port + 2))
    ctx.server = ("127.0.0.1", port)
    ctx.tls_port = port + 1
    log_path = os.path.join(ctx.work, "sipboxd.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", "127.0.0.1", "--sip-port", str(port),
                             "--http-port", "0", "--netconf-port", "0"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ctx.procs.append(proc)

    def started():
        return proc.poll() is not None or b"started" in open(log_path, "rb").read()
    wait_for(started, 15)
    if proc.poll() is not None or b"started" not in open(log_path, "rb").read():
        raise RuntimeError("sipboxd did not start:\n" + open(log_path, errors="replace").read())
    return proc, log_path, data_dir


# ---- main -----------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sipboxd", nargs="?")
    parser.add_argument("sipbox", nargs="?")
    parser.add_argument("--server", help="HOST:PORT of a server already running (nothing is started)")
    parser.add_argument("--tls-port", type=int, help="its TLS port (default PORT+1)")
    parser.add_argument("--nonce-lifetime", type=int, default=10, help="seconds (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--only", help="run only the checks whose name contains this")
    args = parser.parse_args()
    if not args.server and not (args.sipboxd and args.sipbox):
        parser.error("give SIPBOXD SIPBOX, or --server")
    if not args.server:
        # A network namespace of our own when allowed: whatever sipboxd sends towards a
        # foreign address (the NAT check's 10.0.0.7) goes nowhere.
        sys.path.insert(0, os.path.dirname(HERE))
        sys.dont_write_bytecode = True
        import netns
        netns.isolate()

    work = tempfile.mkdtemp(prefix="sip_proxy_test.")
    ctx = Context(work)
    ctx.nonce_lifetime = args.nonce_lifetime
    results = []
    daemon = None
    try:
        if args.server:
            host, port = args.server.rsplit(":", 1)
            ctx.server = (host, int(port))
            ctx.tls_port = args.tls_port or int(port) + 1
            data_dir = None
        else:
            daemon, daemon_log, data_dir = start_sipboxd(ctx, args.sipboxd, args.sipbox)

        stale = start_stale_nonce(ctx) if not args.only or args.only in "register_stale_nonce" else None

        certificate, key = make_certificate(ctx, data_dir)
        tunnel_client, tunnel_server, tls_callee_port = start_tunnels(ctx, certificate, key)
        tls_remote = ("127.0.0.1", tunnel_client)

        checks = [
            ("register_udp", register_check(ctx, "reg1")),
            ("register_wrong_password", wrong_password_check(ctx)),
            ("register_replayed_nonce", replay_check(ctx)),
            ("call_udp", call_check(ctx, [dict(user="bob", uas="uas_answer.xml")], "uac_call.xml", "bob")),
            ("cancel_before_answer", call_check(ctx, [dict(user="dave", uas="uas_ring_cancel.xml")],
                                                "uac_cancel.xml", "dave")),
            ("busy_486", call_check(ctx, [dict(user="erin", uas="uas_busy.xml")], "uac_busy.xml", "erin")),
            ("not_registered_480", refused_check(ctx, "carol", "uac_unavailable.xml")),
            ("unknown_user_404", refused_check(ctx, "nobody", "uac_not_found.xml")),
            ("forking", call_check(ctx, [
                dict(user="grace", uas="uas_answer.xml", local_ip="127.0.0.2", label="callee-grace-answers",
                     extra=["-d", "1000"]),
                dict(user="grace", uas="uas_ring_cancel.xml", local_ip="127.0.0.3", label="callee-grace-rings")],
                "uac_call.xml", "grace")),
            ("register_tcp", register_check(ctx, "reg5", transport="tcp")),
            ("call_tcp", call_check(ctx, [dict(user="heidi", uas="uas_answer.xml", transport="tcp")],
                                    "uac_call.xml", "heidi", transport="tcp")),
            ("register_tls", register_check(ctx, "reg6", transport="tls", remote=tls_remote)),
            # The TLS callee's SIPp listens (TCP) where the server tunnel delivers, and
            # its Contact is the tunnel's TLS port.
            ("call_tls", call_check(ctx, [dict(user="ivan", uas="uas_answer.xml", transport="tls",
                                               remote=tls_remote, port=tls_callee_port,
                                               keys={"me": "127.0.0.1:%d" % tunnel_server})],
                                    "uac_call.xml", "ivan", transport="tls", remote=tls_remote)),
            ("nat_contact", call_check(ctx, [dict(user="judy", uas="uas_ring_cancel.xml", local_ip="127.0.0.5",
                                                  keys={"me": NAT_CONTACT})],
                                       "uac_cancel.xml", "judy")),
            ("no_answer_timeout", call_check(ctx, [dict(user="frank", uas="uas_ring_cancel.xml")],
                                             "uac_no_answer.xml", "frank")),
        ]
        if stale:
            checks.append(("register_stale_nonce", stale_nonce_check(stale)))
        for name, run in checks:
            if args.only and args.only not in name:
                continue
            sipps = []
            try:
                run(sipps)
                results.append((name, True))
                print("PASS %s" % name, flush=True)
            except Failure as failure:
                results.append((name, False))
                print("FAIL %s: %s" % (name, failure), flush=True)
                for sipp in sipps:
                    print(sipp.report(), flush=True)
            finally:
                for sipp in sipps:
                    stop(sipp.proc, signal.SIGKILL)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        # Set-up trouble (sipbox, sipboxd, stunnel, openssl): one failure, said plainly.
        detail = getattr(error, "stderr", None)
        print("FAIL harness: %s%s" % (error, ("\n" + detail.decode(errors="replace")) if detail else ""))
        results.append(("harness", False))
    finally:
        if daemon is not None:
            code = stop(daemon, signal.SIGTERM, 10)
            ok = code == 0
            results.append(("sipboxd_stops_cleanly", ok))
            print("%s sipboxd_stops_cleanly (exit code %s)" % ("PASS" if ok else "FAIL", code))
            if not all(ok for _, ok in results):
                print("--- sipboxd log (end):\n" + open(daemon_log, errors="replace").read()[-6000:])
        for proc in ctx.procs:
            stop(proc, signal.SIGKILL)
        if args.keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    failed = [name for name, ok in results if not ok]
    print("%d of %d checks passed%s" % (len(results) - len(failed), len(results),
                                       ("; failed: " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
