#!/usr/bin/env python3
"""RESTCONF (RFC 8040) driven with curl against restconf_test_server (a ConfigStore on a
temp data dir with the real YANG model, and sipbox's HTTP server on loopback).

Usage: restconf_test.py RESTCONF_TEST_SERVER YANG_DIR

Checks reads (JSON, XML, with-defaults), edits (PATCH, PUT, POST, DELETE) and their
errors (RFC 8040 section 7 status and error body with error-path), authentication and
roles, that an invalid edit leaves running unchanged, and that changes survive a restart.
Prints the PATCH round trip over one keep-alive connection (http.client)."""
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SERVER, YANG_DIR = sys.argv[1], sys.argv[2]
ADMIN = ("admin", "admin-pw")
VIEWER = ("eve", "eve-pw")
JSON_TYPE = "application/yang-data+json"
XML_TYPE = "application/yang-data+xml"
LISTENERS = "/restconf/data/sipbox-system:system/listeners"

failures = []


def check(condition, what):
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}")
        failures.append(what)


def start(data_dir):
    proc = subprocess.Popen(
        [SERVER, "--data-dir", data_dir, "--yang-dir", YANG_DIR, "--port", "0",
         "--admin", ADMIN[0], ADMIN[1], "admin", "--admin", VIEWER[0], VIEWER[1], "viewer"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        proc.kill()
        raise SystemExit(f"restconf_test_server did not start: {line}{proc.stdout.read()}")
    return proc, int(line.split()[1])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def error(self):
        """The first error entry of an ietf-restconf:errors body."""
        try:
            return self.json()["ietf-restconf:errors"]["error"][0]
        except (ValueError, KeyError, IndexError):
            return {}


def curl(port, method, path, body=None, auth=ADMIN, accept=None, content_type=JSON_TYPE):
    cmd = ["curl", "-s", "-S", "-i", "--max-time", "10", "-X", method, f"http://127.0.0.1:{port}{path}"]
    if auth:
        cmd += ["-u", f"{auth[0]}:{auth[1]}"]
    if accept:
        cmd += ["-H", f"Accept: {accept}"]
    if body is not None:
        cmd += ["-H", f"Content-Type: {content_type}", "--data-binary", body if isinstance(body, str) else json.dumps(body)]
    out = subprocess.run(cmd, capture_output=True, timeout=20).stdout.decode()
    # Skip interim responses (100 Continue).
    while True:
        head, _, rest = out.partition("\r\n\r\n")
        status = int(head.split()[1])
        if status >= 200:
            break
        out = rest
    headers = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, rest)


def sip_port(port, wd=""):
    r = curl(port, "GET", LISTENERS + "/sip-port" + wd)
    return r.json()["sipbox-system:sip-port"] if r.status == 200 else None


def timing(port, count=200):
    """PATCH round trips over one keep-alive connection: (p50, p95) in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": JSON_TYPE}
    samples = []
    for i in range(count):
        body = json.dumps({"sipbox-system:ws-port": 9000 + i % 100})
        t0 = time.perf_counter()
        conn.request("PATCH", LISTENERS + "/ws-port", body, headers)
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status != 204:
            raise AssertionError(f"timing PATCH answered {response.status}")
    conn.close()
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95)]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        proc, port = start(data_dir)
        try:
            functional(port)
            p50, p95 = timing(port)
            code = stop(proc)
            check(code == 0, "SIGTERM: exit code 0")

            # Restart on the same data dir: the changes were persisted.
            proc, port = start(data_dir)
            check(sip_port(port) == 5070, "restart keeps the PATCHed sip-port")
            check(curl(port, "GET", "/restconf/data/sipbox-routing:trunk=t1").status == 200, "restart keeps trunk t1")
            check(curl(port, "GET", "/restconf/data/sipbox-routing:route=r1").status == 404,
                  "restart keeps route r1 deleted")
            audit = open(os.path.join(data_dir, "audit.log")).read()
            check('"restconf"' in audit and '"admin"' in audit, "audit log names via restconf and the user")
        finally:
            if proc.poll() is None:
                stop(proc)
    print(f"restconf PATCH round trip (keep-alive, 200 edits, fsync per edit): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    if failures:
        print(f"restconf_test: {len(failures)} failed: {failures}")
        sys.exit(1)
    print("restconf_test: passed")


def functional(port):
    # Discovery and the API root (RFC 8040 3.1, 3.3).
    r = curl(port, "GET", "/.well-known/host-meta", auth=None)
    check(r.status == 200 and 'rel="restconf"' in r.body and 'href="/restconf"' in r.body, "host-meta names /restconf")
    r = curl(port, "GET", "/restconf")
    check(r.status == 200 and "ietf-restconf:restconf" in r.json(), "GET /restconf root resource")
    r = curl(port, "GET", "/restconf/yang-library-version")
    check(r.json().get("ietf-restconf:yang-library-version") == "2019-01-04", "yang-library-version")

    # Authentication and roles.
    r = curl(port, "GET", "/restconf/data", auth=None)
    check(r.status == 401 and r.headers.get("www-authenticate") == 'Basic realm="sipbox"', "no credentials: 401")
    r = curl(port, "GET", "/restconf/data", auth=(ADMIN[0], "wrong"))
    check(r.status == 401 and r.error().get("error-tag") == "access-denied", "wrong password: 401 access-denied")
    r = curl(port, "GET", "/restconf/data", auth=("nobody", "x"))
    check(r.status == 401, "unknown user: 401")
    check(curl(port, "GET", "/restconf/data/sipbox-system:system", auth=VIEWER).status == 200, "viewer may GET")
    r = curl(port, "PATCH", LISTENERS + "/sip-port", {"sipbox-system:sip-port": 5080}, auth=VIEWER)
    check(r.status == 403 and r.error().get("error-tag") == "access-denied", "viewer PATCH: 403 access-denied")

    # Reads: JSON by default, XML on request, with-defaults.
    r = curl(port, "GET", "/restconf/data")
    check(r.status == 200 and r.headers.get("content-type") == JSON_TYPE, "GET datastore: JSON")
    admins = r.json()["ietf-restconf:data"]["sipbox-system:system"]["admin"]
    check(sorted(a["name"] for a in admins) == ["admin", "eve"], "GET datastore lists the admin accounts")
    r = curl(port, "GET", "/restconf/data/sipbox-system:system", accept=XML_TYPE)
    check(r.status == 200 and r.headers.get("content-type") == XML_TYPE and r.body.startswith("<system xmlns=\"urn:"),
          "GET system: XML")
    r = curl(port, "GET", LISTENERS)
    check(r.status == 200 and r.json() == {"sipbox-system:listeners": {}}, "explicit mode: defaults not reported")
    r = curl(port, "GET", LISTENERS + "?with-defaults=report-all")
    check(r.status == 200 and r.json()["sipbox-system:listeners"].get("sip-port") == 5060,
          "with-defaults=report-all shows the default sip-port 5060")
    r = curl(port, "GET", LISTENERS + "?with-defaults=report-all-tagged", accept=XML_TYPE)
    check('ncwd:default="true"' in r.body or 'wd:default="true"' in r.body, "report-all-tagged marks defaults (XML)")
    r = curl(port, "GET", LISTENERS + "?with-defaults=bogus")
    check(r.status == 400 and r.error().get("error-tag") == "invalid-value", "bad with-defaults: 400")
    r = curl(port, "GET", "/restconf/data/sipbox-system:system?depth=1")
    check(r.status == 200 and r.json() == {"sipbox-system:system": {}}, "depth=1 keeps only the target")
    head = subprocess.run(["curl", "-s", "-I", "-u", f"{ADMIN[0]}:{ADMIN[1]}",
                           f"http://127.0.0.1:{port}/restconf/data/sipbox-system:system"],
                          capture_output=True, timeout=20).stdout.decode()
    check(head.startswith("HTTP/1.1 200") and "Content-Length:" in head, "HEAD answers like GET without a body")

    # PATCH a leaf and read it back.
    r = curl(port, "PATCH", LISTENERS + "/sip-port", {"sipbox-system:sip-port": 5070})
    check(r.status == 204, "PATCH sip-port: 204")
    check(sip_port(port) == 5070, "PATCHed sip-port reads back 5070")
    r = curl(port, "PATCH", LISTENERS, {"sipbox-system:listeners": {"ws-port": 8089}})
    check(r.status == 204 and curl(port, "GET", LISTENERS + "/ws-port").json() == {"sipbox-system:ws-port": 8089},
          "PATCH merge on a container")

    # Invalid edits: the RFC 8040 status, an error-path, and running unchanged.
    before = curl(port, "GET", "/restconf/data").body
    r = curl(port, "PATCH", LISTENERS + "/sip-port", {"sipbox-system:sip-port": 70000})
    check(r.status == 400 and r.error().get("error-tag") == "invalid-value"
          and r.error().get("error-path") == "/sipbox-system:system/listeners/sip-port",
          "out-of-range port: 400 invalid-value with error-path")
    r = curl(port, "PATCH", LISTENERS + "/tls-port", {"sipbox-system:tls-port": 5070})
    check(r.status == 500 and r.error().get("error-tag") == "operation-failed"
          and r.error().get("error-app-tag") == "port-clash" and "tls-port" in r.error().get("error-path", ""),
          "tls-port = sip-port: operation-failed (500) with app-tag port-clash")
    r = curl(port, "PATCH", LISTENERS + "/sip-port", '{"sipbox-system:sip-port": ')
    check(r.status == 400 and r.error().get("error-tag") == "malformed-message", "malformed JSON: 400")
    r = curl(port, "PATCH", LISTENERS + "/sip-port", {"sipbox-system:sip-port": 5090}, content_type="text/plain")
    check(r.status == 415, "unsupported Content-Type: 415")
    r = curl(port, "PATCH", LISTENERS + "/sip-port", {"sipbox-system:tls-port": 5090})
    check(r.status == 400, "PATCH body naming another node: 400")
    check(curl(port, "GET", "/restconf/data").body == before, "running unchanged after the refused edits")

    # api-path errors (RFC 8040 3.5.3).
    check(curl(port, "GET", "/restconf/data/system").status == 400, "unqualified first node: 400")
    check(curl(port, "GET", "/restconf/data/sipbox-system:nosuch").status == 400, "unknown node: 400")
    check(curl(port, "GET", "/restconf/data/sipbox-routing:trunk=a,b").status == 400, "wrong key count: 400")
    check(curl(port, "GET", "/restconf/data/sipbox-routing:trunk=none").status == 404, "missing list entry: 404")

    # PUT creates (201) then replaces (204) a trunk.
    trunk = {"sipbox-routing:trunk": [{"name": "t1", "host": "192.0.2.10"}]}
    r = curl(port, "PUT", "/restconf/data/sipbox-routing:trunk=t1", trunk)
    check(r.status == 201, "PUT new trunk t1: 201")
    trunk["sipbox-routing:trunk"][0]["host"] = "192.0.2.11"
    r = curl(port, "PUT", "/restconf/data/sipbox-routing:trunk=t1", trunk)
    check(r.status == 204, "PUT existing trunk t1: 204")
    r = curl(port, "GET", "/restconf/data/sipbox-routing:trunk=t1")
    check(r.status == 200 and r.json()["sipbox-routing:trunk"][0]["host"] == "192.0.2.11", "trunk t1 reads back")
    r = curl(port, "PUT", "/restconf/data/sipbox-routing:trunk=t1",
             {"sipbox-routing:trunk": [{"name": "t2", "host": "192.0.2.12"}]})
    check(r.status == 400, "PUT with a key differing from the URI: 400")
    r = curl(port, "GET", "/restconf/data/sipbox-routing:trunk=t1", accept=XML_TYPE)
    check(r.status == 200 and r.body.startswith("<trunk xmlns=\"urn:") and "<name>t1</name>" in r.body,
          "trunk t1 as XML")

    # POST creates a route naming the trunk; again is data-exists.
    route = {"sipbox-routing:route": [{"name": "r1", "prefix": "00", "trunk": "t1"}]}
    r = curl(port, "POST", "/restconf/data", route)
    check(r.status == 201 and r.headers.get("location") == "/restconf/data/sipbox-routing:route=r1",
          "POST route r1: 201 with Location")
    r = curl(port, "POST", "/restconf/data", route)
    check(r.status == 409 and r.error().get("error-tag") == "data-exists", "POST route r1 again: 409 data-exists")
    bad = {"sipbox-routing:route": [{"name": "r2", "prefix": "01", "trunk": "missing"}]}
    r = curl(port, "POST", "/restconf/data", bad)
    err = r.error()
    # RFC 7950 15.5: a leafref without its target is data-missing, which RFC 8040 7 maps to 409.
    check(r.status in (400, 409) and "r2" in err.get("error-path", "") and "trunk" in err.get("error-path", ""),
          f"POST route naming a missing trunk: {r.status} {err.get('error-tag')} with error-path")
    check(curl(port, "GET", "/restconf/data/sipbox-routing:route=r2").status == 404, "route r2 was not created")

    # DELETE: 204, then 404 data-missing.
    r = curl(port, "DELETE", "/restconf/data/sipbox-routing:route=r1")
    check(r.status == 204, "DELETE route r1: 204")
    r = curl(port, "DELETE", "/restconf/data/sipbox-routing:route=r1")
    check(r.status == 404 and r.error().get("error-tag") == "data-missing", "DELETE route r1 again: 404 data-missing")
    r = curl(port, "DELETE", "/restconf/data/sipbox-routing:trunk=t1", auth=VIEWER)
    check(r.status == 403, "viewer DELETE: 403")


if __name__ == "__main__":
    main()
