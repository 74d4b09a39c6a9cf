#!/usr/bin/python3
"""NETCONF edit-config round trip over SSH against a real sipboxd, and the daemon's
resident memory at idle. A benchmark, not a test.

  bench/config/netconf_edit.py [BUILD_DIR] [EDITS]      (default: build, 200)

Uses Debian's ncclient (/usr/bin/python3) with its transport tick lowered to 1 ms
(the default 100 ms tick would dominate every round trip)."""
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from ncclient import manager
import ncclient.transport.ssh as ncssh

ncssh.TICK = 0.001
build = sys.argv[1] if len(sys.argv) > 1 else "build"
edits = int(sys.argv[2]) if len(sys.argv) > 2 else 200
NS = "urn:sipbox:yang:sipbox-system"
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "var")
    subprocess.run([f"{build}/sipbox", "--data-dir", data, "admin", "add", "admin", "--password", "pw", "--role",
                    "admin"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([f"{build}/sipboxd", "--data-dir", data, "--bind", "127.0.0.1", "--netconf-port",
                             str(port), "--http-port", str(free_port())], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1)
        idle_rss = rss_kib(proc.pid)
        with manager.connect(host="127.0.0.1", port=port, username="admin", password="pw", hostkey_verify=False,
                             allow_agent=False, look_for_keys=False, timeout=30) as m:
            times = []
            for i in range(edits):
                config = (f'<config xmlns="{BASE}"><system xmlns="{NS}"><listeners><sip-port>{6000 + i % 2}'
                          f'</sip-port></listeners></system></config>')
                start = time.perf_counter()
                m.edit_config(target="running", config=config)
                times.append((time.perf_counter() - start) * 1000)
            session_rss = rss_kib(proc.pid)
        times.sort()
        print(f"edit-config over SSH, {edits} edits (each validated, applied, fsynced, audited):")
        print(f"  p50 {statistics.median(times):.2f} ms   p95 {times[int(len(times) * 0.95) - 1]:.2f} ms"
              f"   max {times[-1]:.2f} ms")
        print(f"sipboxd RSS at idle: {idle_rss / 1024:.1f} MiB   after the edits: {session_rss / 1024:.1f} MiB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
