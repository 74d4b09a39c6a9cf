#!/usr/bin/env python3
"""Malformed and torture SIP messages over the wire: sipboxd answers an invalid request
with 400 or drops it, never answers a valid one with 400, never answers a response, and
keeps serving others (DESIGN.md section 3: "bad input gets a clear answer and changes
nothing").

Bursts, each followed by the health checks (OPTIONS to the server itself gets 200 over
UDP and TCP, a REGISTER with digest authentication gets 401 then 200, the process is
alive):
  1. the RFC 4475 torture messages (../shared/corpora/rfc4475, index.csv gives the
     verdicts), each over the transport its top Via names (UDP, or TCP for TCP and TLS);
  2. hand-made broken datagrams: empty, text garbage, binary noise, a 65 KB datagram,
     truncated headers, NUL bytes, bad CSeq, bad Content-Length, no Via, ...;
  3. hand-made broken TCP streams: a huge Content-Length, an endless header line, binary
     noise, garbage, a connection closed in the middle of the headers.

Each message goes from its own socket (its top Via rewritten to name that socket, and
TLS to TCP), so every answer is matched to its message without parsing it. Which
messages got 400 and which were dropped is printed.

The test runs in a network namespace of its own (netns.py: unshare --net, as root) so
that a request for a foreign domain that the server relays or resolves touches nothing
outside the test; without the privilege it runs on the host's loopback and says so.

usage: sip_malformed_test.py SIPBOXD SIPBOX CORPORA_DIR"""
import csv
import hashlib
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from ports import free_port  # noqa: E402

netns.isolate()
sipboxd, sipbox, corpora = sys.argv[1], sys.argv[2], sys.argv[3]
HOST = "127.0.0.1"
DOMAIN = "test.example"
USER, PASSWORD = "alice", "wire-test-pw"
failures = []
rows = []  # (burst, name, transport, expected, result, ok)


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


# --- SIP framing --------------------------------------------------------------------

def header_block(message):
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[:end]


def content_length(head):
    m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head)
    return int(m.group(1)) if m else 0


def split_stream(buffer):
    """Complete SIP messages at the front of a TCP byte stream, and the rest."""
    messages = []
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return messages, buffer
        length = end + 4 + content_length(buffer[:end])
        if len(buffer) < length:
            return messages, buffer
        messages.append(buffer[:length])
        buffer = buffer[length:]


def status_code(message):
    m = re.match(rb"SIP/2\.0 (\d{3})", message)
    return int(m.group(1)) if m else None


def header(message, *names):
    pattern = rb"(?im)^(?:" + b"|".join(re.escape(n.encode()) for n in names) + rb")[ \t]*:[ \t]*(.*)$"
    return [v.strip().decode(errors="replace") for v in re.findall(pattern, header_block(message))]


VIA = re.compile(rb"(?im)^(?:via|v)[ \t]*:[ \t\r\n]*SIP[ \t\r\n]*/[ \t\r\n]*[0-9.]+[ \t\r\n]*/[ \t\r\n]*"
                 rb"([A-Za-z]+)([ \t\r\n]+)([^;,\s]+)")


def aim_top_via(message, transport, address):
    """The message with its top Via naming the socket it leaves from (transport and
    sent-by only: everything else, broken or not, stays as it was)."""
    m = VIA.search(header_block(message))
    if not m:
        return message
    return (message[:m.start(1)] + transport.encode() + message[m.end(1):m.start(3)] + address.encode() +
            message[m.end(3):])


def top_via_transport(message):
    m = VIA.search(header_block(message))
    if not m:
        return "UDP"
    return "TCP" if m.group(1).upper() in (b"TCP", b"TLS") else "UDP"


# --- one message per socket ---------------------------------------------------------

