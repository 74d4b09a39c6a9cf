#!/usr/bin/env python3
"""The intrusion prevention system on the wire (issue 5, "Tests"; docs/security.md).

Everything runs on loopback: sipboxd on 127.0.0.1, the attacker on 127.0.0.3, the
legitimate user on 127.0.0.2 and the user it calls on 127.0.0.4. The test runs in a
network namespace of its own when unshare allows it (tests/integration/netns.py); the
nftables check needs that namespace and is skipped, saying why, without it.

    security_test.py SIPBOXD SIPBOX [--only NAME] [--keep]

Checks (PASS/FAIL each; exit 1 when one fails):
  besip_register_flood   the BESIP rule exactly as the papers print it loads; a SIPp
                         REGISTER flood at 10x its threshold (100/s) from the attacker
                         while the user keeps registering and calling: an incident with
                         sid 1000001 within the rule's window, a ban of ~600 s in the
                         store and the log, the attacker dropped from then on
  bans_survive_restart   that ban still drops the attacker after SIGTERM + restart and
                         after kill -9 + restart
  ban_expires            the same rule with `fwsam:src, 3s;`: banned, then (not before
                         its end) the attacker's OPTIONS is answered again and the ban
                         row is gone
  invite_flood           the flood detector's invite-threshold (10x flood)
  brute_force            wrong Digest passwords: failures-per-source
  enumeration            INVITEs to many unknown users (404): distinct-unknown-users
  scanner                one OPTIONS with User-Agent: friendly-scanner, banned at once
  call_limit             toll fraud: carol (max-concurrent-calls 1) calls while a call of
                         hers rings: 403 and an incident; after that call fails a new one
                         goes through; a call to a premium prefix from a new source: 403
                         and an incident
  bad_rule_refused       `config set` and `config import` of a rule with a typo exit
                         non-zero naming the column and the reason; the rule in force
                         keeps banning
  whitelist              a whitelisted attacker is never banned under the same flood
                         (the rule still records incidents, with action alert)
  user_unharmed          the user's SIPp calls (register + call) succeed >= 99.9% and
                         127.0.0.2 has no ban and no incident
  nftables               bans mirrored into `inet sipbox` set `banned`: the attacker is
                         in the set while banned, gone after expiry, the set is empty
                         after sipboxd stops

Detectors that a check does not exercise are turned off (or their thresholds raised) for
it, so that the detection asserted is the one under test. No timing is asserted beyond
the rule's own window; expiry is checked as an order of events. Every SIPp run has a
bound (-m and -timeout) and every process is stopped by its PID.
"""
import argparse
import csv
import json
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
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "security")
SIPP = shutil.which("sipp") or "/usr/bin/sipp"
NFT = shutil.which("nft") or "/usr/sbin/nft"

SERVER = "127.0.0.1"
USER_IP = "127.0.0.2"
ATTACKER = "127.0.0.3"
CALLEE_IP = "127.0.0.4"
DOMAIN = "test.example"
PASSWORD = "secret"
SEC = "/sipbox-security:security/"

# The rule exactly as BESIP's papers print it (issue 5).
BESIP_RULE = ('alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:"SIP DoS attempt(registerflood)"; '
              'content:"REGISTER sip"; detection_filter:track by_src, count 50, seconds 5; '
              'classtype:misc-attack; sid:1000001; rev:1; fwsam:src, 10min;)')
