#!/usr/bin/env python3
"""Operations counters (DESIGN.md 3: everything measurable is exported): sipboxd counts what
it receives and sends, and `sipbox status [--json]`, GET /api/v1/status and GET /metrics
report the same numbers.

A known sequence of SIP messages goes to a fresh sipboxd over UDP, each sent once (no
retransmission, so every count is exact):
  OPTIONS sip:127.0.0.1:N              -> 200 (the server answers for itself)
  an OPTIONS whose CSeq is not a number -> 400 (unparsable, answered)
  REGISTER without credentials         -> 401
  REGISTER with MD5 digest credentials -> 200 (one binding)
then the exact counter values are asserted in all three views; /metrics must be valid
Prometheus text format 0.0.4 and every metric it names must be described in
docs/operations.md. /metrics needs no login; /api/v1/status needs an admin login.
`sipbox status` with the daemon stopped exits 1 and says sipboxd is not running.

usage: status_test.py SIPBOXD SIPBOX SOURCE_DIR"""
import base64
import hashlib
import http.client
import json
import os
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
from ports import free_port  # noqa: E402

sipboxd, sipbox, source_dir = sys.argv[1], sys.argv[2], sys.argv[3]
HOST = "127.0.0.1"
DOMAIN = "test.example"
USER, PASSWORD = "alice", "secret"
ADMIN, ADMIN_PASSWORD = "root", "pw"
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def sipbox_cli(data_dir, *args):
    return subprocess.run([sipbox, "--data-dir", data_dir, *args], capture_output=True, text=True, timeout=60)


# --- SIP over UDP ------------------------------------------------------------------

def status_code(message):
    m = re.match(rb"SIP/2\.0 (\d{3})", message)
    return int(m.group(1)) if m else None


def exchange(sock, port, message, wait=10.0):
    """Sends a request once and returns its final answer (None when none came in time)."""
    sock.sendto(message, (HOST, port))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            answer = sock.recv(65536)
            code = status_code(answer)
            if code is not None and code >= 200:
                return answer
    return None


