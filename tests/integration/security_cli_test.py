#!/usr/bin/env python3
"""The IPS's commands and REST API (issue 5, DESIGN.md 4): `sipbox rules add|list|del`,
`sipbox bans list|add|del` with sipboxd stopped (the configuration and the store's bans
edited under the data directory lock) and running (executed by the daemon against its
Guard), and GET/POST/DELETE /api/v1/security/bans, GET /api/v1/security/incidents.

Stopped: BESIP's REGISTER flood rule is added and listed; a bad rule is refused with its
column and reason and nothing changes; a rule without sid is refused; bans add/list/del on
the store. Running: the ban added while stopped is listed and enforced (an OPTIONS from
127.0.0.5 over UDP gets no answer; one from 127.0.0.6 gets 200); `bans del` through the
daemon lifts it (the OPTIONS is answered); REST bans (admin may change, viewer may only
read; 400 and 404 with reasons); a scanner User-Agent from 127.0.0.9 makes an incident
that GET /api/v1/security/incidents finds by source; a bad rule over the running daemon is
refused with its column.

usage: security_cli_test.py SIPBOXD SIPBOX"""
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
failures = []

BESIP_RULE = ('alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:"SIP DoS attempt(registerflood)"; '
              'content:"REGISTER sip"; detection_filter:track by_src, count 50, seconds 5; '
              'classtype:misc-attack; sid:1000001; rev:1; fwsam:src, 10min;)')
BAD_RULE = 'alert udp any any -> any any (msg:"typo"; conten:"REGISTER"; sid:1000002;)'


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return condition


def cli(data_dir, *args):
    return subprocess.run([sipbox, "--data-dir", data_dir, *args], capture_output=True, text=True, timeout=60)