SHORT_RULE = BESIP_RULE.replace("fwsam:src, 10min;", "fwsam:src, 3s;")
RULE_WINDOW = 5        # seconds: the rule's detection_filter window
RULE_COUNT = 50        # its count
FLOOD_RATE = 100       # per second: 10x the rule's 50 per 5 s, and the flood detector's
USER_RATE = 3          # legitimate calls per second (each: 2 REGISTER, 2 INVITE, 2 ACK, 1 BYE)
HIGH = "1000000"       # a threshold that never fires


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def wait_for(predicate, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def stop(proc, sig=signal.SIGTERM, seconds=10):
    if proc is None:
        return None
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


class Context:
    def __init__(self, work, sipboxd, sipbox):
        self.work = work
        self.sipboxd = sipboxd
        self.sipbox = sipbox
        self.procs = []
        self.used_ports = set()
        self.seq = 0

    def name(self, stem):
        self.seq += 1
        return os.path.join(self.work, "%02d-%s" % (self.seq, stem))

    def port(self, host):
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
            if port not in self.used_ports:
                self.used_ports.add(port)
                return port
        raise RuntimeError("no free port on %s" % host)

    def server_port(self):
        """N with N..N+2 free for UDP and TCP on 127.0.0.1 (SIP, TLS, WebSocket)."""
        for _ in range(100):
            base = self.port(SERVER)
            try:
                for p in (base, base + 1, base + 2):
                    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                        t.bind((SERVER, p))
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                        u.bind((SERVER, p))
            except OSError:
                continue
            self.used_ports.update((base + 1, base + 2))
            return base
        raise RuntimeError("no three free ports in a row")

    def cli(self, data_dir, *args, check=True, timeout=60):
        proc = subprocess.run([self.sipbox, "--data-dir", data_dir, *args], capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("sipbox %s: exit %d: %s%s" % (" ".join(args), proc.returncode, proc.stdout,
                                                            proc.stderr))
        return proc


# ---- sipboxd ----------------------------------------------------------------------------

class Daemon:
    """One sipboxd with its data directory; restartable on the same ports."""

    def __init__(self, ctx, label, settings):
        self.ctx = ctx
        self.label = label
        self.data_dir = os.path.join(ctx.work, label)
        self.log_path = os.path.join(ctx.work, label + ".log")
        self.proc = None
        self.port = ctx.server_port()
        for user in ("alice", "bob", "carol"):
            ctx.cli(self.data_dir, "user", "add", user, "--password", PASSWORD, "--domain", DOMAIN)
        self.configure(settings)

    def configure(self, settings):
        """Sets (path, value) pairs: before the start straight into the data directory, once
        running through sipboxd, which validates and applies each one live."""
        for path, value in settings:
            self.ctx.cli(self.data_dir, "config", "set", path, str(value))

    def start(self):
        offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.ctx.sipboxd, "--data-dir", self.data_dir, "--bind", SERVER,
                                      "--sip-port", str(self.port), "--http-port", "0", "--netconf-port", "0"],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.ctx.procs.append(self.proc)
        wait_for(lambda: self.proc.poll() is not None or "started" in self.log(offset), 20)
        if self.proc.poll() is not None or "started" not in self.log(offset):
            raise RuntimeError("sipboxd (%s) did not start:\n%s" % (self.label, self.log(offset)))
        # Answering SIP (the log line comes first).
        if not wait_for(lambda: probe(USER_IP, self.port), 10, 0.1):
            raise RuntimeError("sipboxd (%s) does not answer OPTIONS" % self.label)
        return offset

    def stop(self, sig=signal.SIGTERM):
        code = stop(self.proc, sig, 15)
        self.proc = None
        return code

    def log(self, offset=0):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    # The store, read-only (DIR/sipbox.db; tables `ban` and `incident`, src/store/sqlite).
    def query(self, sql, args=()):
        path = os.path.join(self.data_dir, "sipbox.db")
        if not os.path.exists(path):
            return []
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            raise
        finally:
            db.close()

    def ban(self, address):
        rows = self.query("SELECT prefix, until, reason, sid, offences FROM ban WHERE prefix = ?", (address,))
        return dict(zip(("prefix", "until", "reason", "sid", "offences"), rows[0])) if rows else None

    def incidents(self, source=None, after_id=0):
        sql = "SELECT id, at, source, sid, message, count, action FROM incident WHERE id > ?"
        args = [after_id]
        if source:
            sql += " AND source = ?"
            args.append(source)
        keys = ("id", "at", "source", "sid", "message", "count", "action")
        return [dict(zip(keys, r)) for r in self.query(sql + " ORDER BY id", args)]

    def last_incident_id(self):
        rows = self.query("SELECT max(id) FROM incident")
        return rows[0][0] or 0 if rows else 0


# ---- SIP on the wire --------------------------------------------------------------------

def probe(source_ip, port, user_agent="probe", timeout=0.4):
    """One OPTIONS to the server from source_ip: True when answered (any status)."""
    call_id = uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source_ip, 0))
        me = "%s:%d" % s.getsockname()
        msg = ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:probe@%s>;tag=%s\r\nTo: <sip:%s:%d>\r\nCall-ID: %s\r\n"
               "CSeq: 1 OPTIONS\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n"
               % (SERVER, port, me, call_id[:16], source_ip, call_id[:8], SERVER, port, call_id, user_agent))
        s.sendto(msg.encode(), (SERVER, port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except socket.timeout:
                return False
            if call_id.encode() in data:
                return True


class Sipp:
    def __init__(self, ctx, label, scenario, port, local_ip, user="alice", password=PASSWORD, keys=None,
                 extra=(), timeout=60):
        self.label = label
        base = ctx.name(label)
        self.out_log = base + ".out.log"
        self.err_log = base + ".err.log"
        self.stat_file = base + ".stat.csv"
        self.lport = ctx.port(local_ip)
        all_keys = {"domain": DOMAIN, "me": "%s:%d" % (local_ip, self.lport)}
        all_keys.update(keys or {})
        self.cmd = [SIPP, "-sf", os.path.join(SCENARIOS, scenario), "%s:%d" % (SERVER, port),
                    "-i", local_ip, "-bind_local", "-p", str(self.lport), "-t", "u1",
                    "-s", user, "-ap", password, "-nostdin", "-timeout", "%ds" % timeout,
                    "-trace_err", "-error_file", self.err_log,
                    "-trace_stat", "-stf", self.stat_file, "-fd", "1"]
        for key, value in all_keys.items():
            self.cmd += ["-key", key, value]
        self.cmd += [str(x) for x in extra]
        self.out = open(self.out_log, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(self.cmd, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=ctx.work)
        ctx.procs.append(self.proc)

    def wait(self, seconds):
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            stop(self.proc, signal.SIGKILL)
            raise Failure("%s did not end within %d s" % (self.label, seconds))
        finally:
            self.out.close()
        return self.proc.returncode

    def finish(self, seconds=15):
        """SIGUSR1: SIPp places no new call, lets the current ones end, and exits."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGUSR1)
        return self.wait(seconds)

    def stats(self):
        """(successful, failed) calls from SIPp's statistics file."""
        if not os.path.exists(self.stat_file):
            raise Failure("%s wrote no statistics" % self.label)
        with open(self.stat_file, newline="") as f:
            rows = list(csv.DictReader(f, delimiter=";"))
        if not rows:
            raise Failure("%s: empty statistics" % self.label)
        last = rows[-1]
        return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])

    def tail(self):
        text = ""
        for path in (self.err_log, self.out_log):
            if os.path.exists(path):
                text += "--- %s:\n%s\n" % (os.path.basename(path), open(path, errors="replace").read()[-3000:])
        return text


class User:
    """The legitimate side: bob answers on 127.0.0.4; alice on 127.0.0.2 keeps registering
    and calling bob through the proxy until finish()."""

    def __init__(self, ctx, daemon):
        self.ctx = ctx
        ready = ctx.name("callee.ready")
        self.callee = Sipp(ctx, "callee", "callee.xml", daemon.port, CALLEE_IP, user="bob",
                           keys={"ready_file": ready},
                           extra=["-oocsf", os.path.join(SCENARIOS, "callee_answer.xml"), "-m", "1"],
                           timeout=300)
        wait_for(lambda: os.path.exists(ready) or self.callee.proc.poll() is not None, 10)
        if not os.path.exists(ready):
            stop(self.callee.proc, signal.SIGKILL)
            raise RuntimeError("the callee did not register:\n" + self.callee.tail())
        self.caller = Sipp(ctx, "user", "legit_user.xml", daemon.port, USER_IP, user="alice",
                           keys={"callee": "bob"},
                           extra=["-r", USER_RATE, "-m", 3000, "-recv_timeout", 5000], timeout=300)

    def finish(self):
        self.caller.finish(20)
        stop(self.callee.proc, signal.SIGTERM)
        return self.caller.stats()


def flood(ctx, daemon, scenario, count, rate=FLOOD_RATE, keys=None, source=ATTACKER, label="flood"):
    sipp = Sipp(ctx, label, scenario, daemon.port, source, keys=keys,
                extra=["-r", rate, "-m", count], timeout=count // rate + 20)
    return sipp


def attack(ctx, daemon, scenario, count, rate, user="carol", password=PASSWORD, label="attack"):
    """A bounded attacker run whose calls wait for answers; after the ban they end at
    -recv_timeout."""
    return Sipp(ctx, label, scenario, daemon.port, ATTACKER, user=user, password=password,
                extra=["-r", rate, "-m", count, "-recv_timeout", 1000, "-max_recv_loops", 1000],
                timeout=count // rate + 20)


def wait_banned(daemon, address=ATTACKER, seconds=10):
    ban = wait_for(lambda: daemon.ban(address), seconds)
    if not ban:
        raise Failure("%s was not banned (no row in the ban table); incidents: %s; log tail:\n%s"
                      % (address, daemon.incidents(), daemon.log()[-3000:]))
    return ban


def wait_unbanned(daemon, address=ATTACKER, seconds=15):
    """Waits until the attacker's OPTIONS is answered again and its ban row is gone."""
    if not wait_for(lambda: probe(address, daemon.port) and not daemon.ban(address), seconds, 0.1):
        raise Failure("the ban of %s did not end (row: %s)" % (address, daemon.ban(address)))


def expect_dropped(daemon, address=ATTACKER, tries=3):
    for _ in range(tries):
        if probe(address, daemon.port):
            raise Failure("%s is banned but its OPTIONS was answered" % address)


def expect_detection(daemon, after_id, message_part, sid=0):
    found = [i for i in daemon.incidents(ATTACKER, after_id) if message_part in i["message"] and i["sid"] == sid]
    if not found:
        raise Failure("no incident '%s' (sid %d) for %s; incidents: %s"
                      % (message_part, sid, ATTACKER, daemon.incidents(after_id=after_id)))
    return found[0]


# ---- checks -----------------------------------------------------------------------------

def check_besip_flood(ctx, daemon, state):
    after = daemon.last_incident_id()
    started = time.time()
    sipp = flood(ctx, daemon, "flood_register.xml", count=FLOOD_RATE * 4)
    ban = wait_banned(daemon)
    sipp.wait(30)
    incident = expect_detection(daemon, after, "SIP DoS attempt(registerflood)", 1000001)
    # Within the rule's window: the detection_filter fired on the 51st REGISTER of a
    # window (count), recorded no later than the window's end (whole seconds).
    if incident["count"] != RULE_COUNT + 1:
        raise Failure("the rule fired at match %d of its window, expected %d" % (incident["count"], RULE_COUNT + 1))
    if incident["at"] > int(started) + RULE_WINDOW:
        raise Failure("banned %d s after the flood began, outside the rule's %d s window"
                      % (incident["at"] - int(started), RULE_WINDOW))
    if not incident["action"].startswith("ban 600 s"):
        raise Failure("incident action %r, expected 'ban 600 s'" % incident["action"])
    length = ban["until"] - incident["at"]
    if not 598 <= length <= 602 or ban["sid"] != 1000001:
        raise Failure("ban row %s: expected ~600 s from sid 1000001" % ban)
    if not re.search(r"security: SIP DoS attempt\(registerflood\) from 127\.0\.0\.3 \(sid 1000001.*ban 600 s",
                     daemon.log()):
        raise Failure("no log line for the ban")
    expect_dropped(daemon)
    state["ban"] = ban


def check_restart(ctx, daemon, state):
    if "ban" not in state:
        raise Failure("needs the ban of besip_register_flood")
    for how, sig in (("SIGTERM", signal.SIGTERM), ("kill -9", signal.SIGKILL)):
        code = daemon.stop(sig)
        if sig == signal.SIGTERM and code != 0:
            raise Failure("sipboxd exited with %s after SIGTERM" % code)
        offset = daemon.start()
        if "1 bans restored" not in daemon.log(offset):
            raise Failure("after %s + restart: no '1 bans restored' in the log" % how)
        expect_dropped(daemon)
        if not probe(USER_IP, daemon.port):
            raise Failure("after %s + restart: the user's OPTIONS is not answered" % how)
        ban = daemon.ban(ATTACKER)
        if not ban or ban["until"] != state["ban"]["until"]:
            raise Failure("after %s + restart the ban row is %s, was %s" % (how, ban, state["ban"]))


def check_expiry(ctx, daemon, state):
    after = daemon.last_incident_id()
    sipp = flood(ctx, daemon, "flood_register.xml", count=FLOOD_RATE)   # 1 s: ends inside the ban
    ban = wait_banned(daemon)
    incident = expect_detection(daemon, after, "registerflood", 1000001)
    if not 2 <= ban["until"] - incident["at"] <= 4 or not incident["action"].startswith("ban 3 s"):
        raise Failure("ban row %s, incident %s: expected 3 s" % (ban, incident))
    expect_dropped(daemon, tries=1)
    sipp.wait(30)
    # Then, in this order: the row goes, the attacker is answered again, not before the end.
    wait_unbanned(daemon)
    if time.time() < ban["until"] - 1:
        raise Failure("answered again before the ban's end (%d)" % ban["until"])
    if "security: ban of 127.0.0.3 ended" not in daemon.log():
        raise Failure("no log line for the end of the ban")


def check_invite_flood(ctx, daemon, state):
    after = daemon.last_incident_id()
    sipp = flood(ctx, daemon, "flood_invite.xml", count=FLOOD_RATE * 3 // 2, keys={"callee": "bob"})
    wait_banned(daemon)
    sipp.wait(30)
    incident = expect_detection(daemon, after, "INVITE flood")
    if not incident["action"].startswith("ban "):
        raise Failure("INVITE flood incident without a ban: %s" % incident)
    expect_dropped(daemon, tries=1)
    wait_unbanned(daemon)


def check_brute_force(ctx, daemon, state):
    after = daemon.last_incident_id()
    sipp = attack(ctx, daemon, "wrong_password.xml", count=20, rate=10, user="carol", password="guess")
    wait_banned(daemon)
    sipp.wait(40)
    incident = expect_detection(daemon, after, "digest brute force")
    if incident["count"] != 11:
        raise Failure("brute force detected at failure %d, expected 11 (failures-per-source 10)" % incident["count"])
    expect_dropped(daemon, tries=1)
    wait_unbanned(daemon)


def check_enumeration(ctx, daemon, state):
    after = daemon.last_incident_id()
    sipp = attack(ctx, daemon, "enumerate.xml", count=20, rate=10)
    wait_banned(daemon)
    sipp.wait(40)
    incident = expect_detection(daemon, after, "extension enumeration")
    if incident["count"] != 11:
        raise Failure("enumeration detected at user %d, expected 11 (distinct-unknown-users 10)" % incident["count"])
    expect_dropped(daemon, tries=1)
    wait_unbanned(daemon)


def check_scanner(ctx, daemon, state):
    after = daemon.last_incident_id()
    if probe(ATTACKER, daemon.port, user_agent="friendly-scanner"):
        raise Failure("the friendly-scanner OPTIONS was answered")
    wait_banned(daemon)
    expect_detection(daemon, after, "scanner (User-Agent 'friendly-scanner')")
    expect_dropped(daemon, tries=1)
    wait_unbanned(daemon)


def check_bad_rule(ctx, daemon, state):
    typo = BESIP_RULE.replace("sid:1000001", "sid:1000002").replace("content:", "conten:")
    column = typo.index("conten:") + 1
    path = SEC + "rule[sid='1000002']/text"
    refused = ctx.cli(daemon.data_dir, "config", "set", path, typo, check=False)
    said = refused.stdout + refused.stderr
    if refused.returncode == 0:
        raise Failure("config set of a rule with a typo was accepted")
    if "column %d" % column not in said or "conten" not in said:
        raise Failure("the refusal does not name column %d and the option: %r" % (column, said))
    # config import of the running configuration plus the bad rule.
    exported = json.loads(ctx.cli(daemon.data_dir, "config", "export", "--json").stdout)
    security = exported.setdefault("sipbox-security:security", {})
    security.setdefault("rule", []).append({"sid": 1000002, "text": typo})
    bad_file = ctx.name("bad-rule.json")
    with open(bad_file, "w") as f:
        json.dump(exported, f)
    refused = ctx.cli(daemon.data_dir, "config", "import", bad_file, check=False)
    said = refused.stdout + refused.stderr
    if refused.returncode == 0:
        raise Failure("config import of a rule with a typo was accepted")
    if "column %d" % column not in said or "conten" not in said:
        raise Failure("the import refusal does not name column %d and the option: %r" % (column, said))
    got = ctx.cli(daemon.data_dir, "config", "get", SEC + "rule").stdout
    if "1000002" in got or "1000001" not in got:
        raise Failure("the rules after the refusals: %s" % got)
    # The rule in force keeps working.
    after = daemon.last_incident_id()
    sipp = flood(ctx, daemon, "flood_register.xml", count=FLOOD_RATE)
    wait_banned(daemon)
    sipp.wait(30)
    expect_detection(daemon, after, "registerflood", 1000001)
    wait_unbanned(daemon)
    return said.strip().splitlines()[-1] if said.strip() else None


class Phone:
    """A minimal UDP SIP party for the toll-fraud checks: a caller that answers 407s with
    Digest credentials, or a callee that rings and then answers as told."""

    def __init__(self, ctx, address):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, ctx.port(address)))
        self.me = "%s:%d" % self.sock.getsockname()

    def close(self):
        self.sock.close()

    def receive(self, wanted, seconds=3):
        """The next message whose first line contains `wanted` (others are skipped)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65535).decode(errors="replace")
            except socket.timeout:
                break
            if wanted in data.split("\r\n", 1)[0]:
                return data
        raise Failure("%s received no '%s'" % (self.me, wanted))

    def invite(self, port, user, target, call_id, expect):
        """INVITE target as user@DOMAIN, answering the 407; returns the final or 18x
        status line that contains `expect`."""
        def request(cseq, auth=""):
            return ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s%d;rport\r\nMax-Forwards: 70\r\n"
                    "From: <sip:%s@%s>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"
                    "Contact: <sip:%s@%s>\r\n%sContent-Length: 0\r\n\r\n"
                    % (target, self.me, call_id, cseq, user, DOMAIN, call_id[:8], target, call_id, cseq, user,
                       self.me, auth))
        self.sock.sendto(request(1).encode(), (SERVER, port))
        challenge = self.receive("407")
        self.sock.sendto(("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s1;rport\r\nMax-Forwards: 70\r\n"
                          "From: <sip:%s@%s>;tag=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
                          "Content-Length: 0\r\n\r\n"
                          % (target, self.me, call_id, user, DOMAIN, call_id[:8], target,
                             re.search(r"^To:.*;tag=([^;\s]+)", challenge, re.M | re.I).group(1), call_id)).encode(),
                         (SERVER, port))
        field = re.search(r"^Proxy-Authenticate: Digest (.*)$", challenge, re.M | re.I).group(1)
        realm = re.search(r'realm="([^"]*)"', field).group(1)
        nonce = re.search(r'nonce="([^"]*)"', field).group(1)
        md5 = lambda text: __import__("hashlib").md5(text.encode()).hexdigest()
        ha1 = md5("%s:%s:%s" % (user, realm, PASSWORD))
        response = md5("%s:%s:00000001:c0ffee:auth:%s" % (ha1, nonce, md5("INVITE:" + target)))
        auth = ('Proxy-Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5, cnonce="c0ffee", qop=auth, nc=00000001\r\n' % (user, realm, nonce, target, response))
        self.sock.sendto(request(2, auth).encode(), (SERVER, port))
        return self.receive(expect).split("\r\n", 1)[0]

    def answer(self, invite, status):
        """Responds to a received INVITE (its Via, From, To, Call-ID, CSeq)."""
        keep = [line for line in invite.split("\r\n")
                if line.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq", "record-route")]
        to = next(line for line in invite.split("\r\n") if line.lower().startswith("to:"))
        reason = {180: "Ringing", 486: "Busy Here"}[status]
        self.sock.sendto(("SIP/2.0 %d %s\r\n%s\r\n%s;tag=callee\r\nContent-Length: 0\r\n\r\n"
                          % (status, reason, "\r\n".join(keep), to)).encode(), (SERVER, invite_port(invite)))


def invite_port(invite):
    """The port of the top Via of a request the server sent (its own address)."""
    return int(re.search(r"^Via: SIP/2.0/UDP [^:;]+:(\d+)", invite, re.M | re.I).group(1))


def check_call_limit(ctx, daemon, state):
    """max-concurrent-calls 1 for carol: with one call ringing, a second one gets 403 and a
    toll-fraud incident; once the first fails (486), a third goes through. A call to a
    premium prefix from a source carol never used gets 403 and an incident too."""
    daemon.configure([("/sipbox-users:user[name='carol'][domain='%s']/max-concurrent-calls" % DOMAIN, "1"),
                      (SEC + "detectors/toll-fraud/premium-prefix", "0900")])
    after = daemon.last_incident_id()
    caller = Phone(ctx, ATTACKER)
    callee = Phone(ctx, CALLEE_IP)
    try:
        target = "sip:5551234@%s" % callee.me
        caller.invite(daemon.port, "carol", target, "limit-1-" + uuid.uuid4().hex, "100")
        first = callee.receive("INVITE")
        callee.answer(first, 180)
        caller.receive("180")
        line = caller.invite(daemon.port, "carol", target, "limit-2-" + uuid.uuid4().hex, "403")
        if "too many concurrent calls" not in line:
            raise Failure("second call: %r" % line)
        signal_text = "toll fraud signal: 'carol@%s' calls while 1 calls" % DOMAIN
        wait_for(lambda: any(signal_text in i["message"] for i in daemon.incidents(ATTACKER, after)), 5)
        incident = expect_detection(daemon, after, signal_text)
        if incident["action"] != "refused 403":
            raise Failure("incident action %r" % incident["action"])
        callee.answer(first, 486)
        caller.receive("486")
        caller.invite(daemon.port, "carol", target, "limit-3-" + uuid.uuid4().hex, "100")
        callee.receive("INVITE")
    finally:
        caller.close()
    # The premium call from a new source (carol's calls so far came from the attacker's address).
    other = Phone(ctx, "127.0.0.5")
    try:
        after = daemon.last_incident_id()
        line = other.invite(daemon.port, "carol", "sip:0900123@%s" % callee.me, "premium-" + uuid.uuid4().hex,
                            "403")
        if "toll fraud signal" not in line:
            raise Failure("premium call from a new source: %r" % line)
        found = wait_for(lambda: [i for i in daemon.incidents("127.0.0.5", after)
                                  if "premium number 0900123" in i["message"]], 5)
        if not found:
            raise Failure("no premium-number incident: %s" % daemon.incidents(after_id=after))
    finally:
        other.close()
        callee.close()
    return "403 + incident at the limit and for premium from a new source"


def check_whitelist(ctx, daemon, state):
    daemon.configure([(SEC + "whitelist", ATTACKER + "/32"),
                      (SEC + "detectors/flood/enabled", "true"),
                      (SEC + "detectors/flood/register-threshold", "50")])
    after = daemon.last_incident_id()
    sipp = flood(ctx, daemon, "flood_register.xml", count=FLOOD_RATE * 3)
    seen = []
    while sipp.proc.poll() is None:
        if daemon.ban(ATTACKER):
            seen.append("banned")
            break
        time.sleep(0.1)
    sipp.wait(30)
    if seen or daemon.ban(ATTACKER):
        raise Failure("the whitelisted %s was banned" % ATTACKER)
    if not probe(ATTACKER, daemon.port):
        raise Failure("the whitelisted %s is not answered after its flood" % ATTACKER)
    # Rules still record incidents for a whitelisted source, without a ban.
    incidents = wait_for(lambda: daemon.incidents(ATTACKER, after), 3)
    if not incidents or any(i["action"] != "alert" for i in incidents):
        raise Failure("expected alert-only incidents for the whitelisted source, got %s" % incidents)


def check_user(daemon, user_stats):
    ok, failed = user_stats
    total = ok + failed
    if total < 10:
        raise Failure("the user made only %d calls" % total)
    if ok < 0.999 * total:
        raise Failure("the user's success rate is %.2f%% (%d of %d)" % (100.0 * ok / total, ok, total))
    if daemon.ban(USER_IP):
        raise Failure("the user %s was banned" % USER_IP)
    if daemon.incidents(USER_IP):
        raise Failure("incidents for the user: %s" % daemon.incidents(USER_IP))
    return "%d/%d calls" % (ok, total)


def nft_set(name="banned"):
    proc = subprocess.run([NFT, "list", "set", "inet", "sipbox", name], capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        return None
    match = re.search(r"elements = \{([^}]*)\}", proc.stdout, re.S)
    return match.group(1) if match else ""


def check_nftables(ctx, state):
    if os.environ.get("SIPBOX_TEST_NETNS") != "inside":
        raise Skip("not in a network namespace of the test's own (unshare --net refused, or "
                   "SIPBOX_TEST_NETNS=host); the host's nftables are not touched")
    if not os.path.exists(NFT):
        raise Failure("nft is not installed (scripts/install-deps installs nftables)")
    daemon = Daemon(ctx, "nft", [(SEC + "nftables/enabled", "true"),
                                 (SEC + "default-ban-duration", "3"),
                                 (SEC + "repeat-offender-factor", "1")])
    try:
        daemon.start()
        if wait_for(lambda: nft_set() is not None, 10) is None and nft_set() is None:
            raise Failure("sipboxd did not create the set inet sipbox banned: %s" % daemon.log()[-2000:])
        if probe(ATTACKER, daemon.port, user_agent="friendly-scanner"):
            raise Failure("the scanner's OPTIONS was answered")
        wait_banned(daemon)
        if not wait_for(lambda: ATTACKER in (nft_set() or ""), 5):
            raise Failure("%s is banned but not in the nftables set: %r" % (ATTACKER, nft_set()))
        expect_dropped(daemon, tries=1)
        # Expiry: gone from the set and the store; answered again.
        wait_unbanned(daemon)
        if ATTACKER in (nft_set() or ""):
            raise Failure("the ban ended but %s is still in the set" % ATTACKER)
        # A long ban, then stop: the set is emptied.
        daemon.configure([(SEC + "default-ban-duration", "600")])
        probe(ATTACKER, daemon.port, user_agent="friendly-scanner")
        wait_banned(daemon)
        if not wait_for(lambda: ATTACKER in (nft_set() or ""), 5):
            raise Failure("second ban not in the set: %r" % nft_set())
        code = daemon.stop()
        if code != 0:
            raise Failure("sipboxd exited with %s" % code)
        left = nft_set()
        if left is None or left.strip():
            raise Failure("after the stop the set is %r, expected empty" % left)
        complaints = [line for line in daemon.log().splitlines() if "nftables:" in line]
        if complaints:
            raise Failure("nft refused a command: %s" % "; ".join(complaints))
    finally:
        daemon.stop()
    return None


# ---- main -------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sipboxd")
    parser.add_argument("sipbox")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--only", help="run only the groups whose check names contain this")
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True
    import netns
    netns.isolate()

    work = tempfile.mkdtemp(prefix="security_test.")
    ctx = Context(work, os.path.abspath(args.sipboxd), os.path.abspath(args.sipbox))
    results = []
    state = {}
    began = time.monotonic()

    def run(name, function, *fargs):
        if args.only and args.only not in name:
            return
        try:
            note = function(*fargs)
            results.append((name, True))
            print("PASS %s%s" % (name, (" (%s)" % note) if note else ""), flush=True)
        except Failure as failure:
            results.append((name, False))
            print("FAIL %s: %s" % (name, failure), flush=True)
        except Skip as why:
            print("SKIP %s: %s" % (name, why), flush=True)

    def wanted(*names):
        return not args.only or any(args.only in n for n in names)

    daemons = []
    try:
        # 1. The BESIP rule, 10 minutes; the REGISTER flood detector out of its way.
        if wanted("besip_register_flood", "bans_survive_restart", "user_unharmed"):
            d1 = Daemon(ctx, "besip", [(SEC + "rule[sid='1000001']/text", BESIP_RULE),
                                       (SEC + "detectors/flood/register-threshold", HIGH)])
            daemons.append(d1)
            d1.start()
            user = User(ctx, d1)
            time.sleep(1)
            run("besip_register_flood", check_besip_flood, ctx, d1, state)
            time.sleep(1)
            stats = user.finish()
            run("user_unharmed(besip)", check_user, d1, stats)
            run("bans_survive_restart", check_restart, ctx, d1, state)
            d1.stop()

        # 2. Detectors one at a time, each ban 2 s (3 s for the rule); the user calls throughout.
        names2 = ("ban_expires", "invite_flood", "brute_force", "enumeration", "scanner", "call_limit",
                  "bad_rule_refused",
                  "whitelist", "user_unharmed")
        if wanted(*names2):
            d2 = Daemon(ctx, "detectors", [(SEC + "rule[sid='1000001']/text", SHORT_RULE),
                                           (SEC + "default-ban-duration", "2"),
                                           (SEC + "repeat-offender-factor", "1"),
                                           (SEC + "detectors/flood/register-threshold", HIGH)])
            daemons.append(d2)
            d2.start()
            user = User(ctx, d2)
            run("ban_expires", check_expiry, ctx, d2, state)
            run("invite_flood", check_invite_flood, ctx, d2, state)
            d2.configure([(SEC + "detectors/flood/enabled", "false")])
            run("brute_force", check_brute_force, ctx, d2, state)
            d2.configure([(SEC + "detectors/brute-force/enabled", "false")])
            run("enumeration", check_enumeration, ctx, d2, state)
            d2.configure([(SEC + "detectors/brute-force/enabled", "true")])
            run("scanner", check_scanner, ctx, d2, state)
            run("call_limit", check_call_limit, ctx, d2, state)
            run("bad_rule_refused", check_bad_rule, ctx, d2, state)
            run("whitelist", check_whitelist, ctx, d2, state)
            stats = user.finish()
            run("user_unharmed(detectors)", check_user, d2, stats)
            d2.stop()

        # 4. nftables, in the test's own network namespace.
        run("nftables", check_nftables, ctx, state)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        print("FAIL harness: %s" % error, flush=True)
        results.append(("harness", False))
    finally:
        for d in daemons:
            d.stop()
        for proc in ctx.procs:
            stop(proc, signal.SIGKILL, 5)

    failed = [name for name, ok in results if not ok]
    print("%d checks, %d failed%s (%.0f s)" % (len(results), len(failed),
                                              (": " + ", ".join(failed)) if failed else "",
                                              time.monotonic() - began))
    if failed or args.keep:
        print("work directory kept: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