def options(via, port, cseq="1 OPTIONS"):
    return (f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {via};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:probe@{HOST}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{HOST}:{port}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}@status-test\r\n"
            f"CSeq: {cseq}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def digest_params(challenge):
    return {k.lower(): (q if q else v) for k, q, v in
            re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', challenge)}


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def register_twice(sock, port):
    """REGISTER without credentials, then with the MD5 digest answer. Returns both codes."""
    via = f"{HOST}:{sock.getsockname()[1]}"
    call_id, tag, uri = uuid.uuid4().hex, uuid.uuid4().hex[:8], f"sip:{DOMAIN}"

    def register(cseq, authorization=""):
        return (f"REGISTER {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {via};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
                f"Max-Forwards: 70\r\n"
                f"From: <sip:{USER}@{DOMAIN}>;tag={tag}\r\n"
                f"To: <sip:{USER}@{DOMAIN}>\r\n"
                f"Call-ID: {call_id}@status-test\r\n"
                f"CSeq: {cseq} REGISTER\r\n"
                f"Contact: <sip:{USER}@{via}>\r\n"
                f"Expires: 600\r\n{authorization}"
                f"Content-Length: 0\r\n\r\n").encode()

    first = exchange(sock, port, register(1))
    if first is None:
        return None, None
    challenge = None
    for line in first.decode(errors="replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "www-authenticate" and value.strip().lower().startswith("digest"):
            params = digest_params(value.strip()[len("digest"):])
            if params.get("algorithm", "MD5").upper() == "MD5":
                challenge = params
    if challenge is None:
        return status_code(first), None
    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = md5(f"{USER}:{realm}:{PASSWORD}")
    ha2 = md5(f"REGISTER:{uri}")
    fields = [f'username="{USER}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"', "algorithm=MD5"]
    if "auth" in [q.strip() for q in challenge.get("qop", "").split(",")]:
        cnonce = uuid.uuid4().hex[:16]
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in challenge:
        opaque = challenge["opaque"]
        fields.append(f'opaque="{opaque}"')
    second = exchange(sock, port, register(2, "Authorization: Digest " + ", ".join(fields) + "\r\n"))
    return status_code(first), status_code(second) if second else None


# --- HTTP --------------------------------------------------------------------------

def http_get(port, path, auth=None, method="GET"):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = response.read().decode()
    result = (response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    conn.close()
    return result


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def parse_exposition(text):
    """Checks the Prometheus text format 0.0.4 rules the server must keep and returns
    ({series: value}, {family: type})."""
    series, types, helps, seen_families = {}, {}, set(), []
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            check(name not in helps, f"/metrics: HELP for {name} twice")
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            check(name not in types, f"/metrics: TYPE for {name} twice")
            check(kind in ("counter", "gauge", "histogram"), f"/metrics: {name} has type {kind}")
            check(name in helps, f"/metrics: {name} has TYPE but no HELP before it")
            types[name] = kind
            seen_families.append(name)
        else:
            m = SAMPLE.match(line)
            if not check(m is not None, f"/metrics: malformed line {line!r}"):
                continue
            name = sample_name = m.group(1)
            family = seen_families[-1] if seen_families else None
            if family and types.get(family) == "histogram":
                # A histogram's samples: <family>_bucket{le=...}, _sum and _count.
                for suffix in ("_bucket", "_sum", "_count"):
                    if name == family + suffix:
                        name = family
            check(seen_families and seen_families[-1] == name,
                  f"/metrics: sample {name} outside its family (after {seen_families[-1:]})")
            key = sample_name + (m.group(2) or "")
            check(key not in series, f"/metrics: series {key} twice")
            series[key] = float(m.group(3))
    check(text.endswith("\n"), "/metrics ends with a line feed")
    for name, kind in types.items():
        check(re.fullmatch(r"sipbox_[a-z0-9_]+", name) is not None, f"/metrics: name {name} lacks sipbox_ prefix")
        check((kind == "counter") == name.endswith("_total"), f"/metrics: {kind} {name} and the _total suffix")
    return series, types


# --- the test ----------------------------------------------------------------------

def expect_json(status, where):
    """The exact values the message sequence must leave in the status JSON."""
    expected = [
        (("requests", "received"), {"OPTIONS": 1, "REGISTER": 2}),
        (("requests", "sent"), {}),
        (("responses", "sent"), {"200": 2, "400": 1, "401": 1}),
        (("responses", "received"), {}),
        (("registrations",), {"aors": 1, "bindings": 1}),
        (("dialogs",), {"established": 0, "ended": 0, "active": 0}),
        (("dropped", "malformed"), {"dropped": 0, "answered": 1}),
        (("dropped", "oversize"), 0),
        (("dropped", "framing"), 0),
        (("dropped", "banned"), 0),
        (("dropped", "security"), 0),
        (("retransmissions",), {"sent": 0, "absorbed": 0}),
        (("transactions", "server_created"), 3),
        (("transactions", "client_created"), 0),
        (("transactions", "timeouts"), 0),
        (("registrar", "requests"), 2),
        (("registrar", "accepted"), 1),
        (("registrar", "challenges"), 1),
        (("registrar", "auth_failures"), 0),
        (("registrar", "bindings_added"), 1),
        (("core", "options_answered"), 1),
        (("transport", "by_kind", "udp", "messages_received"), 4),
        (("transport", "by_kind", "udp", "messages_sent"), 4),
    ]
    for path, value in expected:
        node = status
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        check(node == value, f"{where}: {'.'.join(path)} is {node!r}, expected {value!r}")
    check(isinstance(status.get("transactions", {}).get("live"), int), f"{where}: transactions.live is a number")
    check(status.get("workers", 0) >= 1, f"{where}: workers {status.get('workers')!r}")
    # One UDP listener (one --bind address): with several workers it is either steered by
    # the kernel or handed over (without CAP_BPF); with one worker there is nothing to steer.
    udp = status.get("core", {}).get("udp_listeners", {})
    want = 1 if status.get("workers", 0) > 1 else 0
    check(udp.get("kernel", -1) + udp.get("handover", -1) == want, f"{where}: core.udp_listeners {udp!r}")
    check(bool(status.get("version")), f"{where}: version")
    check(isinstance(status.get("store", {}).get("committed"), int), f"{where}: store.committed")


def expect_metrics(series):
    expected = {
        'sipbox_sip_requests_received_total{method="OPTIONS"}': 1,
        'sipbox_sip_requests_received_total{method="REGISTER"}': 2,
        'sipbox_sip_requests_received_total{method="INVITE"}': 0,
        'sipbox_sip_responses_sent_total{code="200"}': 2,
        'sipbox_sip_responses_sent_total{code="400"}': 1,
        'sipbox_sip_responses_sent_total{code="401"}': 1,
        'sipbox_registrations{kind="aors"}': 1,
        'sipbox_registrations{kind="bindings"}': 1,
        'sipbox_sip_malformed_answered_total': 1,
        'sipbox_sip_messages_dropped_total{reason="malformed"}': 0,
        'sipbox_sip_retransmissions_total{direction="sent"}': 0,
        'sipbox_sip_retransmissions_total{direction="received"}': 0,
        'sipbox_transactions_created_total{role="server"}': 3,
        'sipbox_registrar_requests_total': 2,
        'sipbox_registrar_responses_total{result="accepted"}': 1,
        'sipbox_registrar_responses_total{result="challenged"}': 1,
        'sipbox_dialogs': 0,
        'sipbox_dialogs_established_total': 0,
        'sipbox_sip_options_answered_total': 1,
        'sipbox_transport_messages_received_total{transport="udp"}': 4,
    }
    for key, value in expected.items():
        check(series.get(key) == value, f"/metrics: {key} is {series.get(key)!r}, expected {value}")
    for key in series:
        check(not key.startswith("sipbox_sip_responses_sent_total") or key in expected,
              f"/metrics: unexpected {key} = {series[key]}")
    check("sipbox_transactions" in series, "/metrics: sipbox_transactions gauge")
    check(series.get('sipbox_build_info{version="%s"}' % status_version) == 1, "/metrics: sipbox_build_info")


def main():
    global status_version
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        r = sipbox_cli(data_dir, "user", "add", USER, "--password", PASSWORD, "--domain", DOMAIN)
        assert r.returncode == 0, f"user add: {r.stdout}{r.stderr}"
        r = sipbox_cli(data_dir, "admin", "add", ADMIN, "--password", ADMIN_PASSWORD)
        assert r.returncode == 0, f"admin add: {r.stdout}{r.stderr}"

        r = sipbox_cli(data_dir, "status")
        check(r.returncode == 1 and "sipboxd is not running" in r.stderr,
              f"status before start: exit {r.returncode}, {r.stderr.strip()!r}")

        sip_port = free_port(HOST, 3)
        http_port = free_port(HOST, 1)
        log_path = os.path.join(tmp, "sipboxd.log")
        with open(log_path, "wb") as log:
            server = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", HOST, "--sip-port", str(sip_port),
                                       "--http-port", str(http_port), "--netconf-port", "0"],
                                      stdout=log, stderr=subprocess.STDOUT)

        def server_log():
            with open(log_path, "rb") as f:
                return f.read().decode(errors="replace")

        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "started" not in server_log() and server.poll() is None:
                time.sleep(0.05)
            assert "started" in server_log(), f"sipboxd did not start:\n{server_log()}"

            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
            via = f"{HOST}:{sock.getsockname()[1]}"
            answer = exchange(sock, sip_port, options(via, sip_port))
            check(answer is not None and status_code(answer) == 200, f"OPTIONS got {answer[:120] if answer else None}")
            answer = exchange(sock, sip_port, options(via, sip_port, cseq="x OPTIONS"))
            check(answer is not None and status_code(answer) == 400,
                  f"unparsable OPTIONS got {answer[:120] if answer else None}")
            first, second = register_twice(sock, sip_port)
            check(first == 401, f"REGISTER without credentials got {first}")
            check(second == 200, f"REGISTER with credentials got {second}")
            sock.close()

            # sipbox status --json (the control socket)
            r = sipbox_cli(data_dir, "status", "--json")
            check(r.returncode == 0, f"status --json: exit {r.returncode}: {r.stderr}")
            status = json.loads(r.stdout) if r.returncode == 0 else {}
            status_version = status.get("version", "?")
            expect_json(status, "status --json")
            check({"service": "sip", "transport": "udp", "address": HOST, "port": sip_port} in
                  status.get("listeners", []), f"status --json: SIP UDP listener in {status.get('listeners')}")
            check({"service": "http", "transport": "tcp", "address": HOST, "port": http_port} in
                  status.get("listeners", []), f"status --json: HTTP listener in {status.get('listeners')}")

            # sipbox status (the summary for people)
            r = sipbox_cli(data_dir, "status")
            check(r.returncode == 0, f"status: exit {r.returncode}: {r.stderr}")
            for line in ["registrations:    1 bindings of 1 addresses of record",
                         "requests in:      OPTIONS 1, REGISTER 2",
                         "responses out:    200 2, 400 1, 401 1",
                         "malformed:        1 answered 400, 0 dropped",
                         "dialogs:          0 active (0 established, 0 ended)"]:
                check(line in r.stdout, f"status: no line {line!r} in:\n{r.stdout}")

            # GET /metrics: no login
            code, headers, body = http_get(http_port, "/metrics")
            check(code == 200, f"/metrics: {code} {body[:200]}")
            check(headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
                  f"/metrics content type {headers.get('content-type')}")
            series, types = parse_exposition(body)
            expect_metrics(series)
            with open(os.path.join(source_dir, "docs", "operations.md")) as f:
                doc = f.read()
            for name in types:
                check(f"`{name}`" in doc, f"docs/operations.md does not describe {name}")
            code, _, _ = http_get(http_port, "/metrics", method="POST")
            check(code == 405, f"POST /metrics: {code}")

            # GET /api/v1/status: an admin login
            code, headers, body = http_get(http_port, "/api/v1/status")
            check(code == 401 and headers.get("www-authenticate", "").startswith("Basic"),
                  f"/api/v1/status without login: {code} {headers}")
            code, _, _ = http_get(http_port, "/api/v1/status", auth=(ADMIN, "wrong"))
            check(code == 401, f"/api/v1/status with a wrong password: {code}")
            code, headers, body = http_get(http_port, "/api/v1/status", auth=(ADMIN, ADMIN_PASSWORD))
            check(code == 200 and headers.get("content-type", "").startswith("application/json"),
                  f"/api/v1/status: {code} {headers.get('content-type')} {body[:200]}")
            if code == 200:
                expect_json(json.loads(body), "/api/v1/status")
            code, _, _ = http_get(http_port, "/api/v1/nothing", auth=(ADMIN, ADMIN_PASSWORD))
            check(code == 404, f"/api/v1/nothing: {code}")
            code, _, _ = http_get(http_port, "/api/v1/status", auth=(ADMIN, ADMIN_PASSWORD), method="DELETE")
            check(code == 405, f"DELETE /api/v1/status: {code}")
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    code = server.wait(timeout=15)
                    check(code == 0, f"sipboxd exit code {code} after SIGTERM")
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                    check(False, "sipboxd did not stop within 15 s of SIGTERM")
            else:
                check(False, f"sipboxd exited early with {server.returncode}")
            if failures:
                print("--- sipboxd log ---\n" + server_log()[-6000:])

        r = sipbox_cli(data_dir, "status")
        check(r.returncode == 1 and "sipboxd is not running" in r.stderr,
              f"status after stop: exit {r.returncode}, {r.stderr.strip()!r}")


status_version = "?"
main()
if failures:
    print("status_test: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("status_test: passed")
