#!/usr/bin/env python3
"""bench/flood: sipboxd's CPU and the legitimate users' call success under REGISTER and
INVITE floods of rising rate, with the intrusion prevention system on and off (the
figure of the BESIP papers, issue 5). Not a test: it prints a table.

Per run (one flood kind, one rate, one mode) a fresh sipboxd on 127.0.0.1 (a copy of a
data directory configured once per mode), then:
  - bob (SIPp, 127.0.0.4) registers and answers calls; alice (SIPp, 127.0.0.2) keeps
    registering and calling bob through the proxy at --user-rate calls/s (Digest on
    both the REGISTER and the INVITE), from 1 s before the flood to 1 s after it;
  - the attacker (SIPp, 127.0.0.3) sends one REGISTER or one INVITE per SIPp call, at
    RATE per second for --seconds, answers ignored (scenarios of
    tests/integration/security/).
Mode "on": the defaults of yang/sipbox-security.yang plus BESIP's rule (REGISTER
flood, sid 1000001, count 50 per 5 s, fwsam 10 min); the attacker is banned after about
50 messages, the rest is dropped before parsing. Mode "off": security/enabled false.

Measured: sipboxd's CPU (utime + stime of the process, /proc/PID/stat; 100 % = one
core) over the flood; the rate SIPp achieved; alice's successful calls; with the IPS on,
when the ban came (attacker messages sent before it, from SIPp's per-second counts) and
the CPU per attacker packet after it: sipboxd's CPU between half a second after the ban
and the flood's end, over the packets SIPp sent in that time (both interpolated at SIPp's
one-second statistics rows). A baseline run without a flood gives the CPU of alice's
traffic alone, which is subtracted for the "per packet" figure with the IPS off.
"""
import argparse
import csv
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "integration" / "security"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER, USER_IP, ATTACKER, CALLEE_IP = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"
DOMAIN, PASSWORD = "test.example", "secret"
SEC = "/sipbox-security:security/"
BESIP_RULE = ('alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:"SIP DoS attempt(registerflood)"; '
              'content:"REGISTER sip"; detection_filter:track by_src, count 50, seconds 5; '
              'classtype:misc-attack; sid:1000001; rev:1; fwsam:src, 10min;)')

PROCS = []


def cpu_seconds(pid):
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def stop(proc, sig=signal.SIGTERM, seconds=10):
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


def free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_port():
    for _ in range(100):
        base = free_port(SERVER)
        try:
            for p in (base, base + 1, base + 2):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind((SERVER, p))
            return base
        except OSError:
            continue
    raise RuntimeError("no three free ports in a row")


def answers(port, seconds):
    deadline = time.monotonic() + seconds
    n = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((USER_IP, 0))
        s.settimeout(0.3)
        me = "%s:%d" % s.getsockname()
        while time.monotonic() < deadline:
            n += 1
            s.sendto(("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKping%d;rport\r\n"
                      "Max-Forwards: 70\r\nFrom: <sip:ping@%s>;tag=p%d\r\nTo: <sip:%s>\r\nCall-ID: ping%d-%d\r\n"
                      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                      % (SERVER, port, me, n, USER_IP, n, SERVER, n, os.getpid())).encode(), (SERVER, port))
            try:
                s.recv(65535)
                return True
            except socket.timeout:
                continue
    return False