class Exchange:
    """One message sent from a socket of its own; everything that comes back on it."""

    def __init__(self, name, transport, build, port):
        self.name, self.transport = name, transport
        self.codes, self.answers, self.closed, self.error = [], [], False, None
        self.buffer = b""
        if transport == "UDP":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((HOST, 0))
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.settimeout(5)
            try:
                self.sock.connect((HOST, port))
            except OSError as e:
                self.closed, self.error = True, f"connect: {e}"
        self.address = f"{HOST}:{self.sock.getsockname()[1]}"
        self.payload = build(self)
        if self.closed:
            return
        try:
            if transport == "UDP":
                self.sock.sendto(self.payload, (HOST, port))
            else:
                self.sock.sendall(self.payload)
        except OSError as e:
            # A server may stop reading or reset a stream it refuses: not an error.
            self.error = str(e)
        self.sock.setblocking(False)

    def receive(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.closed, self.error = True, str(e)
            return
        if self.transport == "UDP":
            self.codes.append(status_code(data))
            self.answers.append(data)
            return
        if not data:
            self.closed = True
            return
        messages, self.buffer = split_stream(self.buffer + data)
        self.codes += [status_code(m) for m in messages]
        self.answers += messages

    def final(self):
        return any(c is not None and c >= 200 for c in self.codes)

    def result(self):
        shown = ",".join(str(c) for c in self.codes) if self.codes else "dropped"
        if self.transport == "TCP" and self.closed:
            shown += f" ({self.error})" if self.error and self.error.startswith("connect") else " (closed)"
        return shown

    def transcript(self):
        """What went out (start line and headers, shortened) and the first final answer."""
        def cut(data):
            text = header_block(data)[:1500].decode(errors="replace")
            return text + (" ..." if len(data) > 1500 else "")
        sent = cut(self.payload) if self.payload else "(nothing)"
        finals = [a for a in self.answers if (status_code(a) or 200) >= 200]
        answer = cut((finals or self.answers)[0]) if self.answers else "(no answer)"
        return f"    sent {len(self.payload)} bytes:\n{indent(sent)}\n    got:\n{indent(answer)}"

    def close(self):
        self.sock.close()


def indent(text):
    return "\n".join("      " + line for line in text.splitlines())


def exchange_all(exchanges, port, settle=1.5, cap=12.0):
    """Collect answers until every exchange has a final one, or until a probe sent after
    them was answered and `settle` seconds passed without news (bounded by `cap`)."""
    probe = Exchange("probe", "UDP", lambda ex: options(ex.address, "UDP", port), port)
    start = time.monotonic()
    quiet_since = None
    while time.monotonic() - start < cap:
        socks = {e.sock: e for e in exchanges + [probe] if not e.closed}
        readable, _, _ = select.select(list(socks), [], [], 0.1)
        for s in readable:
            socks[s].receive()
        if readable:
            quiet_since = None
        if all(e.final() or e.closed for e in exchanges):
            break
        if probe.final():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= settle:
                break
    probe.close()
    return probe


# --- requests the test makes itself -------------------------------------------------

def options(via, transport, port, call_id=None, branch=None):
    return (f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {via};branch={branch or 'z9hG4bK' + uuid.uuid4().hex}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:probe@{HOST}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{HOST}:{port}>\r\n"
            f"Call-ID: {call_id or uuid.uuid4().hex}@wiretest\r\n"
            f"CSeq: 1 OPTIONS\r\n"
            f"Accept: application/sdp\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def transaction(sock, transport, port, message, wait=5.0):
    """Send a request (retransmitted every 0.5 s over UDP) and return its final answer."""
    deadline = time.monotonic() + wait
    buffer = b""
    next_send = 0.0
    while time.monotonic() < deadline:
        if transport == "UDP" and time.monotonic() >= next_send:
            sock.sendto(message, (HOST, port))
            next_send = time.monotonic() + 0.5
        readable, _, _ = select.select([sock], [], [], 0.1)
        if not readable:
            continue
        if transport == "UDP":
            answers = [sock.recv(65536)]
        else:
            data = sock.recv(65536)
            if not data:
                return None
            answers, buffer = split_stream(buffer + data)
        for answer in answers:
            code = status_code(answer)
            if code is not None and code >= 200:
                return answer
    return None


def options_ok(port, transport):
    if transport == "UDP":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
    else:
        try:
            sock = socket.create_connection((HOST, port), timeout=5)
        except OSError as e:
            return f"no connection ({e})"
    try:
        via = f"{HOST}:{sock.getsockname()[1]}"
        message = options(via, transport, port)
        if transport == "TCP":
            sock.sendall(message)
        answer = transaction(sock, transport, port, message)
        return status_code(answer) if answer else None
    finally:
        sock.close()


def digest_params(challenge):
    return {k.lower(): (q if q else v) for k, q, v in
            re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', challenge)}


def register_ok(port):
    """REGISTER: 401 with a challenge, then 200 with the digest. Returns (ok, transcript)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    via = f"{HOST}:{sock.getsockname()[1]}"
    call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    uri = f"sip:{DOMAIN}"

    def register(cseq, authorization=""):
        return (f"REGISTER {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {via};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                f"Max-Forwards: 70\r\n"
                f"From: <sip:{USER}@{DOMAIN}>;tag={tag}\r\n"
                f"To: <sip:{USER}@{DOMAIN}>\r\n"
                f"Call-ID: {call_id}@wiretest\r\n"
                f"CSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{USER}@{via}>\r\n"
                f"Expires: 60\r\n{authorization}"
                f"Content-Length: 0\r\n\r\n").encode()

    try:
        first = transaction(sock, "UDP", port, register(1))
        if first is None or status_code(first) != 401:
            return False, f"REGISTER without credentials got {first[:200] if first else 'no answer'}"
        challenges = [c for c in header(first, "WWW-Authenticate") if c.lower().startswith("digest")]
        params = None
        for wanted in ("MD5", "SHA-256"):
            for c in challenges:
                p = digest_params(c[len("digest"):])
                if p.get("algorithm", "MD5").upper() == wanted:
                    params = params or (p, wanted)
        if params is None:
            return False, f"no usable Digest challenge in {challenges}"
        p, algorithm = params
        h = (lambda s: hashlib.md5(s.encode()).hexdigest()) if algorithm == "MD5" else \
            (lambda s: hashlib.sha256(s.encode()).hexdigest())
        ha1 = h(f"{USER}:{p['realm']}:{PASSWORD}")
        ha2 = h(f"REGISTER:{uri}")
        fields = [f'username="{USER}"', f'realm="{p["realm"]}"', f'nonce="{p["nonce"]}"', f'uri="{uri}"',
                  f"algorithm={algorithm}"]
        if "auth" in [q.strip() for q in p.get("qop", "").split(",")]:
            cnonce = uuid.uuid4().hex[:16]
            response = h(f"{ha1}:{p['nonce']}:00000001:{cnonce}:auth:{ha2}")
            fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
        else:
            response = h(f"{ha1}:{p['nonce']}:{ha2}")
        fields.append(f'response="{response}"')
        if "opaque" in p:
            fields.append(f'opaque="{p["opaque"]}"')
        second = transaction(sock, "UDP", port, register(2, "Authorization: Digest " + ", ".join(fields) + "\r\n"))
        if second is None or status_code(second) != 200:
            return False, f"REGISTER with the digest got {second[:300] if second else 'no answer'}"
        return True, "401 then 200"
    finally:
        sock.close()


def health(server, port, after):
    """The server is alive and serves others. False (and the test stops) when not."""
    if not check(server.poll() is None, f"sipboxd still running after {after} (exit {server.poll()})"):
        return False
    udp, tcp = options_ok(port, "UDP"), options_ok(port, "TCP")
    ok, transcript = register_ok(port)
    print(f"after {after}: alive, OPTIONS UDP {udp} / TCP {tcp}, REGISTER {transcript}")
    return all([check(udp == 200, f"after {after}: OPTIONS over UDP got {udp}"),
                check(tcp == 200, f"after {after}: OPTIONS over TCP got {tcp}"),
                check(ok, f"after {after}: REGISTER with digest: {transcript}")])


# --- the messages -------------------------------------------------------------------

def judge(burst, exchange, expected):
    """expected: 'valid' (anything but 400; 'valid-or-400': see RFC_ALLOWS_400), 'invalid'
    (400 or nothing), 'invalid-size' (400, 513 Message Too Large, or nothing), 'response'
    (never answered), 'keepalive' (no SIP answer; a CRLF pong is fine)."""
    finals = [c for c in exchange.codes if c is None or c >= 200]
    if expected == "valid":
        ok = 400 not in exchange.codes
    elif expected == "valid-or-400":
        ok = True
    elif expected == "invalid":
        ok = all(c == 400 for c in finals)
    elif expected == "invalid-size":
        ok = all(c in (400, 513) for c in finals)
    elif expected == "keepalive":
        ok = all(a.strip(b"\r\n") == b"" for a in exchange.answers)
    else:
        ok = not exchange.codes
    rows.append((burst, exchange.name, exchange.transport, expected, exchange.result(), ok))
    check(ok, f"{burst}: {exchange.name} ({expected}, {exchange.transport}) got {exchange.result()}\n"
          + exchange.transcript())


# Well-formed messages for which RFC 4475 itself names 400 as a right answer.
RFC_ALLOWS_400 = {
    "unksm2.dat": "RFC 4475 3.3.4: a registrar rejects it with 400, the To URI not being a SIP or SIPS AOR",
}


def torture(port):
    with open(os.path.join(corpora, "rfc4475", "index.csv")) as f:
        index = [(r["file"], r["expected"]) for r in csv.DictReader(f)]
    check(len(index) >= 40, f"index.csv lists the torture messages ({len(index)})")
    exchanges = []
    for name, expected in index:
        with open(os.path.join(corpora, "rfc4475", name), "rb") as f:
            raw = f.read()
        is_response = raw.startswith(b"SIP/")
        transport = "UDP" if is_response else top_via_transport(raw)
        build = (lambda ex, raw=raw: raw) if is_response else \
            (lambda ex, raw=raw: aim_top_via(raw, ex.transport, ex.address))
        if is_response:
            expected = "response"
        elif expected == "valid" and name in RFC_ALLOWS_400:
            expected = "valid-or-400"
        exchanges.append((Exchange(name, transport, build, port), expected))
    exchange_all([e for e, _ in exchanges], port)
    for exchange, expected in exchanges:
        judge("rfc4475", exchange, expected)
        exchange.close()


def request(via, port, transport="UDP", *, start=None, drop=(), replace=None, extra="", body=""):
    """A well-formed OPTIONS to the server, then broken on purpose."""
    lines = [start or f"OPTIONS sip:{HOST}:{port} SIP/2.0",
             f"Via: SIP/2.0/{transport} {via};branch=z9hG4bK{uuid.uuid4().hex}",
             "Max-Forwards: 70",
             f"From: <sip:probe@{HOST}>;tag=a1b2c3",
             f"To: <sip:{HOST}:{port}>",
             f"Call-ID: {uuid.uuid4().hex}@wiretest",
             "CSeq: 1 OPTIONS",
             f"Content-Length: {len(body.encode())}"]
    lines = [line for line in lines if not any(line.startswith(d) for d in drop)]
    if replace:
        lines = [replace.get(line.split(":")[0], line) for line in lines]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n" + body).encode()


def handmade_udp(port):
    noise = random.Random(4475)
    cases = [
        ("empty datagram", "invalid", lambda ex: b""),
        ("CRLF keep-alive", "keepalive", lambda ex: b"\r\n\r\n"),
        ("text garbage", "invalid", lambda ex: b"this is not SIP at all\r\n\r\n"),
        ("binary noise 1400 bytes", "invalid", lambda ex: noise.randbytes(1400)),
        ("65 KB datagram (endless header)", "invalid-size",
         lambda ex: request(ex.address, port)[:-2].replace(b"Content-Length: 0\r\n", b"") +
         b"X-Junk: " + b"A" * (65507 - 8 - len(request(ex.address, port)))),
        ("65 KB datagram (binary)", "invalid-size", lambda ex: noise.randbytes(65507)),
        ("truncated headers", "invalid", lambda ex: request(ex.address, port)[:90]),
        ("request line only", "invalid", lambda ex: f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n\r\n".encode()),
        ("no Via", "invalid", lambda ex: request(ex.address, port, drop=("Via",))),
        ("no Call-ID", "invalid", lambda ex: request(ex.address, port, drop=("Call-ID",))),
        ("no CSeq", "invalid", lambda ex: request(ex.address, port, drop=("CSeq",))),
        ("CSeq not a number", "invalid", lambda ex: request(ex.address, port, replace={"CSeq": "CSeq: abc OPTIONS"})),
        ("CSeq method mismatch", "invalid",
         lambda ex: request(ex.address, port, replace={"CSeq": "CSeq: 1 INVITE"})),
        ("Content-Length not a number", "invalid",
         lambda ex: request(ex.address, port, replace={"Content-Length": "Content-Length: lots"})),
        ("Content-Length beyond the datagram", "invalid",
         lambda ex: request(ex.address, port, replace={"Content-Length": "Content-Length: 5000"})),
        ("Max-Forwards negative", "invalid",
         lambda ex: request(ex.address, port, replace={"Max-Forwards": "Max-Forwards: -1"})),
        ("header line without colon", "invalid",
         lambda ex: request(ex.address, port, extra="This line has no colon\r\n")),
        ("NUL byte in a header name", "invalid", lambda ex: request(ex.address, port, extra="X-Bad\0Name: 1\r\n")),
        ("garbage request line", "invalid", lambda ex: request(ex.address, port, start="FOO BAR")),
        ("empty Request-URI", "invalid", lambda ex: request(ex.address, port, start="OPTIONS  SIP/2.0")),
        ("Request-URI without scheme", "invalid",
         lambda ex: request(ex.address, port, start="OPTIONS 127.0.0.1 SIP/2.0")),
        ("Via without host", "invalid",
         lambda ex: request(ex.address, port, replace={"Via": "Via: SIP/2.0/UDP ;branch=z9hG4bKnohost"})),
        ("From without URI", "invalid", lambda ex: request(ex.address, port, replace={"From": "From: ;tag=1"})),
    ]
    exchanges = [(Exchange(name, "UDP", build, port), expected) for name, expected, build in cases]
    exchange_all([e for e, _ in exchanges], port)
    for exchange, expected in exchanges:
        judge("udp", exchange, expected)
        exchange.close()


def handmade_tcp(port):
    noise = random.Random(3261)
    cases = [
        ("huge Content-Length", "invalid-size",
         lambda ex: request(ex.address, port, "TCP", replace={"Content-Length": "Content-Length: 99999999999"}) +
         b"a body that never ends"),
        ("Content-Length 64 MB, 1 KB sent", "invalid-size",
         lambda ex: request(ex.address, port, "TCP", replace={"Content-Length": "Content-Length: 67108864"}) +
         b"x" * 1024),
        ("endless header line (256 KB)", "invalid-size",
         lambda ex: request(ex.address, port, "TCP")[:-4] + b"\r\nX-Endless: " + b"B" * 262144),
        ("binary noise 4 KB", "invalid", lambda ex: noise.randbytes(4096)),
        ("text garbage", "invalid", lambda ex: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("negative Content-Length", "invalid",
         lambda ex: request(ex.address, port, "TCP", replace={"Content-Length": "Content-Length: -5"}) + b"hello"),
        ("no Content-Length on a stream", "invalid",
         lambda ex: request(ex.address, port, "TCP", drop=("Content-Length",))),
        ("CSeq not a number", "invalid",
         lambda ex: request(ex.address, port, "TCP", replace={"CSeq": "CSeq: x OPTIONS"})),
    ]
    exchanges = [(Exchange(name, "TCP", build, port), expected) for name, expected, build in cases]
    # A connection closed in the middle of the headers: nothing to answer, nothing to keep.
    try:
        with socket.create_connection((HOST, port), timeout=5) as half:
            half.sendall(request(f"{HOST}:{half.getsockname()[1]}", port, "TCP")[:70])
    except OSError as e:
        check(False, f"tcp: a connection for the half-sent message ({e})")
    exchange_all([e for e, _ in exchanges], port)
    for exchange, expected in exchanges:
        judge("tcp", exchange, expected)
        exchange.close()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        r = subprocess.run([sipbox, "--data-dir", data_dir, "user", "add", USER, "--password", PASSWORD,
                            "--domain", DOMAIN], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"user add: {r.stdout}{r.stderr}"
        # This test is about the parser and the pipeline, so the IPS must not ban the
        # sender of the torture messages (its malformed-burst detector would, by design;
        # tests/integration/security_test.py checks that).
        r = subprocess.run([sipbox, "--data-dir", data_dir, "config", "set",
                            "/sipbox-security:security/detectors/malformed/enabled", "false"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"config set: {r.stdout}{r.stderr}"
        port = free_port(HOST, 2)
        log_path = os.path.join(tmp, "sipboxd.log")
        with open(log_path, "wb") as log:
            server = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", HOST, "--sip-port", str(port),
                                       "--http-port", "0", "--netconf-port", "0"], stdout=log,
                                      stderr=subprocess.STDOUT)

        def server_log():
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")

        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "started" not in server_log() and server.poll() is None:
                time.sleep(0.05)
            assert "started" in server_log(), f"sipboxd did not start:\n{server_log()}"
            if health(server, port, "start"):
                for burst, run in [("the RFC 4475 torture messages", torture),
                                   ("the broken datagrams", handmade_udp),
                                   ("the broken TCP streams", handmade_tcp)]:
                    run(port)
                    if not health(server, port, burst):
                        break
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    code = server.wait(timeout=10)
                    check(code == 0, f"sipboxd exit code {code} after SIGTERM")
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                    check(False, "sipboxd did not stop within 10 s of SIGTERM")
            log_tail = server_log()[-8000:]

    print(f"\n{'burst':8} {'message':40} {'via':4} {'expected':12} {'answer':18} verdict")
    for burst, name, transport, expected, result, ok in rows:
        print(f"{burst:8} {name:40} {transport:4} {expected:12} {result:18} {'ok' if ok else 'FAIL'}")
    answered = sum(1 for r in rows if r[3].startswith("invalid") and r[4] != "dropped")
    print(f"invalid messages answered: {answered}, dropped: "
          f"{sum(1 for r in rows if r[3].startswith('invalid')) - answered}")
    if failures:
        print("--- sipboxd log (tail) ---\n" + log_tail)


main()
if failures:
    print("sip_malformed_test: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("sip_malformed_test: passed")