def options_answer(source, port, user_agent="sipbox-test", timeout=2.0):
    """Sends one OPTIONS over UDP from `source`; the status code of the answer, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.settimeout(timeout)
    local = s.getsockname()[1]
    msg = (f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {source}:{local};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
           f"From: <sip:probe@{source}>;tag={uuid.uuid4().hex[:8]}\r\n"
           f"To: <sip:{HOST}:{port}>\r\nCall-ID: {uuid.uuid4().hex}\r\nCSeq: 1 OPTIONS\r\n"
           f"Max-Forwards: 70\r\nUser-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n")
    try:
        s.sendto(msg.encode(), (HOST, port))
        data, _ = s.recvfrom(65535)
        m = re.match(rb"SIP/2\.0 (\d{3})", data)
        return int(m.group(1)) if m else None
    except socket.timeout:
        return None
    finally:
        s.close()


def http(method, port, path, user=None, body=None):
    """(status, parsed JSON or None)."""
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
        return None, None  # not listening (yet)
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


def listed_bans(data_dir):
    r = cli(data_dir, "bans", "list", "--json")
    check(r.returncode == 0, f"bans list --json exits 0 ({r.stderr.strip()})")
    try:
        return {b["address"]: b for b in json.loads(r.stdout)}
    except ValueError:
        check(False, f"bans list --json prints JSON: {r.stdout!r}")
        return {}


def rules_of(data_dir):
    r = cli(data_dir, "rules", "list", "--json")
    check(r.returncode == 0, f"rules list --json exits 0 ({r.stderr.strip()})")
    return json.loads(r.stdout) if r.returncode == 0 else []


def stopped_checks(d):
    r = cli(d, "rules", "add", BESIP_RULE)
    check(r.returncode == 0, f"rules add (stopped) of BESIP's rule exits 0: {r.stderr.strip()}")
    rules = rules_of(d)
    check(rules == [{"sid": 1000001, "enabled": True, "text": BESIP_RULE}], f"rules list shows the rule: {rules}")
    plain = cli(d, "rules", "list")
    check("1000001" in plain.stdout and "registerflood" in plain.stdout, f"rules list text: {plain.stdout!r}")

    r = cli(d, "rules", "add", BAD_RULE)
    check(r.returncode == 1, "a bad rule is refused (stopped): exit 1")
    check(re.search(r"rule 1000002: column \d+: .*conten", r.stderr) is not None,
          f"the refusal names the column and reason: {r.stderr!r}")
    check(rules_of(d) == rules, "nothing written after the refused rule")
    # `config set` of the same rule text goes through the same check while stopped.
    r = cli(d, "config", "set", "/sipbox-security:security/rule[sid='1000002']/text", BAD_RULE)
    check(r.returncode == 1 and re.search(r"rule 1000002: column \d+: .*conten", r.stderr) is not None,
          f"config set of a bad rule is refused (stopped) with the column and reason: {r.stderr!r}")
    check(rules_of(d) == rules, "nothing written after the refused config set")
    r = cli(d, "rules", "add", 'alert udp any any -> any any (msg:"no sid";)')
    check(r.returncode == 1 and "sid" in r.stderr, f"a rule without sid is refused: {r.stderr!r}")

    with tempfile.NamedTemporaryFile("w", suffix=".rules", delete=False) as f:
        f.write("# local rules\n\n" + BESIP_RULE.replace("sid:1000001", "sid:1000003") + "\n" + BAD_RULE + "\n")
    r = cli(d, "rules", "add", "--file", f.name)
    check(r.returncode == 1 and "line 4" in r.stderr and "column" in r.stderr,
          f"a rules file with a bad rule is refused with its line and column: {r.stderr!r}")
    check(rules_of(d) == rules, "a refused rules file writes nothing")
    with open(f.name, "w") as g:
        g.write("# local rules\n\n" + BESIP_RULE.replace("sid:1000001", "sid:1000003") + "\n")
    r = cli(d, "rules", "add", "--file", f.name)
    check(r.returncode == 0, f"rules add --file: {r.stderr!r}")
    os.unlink(f.name)
    check(sorted(x["sid"] for x in rules_of(d)) == [1000001, 1000003], "the file's rule is added")
    r = cli(d, "rules", "del", "1000003")
    check(r.returncode == 0, f"rules del: {r.stderr!r}")
    check([x["sid"] for x in rules_of(d)] == [1000001], "rules del removes it")

    check(listed_bans(d) == {}, "no bans at first")
    r = cli(d, "bans", "add", "127.0.0.5", "--duration", "1h", "--reason", "hand-banned")
    check(r.returncode == 0, f"bans add (stopped): {r.stderr!r}")
    r = cli(d, "bans", "add", "10.0.0.0/8")
    check(r.returncode == 0, f"bans add of a prefix (stopped): {r.stderr!r}")
    bans = listed_bans(d)
    check(set(bans) == {"127.0.0.5", "10.0.0.0/8"}, f"both bans listed: {bans}")
    b = bans.get("127.0.0.5", {})
    check(b.get("reason") == "hand-banned" and b.get("sid") == 0 and b.get("offences") == 1,
          f"ban fields: {b}")
    check(isinstance(b.get("remaining_seconds"), int) and 3000 < b["remaining_seconds"] <= 3600,
          f"remaining seconds of a 1h ban: {b}")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(b.get("until"))) is not None,
          f"until is ISO 8601 UTC: {b}")
    r = cli(d, "bans", "del", "10.0.0.0/8")
    check(r.returncode == 0, f"bans del (stopped): {r.stderr!r}")
    r = cli(d, "bans", "del", "10.0.0.0/8")
    check(r.returncode == 1 and "no ban for 10.0.0.0/8" in r.stderr, f"bans del of an absent ban: {r.stderr!r}")
    check(set(listed_bans(d)) == {"127.0.0.5"}, "only the host ban remains")
    r = cli(d, "bans", "add", "not-an-address")
    check(r.returncode == 1, "bans add of a bad address exits 1")


def running_checks(d, sip_port, http_port):
    check("127.0.0.5" in listed_bans(d), "the ban added while stopped is listed by the daemon")
    check(options_answer("127.0.0.6", sip_port) == 200, "OPTIONS from another address is answered 200")
    check(options_answer("127.0.0.5", sip_port) is None, "OPTIONS from the banned address gets no answer")
    r = cli(d, "bans", "del", "127.0.0.5")
    check(r.returncode == 0, f"bans del through the daemon: {r.stderr!r}")
    check(options_answer("127.0.0.5", sip_port) == 200, "after bans del, the OPTIONS is answered")
    r = cli(d, "bans", "del", "127.0.0.5")
    check(r.returncode == 1 and "no ban for 127.0.0.5" in r.stderr, f"bans del twice (running): {r.stderr!r}")
    r = cli(d, "bans", "add", "127.0.0.5", "--duration", "10min")
    check(r.returncode == 0, f"bans add (running): {r.stderr!r}")
    check(options_answer("127.0.0.5", sip_port) is None, "a ban added through the daemon is enforced")
    check(cli(d, "bans", "del", "127.0.0.5").returncode == 0, "and lifted again")

    admin, viewer = ("root", "rootpw"), ("watcher", "watchpw")
    check(http("GET", http_port, "/api/v1/security/bans")[0] == 401, "REST needs a login")
    status, body = http("POST", http_port, "/api/v1/security/bans", admin,
                        {"address": "2001:db8::/64", "duration_seconds": 300, "reason": "rest"})
    check(status == 201 and body and body.get("address") == "2001:db8::/64", f"POST a ban: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/security/bans", admin, {"address": "192.0.2.7"})
    check(status == 201, f"POST with the default duration: {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/bans", viewer)
    addresses = {b["address"] for b in body} if status == 200 and isinstance(body, list) else set()
    check(addresses == {"2001:db8::/64", "192.0.2.7"}, f"GET bans (viewer): {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/bans?limit=1&offset=1", admin)
    check(status == 200 and isinstance(body, list) and len(body) == 1, f"GET bans paged: {status} {body}")
    check(http("DELETE", http_port, "/api/v1/security/bans/192.0.2.7", viewer)[0] == 403, "a viewer may not DELETE")
    status, body = http("POST", http_port, "/api/v1/security/bans", admin, {"address": "nonsense"})
    check(status == 400 and "nonsense" in json.dumps(body), f"POST a bad address: {status} {body}")
    status, body = http("POST", http_port, "/api/v1/security/bans", admin, {"address": "192.0.2.8",
                                                                          "duration_seconds": -5})
    check(status == 400, f"POST a negative duration: {status} {body}")
    status, body = http("DELETE", http_port, "/api/v1/security/bans/2001%3Adb8%3A%3A%2F64", admin)
    check(status == 200 and body and body.get("address") == "2001:db8::/64", f"DELETE an IPv6 prefix: {status} {body}")
    status, body = http("DELETE", http_port, "/api/v1/security/bans/2001%3Adb8%3A%3A%2F64", admin)
    check(status == 404 and "no ban" in json.dumps(body), f"DELETE it again: 404 ({status} {body})")
    check(http("DELETE", http_port, "/api/v1/security/bans/192.0.2.7", admin)[0] == 200, "DELETE a host ban")
    check(set(listed_bans(d)) == set(), "the REST changes show in sipbox bans list")

    # A scanner's User-Agent: the detector bans 127.0.0.9 and logs an incident.
    options_answer("127.0.0.9", sip_port, user_agent="friendly-scanner", timeout=0.5)
    found = []

    def incident_logged():
        status, body = http("GET", http_port, "/api/v1/security/incidents?source=127.0.0.9", admin)
        found[:] = body if status == 200 and isinstance(body, list) else []
        return bool(found)

    check(wait_for(incident_logged), "the scanner's incident is listed by source")
    if found:
        i = found[0]
        check(set(i) == {"id", "at", "source", "sid", "message", "count", "action"}, f"incident fields: {i}")
        check(i.get("source") == "127.0.0.9" and "scanner" in i.get("message", "").lower(), f"incident: {i}")
    status, body = http("GET", http_port, "/api/v1/security/incidents?source=127.0.0.10", viewer)
    check(status == 200 and body == [], f"another source has none: {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/incidents?since=2000-01-01T00:00:00Z&until=4102444800",
                        admin)
    check(status == 200 and len(body) >= 1, f"since/until (ISO 8601, unix seconds): {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/incidents?until=2000-01-01", admin)
    check(status == 200 and body == [], f"until before everything: {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/incidents?sid=1000001", admin)
    check(status == 200 and body == [], f"sid filter: {status} {body}")
    status, body = http("GET", http_port, "/api/v1/security/incidents?since=yesterday", admin)
    check(status == 400 and "since" in json.dumps(body), f"a bad filter is 400 with a reason: {status} {body}")
    check("127.0.0.9" in listed_bans(d), "the scanner is banned")

    r = cli(d, "rules", "add", BAD_RULE)
    check(r.returncode == 1 and re.search(r"rule 1000002: column \d+", r.stderr) is not None,
          f"a bad rule over the running daemon is refused with its column: {r.stderr!r}")
    check([x["sid"] for x in rules_of(d)] == [1000001], "nothing written")


def main():
    with tempfile.TemporaryDirectory(prefix="sipbox-seccli-") as d:
        stopped_checks(d)
        check(cli(d, "admin", "add", "root", "--password", "rootpw", "--role", "admin").returncode == 0, "admin add")
        check(cli(d, "admin", "add", "watcher", "--password", "watchpw", "--role", "viewer").returncode == 0,
              "viewer add")
        sip_port, http_port = free_port(HOST, 3), free_port(HOST, 1)
        log = open(os.path.join(d, "sipboxd.log"), "w")
        daemon = subprocess.Popen([sipboxd, "--data-dir", d, "--bind", HOST, "--sip-port", str(sip_port),
                                   "--http-port", str(http_port), "--netconf-port", "0"], stdout=log, stderr=log)
        try:
            up = wait_for(lambda: daemon.poll() is not None or
                          (os.path.exists(os.path.join(d, "control.sock")) and
                           http("GET", http_port, "/api/v1/status")[0] == 401))
            if check(up and daemon.poll() is None, "sipboxd starts"):
                running_checks(d, sip_port, http_port)
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
                with open(os.path.join(d, "sipboxd.log")) as f:
                    print(f.read()[-3000:])
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("security CLI and REST: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
