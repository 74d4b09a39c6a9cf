"""Pieces of bench/load: processes and their CPU and memory, the two servers, SIPp runs
and the delay probe. Python standard library only; load.py drives them."""

import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
DOMAIN = "bench.example"
LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every process this run started, so that a failure or Ctrl-C still stops them all.
STARTED = []


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]


# ---------------------------------------------------------------- process accounting


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name: index 0 is field 3 (state)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def group_pids(pgid):
    """Every live process of a process group (a server and all it forked)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if int(_stat_fields(name)[2]) == pgid:  # field 5: pgrp
                pids.append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def cpu_seconds(pids):
    """user + system CPU time of the processes (all their threads), in seconds."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])  # fields 14 utime, 15 stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / CLK_TCK


def pss_kib(pids):
    """Proportional set size summed over the processes: shared pages counted once."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


class Child:
    """A program started in its own session (process group), stopped by its group id."""

    def __init__(self, argv, log, cwd):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log)
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(self.argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        self.exit_code = None
        self.final_cpu = None  # from wait4's rusage once reaped
        STARTED.append(self)

    def running(self):
        return self.exit_code is None and self._reap(block=False) is None

    def _reap(self, block):
        try:
            pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            self.exit_code = self.exit_code if self.exit_code is not None else -1
            return self.exit_code
        if pid == 0:
            return None
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.exit_code
        self.final_cpu = usage.ru_utime + usage.ru_stime
        return self.exit_code

    def pids(self):
        return group_pids(self.pid) if self.exit_code is None else []

    def cpu(self):
        """CPU seconds of the whole group so far (after exit: the reaped child's own)."""
        if self.exit_code is not None:
            return self.final_cpu or 0.0
        return cpu_seconds(self.pids())

    def wait(self, seconds):
        """Waits for the exit; past the deadline the group is stopped. Returns the exit code."""
        deadline = time.monotonic() + seconds
        while self.running():
            if time.monotonic() > deadline:
                self.stop()
                break
            time.sleep(0.05)
        return self.exit_code

    def stop(self, grace=10.0):
        if self.exit_code is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self._reap(block=False) is not None:
                    return
                time.sleep(0.05)

    def log_tail(self, lines=8):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_all():
    for child in reversed(STARTED):
        child.stop(grace=5.0)


# ---------------------------------------------------------------- ports and SIP liveness


_HANDED_OUT = set()


def free_ports(count, rng=random.Random()):
    """`count` consecutive ports free for UDP and TCP on the loopback address (and not
    handed out before in this run)."""
    for _ in range(200):
        base = rng.randrange(20000, 32000 - count)
        if _HANDED_OUT & set(range(base, base + count)):
            continue
        held = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind((LOOPBACK, port))
            _HANDED_OUT.update(range(base, base + count))
            return list(range(base, base + count))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free loopback ports")


def answers_sip(port, seconds):
    """True once the server answers an OPTIONS over UDP (any status code)."""
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        s.settimeout(0.5)
        local = s.getsockname()[1]
        n = 0
        while time.monotonic() < deadline:
            n += 1
            msg = (f"OPTIONS sip:{DOMAIN} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {LOOPBACK}:{local};rport;branch=z9hG4bK-ping{n}-{random.getrandbits(32)}\r\n"
                   f"Max-Forwards: 70\r\nFrom: <sip:ping@{DOMAIN}>;tag=p{n}\r\nTo: <sip:{DOMAIN}>\r\n"
                   f"Call-ID: ping-{n}-{random.getrandbits(32)}@{LOOPBACK}\r\nCSeq: {n} OPTIONS\r\n"
                   f"Content-Length: 0\r\n\r\n")
            s.sendto(msg.encode(), (LOOPBACK, port))
            try:
                if s.recv(65535).startswith(b"SIP/2.0 "):
                    return True
            except OSError:
                time.sleep(0.2)
    return False


# ---------------------------------------------------------------- users


def password(user):
    return "pw-" + user


def ha1(user):
    return hashlib.md5(f"{user}:{DOMAIN}:{password(user)}".encode()).hexdigest()


def user_names(count):
    return [f"u{i}" for i in range(count)] + ["callee"]


def auth_field(user):
    # SIPp does not expand [fieldN] inside [authentication ...], but it does expand
    # keywords found in an injected field, so the whole keyword travels in the file.
    return f"[authentication username={user} password={password(user)}]"


def write_csv(path, rows):
    with open(path, "w") as out:
        out.write("SEQUENTIAL\n")
        for row in rows:
            out.write(";".join(str(f) for f in row) + "\n")
    return path


# ---------------------------------------------------------------- the two servers


class Kamailio:
    """Debian's kamailio with bench/load/kamailio.cfg; users in a db_text table."""

    name = "kamailio"

    def __init__(self, work, port):
        self.dir = Path(work) / "kamailio"
        self.port = port
        self.child = None
        self.import_seconds = None
        self.startup_seconds = None

    def prepare(self, users):
        (self.dir / "db").mkdir(parents=True)
        (self.dir / "run").mkdir()
        with open(self.dir / "db" / "subscriber", "w") as out:
            out.write("username(str) ha1(str)\n")
            for user in users:
                out.write(f"{user}:{ha1(user)}\n")

    def start(self, log_name):
        t0 = time.monotonic()
        self.child = Child(["kamailio", "-DD", "-E", "-f", HERE / "kamailio.cfg",
                            "-l", f"udp:{LOOPBACK}:{self.port}", "-Y", self.dir / "run", "-m", "2048", "-M", "64",
                            "-A", f'DBURL="text://{self.dir / "db"}"'],
                           self.dir / log_name, self.dir)
        if not answers_sip(self.port, 60):
            raise RuntimeError(f"kamailio does not answer SIP on port {self.port}:\n{self.child.log_tail()}")
        self.startup_seconds = time.monotonic() - t0

    def stop(self):
        if self.child:
            self.child.stop()
            self.child = None


class Sipbox:
    """build-bench's sipboxd; users imported with `sipbox config import`."""

    name = "sipbox"

    def __init__(self, work, port, daemon, tool):
        self.dir = Path(work) / "sipbox"
        self.data = self.dir / "data"
        self.pristine = self.dir / "data-configured"
        self.port = port
        self.daemon = daemon
        self.tool = tool
        self.child = None
        self.import_seconds = None
        self.startup_seconds = None

    def prepare(self, users):
        self.dir.mkdir(parents=True)
        base = subprocess.run([self.tool, "--data-dir", self.data, "config", "export"], check=True,
                              capture_output=True, text=True, timeout=120).stdout
        parts = [base.strip(),
                 f'<domain xmlns="urn:sipbox:yang:sipbox-domains"><name>{DOMAIN}</name></domain>',
                 # 2 workers as Kamailio's children=2; listeners on the loopback ports
                 # chosen for this run (sip-port N, TLS N+1, WebSocket N+2).
                 '<system xmlns="urn:sipbox:yang:sipbox-system"><workers>2</workers><listeners>'
                 f'<bind-address>{LOOPBACK}</bind-address><sip-port>{self.port}</sip-port>'
                 f'<tls-port>{self.port + 1}</tls-port><ws-port>{self.port + 2}</ws-port>'
                 '</listeners></system>',
                 # Kamailio's config has no flood detection: the IPS would (rightly) ban
                 # one source sending thousands of REGISTERs a second.
                 '<security xmlns="urn:sipbox:yang:sipbox-security"><enabled>false</enabled></security>',
                 # One challenge (MD5) per 401/407, as Kamailio sends.
                 '<registrar xmlns="urn:sipbox:yang:sipbox-routing"><algorithms>md5</algorithms></registrar>']
        for user in users:
            parts.append(f'<user xmlns="urn:sipbox:yang:sipbox-users"><name>{user}</name>'
                         f'<domain>{DOMAIN}</domain><ha1-md5>{ha1(user)}</ha1-md5>'
                         '<max-concurrent-calls>0</max-concurrent-calls></user>')
        config = self.dir / "bench-config.xml"
        config.write_text("\n".join(parts) + "\n")
        t0 = time.monotonic()
        done = subprocess.run([self.tool, "--data-dir", self.data, "config", "import", config],
                              capture_output=True, text=True, timeout=3600)
        self.import_seconds = time.monotonic() - t0
        if done.returncode != 0:
            raise RuntimeError(f"sipbox config import failed: {done.stdout}{done.stderr}")
        # Every start begins from this copy: sipboxd restores bindings from its store, and
        # Kamailio (usrloc db_mode 0) starts empty.
        shutil.copytree(self.data, self.pristine)

    def start(self, log_name, started_timeout=900):
        shutil.rmtree(self.data)
        shutil.copytree(self.pristine, self.data)
        t0 = time.monotonic()
        self.child = Child([self.daemon, "--data-dir", self.data, "--bind", LOOPBACK, "--sip-port", self.port,
                            "--http-port", 0, "--netconf-port", 0], self.dir / log_name, self.dir)
        deadline = t0 + started_timeout
        while "started" not in self.child.log_tail(50):
            if not self.child.running() or time.monotonic() > deadline:
                tail = self.child.log_tail()
                self.stop()
                raise RuntimeError(f"sipboxd did not start:\n{tail}")
            time.sleep(0.1)
        if not answers_sip(self.port, 15):
            tail = self.child.log_tail()
            self.stop()
            raise RuntimeError(f"sipboxd started but does not answer SIP on udp {LOOPBACK}:{self.port}"
                               f"{' (log: ' + tail.strip() + ')' if tail.strip() else ''}")
        self.startup_seconds = time.monotonic() - t0

    def stop(self):
        if self.child:
            self.child.stop()
            self.child = None


# ---------------------------------------------------------------- SIPp


def _stat_rows(path):
    """Rows of a SIPp -trace_stat file (one a second, -fd 1) as dicts; cumulative
    columns end in (C)."""
    lines = [l for l in Path(path).read_text(errors="replace").splitlines() if l.strip()]
    names = lines[0].rstrip(";").split(";") if lines else []
    return [dict(zip(names, l.rstrip(";").split(";"))) for l in lines[1:]]


def _epoch(field):
    # "2026-11-25<TAB>22:27:36.630193<TAB>1795645656.630193"
    return float(field.split()[-1])


def creation_rate(rows, count):
    """Calls created per second while SIPp was still creating them: at the last row
    before all `count` calls existed (the wall time of the whole run would also count
    the wait for the last answers)."""
    best = None
    for row in rows:
        try:
            created = int(row["TotalCallCreated"])
            elapsed = _epoch(row["CurrentTime"]) - _epoch(row["StartTime"])
        except (KeyError, ValueError, IndexError):
            continue
        if elapsed >= 0.5 and (best is None or created < count):
            best = created / elapsed
        if created >= count:
            break
    return best


class SippRun:
    """One bounded SIPp client (or UAS) process and what it reports."""

    def __init__(self, work, tag, server_port, scenario, *, local_port, rate=None, count=None,
                 csv=None, auth_uri=None, seconds=None, trace_msg=False):
        self.tag = tag
        self.stat_path = Path(work) / f"{tag}.stat.csv"
        self.msg_path = Path(work) / f"{tag}.msg.log" if trace_msg else None
        argv = ["sipp", "-sf", SCENARIOS / scenario, "-i", LOOPBACK, "-p", local_port, "-nostdin",
                "-buff_size", 4194304, "-trace_stat", "-stf", self.stat_path, "-fd", 1]
        if server_port:
            argv[1:1] = [f"{LOOPBACK}:{server_port}"]
        if csv:
            argv += ["-inf", csv]
        if rate:
            argv += ["-r", rate, "-m", count, "-recv_timeout", 5000]
        if auth_uri:
            argv += ["-auth_uri", auth_uri]
        if seconds:
            argv += ["-timeout", f"{int(seconds)}s"]
        if trace_msg:
            argv += ["-trace_msg", "-message_file", self.msg_path]
        self.rate, self.count, self.seconds = rate, count, seconds
        self.t0 = time.monotonic()
        self.child = Child(argv, Path(work) / f"{tag}.out", work)
        self.wall = None

    def wait(self):
        self.child.wait((self.seconds or 60) + 15)
        self.wall = time.monotonic() - self.t0
        return self

    def stats(self):
        rows = _stat_rows(self.stat_path) if self.stat_path.exists() else []
        row = rows[-1] if rows else {}

        def num(key):
            try:
                return int(row.get(key, "0"))
            except ValueError:
                return 0

        created = num("TotalCallCreated")
        ok = num("SuccessfulCall(C)")
        return {"created": created, "ok": ok, "failed": num("FailedCall(C)"),
                "retrans": num("Retransmissions(C)"), "wall": self.wall or 0.0,
                "sipp_cpu": self.child.cpu(),
                "success": ok / created if created else 0.0,
                "achieved": creation_rate(rows, self.count or created) or
                            (created / self.wall if self.wall else 0.0)}


# ---------------------------------------------------------------- RFC 6076 delays from the probe

_ENTRY = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(?:UDP|TCP) message (sent|received)[^\n]*\n\n"
                    r"(.*?)(?=^-{20,} \d{4}-|\Z)", re.S | re.M)
