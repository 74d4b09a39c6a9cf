"""Run a wire test in a network namespace of its own (DESIGN.md section 5: network tests
touch only loopback or namespaces they create), so that whatever the server relays,
resolves or answers toward a foreign address goes nowhere.

isolate() re-runs the calling script under `unshare --net` (root, or a user namespace
where allowed) with the loopback interface up, and exits with its status. Without the
privilege the script runs where it is, on the host's loopback, and says so."""
import fcntl
import os
import socket
import struct
import subprocess
import sys

_MARK = "SIPBOX_TEST_NETNS"
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))


def isolate():
    if os.environ.get(_MARK) == "inside":
        _loopback_up()
        return
    if os.environ.get(_MARK) == "host":
        return
    try:
        probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10)
        refused = probe.stderr.decode().strip() if probe.returncode != 0 else None
    except (OSError, subprocess.TimeoutExpired) as e:
        refused = str(e)
    if refused is not None:
        print(f"note: no network namespace ({refused}); running on the host's loopback")
        os.environ[_MARK] = "host"
        return
    script = os.path.abspath(sys.argv[0])
    env = dict(os.environ, **{_MARK: "inside"})
    sys.exit(subprocess.run(["unshare", "--net", "--", sys.executable, script, *sys.argv[1:]], env=env).returncode)
