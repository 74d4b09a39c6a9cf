#!/usr/bin/env python3
"""Passive mode (issue 6, docs/monitoring.md): sipboxd captures on `lo` with libpcap and
measures a call it does not take part in.

Two python parties on 127.0.0.2 and 127.0.0.3 exchange INVITE (SDP) / 200 (SDP) / ACK
directly, then 200 RTP packets each way (10 ms apart) with known gaps (A skips 5 sequence
numbers in two bursts, B skips 1), then BYE / 200. `sipbox capture start --interface lo`
before and `sipbox capture stop` after; then the counts of `sipbox capture status --json`
and the call's final reports (logged by sipboxd without a quality recorder: loss,
codec, sides, end reason) or, where sipboxd has the quality recorder, the call's
records in GET /api/v1/quality. Other processes may use `lo` meanwhile, so shared
counters are checked as lower bounds and the call's own reports exactly.

Also: refusals (sipboxd stopped, no interface configured, no such device, already
running, stop when stopped), the configured default interface, and the REST API (GET
/api/v1/capture, POST /api/v1/capture/start and /stop, 409/400, viewers refused).

usage: capture_test.py SIPBOXD SIPBOX"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_port  # noqa: E402

sipboxd, sipbox = sys.argv[1], sys.argv[2]
HOST = "127.0.0.1"
A_ADDR, B_ADDR = "127.0.0.2", "127.0.0.3"
ADMIN, VIEWER = ("root", "rootpw"), ("watcher", "watchpw")
A_MISSING = {20, 21, 22, 100, 150}  # packet indexes A does not send
B_MISSING = {50}
PACKETS = 200
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)
    return condition


def cli(data_dir, *args):
    return subprocess.run([sipbox, "--data-dir", data_dir, *args], capture_output=True, text=True, timeout=60)


def cli_json(data_dir, *args):
    r = cli(data_dir, *args, "--json")
    if not check(r.returncode == 0, f"sipbox {' '.join(args)} --json exits 0 ({r.stderr.strip()})"):
        return {}
    return json.loads(r.stdout)


def http(method, port, path, user=None, body=None):
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode())
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except (urllib.error.URLError, OSError):
        return None, None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def udp(addr, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    return s


def rtp_pair(addr):
    """An RTP socket on an even port whose RTCP neighbour is free."""
    for _ in range(100):
        probe = udp(addr)
        port = probe.getsockname()[1]
        probe.close()
        if port % 2 or port > 65000:
            continue
        try:
            rtp, rtcp = udp(addr, port), udp(addr, port + 1)
            return rtp, rtcp
        except OSError:
            continue
    raise RuntimeError("no RTP port pair")


def sdp(addr, port):
    return (f"v=0\r\no=- 1 1 IN IP4 {addr}\r\ns=-\r\nc=IN IP4 {addr}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            f"a=ptime:10\r\n")


def sip(start, call_id, cseq, a_sip, b_sip, body="", from_b=False, to_tag=True):
    sender = b_sip if from_b else a_sip
    msg = (f"{start}\r\nVia: SIP/2.0/UDP {A_ADDR}:{a_sip};branch=z9hG4bK{cseq.split()[0]}{call_id[:6]}\r\nMax-Forwards: 70\r\n"
           f"From: <sip:alice@{A_ADDR}>;tag=alice1\r\nTo: <sip:bob@{B_ADDR}>{';tag=bob1' if to_tag else ''}\r\n"
           f"Call-ID: {call_id}\r\nCSeq: {cseq}\r\nContact: <sip:x@{B_ADDR if from_b else A_ADDR}:{sender}>\r\n")
    if body:
        msg += "Content-Type: application/sdp\r\n"
    return (msg + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def rtp(seq, ts, ssrc):
    return bytes([0x80, 8]) + seq.to_bytes(2, "big") + ts.to_bytes(4, "big") + ssrc.to_bytes(4, "big") + b"\xd5" * 80


def run_call(call_id):
    """The call between A and B; returns (A's RTP port, B's RTP port)."""
    a_sip, b_sip = udp(A_ADDR), udp(B_ADDR)
    (a_rtp, a_rtcp), (b_rtp, b_rtcp) = rtp_pair(A_ADDR), rtp_pair(B_ADDR)
    ap, bp = a_sip.getsockname()[1], b_sip.getsockname()[1]
    ar, br = a_rtp.getsockname()[1], b_rtp.getsockname()[1]
    try:
        a_sip.sendto(sip(f"INVITE sip:bob@{B_ADDR}:{bp} SIP/2.0", call_id, "1 INVITE", ap, bp, sdp(A_ADDR, ar),
                         to_tag=False), (B_ADDR, bp))
        b_sip.sendto(sip("SIP/2.0 200 OK", call_id, "1 INVITE", ap, bp, sdp(B_ADDR, br), from_b=True), (A_ADDR, ap))
        a_sip.sendto(sip(f"ACK sip:bob@{B_ADDR}:{bp} SIP/2.0", call_id, "1 ACK", ap, bp), (B_ADDR, bp))
        time.sleep(0.05)
        for i in range(PACKETS):
            if i not in A_MISSING:
                a_rtp.sendto(rtp(1 + i, 80 * i, 0xa11ce), (B_ADDR, br))
            if i not in B_MISSING:
                b_rtp.sendto(rtp(3000 + i, 9000 + 80 * i, 0xb0b), (A_ADDR, ar))
            time.sleep(0.01)
        a_sip.sendto(sip(f"BYE sip:bob@{B_ADDR}:{bp} SIP/2.0", call_id, "2 BYE", ap, bp), (B_ADDR, bp))
        b_sip.sendto(sip("SIP/2.0 200 OK", call_id, "2 BYE", ap, bp, from_b=True), (A_ADDR, ap))
        time.sleep(0.3)
        return ar, br
    finally:
        for s in (a_sip, b_sip, a_rtp, a_rtcp, b_rtp, b_rtcp):
            s.close()


def report_line(log_text, call_id, side):
    m = re.search(rf"media final: call {re.escape(call_id)} stream 0 {side} (\S+) -> (\S+) (\S+) packets (\d+) "
                  rf"lost (-?\d+)", log_text)
    return m.groups() if m else None


def running_checks(d, http_port, log_path):
    s = cli_json(d, "capture", "status")
    check(s.get("running") is False and s.get("interface") is None, f"status before any capture: {s}")
    r = cli(d, "capture", "start")
    check(r.returncode == 1 and "none configured" in r.stderr, f"start without an interface refused: {r.stderr!r}")
    r = cli(d, "capture", "start", "--interface", "nosuchif0")
    check(r.returncode == 1 and "nosuchif0" in r.stderr, f"start on a missing device refused: {r.stderr!r}")
    r = cli(d, "capture", "stop")
    check(r.returncode == 1 and "no passive capture" in r.stderr, f"stop while stopped refused: {r.stderr!r}")

    s = cli_json(d, "capture", "start", "--interface", "lo")
    check(s.get("running") is True and s.get("interface") == "lo", f"capture started on lo: {s}")
    r = cli(d, "capture", "start", "--interface", "lo")
    check(r.returncode == 1 and "already running" in r.stderr, f"a second start refused: {r.stderr!r}")
    call_id = f"{uuid.uuid4().hex}@capture-test"
    ar, br = run_call(call_id)
    running = cli_json(d, "capture", "status")
    check(running.get("running") is True, "status while running says running")
    s = cli_json(d, "capture", "stop")
    check(s.get("running") is False, f"stopped: {s}")
    packets, sipc, calls, media = (s.get(k, {}) for k in ("packets", "sip", "calls", "media"))
    sent_rtp = (PACKETS - len(A_MISSING)) + (PACKETS - len(B_MISSING))
    check(packets.get("seen", 0) >= sent_rtp + 5, f"packets seen >= {sent_rtp + 5}: {packets}")
    check(sipc.get("messages", 0) >= 5, f"SIP messages >= 5: {sipc}")
    check(calls.get("seen", 0) >= 1 and calls.get("ended", 0) >= 1, f"a call seen and ended: {calls}")
    check(media.get("rtp_packets", 0) >= sent_rtp, f"RTP packets matched >= {sent_rtp}: {media}")
    check(media.get("reports", 0) >= 2, f"at least two reports: {media}")
    check(s.get("pcap", {}).get("dropped") == 0, f"no pcap drops: {s.get('pcap')}")
    plain = cli(d, "capture", "status")
    check(plain.returncode == 0 and "stopped on lo" in plain.stdout, f"status text: {plain.stdout!r}")

    # The call's own reports: quality records (GET /api/v1/quality) where sipboxd has the
    # quality recorder, else the log lines of its logging observer.
    status, records = http("GET", http_port, f"/api/v1/quality?call_id={call_id}", ADMIN)
    if status == 404:
        print("no /api/v1/quality in this sipboxd: the call's reports are checked in its log")
        with open(log_path) as f:
            text = f.read()
        a = report_line(text, call_id, "offerer")
        b = report_line(text, call_id, "answerer")
        check(a == (f"{A_ADDR}:{ar}", f"{B_ADDR}:{br}", "PCMA", str(PACKETS - len(A_MISSING)), str(len(A_MISSING))),
              f"A's stream: {a}")
        check(b == (f"{B_ADDR}:{br}", f"{A_ADDR}:{ar}", "PCMA", str(PACKETS - len(B_MISSING)), str(len(B_MISSING))),
              f"B's stream: {b}")
        check(f"media: call {call_id} ended (hangup)" in text, "the call ended by its BYE")
    else:
        print("the call's reports are checked as quality records")
        wait_for(lambda: len(http("GET", http_port, f"/api/v1/quality?call_id={call_id}", ADMIN)[1] or []) >= 2, 10)
        status, records = http("GET", http_port, f"/api/v1/quality?call_id={call_id}", ADMIN)
        check(status == 200 and isinstance(records, list) and len(records) == 2, f"two quality records: {records}")
        by_source = {r.get("source"): r for r in records or []}
        for src, dst, missing in ((f"{A_ADDR}:{ar}", f"{B_ADDR}:{br}", A_MISSING),
                                  (f"{B_ADDR}:{br}", f"{A_ADDR}:{ar}", B_MISSING)):
            r = by_source.get(src, {})
            check(r.get("destination") == dst and r.get("packets") == PACKETS - len(missing) and
                  abs(r.get("loss_percent", -1) - 100.0 * len(missing) / PACKETS) < 1e-6 and
                  "PCMA" in str(r.get("codec")) and r.get("mos", 0) > 1,
                  f"record of {src}: {r}")

    # REST.
    status, body = http("GET", http_port, "/api/v1/capture", ADMIN)
    check(status == 200 and body.get("running") is False and body.get("interface") == "lo", f"GET: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/capture/stop", ADMIN, {})
    check(status == 409, f"POST stop while stopped is 409: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/capture/start", ADMIN, {"interface": "nosuchif0"})
    check(status == 400 and "nosuchif0" in json.dumps(body), f"POST start on a missing device is 400: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/capture/start", VIEWER, {"interface": "lo"})
    check(status == 403, f"a viewer may not start a capture: {status}")
    # The configured interface is the default.
    r = cli(d, "config", "set", "/sipbox-media:media/monitoring/passive-interface", "lo")
    check(r.returncode == 0, f"config set passive-interface: {r.stderr!r}")
    status, body = http("POST", http_port, "/api/v1/capture/start", ADMIN, {})
    check(status == 200 and body.get("running") is True and body.get("interface") == "lo",
          f"POST start with the configured interface: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/capture/start", ADMIN, {})
    check(status == 409, f"POST start while running is 409: {status}")
    status, body = http("GET", http_port, "/api/v1/capture", VIEWER)
    check(status == 200 and body.get("running") is True, f"a viewer may read the status: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/capture/stop", ADMIN, {})
    check(status == 200 and body.get("running") is False, f"POST stop: {status} {body}")


def main():
    with tempfile.TemporaryDirectory(prefix="sipbox-capture-") as d:
        r = cli(d, "capture", "status")
        check(r.returncode == 1 and "not running" in r.stderr, f"status with sipboxd stopped: {r.stderr!r}")
        check(cli(d, "admin", "add", ADMIN[0], "--password", ADMIN[1], "--role", "admin").returncode == 0, "admin")
        check(cli(d, "admin", "add", VIEWER[0], "--password", VIEWER[1], "--role", "viewer").returncode == 0, "viewer")
        sip_port, http_port = free_port(HOST, 3), free_port(HOST, 1)
        log_path = os.path.join(d, "sipboxd.log")
        log = open(log_path, "w")
        daemon = subprocess.Popen([sipboxd, "--data-dir", d, "--bind", HOST, "--sip-port", str(sip_port),
                                   "--http-port", str(http_port), "--netconf-port", "0"], stdout=log, stderr=log)
        try:
            up = wait_for(lambda: daemon.poll() is not None or
                          (os.path.exists(os.path.join(d, "control.sock")) and
                           http("GET", http_port, "/api/v1/status")[0] == 401))
            if check(up and daemon.poll() is None, "sipboxd starts"):
                running_checks(d, http_port, log_path)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                check(daemon.wait(timeout=30) == 0, "sipboxd stops with exit 0")
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
                check(False, "sipboxd stops on SIGTERM")
            log.close()
            if failures:
                with open(log_path) as f:
                    print(f.read()[-3000:])
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("passive capture: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
