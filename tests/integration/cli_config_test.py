#!/usr/bin/env python3
"""`sipbox config|user|admin` against a stopped data directory and against a running
sipboxd (through its control socket): edits are validated, refused edits change
nothing, export -> import -> export is byte-identical, and the daemon keeps changes
across a restart."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sipbox, sipboxd = sys.argv[1], sys.argv[2]
failures = []
PORT = "/sipbox-system:system/listeners/sip-port"
WHITELIST = "/sipbox-security:security/whitelist"


def check(condition, what):
    if not condition:
        failures.append(what)


def cli(data_dir, *args, stdin=None):
    return subprocess.run([sipbox, "--data-dir", data_dir, *args], input=stdin, capture_output=True, timeout=60,
                          text=True)


def exercise(data_dir, label):
    """The same checks whether or not the daemon runs."""
    # A new configuration carries the G.113 codec table (YANG cannot default list entries).
    r = cli(data_dir, "config", "get", "/sipbox-media:media/monitoring/codec[name='PCMU']", "--json")
    codec = json.loads(r.stdout)["sipbox-media:media"]["monitoring"]["codec"][0] if r.returncode == 0 else {}
    check(codec.get("bpl") == "25.1" and codec.get("payload-type") == 0, f"{label}: codec table seeded ({r.stdout})")
    r = cli(data_dir, "config", "set", PORT, "5070")
    check(r.returncode == 0, f"{label}: set port ({r.stderr})")
    r = cli(data_dir, "config", "get", PORT)
    check("<sip-port>5070</sip-port>" in r.stdout, f"{label}: get shows the new port ({r.stdout})")
    r = cli(data_dir, "config", "set", PORT, "70000")
    check(r.returncode == 1 and "invalid-value" in r.stderr and "sip-port" in r.stderr,
          f"{label}: out-of-range port refused with the path ({r.stderr})")
    r = cli(data_dir, "config", "get", PORT)
    check("<sip-port>5070</sip-port>" in r.stdout, f"{label}: refused edit changed nothing")
    # A leaf-list takes entries one `set` at a time; `delete` takes one out again, and a
    # deleted leaf reverts to its default.
    for prefix in ("192.0.2.0/24", "198.51.100.0/24"):
        r = cli(data_dir, "config", "set", WHITELIST, prefix)
        check(r.returncode == 0, f"{label}: set whitelist {prefix} ({r.stderr})")
    entry = f"{WHITELIST}[.='192.0.2.0/24']"
    r = cli(data_dir, "config", "delete", entry)
    check(r.returncode == 0, f"{label}: delete a whitelist entry ({r.stderr})")
    r = cli(data_dir, "config", "get", WHITELIST)
    check("198.51.100.0/24" in r.stdout and "192.0.2.0/24" not in r.stdout,
          f"{label}: one entry gone, the other kept ({r.stdout})")
    r = cli(data_dir, "config", "delete", entry)
    check(r.returncode == 1 and "data-missing" in r.stderr, f"{label}: deleting it again is refused ({r.stderr})")
    r = cli(data_dir, "config", "delete", f"{WHITELIST}[.='198.51.100.0/24']")
    check(r.returncode == 0, f"{label}: delete the last whitelist entry ({r.stderr})")
    r = cli(data_dir, "config", "delete", PORT)
    check(r.returncode == 0, f"{label}: delete the port ({r.stderr})")
    r = cli(data_dir, "config", "get", PORT, "--all")
    check("<sip-port>5060</sip-port>" in r.stdout, f"{label}: a deleted leaf is back at its default ({r.stdout})")
    r = cli(data_dir, "config", "set", PORT, "5070")
    check(r.returncode == 0, f"{label}: set the port again ({r.stderr})")
    r = cli(data_dir, "config", "get", "/sipbox-system:system/listeners", "--json", "--all")
    check(r.returncode == 0 and json.loads(r.stdout)["sipbox-system:system"]["listeners"]["netconf-port"] == 830,
          f"{label}: JSON with defaults ({r.stdout[:200]})")
    return r


def accounts(data_dir, label):
    r = cli(data_dir, "user", "add", "alice", "--password", "secret", "--domain", "example.com", "--extension", "201")
    check(r.returncode == 0, f"{label}: user add ({r.stderr})")
    r = cli(data_dir, "user", "add", "alice", "--password", "x", "--domain", "example.com")
    check(r.returncode == 1 and "exists" in r.stderr, f"{label}: duplicate user refused")
    r = cli(data_dir, "user", "add", "bob", "--password", "pw", "--extension", "201")
    check(r.returncode == 1 and "refused" in r.stderr, f"{label}: duplicate extension refused ({r.stderr})")
    r = cli(data_dir, "user", "add", "bob", "--password", "pw", "--extension", "202")
    check(r.returncode == 0, f"{label}: second user in the default domain ({r.stderr})")
    r = cli(data_dir, "user", "list", "--json")
    users = json.loads(r.stdout) if r.returncode == 0 else []
    check(sorted(u["name"] for u in users) == ["alice", "bob"], f"{label}: user list ({r.stdout})")
    r = cli(data_dir, "config", "get", "/sipbox-users:user[name='alice']", "--json")
    stored = json.loads(r.stdout)["sipbox-users:user"][0]
    # HA1 = MD5("alice:example.com:secret"); the password itself is never stored.
    check(stored["ha1-md5"] == hashlib.md5(b"alice:example.com:secret").hexdigest(), f"{label}: HA1 MD5 stored")
    check(stored["ha1-sha256"] == hashlib.sha256(b"alice:example.com:secret").hexdigest(), f"{label}: HA1 SHA-256")
    check("secret" not in cli(data_dir, "config", "export").stdout, f"{label}: no plaintext password")
    r = cli(data_dir, "user", "del", "bob")
    check(r.returncode == 0, f"{label}: user del ({r.stderr})")
    r = cli(data_dir, "admin", "add", "root", "--password", "pw", "--role", "admin")
    check(r.returncode == 0, f"{label}: admin add ({r.stderr})")
    r = cli(data_dir, "config", "get", "/sipbox-system:system/admin[name='root']/password-hash")
    check("pbkdf2-sha256$" in r.stdout, f"{label}: admin password stored as PBKDF2")


def backup_round_trip(data_dir, tmp, label):
    first = cli(data_dir, "config", "export").stdout
    path = os.path.join(tmp, f"backup-{label}.xml")
    with open(path, "w") as f:
        f.write(first)
    r = cli(data_dir, "config", "import", path)
    check(r.returncode == 0, f"{label}: import ({r.stderr})")
    second = cli(data_dir, "config", "export").stdout
    check(first == second and first, f"{label}: export -> import -> export byte-identical")
    # A hand-edited copy: diff shows the change, validate finds the mistake.
    changed = first.replace("<sip-port>5070</sip-port>", "<sip-port>5080</sip-port>")
    changed_path = os.path.join(tmp, f"changed-{label}.xml")
    with open(changed_path, "w") as f:
        f.write(changed)
    r = cli(data_dir, "config", "diff", changed_path)
    check("sip-port = 5070 -> 5080" in r.stdout, f"{label}: diff ({r.stdout} {r.stderr})")
    broken = first.replace("<sip-port>5070</sip-port>", "<sip-port>seventy</sip-port>")
    broken_path = os.path.join(tmp, f"broken-{label}.xml")
    with open(broken_path, "w") as f:
        f.write(broken)
    r = cli(data_dir, "config", "validate", broken_path)
    check(r.returncode == 1 and ("sip-port" in r.stderr or "line" in r.stderr), f"{label}: validate names the place ({r.stderr})")
    r = cli(data_dir, "config", "import", broken_path)
    check(r.returncode == 1, f"{label}: broken import refused")
    check(cli(data_dir, "config", "export").stdout == first, f"{label}: refused import changed nothing")


def start_daemon(data_dir, log):
    proc = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--netconf-port", "0", "--http-port", "0"],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not os.path.exists(os.path.join(data_dir, "control.sock")):
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=15)
    check(code == 0, f"sipboxd exit code {code}")


with tempfile.TemporaryDirectory() as tmp:
    offline = os.path.join(tmp, "offline")
    exercise(offline, "offline")
    accounts(offline, "offline")
    backup_round_trip(offline, tmp, "offline")

    online = os.path.join(tmp, "online")
    log = open(os.path.join(tmp, "sipboxd.log"), "wb")
    proc = start_daemon(online, log)
    try:
        check(proc.poll() is None, "sipboxd runs")
        exercise(online, "online")
        accounts(online, "online")
        backup_round_trip(online, tmp, "online")
        second = subprocess.run([sipboxd, "--data-dir", online], capture_output=True, timeout=15)
        check(second.returncode == 1 and b"in use" in second.stdout + second.stderr,
              "a second daemon on the same data directory is refused")
    finally:
        if proc.poll() is None:
            stop(proc)
    proc = start_daemon(online, log)
    try:
        r = cli(online, "config", "get", PORT)
        check("<sip-port>5070</sip-port>" in r.stdout, "restart keeps the change")
    finally:
        stop(proc)
    audit = open(os.path.join(online, "audit.log")).read().splitlines()
    check(len(audit) >= 5 and all(json.loads(line) for line in audit), f"audit log lines ({len(audit)})")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("cli_config_test: all checks passed")