_CALL_ID = re.compile(r"^(?:Call-ID|i)\s*:\s*(\S+)", re.I | re.M)
_CSEQ = re.compile(r"^CSeq\s*:\s*\d+\s+(\w+)", re.I | re.M)


def probe_delays(path, method, end_codes):
    """Milliseconds from the first `method` request of each call (SIPp -trace_msg log,
    microsecond timestamps) to the first response to that method whose code is in
    `end_codes`: RRD with REGISTER/200; SRD with INVITE and the first status-indicative
    response, 180 or 200 (which may overtake the 180 through a proxy with parallel
    workers)."""
    if path is None or not Path(path).exists():
        return []
    first, end = {}, {}
    for stamp, direction, msg in _ENTRY.findall(Path(path).read_text(errors="replace")):
        call_id = _CALL_ID.search(msg)
        if not call_id:
            continue
        call_id = call_id.group(1)
        when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        start_line = msg.lstrip().split("\n", 1)[0]
        if direction == "sent" and start_line.startswith(method + " "):
            first.setdefault(call_id, when)
        elif direction == "received" and start_line[8:11] in end_codes and start_line.startswith("SIP/2.0 "):
            cseq = _CSEQ.search(msg)
            if cseq and cseq.group(1).upper() == method:
                end.setdefault(call_id, when)
    return sorted((end[c] - first[c]) * 1000.0 for c in end if c in first)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
