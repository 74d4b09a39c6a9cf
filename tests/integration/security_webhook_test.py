#!/usr/bin/env python3
"""Incidents are POSTed as JSON to the configured webhook (issue 5, "Incidents"): a
friendly-scanner OPTIONS from 127.0.0.9 makes an incident, and a local HTTP server started
by this test receives it with the source, the detector's message and the action."""
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ports import free_port  # noqa: E402

sipboxd, sipbox = sys.argv[1], sys.argv[2]
received = []
arrived = threading.Event()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.append((self.headers.get("Content-Type"), body))
        self.send_response(204)
        self.end_headers()
        arrived.set()

    def log_message(self, *args):
        pass


def run(args):
    r = subprocess.run([sipbox] + args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"sipbox {' '.join(args)}: {r.stdout}{r.stderr}"


hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{hook.server_address[1]}/incidents"

with tempfile.TemporaryDirectory() as tmp:
    data_dir = os.path.join(tmp, "data")
    run(["--data-dir", data_dir, "user", "add", "alice", "--password", "secret", "--domain", "test.example"])
    run(["--data-dir", data_dir, "config", "set", "/sipbox-security:security/notifications/webhook-url", url])
    port = free_port("127.0.0.1", 3)
    log_path = os.path.join(tmp, "sipboxd.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", "127.0.0.1", "--sip-port", str(port),
                                 "--http-port", "0", "--netconf-port", "0"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while b"started" not in open(log_path, "rb").read():
            assert proc.poll() is None and time.monotonic() < deadline, open(log_path, "rb").read().decode()
            time.sleep(0.05)
        scanner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        scanner.bind(("127.0.0.9", 0))
        sport = scanner.getsockname()[1]
        scanner.sendto((f"OPTIONS sip:100@127.0.0.1:{port} SIP/2.0\r\n"
                        f"Via: SIP/2.0/UDP 127.0.0.9:{sport};branch=z9hG4bKscan1\r\n"
                        "From: <sip:100@127.0.0.9>;tag=s1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: scan-1\r\n"
                        "CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nMax-Forwards: 70\r\n"
                        "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
        assert arrived.wait(30), "no webhook POST arrived: " + open(log_path, "rb").read().decode()[-2000:]
        content_type, body = received[0]
        assert content_type == "application/json", content_type
        incident = json.loads(body)
        assert incident["type"] == "incident", incident
        assert incident["source"] == "127.0.0.9", incident
        assert incident["message"] == "scanner (User-Agent 'friendly-scanner')", incident
        assert incident["action"].startswith("ban "), incident
        assert incident["sid"] == 0 and incident["at"].endswith("Z"), incident
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hook.shutdown()
print("security_webhook_test: passed")
