#!/usr/bin/env python3
"""sipboxd starts with a fresh data directory, logs its version, and stops cleanly with
exit code 0 on SIGTERM (DESIGN.md section 4)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sipboxd = sys.argv[1]

with tempfile.TemporaryDirectory() as tmp:
    data_dir = os.path.join(tmp, "data")
    log_path = os.path.join(tmp, "sipboxd.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", "127.0.0.1", "--http-port", "0",
                                 "--netconf-port", "0"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"started" not in open(log_path, "rb").read():
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        output = open(log_path, "rb").read().decode()
        assert "started" in output, f"sipboxd did not start: {output}"
        assert os.path.isdir(data_dir), "data directory created"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        assert code == 0, f"exit code {code} after SIGTERM"
        assert "stopped" in open(log_path, "rb").read().decode()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    version = subprocess.run([sipboxd, "--version"], capture_output=True, timeout=10)
    assert version.returncode == 0 and version.stdout.strip(), "--version"
    bad = subprocess.run([sipboxd, "--no-such-flag"], capture_output=True, timeout=10)
    assert bad.returncode != 0, "unknown flag refused"
print("sipboxd_start_stop_test: passed")
