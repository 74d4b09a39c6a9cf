#!/usr/bin/env python3
"""The whole daemon, as an operator meets it: `sipbox admin add`, then sipboxd on
loopback with its control socket, NETCONF (ncclient) and RESTCONF (curl). The same
kind of edit made three ways is seen by the other two; a bad edit is refused by each
and changes nothing; the change survives a restart. Run with /usr/bin/python3
(Debian's ncclient)."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from ncclient import manager
from ncclient.operations import RPCError

sipbox, sipboxd = sys.argv[1], sys.argv[2]
failures = []
NS = "urn:sipbox:yang:sipbox-system"
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"


def check(condition, what):
    if not condition:
        failures.append(what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args):
    return subprocess.run([sipbox, "--data-dir", data_dir, *args], capture_output=True, text=True, timeout=60)


def curl(method, path, body=None, user="admin:adminpw"):
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-u", user, "-X", method,
           f"http://127.0.0.1:{http_port}{path}", "-H", "Accept: application/yang-data+json"]
    if body is not None:
        cmd += ["-H", "Content-Type: application/yang-data+json", "-d", body]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    text, _, code = out.rpartition("\n")
    return int(code), text


def start():
    proc = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", "127.0.0.1", "--http-port", str(http_port),
                             "--netconf-port", str(netconf_port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", netconf_port), timeout=0.2).close()
            socket.create_connection(("127.0.0.1", http_port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    failures.append("sipboxd did not start listening")
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    check(proc.wait(timeout=20) == 0, "sipboxd exits 0 on SIGTERM")


def netconf():
    return manager.connect(host="127.0.0.1", port=netconf_port, username="admin", password="adminpw",
                           hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=20)


def port_edit(port):
    return (f'<config xmlns="{BASE}"><system xmlns="{NS}"><listeners><sip-port>{port}</sip-port>'
            f'</listeners></system></config>')


with tempfile.TemporaryDirectory() as tmp:
    data_dir = os.path.join(tmp, "var")
    log = open(os.path.join(tmp, "sipboxd.log"), "wb")
    http_port, netconf_port = free_port(), free_port()
    check(cli("admin", "add", "admin", "--password", "adminpw", "--role", "admin").returncode == 0, "admin add")
    proc = start()
    try:
        # 1. NETCONF edits; RESTCONF and the CLI see it.
        with netconf() as m:
            m.edit_config(target="running", config=port_edit(5071))
            try:
                m.edit_config(target="running", config=port_edit(99999))
                failures.append("NETCONF accepted an out-of-range port")
            except RPCError as e:
                check(e.tag == "invalid-value" and "sip-port" in (e.path or ""), f"NETCONF rpc-error {e.tag} {e.path}")
        code, body = curl("GET", "/restconf/data/sipbox-system:system/listeners/sip-port")
        check(code == 200 and "5071" in body, f"RESTCONF sees the NETCONF edit ({code} {body})")
        check("<sip-port>5071</sip-port>" in cli("config", "get", "/sipbox-system:system/listeners/sip-port").stdout,
              "CLI sees the NETCONF edit")

        # 2. RESTCONF edits; NETCONF and the CLI see it.
        code, body = curl("PATCH", "/restconf/data/sipbox-system:system/listeners",
                          json.dumps({"sipbox-system:listeners": {"sip-port": 5072}}))
        check(code == 204, f"RESTCONF PATCH ({code} {body})")
        code, body = curl("PATCH", "/restconf/data/sipbox-system:system/listeners",
                          json.dumps({"sipbox-system:listeners": {"sip-port": 99999}}))
        check(code == 400 and "invalid-value" in body, f"RESTCONF refuses the bad port ({code})")
        with netconf() as m:
            reply = m.get_config(source="running", filter=("xpath", ({"s": NS}, "/s:system/s:listeners/s:sip-port")))
            check("<sip-port>5072</sip-port>" in reply.data_xml, "NETCONF sees the RESTCONF edit")
        check("<sip-port>5072</sip-port>" in cli("config", "get", "/sipbox-system:system/listeners/sip-port").stdout,
              "CLI sees the RESTCONF edit")

        # 3. The CLI edits through the control socket; NETCONF and RESTCONF see it.
        check(cli("config", "set", "/sipbox-system:system/listeners/sip-port", "5073").returncode == 0, "CLI set")
        r = cli("config", "set", "/sipbox-system:system/listeners/sip-port", "99999")
        check(r.returncode == 1 and "invalid-value" in r.stderr, f"CLI refuses the bad port ({r.stderr})")
        code, body = curl("GET", "/restconf/data/sipbox-system:system/listeners/sip-port")
        check("5073" in body, "RESTCONF sees the CLI edit")
        with netconf() as m:
            reply = m.get_config(source="running", filter=("xpath", ({"s": NS}, "/s:system/s:listeners/s:sip-port")))
            check("<sip-port>5073</sip-port>" in reply.data_xml, "NETCONF sees the CLI edit")
            state = m.get(filter=("xpath", ({"st": "urn:sipbox:yang:sipbox-state"}, "/st:state"))).data_xml
            check("<uptime-seconds>" in state, "NETCONF <get> carries sipbox-state")
        # A module applies its setting live: the log level.
        check(cli("config", "set", "/sipbox-system:system/log-level", "debug").returncode == 0, "set log-level")
        log.flush()
        check(b"log level is now debug" in open(os.path.join(tmp, "sipboxd.log"), "rb").read(),
              "the daemon applied the new log level without a restart")
        code, _ = curl("GET", "/restconf/data/sipbox-system:system", user="admin:wrong")
        check(code == 401, "RESTCONF refuses a wrong password")
    finally:
        stop(proc)

    proc = start()
    try:
        code, body = curl("GET", "/restconf/data/sipbox-system:system/listeners/sip-port")
        check("5073" in body, "the change survives a restart")
    finally:
        stop(proc)
    audit = [json.loads(line) for line in open(os.path.join(data_dir, "audit.log"))]
    vias = {entry.get("via") for entry in audit}
    check({"netconf", "restconf", "cli"} <= vias, f"audit log names every interface ({vias})")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("sipboxd_config_e2e_test: all checks passed")