class Sipp:
    def __init__(self, work, label, scenario, port, local_ip, user, keys, extra, timeout):
        self.stat_file = work / (label + ".stat.csv")
        lport = free_port(local_ip)
        cmd = [SIPP, "-sf", str(SCENARIOS / scenario), "%s:%d" % (SERVER, port), "-i", local_ip, "-bind_local",
               "-p", str(lport), "-t", "u1", "-s", user, "-ap", PASSWORD, "-nostdin", "-timeout", "%ds" % timeout,
               "-trace_stat", "-stf", str(self.stat_file), "-fd", "1",
               "-key", "domain", DOMAIN, "-key", "me", "%s:%d" % (local_ip, lport)]
        for key, value in keys.items():
            cmd += ["-key", key, value]
        cmd += [str(x) for x in extra]
        self.out = open(work / (label + ".out.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=work)
        PROCS.append(self.proc)

    def finish(self, seconds=20):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGUSR1)  # no new calls; the current ones end
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            stop(self.proc, signal.SIGKILL)
        self.out.close()

    def rows(self):
        """(epoch seconds, cumulative calls created, successful, failed) per statistics row."""
        out = []
        if not self.stat_file.exists():
            return out
        with open(self.stat_file, newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                try:
                    t = float(row["CurrentTime"].split("\t")[-1])
                    out.append((t, int(row["OutgoingCall(C)"]), int(row["SuccessfulCall(C)"]),
                                int(row["FailedCall(C)"])))
                except (KeyError, ValueError):
                    continue
        return out


def interpolate(points, t):
    """Linear interpolation in [(t, value)] (sorted by t), clamped at the ends."""
    if not points:
        return None
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def prepare(work, sipbox, mode):
    """A data directory with the users and the mode's security settings."""
    data = work / ("template-" + mode)
    def cli(*args):
        subprocess.run([sipbox, "--data-dir", str(data), *args], check=True, capture_output=True, timeout=60)
    for user in ("alice", "bob"):
        cli("user", "add", user, "--password", PASSWORD, "--domain", DOMAIN)
    if mode == "on":
        cli("config", "set", SEC + "rule[sid='1000001']/text", BESIP_RULE)
    else:
        cli("config", "set", SEC + "enabled", "false")
    return data


def one_run(args, work, template, mode, kind, rate):
    label = "%s-%s-%d" % (mode, kind, rate)
    run_dir = work / label
    run_dir.mkdir()
    data = run_dir / "data"
    shutil.copytree(template, data)
    port = server_port()
    log_path = run_dir / "sipboxd.log"
    log = open(log_path, "wb")
    daemon = subprocess.Popen([args.sipboxd, "--data-dir", str(data), "--bind", SERVER, "--sip-port", str(port),
                               "--http-port", "0", "--netconf-port", "0"],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    PROCS.append(daemon)
    result = {"mode": mode, "kind": kind, "rate": rate}
    callee = caller = attacker = None
    try:
        if not answers(port, 15):
            raise RuntimeError("sipboxd did not start: " + log_path.read_text(errors="replace")[-2000:])
        ready = run_dir / "callee.ready"
        callee = Sipp(run_dir, "callee", "callee.xml", port, CALLEE_IP, "bob", {"ready_file": str(ready)},
                      ["-oocsf", SCENARIOS / "callee_answer.xml", "-m", 1], args.seconds + 60)
        deadline = time.monotonic() + 10
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not ready.exists():
            raise RuntimeError("the callee did not register")
        caller = Sipp(run_dir, "user", "legit_user.xml", port, USER_IP, "alice",
                      {"callee": "bob"}, ["-r", args.user_rate, "-m", 100000, "-recv_timeout", 5000],
                      args.seconds + 60)
        time.sleep(1)
        samples = []  # (time, sipboxd CPU seconds)

        def sample():
            samples.append((time.time(), cpu_seconds(daemon.pid)))

        sample()
        t_start = time.time()
        ban_seen = None
        if rate > 0:
            scenario = "flood_register.xml" if kind == "register" else "flood_invite.xml"
            attacker = Sipp(run_dir, "flood", scenario, port, ATTACKER, "attacker", {"callee": "bob"},
                            ["-r", rate, "-m", rate * args.seconds], args.seconds + 30)
            deadline = time.monotonic() + args.seconds + 30
            while attacker.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
                sample()
                if ban_seen is None and mode == "on" and re.search(
                        rb"security: .* from 127\.0\.0\.3 .*: ban", log_path.read_bytes()):
                    ban_seen = time.time()
            attacker.finish(5)
        else:
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                time.sleep(0.1)
                sample()
        t_end = time.time()
        sample()
        time.sleep(1)
        caller.finish(30)
        stop(callee.proc)
        cpu = samples[-1][1] - samples[0][1]
        result["cpu_pct"] = 100.0 * cpu / (t_end - t_start)
        result["cpu_s"] = cpu
        result["seconds"] = t_end - t_start
        rows = caller.rows()
        result["user_ok"], result["user_failed"] = (rows[-1][2], rows[-1][3]) if rows else (0, 0)
        if attacker is not None:
            arows = attacker.rows()
            sent = arows[-1][1] if arows else 0
            first = arows[0][0] if arows else t_start
            last = arows[-1][0] if arows else t_end
            result["sent"] = sent
            result["achieved"] = sent / max(0.001, last - first) if len(arows) > 1 else 0
            counts = [(t, c) for t, c, _, _ in arows]
            if ban_seen is not None:
                # The banned phase: from half a second after the ban (seen in the log) to
                # the last statistics row; CPU interpolated at those times.
                t1, t2 = ban_seen + 0.5, last
                if t2 > t1 + 1:
                    packets = interpolate(counts, t2) - interpolate(counts, t1)
                    spent = interpolate(samples, t2) - interpolate(samples, t1)
                    if packets > 0:
                        result["banned_packets"] = packets
                        result["banned_cpu_s"] = spent
                        result["banned_seconds"] = t2 - t1
                        result["banned_cpu_pct"] = 100.0 * spent / (t2 - t1)
        result["banned"] = ban_seen is not None
    finally:
        for sipp in (attacker, caller, callee):
            if sipp is not None:
                stop(sipp.proc)
        code = stop(daemon)
        log.close()
        result["exit"] = code
    # The first detection of the attacker, from the store: at which message it came.
    db_path = data / "sipbox.db"
    if mode == "on" and db_path.exists():
        db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
        try:
            first = db.execute("SELECT count, sid, message FROM incident WHERE source = ? ORDER BY id LIMIT 1",
                               (ATTACKER,)).fetchone()
        except sqlite3.OperationalError:
            first = None
        db.close()
        if first:
            result["ban_count"], result["ban_sid"], result["ban_message"] = first
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sipboxd", default=str(ROOT / "build-bench" / "sipboxd"))
    parser.add_argument("--sipbox", default=str(ROOT / "build-bench" / "sipbox"))
    parser.add_argument("--rates", default="500,1000,2000,5000", help="attacker messages per second")
    parser.add_argument("--seconds", type=int, default=10, help="length of each flood")
    parser.add_argument("--kinds", default="register,invite")
    parser.add_argument("--modes", default="on,off")
    parser.add_argument("--user-rate", type=int, default=3,
                        help="alice's calls per second (each: 2 REGISTER, 2 INVITE; below the detectors' 50 per 5 s)")
    parser.add_argument("--quick", action="store_true", help="rates 500,5000, floods of 5 s")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.seconds = "500,5000", 5
    for program in (args.sipboxd, args.sipbox):
        if not os.access(program, os.X_OK):
            sys.exit("missing %s (bench/flood/run builds it)" % program)
    rates = [int(r) for r in args.rates.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench_flood."))
    print("bench/flood: %s, floods of %d s from %s, user %s at %d calls/s, load average %s"
          % (args.sipboxd, args.seconds, ATTACKER, USER_IP, args.user_rate,
             Path("/proc/loadavg").read_text().split()[0]), flush=True)
    results = []
    try:
        for mode in args.modes.split(","):
            template = prepare(work, args.sipbox, mode)
            baseline = one_run(args, work, template, mode, "none", 0)
            results.append(baseline)
            report(baseline, None)
            for kind in args.kinds.split(","):
                for rate in rates:
                    r = one_run(args, work, template, mode, kind, rate)
                    results.append(r)
                    report(r, baseline)
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                stop(proc, signal.SIGKILL, 5)
        if args.keep:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(results))
    print("load average at the end: %s" % Path("/proc/loadavg").read_text().split()[0])
    # Last line (bench/README.md conventions): sipboxd's CPU with the IPS off over its CPU
    # with it on, at the highest rate both modes ran, per flood kind.
    ratios = []
    for kind in args.kinds.split(","):
        on = {r["rate"]: r for r in results if r["mode"] == "on" and r["kind"] == kind}
        off = {r["rate"]: r for r in results if r["mode"] == "off" and r["kind"] == kind}
        both = sorted(set(on) & set(off))
        if both and on[both[-1]]["cpu_pct"] > 0:
            ratios.append("%s %.2f at %d/s" % (kind.upper(), off[both[-1]]["cpu_pct"] / on[both[-1]]["cpu_pct"],
                                               both[-1]))
    if ratios:
        print("ratio off/on sipboxd CPU: " + ", ".join(ratios))


HEADER = ("IPS", "flood", "offered/s", "sent/s", "sipboxd CPU", "user calls ok", "ban after",
          "CPU after ban", "CPU-us/attacker pkt")


def row(r, baseline):
    ok, failed = r.get("user_ok", 0), r.get("user_failed", 0)
    total = ok + failed
    user = "%d/%d (%.1f%%)" % (ok, total, 100.0 * ok / total) if total else "-"
    if r["rate"] == 0:
        return (r["mode"], "none", "-", "-", "%.1f%%" % r["cpu_pct"], user, "-", "-", "-")
    if r.get("ban_count") is not None:
        ban = "msg %d (%s)" % (r["ban_count"], "sid %d" % r["ban_sid"] if r["ban_sid"] else r["ban_message"])
    else:
        ban = "no ban" if r["mode"] == "on" else "-"
    after = "%.1f%%" % r["banned_cpu_pct"] if "banned_cpu_pct" in r else "-"
    # CPU per attacker packet, less what the user's calls cost (the baseline run's rate):
    # after the ban with the IPS on, over the whole flood with it off.
    base = baseline["cpu_pct"] / 100.0 if baseline else 0.0
    if "banned_packets" in r:
        per = "%.1f" % (1e6 * max(0.0, r["banned_cpu_s"] - base * r["banned_seconds"]) / r["banned_packets"])
    elif r["mode"] != "on" and r.get("sent"):
        per = "%.1f (parsed)" % (1e6 * max(0.0, r["cpu_s"] - base * r["seconds"]) / r["sent"])
    else:
        per = "-"
    return (r["mode"], r["kind"].upper(), str(r["rate"]), "%.0f" % r.get("achieved", 0), "%.1f%%" % r["cpu_pct"],
            user, ban, after, per)


def report(r, baseline):
    print("  " + "  ".join(row(r, baseline)), flush=True)


def table(results):
    baselines = {r["mode"]: r for r in results if r["rate"] == 0}
    rows = [HEADER] + [row(r, baselines.get(r["mode"])) for r in results]
    widths = [max(len(x[i]) for x in rows) for i in range(len(HEADER))]
    lines = []
    for i, x in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(x, widths)) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
