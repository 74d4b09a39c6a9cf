#!/usr/bin/env python3
"""`sipbox parse` against the RFC 4475 torture corpus: every verdict as index.csv says,
JSON output fields, exit codes, and unreadable or hostile input handled without a crash."""
import csv
import json
import os
import subprocess
import sys
import tempfile

sipbox, corpora = sys.argv[1], sys.argv[2]
torture = os.path.join(corpora, "rfc4475")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def run(*args, stdin=None):
    return subprocess.run([sipbox, *args], input=stdin, capture_output=True, timeout=60)


with open(os.path.join(torture, "index.csv"), newline="") as f:
    expected = {row["file"]: row["expected"] for row in csv.DictReader(f)}
check(len(expected) == 49, "index.csv lists 49 messages")

files = [os.path.join(torture, name) for name in sorted(expected)]
result = run("parse", "--json", *files)
check(result.returncode == 1, f"exit 1 when some messages are invalid (got {result.returncode})")
report = json.loads(result.stdout)
check(len(report) == len(files), "one JSON entry per file")
for entry in report:
    name = os.path.basename(entry["file"])
    check(entry["verdict"] == expected[name], f"{name}: {entry['verdict']} (expected {expected[name]})")
    if entry["verdict"] == "valid":
        check(entry["reason"] is None, f"{name}: valid has no reason")
        check(("method" in entry) != ("status" in entry), f"{name}: method or status")
        check(entry["call_id"], f"{name}: call_id")
        check(entry["headers"] > 0, f"{name}: header count")
    else:
        check(isinstance(entry["reason"], str) and entry["reason"], f"{name}: invalid has a reason")

by_name = {os.path.basename(e["file"]): e for e in report}
check(by_name["wsinv.dat"].get("method") == "INVITE", "wsinv method")
check(by_name["wsinv.dat"].get("headers") == 14, f"wsinv header count {by_name['wsinv.dat'].get('headers')}")
check(by_name["unreason.dat"].get("status") == 200, "unreason status")
check(by_name["longreq.dat"].get("call_id", "").startswith("longreq."), "longreq call id")

# Text output: one "FILE: verdict" line each; all-valid run exits 0.
valid = [f for f in files if expected[os.path.basename(f)] == "valid"]
text = run("parse", *valid)
check(text.returncode == 0, f"exit 0 when all are valid (got {text.returncode})")
lines = text.stdout.decode().splitlines()
check(len(lines) == len(valid) and all(l.endswith(": valid") for l in lines), "text verdict lines")
bad = run("parse", os.path.join(torture, "clerr.dat"))
check(bad.stdout.decode().strip().endswith("invalid: Content-Length larger than the message"), "text reason")

# Unreadable file, standard input, stream framing, hostile bytes.
missing = run("parse", "/nonexistent/message.sip")
check(missing.returncode == 1 and b"invalid: cannot read file" in missing.stdout, "unreadable file")
stdin = run("parse", "-", stdin=open(os.path.join(torture, "esc01.dat"), "rb").read())
check(stdin.returncode == 0 and b"-: valid" in stdin.stdout, "standard input")
stream = run("parse", "--stream", os.path.join(torture, "inv2543.dat"))
check(stream.returncode == 1 and b"Content-Length missing" in stream.stdout, "stream framing needs Content-Length")
with tempfile.TemporaryDirectory() as tmp:
    hostile = []
    for i, blob in enumerate([b"", b"\x00" * 5000, b"INVITE " * 10000, bytes(range(256)) * 20,
                              b"SIP/2.0 200 OK\r\n" + b"Via: x\r\n" * 5000 + b"\r\n"]):
        path = os.path.join(tmp, f"hostile{i}")
        with open(path, "wb") as f:
            f.write(blob)
        hostile.append(path)
    h = run("parse", *hostile)
    check(h.returncode == 1, f"hostile input exits 1 (got {h.returncode}, stderr {h.stderr[:200]!r})")
    check(len(h.stdout.decode().splitlines()) == len(hostile), "a verdict for each hostile input")

usage = run("parse")
check(usage.returncode not in (0, 1), "missing arguments is a usage error")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"cli_parse_test: {len(expected)} verdicts match, all checks passed")
