#!/usr/bin/env python3
"""Two real SIP phones (baresip) register to sipboxd with digest authentication and make
a call through it: alice calls bob, bob answers by himself, audio flows between them
(a generated tone, checked in what each side decoded), alice hangs up.

Each baresip runs headless with its own config directory and is driven and observed
through its ctrl_tcp module (netstring-framed JSON commands and events): REGISTER_OK,
CALL_ESTABLISHED and CALL_CLOSED are the events asserted on. No sound card is used:
the source is the aufile module reading a WAV this test writes, the player is ALSA's
null device, and the sndfile module dumps the decoded audio for the media check.
Everything runs in a network namespace of the test's own (netns.py). baresip runs with
-s: on a failure the test prints each phone's SIP trace and the tail of sipboxd's log.

usage: baresip_call_test.py SIPBOXD SIPBOX"""
import array
import json
import math
import os
import signal
import sqlite3
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from ports import free_port  # noqa: E402

netns.isolate()
sipboxd, sipbox = sys.argv[1], sys.argv[2]
BARESIP = "/usr/bin/baresip"
MODULE_PATH = "/usr/lib/baresip/modules"
DOMAIN = "test.example"
TONE_HZ = 1000
RATE = 8000
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def wait_for(predicate, seconds, step=0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def write_tone(path, seconds):
    samples = array.array("h", (int(12000 * math.sin(2 * math.pi * TONE_HZ * i / RATE))
                                for i in range(int(RATE * seconds))))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def tone_level(path):
    """(samples, fraction of 20 ms frames that carry the tone) of a 16-bit WAV file.
    A frame carries the tone when its energy is mostly at TONE_HZ (Goertzel)."""
    with wave.open(path, "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = array.array("h", w.readframes(w.getnframes()))
    if channels > 1:
        data = data[::channels]
    n = rate // 50
    coeff = 2 * math.cos(2 * math.pi * TONE_HZ / rate)
    frames = toned = 0
    for start in range(0, len(data) - n + 1, n):
        chunk = data[start:start + n]
        energy = sum(x * x for x in chunk)
        s1 = s2 = 0.0
        for x in chunk:
            s1, s2 = x + coeff * s1 - s2, s1
        power = (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2 / n
        frames += 1
        if energy > n * 1000 * 1000 and power > 0.5 * energy:
            toned += 1
    return len(data), (toned / frames if frames else 0.0)


class Phone:
    """One baresip process, its config directory and its ctrl_tcp connection."""

    def __init__(self, tmp, name, password, address, sip_port):
        self.name = name
        self.dir = os.path.join(tmp, name)
        self.dumps = os.path.join(self.dir, "dumps")
        os.makedirs(self.dumps)
        self.ctrl_port = free_port()
        rtp_low = free_port(address)
        source = os.path.join(self.dir, "tone.wav")
        write_tone(source, 30)
        sip = free_port(address)
        config = f"""poll_method epoll
sip_listen {address}:{sip}
net_interface {address}
call_local_timeout 20
call_max_calls 2
audio_player alsa,null
audio_source aufile,{source}
audio_alert alsa,null
ausrc_srate {RATE}
auplay_srate {RATE}
ausrc_channels 1
auplay_channels 1
rtp_ports {rtp_low}-{rtp_low + 9}
rtcp_mux no
jitter_buffer_delay 1-5
module_path {MODULE_PATH}
module g711.so
module aufile.so
module alsa.so
module sndfile.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.dumps}
"""
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(config)
        # The account is created through ctrl_tcp once connected (uanew), so that the
        # registration events cannot happen before anyone listens.
        self.account = (f'<sip:{name}@{DOMAIN}>;auth_pass={password};outbound="sip:127.0.0.1:{sip_port}";'
                        f"regint=300;answermode=auto;audio_codecs=PCMU/8000/1")
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("")
        with open(os.path.join(self.dir, "contacts"), "w") as f:
            f.write("")
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.events = []
        self.responses = []
        self.lock = threading.Lock()
        self.sock = None
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([BARESIP, "-s", "-f", self.dir], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)

    def connect(self):
        def attempt():
            if self.proc.poll() is not None:
                return True
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
                return True
            except OSError:
                return False

        wait_for(attempt, 10, 0.1)
        if self.sock is None:
            raise RuntimeError(f"{self.name}: ctrl_tcp not reachable; log:\n{self.log()}")
        self.sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b":" in buf:
                head, rest = buf.split(b":", 1)
                if not head.isdigit() or len(rest) < int(head) + 1:
                    break
                body, buf = rest[:int(head)], rest[int(head) + 1:]
                try:
                    message = json.loads(body)
                except ValueError:
                    continue
                with self.lock:
                    (self.events if message.get("event") else self.responses).append(message)

    def command(self, command, params="", token=None):
        body = json.dumps({"command": command, "params": params, "token": token or command}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def event_types(self):
        with self.lock:
            return [e.get("type") for e in self.events]

    def find(self, kind):
        with self.lock:
            return [e for e in self.events if e.get("type") == kind]

    def has_event(self, kind):
        return kind in self.event_types()

    def wait_event(self, kind, seconds):
        return wait_for(lambda: self.has_event(kind) or self.proc.poll() is not None, seconds) and \
            self.has_event(kind)

    def dump(self, direction):
        """The sndfile dump of decoded ('dec') or encoded ('enc') audio, if any."""
        names = [n for n in os.listdir(self.dumps) if n.endswith(f"-{direction}.wav")]
        return os.path.join(self.dumps, sorted(names)[-1]) if names else None

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def quit(self):
        """Ask baresip to quit (it unregisters first)."""
        if self.proc.poll() is None and self.sock is not None:
            try:
                self.command("quit")
            except OSError:
                pass

    def stop(self):
        self.quit()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def stop_all(phones):
    for phone in phones:
        phone.quit()
    for phone in phones:
        phone.stop()


def check_quality_records(data_dir):
    """The relay carried both directions: one record each, from one phone to the other, with the packets of a few seconds of G.711, no loss on loopback and a MOS
    near the codec's best."""
    def records():
        try:
            db = sqlite3.connect(f"file:{os.path.join(data_dir, 'sipbox.db')}?mode=ro", uri=True, timeout=5)
            try:
                return db.execute("SELECT src_address || ':' || src_port, dst_address || ':' || dst_port, codec, "
                                  "packets, loss_percent, mos FROM quality").fetchall()
            finally:
                db.close()
        except sqlite3.OperationalError:
            return []
    wait_for(lambda: len(records()) >= 2, 10)
    rows = records()
    print("quality records:", rows)
    if not check(len(rows) == 2, f"two quality records after the call ({rows})"):
        return
    # baresip sends its RTP from an unbound socket, so the relay latches 127.0.0.1:<port>.
    (a_src, a_dst, *_), (b_src, b_dst, *_) = rows
    check(a_src == b_dst and b_src == a_dst and a_src != b_src,
          f"one record per direction, each phone once as source and once as destination ({rows})")
    for _, _, codec, packets, loss, mos in rows:
        check(codec in ("PCMU", "PCMA") and packets >= 100 and loss == 0 and 4.0 < mos <= 4.5,
              f"record: codec {codec}, {packets} packets, loss {loss} %, MOS {mos}")


def run(tmp):
    data_dir = os.path.join(tmp, "data")
    passwords = {"alice": "alice-secret-1", "bob": "bob-secret-2"}
    for user, password in passwords.items():
        r = subprocess.run([sipbox, "--data-dir", data_dir, "user", "add", user, "--password", password,
                            "--domain", DOMAIN], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"user add {user}: {r.stdout}{r.stderr}"
    # baresip retries a wrong password many times in a row; the IPS's brute-force detector
    # would ban it before it reports REGISTER_FAIL. This test is about the call, so the
    # detector is off here (tests/integration/security_test.py covers it).
    r = subprocess.run([sipbox, "--data-dir", data_dir, "config", "set",
                        "/sipbox-security:security/detectors/brute-force/enabled", "false"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"config set: {r.stdout}{r.stderr}"
    # The media goes through sipboxd's relay, which writes a quality record per direction.
    r = subprocess.run([sipbox, "--data-dir", data_dir, "config", "set", "/sipbox-media:media/relay-mode", "always"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"config set: {r.stdout}{r.stderr}"

    port = free_port(tcp_span=2)
    log_path = os.path.join(tmp, "sipboxd.log")
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sipboxd, "--data-dir", data_dir, "--bind", "127.0.0.1", "--sip-port", str(port),
                                   "--http-port", "0", "--netconf-port", "0"], stdout=log, stderr=subprocess.STDOUT)
    phones = []

    def server_log():
        with open(log_path, "rb") as f:
            return f.read().decode(errors="replace")

    try:
        assert wait_for(lambda: "started" in server_log() or server.poll() is not None, 15) and \
            "started" in server_log(), f"sipboxd did not start:\n{server_log()}"

        alice = Phone(tmp, "alice", passwords["alice"], "127.0.0.2", port)
        bob = Phone(tmp, "bob", passwords["bob"], "127.0.0.3", port)
        phones += [alice, bob]
        for phone in phones:
            phone.connect()
            phone.command("uanew", phone.account)

        wait_for(lambda: all(p.has_event("REGISTER_OK") or p.has_event("REGISTER_FAIL") or p.proc.poll() is not None
                             for p in phones), 15)
        for phone in phones:
            if not check(phone.has_event("REGISTER_OK"), f"{phone.name}: REGISTER_OK (events {phone.events})"):
                return
        for phone in phones:
            ok = phone.find("REGISTER_OK")[0]
            check(ok.get("accountaor") == f"sip:{phone.name}@{DOMAIN}" and str(ok.get("param")).startswith("200"),
                  f"{phone.name}: registered with 200 ({ok})")
        print("both phones registered")

        alice.command("dial", f"sip:bob@{DOMAIN}")
        for phone in phones:
            check(phone.wait_event("CALL_ESTABLISHED", 15),
                  f"{phone.name}: CALL_ESTABLISHED (events {phone.event_types()})")
        if failures:
            return
        outgoing, incoming = alice.find("CALL_ESTABLISHED")[0], bob.find("CALL_ESTABLISHED")[0]
        check(outgoing.get("direction") == "outgoing" and outgoing.get("peeruri") == f"sip:bob@{DOMAIN}",
              f"alice's call goes to bob ({outgoing})")
        check(incoming.get("direction") == "incoming" and incoming.get("peeruri") == f"sip:alice@{DOMAIN}",
              f"bob's call comes from alice ({incoming})")
        print("call established on both sides")

        # Media: each side sees RTP and decodes at least two seconds of the other's tone.
        def decoded_enough(phone):
            path = phone.dump("dec")
            return path is not None and os.path.getsize(path) > 2 * RATE * 2 + 44

        for phone in phones:
            check(phone.wait_event("CALL_RTPESTAB", 15), f"{phone.name}: CALL_RTPESTAB ({phone.event_types()})")
            check(wait_for(lambda: decoded_enough(phone), 15),
                  f"{phone.name}: decoded audio is being dumped ({os.listdir(phone.dumps)})")

        alice.command("hangup")
        for phone in phones:
            check(phone.wait_event("CALL_CLOSED", 15), f"{phone.name}: CALL_CLOSED (events {phone.event_types()})")
        # A normal end: alice hung up herself and bob got her BYE; a SIP error (e.g.
        # "481 Call/Transaction Does Not Exist" or "408 Request Timeout") would show here.
        closed = {phone.name: [e.get("param") for e in phone.find("CALL_CLOSED")] for phone in phones}
        print("call closed:", closed)
        check(closed["alice"] == ["Connection reset by user"], f"alice hung up ({closed['alice']})")
        check(closed["bob"] == ["Connection reset by peer"], f"bob got the BYE ({closed['bob']})")

        # Digest authentication is enforced: bob's AOR with a wrong password does not register.
        alice.command("uanew", bob.account.replace(f"auth_pass={passwords['bob']}", "auth_pass=wrong-password"))

        def wrong_bob(kind):
            return [e for e in alice.find(kind) if e.get("accountaor") == f"sip:bob@{DOMAIN}"]

        wait_for(lambda: wrong_bob("REGISTER_FAIL") or wrong_bob("REGISTER_OK"), 15)
        check(wrong_bob("REGISTER_FAIL") and not wrong_bob("REGISTER_OK"),
              f"a wrong password is refused (alice's events {alice.events[-3:]})")
        print("wrong password refused:", [e.get("param") for e in wrong_bob("REGISTER_FAIL")])

        stop_all(phones)
        for phone in phones:
            path = phone.dump("dec")
            if path is None:
                continue
            samples, toned = tone_level(path)
            print(f"{phone.name}: decoded {samples / RATE:.1f} s of audio, {toned:.0%} of frames carry the tone")
            check(samples >= 2 * RATE and toned > 0.5, f"{phone.name}: the peer's tone was received "
                  f"({samples} samples, {toned:.0%} toned)")
        check_quality_records(data_dir)
    finally:
        stop_all(phones)
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(timeout=10)
                check(code == 0, f"sipboxd exit code {code} after SIGTERM")
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                check(False, "sipboxd did not stop within 10 s of SIGTERM")
        else:
            check(False, f"sipboxd died during the test (exit {server.returncode})")
        if failures:
            print("--- sipboxd log (tail) ---\n" + server_log()[-6000:])
            for phone in phones:
                print(f"--- {phone.name} baresip log (tail) ---\n" + phone.log()[-20000:])


if not os.access(BARESIP, os.X_OK):
    print(f"baresip_call_test: {BARESIP} missing (scripts/install-deps installs baresip)")
    sys.exit(1)
with tempfile.TemporaryDirectory() as tmp:
    run(tmp)
if failures:
    print("baresip_call_test: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("baresip_call_test: passed")
