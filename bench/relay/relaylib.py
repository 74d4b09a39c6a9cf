"""Pieces of bench/relay: the two relays (rtpengine driven over its ng protocol, sipboxd
driven over SIP), the call set-up that tells each where the generator's endpoints are
and reads back the relay's ports, and the calls file rtp_load reads. Processes and
their CPU come from bench/load/loadlib.py. Python standard library only."""

import hashlib
import random
import re
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "load"))
import loadlib as L  # noqa: E402

LOOPBACK = "127.0.0.1"
DOMAIN = "bench.example"
CALLEE = "callee"
CALLEE_PASSWORD = "pw-callee"


def sdp(port, session_id):
    """A G.711 offer or answer: PCMU only, 20 ms, RTCP on port + 1."""
    return (f"v=0\r\no=- {session_id} 1 IN IP4 {LOOPBACK}\r\ns=-\r\nc=IN IP4 {LOOPBACK}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n")


_M = re.compile(r"^m=audio (\d+) ", re.M)
_C = re.compile(r"^c=IN IP[46] (\S+)", re.M)


def sdp_endpoint(text):
    """(address, port) of the first audio stream of an SDP body."""
    m, c = _M.search(text), _C.search(text)
    if not m or not c:
        raise RuntimeError(f"no c=/m=audio in SDP:\n{text}")
    return c.group(1), int(m.group(1))


def generator_ports(calls, low=20000, high=30000):
    """Two even ports per call (A and B; the odd one after each is left for RTCP) that are
    free on loopback now: a contiguous block of 4 * calls ports."""
    need = 4 * calls
    # The previous step's generator may still be closing its sockets: up to ~10 s of tries.
    for attempt in range(50):
        if attempt:
            time.sleep(0.2)
        base = random.randrange(low, high - need) & ~3
        held = []
        try:
            for p in range(base, base + need, 2):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind((LOOPBACK, p))
            return [(base + 4 * i, base + 4 * i + 2) for i in range(calls)]
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no free block of {need} loopback ports in {low}..{high}")


def write_calls(path, calls):
    """calls: (a_port, a_dst, b_port, b_dst) with a_dst/b_dst (address, port)."""
    with open(path, "w") as out:
        for a_port, a_dst, b_port, b_dst in calls:
            out.write(f"{LOOPBACK} {a_port} {a_dst[0]} {a_dst[1]} {LOOPBACK} {b_port} {b_dst[0]} {b_dst[1]}\n")
    return path


# ---------------------------------------------------------------- bencode, rtpengine ng


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdecode(data, i=0):
    """(value, next index); strings come back as str."""
    c = data[i:i + 1]
    if c == b"i":
        j = data.index(b"e", i)
        return int(data[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            out[k], i = bdecode(data, i)
        return out, i + 1
    j = data.index(b":", i)
    n = int(data[i:j])
    return data[j + 1:j + 1 + n].decode(errors="replace"), j + 1 + n


class Rtpengine:
    """Debian's rtpengine, userspace forwarding only (--table=-1: no kernel module), on
    loopback with its own port range; driven with offer/answer/delete over ng."""

    name = "rtpengine"

    def __init__(self, work, ng_port, port_min, port_max, threads):
        self.dir = Path(work) / "rtpengine"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ng = (LOOPBACK, ng_port)
        self.port_min, self.port_max, self.threads = port_min, port_max, threads
        self.child = None
        self.sock = None
        self.n = 0

    def start(self):
        self.child = L.Child(["rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
                              f"--interface={LOOPBACK}", f"--listen-ng={LOOPBACK}:{self.ng[1]}",
                              f"--port-min={self.port_min}", f"--port-max={self.port_max}",
                              f"--num-threads={self.threads}", "--log-level=4", "--delete-delay=0",
                              "--timeout=120", "--silent-timeout=3600"],
                             self.dir / "rtpengine.log", self.dir)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(0.5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.command({"command": "ping"}).get("result") == "pong":
                    return
            except (OSError, RuntimeError):
                pass
            if not self.child.running():
                break
        raise RuntimeError(f"rtpengine does not answer ng ping:\n{self.child.log_tail()}")

    def command(self, body, tries=4):
        self.n += 1
        cookie = f"{self.n}_{random.getrandbits(24)}"
        packet = cookie.encode() + b" " + bencode(body)
        for _ in range(tries):
            self.sock.sendto(packet, self.ng)
            try:
                while True:
                    data = self.sock.recv(65535)
                    if data.startswith(cookie.encode() + b" "):
                        return bdecode(data, len(cookie) + 1)[0]
            except socket.timeout:
                continue
        raise RuntimeError(f"rtpengine: no answer to {body.get('command')}")

    def setup(self, ports, tag):
        """One call per (a_port, b_port): offer with A's SDP, answer with B's; returns the
        rows of the calls file (A sends to the port in the answer's SDP, B to the offer's)."""
        rows = []
        flags = {"replace": ["origin", "session-connection"], "ICE": "remove", "transport-protocol": "RTP/AVP"}
        for i, (a_port, b_port) in enumerate(ports):
            call_id = f"{tag}-{i}"
            offer = self.command({"command": "offer", "call-id": call_id, "from-tag": f"a{i}",
                                  "sdp": sdp(a_port, i + 1), **flags})
            answer = self.command({"command": "answer", "call-id": call_id, "from-tag": f"a{i}", "to-tag": f"b{i}",
                                   "sdp": sdp(b_port, i + 1), **flags})
            for r in (offer, answer):
                if r.get("result") != "ok":
                    raise RuntimeError(f"rtpengine refused call {i}: {r}")
            rows.append((a_port, sdp_endpoint(answer["sdp"]), b_port, sdp_endpoint(offer["sdp"])))
        self.calls = [f"{tag}-{i}" for i in range(len(ports))]
        return rows

    def teardown(self):
        for i, call_id in enumerate(getattr(self, "calls", [])):
            self.command({"command": "delete", "call-id": call_id, "from-tag": f"a{i}"})
        self.calls = []

    def stop(self):
        if self.sock:
            self.sock.close()
        if self.child:
            self.child.stop()
            self.child = None


# ---------------------------------------------------------------- sipboxd over SIP


def _header(msg, name, compact=None):
    names = {name.lower()} | ({compact} if compact else set())
    for line in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() in names:
            yield value.strip()


def _first(msg, name, compact=None):
    return next(_header(msg, name, compact), None)


def _body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


class SipUA:
    """A bare UDP SIP endpoint on loopback: enough for REGISTER with digest, INVITE /
    200 / ACK / BYE through a proxy, with one transaction in flight at a time."""

    def __init__(self, user, domain, server):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.user, self.domain, self.server = user, domain, server
        self.n = 0

    def send(self, text, to=None):
        self.sock.sendto(text.encode(), to or self.server)

    def recv(self, seconds=5.0, want=None):
        """The next message (str) for which want(msg) is true, None after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except (socket.timeout, ConnectionRefusedError):
                continue
            msg = data.decode(errors="replace")
            if want is None or want(msg):
                return msg

    def via(self, branch):
        return f"Via: SIP/2.0/UDP {LOOPBACK}:{self.port};rport;branch=z9hG4bK{branch}"

    def register(self, password, expires=3600):
        """REGISTER, answer the 401 with an MD5 digest; True on 200."""
        call_id = f"reg-{random.getrandbits(48)}@{LOOPBACK}"
        auth = ""
        for cseq in (1, 2):
            self.send(f"REGISTER sip:{self.domain} SIP/2.0\r\n{self.via(f'r{cseq}-{random.getrandbits(32)}')}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:{self.user}@{self.domain}>;tag=r{self.port}\r\n"
                      f"To: <sip:{self.user}@{self.domain}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
                      f"Contact: <sip:{self.user}@{LOOPBACK}:{self.port}>\r\nExpires: {expires}\r\n{auth}"
                      f"Content-Length: 0\r\n\r\n")
            resp = self.recv(5, lambda m: m.startswith("SIP/2.0 ") and f"{cseq} REGISTER" in m and " 100 " not in m[:12])
            if resp is None:
                return False
            code = resp[8:11]
            if code == "200":
                return True
            if code != "401" or cseq == 2:
                return False
            challenge = _first(resp, "WWW-Authenticate")
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.split(" ", 1)[1]))
            realm, nonce, uri = params["realm"], params["nonce"], f"sip:{self.domain}"
            ha1 = hashlib.md5(f"{self.user}:{realm}:{password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
            qop = ""
            if "qop" in params:
                cnonce = f"{random.getrandbits(32):08x}"
                response = hashlib.md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}".encode()).hexdigest()
                qop = f', qop=auth, nc=00000001, cnonce="{cnonce}"'
            else:
                response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
            opaque = f', opaque="{params["opaque"]}"' if "opaque" in params else ""
            auth = (f'Authorization: Digest username="{self.user}", realm="{realm}", nonce="{nonce}", '
                    f'uri="{uri}", response="{response}", algorithm=MD5{qop}{opaque}\r\n')
        return False


class SipCalls:
    """N calls from a caller of a foreign domain (no 407) to the registered callee through
    sipboxd: INVITE with A's SDP, the callee's 200 with B's SDP. The SDP each side
    receives names the relay port it must send to."""

    def __init__(self, server):
        self.server = server
        self.uac = SipUA("caller", "foreign.example", server)
        self.uas = SipUA(CALLEE, DOMAIN, server)
        self.dialogs = []
        self.require_relay = True  # False only to check the SIP flow against a sipboxd without the relay

    def register_callee(self):
        if not self.uas.register(CALLEE_PASSWORD):
            raise RuntimeError("the callee could not register with sipboxd")

    def setup(self, ports, tag):
        rows = []
        for i, (a_port, b_port) in enumerate(ports):
            rows.append(self._call(f"{tag}-{i}@{LOOPBACK}", i, a_port, b_port))
        return rows

    def _call(self, call_id, i, a_port, b_port):
        uac, uas = self.uac, self.uas
        body = sdp(a_port, i + 1)
        ruri = f"sip:{CALLEE}@{DOMAIN}"
        uac.send(f"INVITE {ruri} SIP/2.0\r\n{uac.via(f'i{i}-{random.getrandbits(32)}')}\r\nMax-Forwards: 70\r\n"
                 f"From: <sip:caller@foreign.example>;tag=a{i}\r\nTo: <{ruri}>\r\nCall-ID: {call_id}\r\n"
                 f"CSeq: 1 INVITE\r\nContact: <sip:caller@{LOOPBACK}:{uac.port}>\r\n"
                 f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
        invite = uas.recv(5, lambda m: m.startswith("INVITE ") and _first(m, "Call-ID", "i") == call_id)
        if invite is None:
            raise RuntimeError(f"call {i}: the INVITE did not reach the callee")
        b_dst = sdp_endpoint(_body(invite))
        if b_dst[1] == a_port and self.require_relay:
            raise RuntimeError("sipboxd forwarded the caller's SDP unchanged: no media relay "
                               "(is /sipbox-media:media/relay-mode 'always' wired into the proxy yet?)")
        answer = sdp(b_port, i + 1)
        vias = "".join(f"Via: {v}\r\n" for v in _header(invite, "Via", "v"))
        rr = "".join(f"Record-Route: {v}\r\n" for v in _header(invite, "Record-Route"))
        uas.send(f"SIP/2.0 200 OK\r\n{vias}{rr}From: {_first(invite, 'From', 'f')}\r\n"
                 f"To: {_first(invite, 'To', 't')};tag=b{i}\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
                 f"Contact: <sip:{CALLEE}@{LOOPBACK}:{uas.port}>\r\nContent-Type: application/sdp\r\n"
                 f"Content-Length: {len(answer)}\r\n\r\n{answer}")
        ok = uac.recv(5, lambda m: m.startswith("SIP/2.0 200") and _first(m, "Call-ID", "i") == call_id)
        if ok is None:
            raise RuntimeError(f"call {i}: no 200 OK at the caller")
        a_dst = sdp_endpoint(_body(ok))
        routes = list(reversed([r for v in _header(ok, "Record-Route") for r in v.split(",")]))
        target = re.search(r"<([^>]+)>", _first(ok, "Contact", "m")).group(1)
        dialog = {"call_id": call_id, "i": i, "target": target, "routes": routes, "to": _first(ok, "To", "t")}
        self._in_dialog(dialog, "ACK", 1)
        self.dialogs.append(dialog)
        return (a_port, a_dst, b_port, b_dst)

    def _in_dialog(self, d, method, cseq):
        route = "".join(f"Route: {r.strip()}\r\n" for r in d["routes"])
        to = self.server
        if not d["routes"]:
            m = re.search(r"@?([\d.]+):(\d+)", d["target"])
            to = (m.group(1), int(m.group(2)))
        # A retransmission keeps its branch (RFC 3261 17.1.2.2).
        branch = d.setdefault("branch " + method, f"{method[0]}{d['i']}-{random.getrandbits(32)}")
        self.uac.send(f"{method} {d['target']} SIP/2.0\r\n{self.uac.via(branch)}\r\n"
                      f"Max-Forwards: 70\r\n{route}From: <sip:caller@foreign.example>;tag=a{d['i']}\r\n"
                      f"To: {d['to']}\r\nCall-ID: {d['call_id']}\r\nCSeq: {cseq} {method}\r\n"
                      f"Content-Length: 0\r\n\r\n", to)

    def teardown(self, seconds=10):
        """BYE every call; the callee answers 200 to each BYE. Returns the calls that
        got their 200 at the caller."""
        for d in self.dialogs:
            self._in_dialog(d, "BYE", 2)
        pending = {d["call_id"] for d in self.dialogs}
        deadline = time.monotonic() + seconds
        # As a UAC's Timer E would: a BYE lost in a burst (socket buffers) goes again.
        resend_at = time.monotonic() + 0.5
        while pending and time.monotonic() < deadline:
            if time.monotonic() >= resend_at:
                for d in self.dialogs:
                    if d["call_id"] in pending:
                        self._in_dialog(d, "BYE", 2)
                resend_at = time.monotonic() + 1.0
            msg = self.uas.recv(0.01, lambda m: m.startswith("BYE "))
            while msg:
                vias = "".join(f"Via: {v}\r\n" for v in _header(msg, "Via", "v"))
                self.uas.send(f"SIP/2.0 200 OK\r\n{vias}From: {_first(msg, 'From', 'f')}\r\n"
                              f"To: {_first(msg, 'To', 't')}\r\nCall-ID: {_first(msg, 'Call-ID', 'i')}\r\n"
                              f"CSeq: {_first(msg, 'CSeq')}\r\nContent-Length: 0\r\n\r\n")
                msg = self.uas.recv(0.001, lambda m: m.startswith("BYE "))
            ok = self.uac.recv(0.01, lambda m: m.startswith("SIP/2.0 200") and "BYE" in (_first(m, "CSeq") or ""))
            while ok:
                pending.discard(_first(ok, "Call-ID", "i"))
                ok = self.uac.recv(0.001, lambda m: m.startswith("SIP/2.0 200") and "BYE" in (_first(m, "CSeq") or ""))
        done = len(self.dialogs) - len(pending)
        self.dialogs = []
        return done


class Sipboxd:
    """sipboxd with /sipbox-media:media/relay-mode always and its own RTP port range, the
    callee provisioned (sipbox config import) and registered over SIP."""

    name = "sipbox"

    def __init__(self, work, sip_port, port_min, port_max, daemon, tool):
        self.dir = Path(work) / "sipbox"
        self.data = self.dir / "data"
        self.port, self.daemon, self.tool = sip_port, daemon, tool
        self.port_min, self.port_max = port_min, port_max
        self.child = None
        self.calls = None

    def start(self):
        import subprocess
        self.dir.mkdir(parents=True, exist_ok=True)
        base = subprocess.run([self.tool, "--data-dir", self.data, "config", "export"], check=True,
                              capture_output=True, text=True, timeout=120).stdout
        ha1 = hashlib.md5(f"{CALLEE}:{DOMAIN}:{CALLEE_PASSWORD}".encode()).hexdigest()
        parts = [base.strip(),
                 f'<domain xmlns="urn:sipbox:yang:sipbox-domains"><name>{DOMAIN}</name></domain>',
                 '<system xmlns="urn:sipbox:yang:sipbox-system"><workers>2</workers><listeners>'
                 f'<bind-address>{LOOPBACK}</bind-address><sip-port>{self.port}</sip-port>'
                 f'<tls-port>{self.port + 1}</tls-port><ws-port>{self.port + 2}</ws-port></listeners></system>',
                 # thousands of INVITEs a second from one address would (rightly) be banned
                 '<security xmlns="urn:sipbox:yang:sipbox-security"><enabled>false</enabled></security>',
                 f'<user xmlns="urn:sipbox:yang:sipbox-users"><name>{CALLEE}</name><domain>{DOMAIN}</domain>'
                 f'<ha1-md5>{ha1}</ha1-md5><max-concurrent-calls>0</max-concurrent-calls></user>']
        # The export already holds a <media> (sipboxd seeds the codec table): the relay
        # settings go into it, not into a second one.
        media_open = '<media xmlns="urn:sipbox:yang:sipbox-media">'
        media = (f"<relay-mode>always</relay-mode><rtp-port-min>{self.port_min}</rtp-port-min>"
                 f"<rtp-port-max>{self.port_max}</rtp-port-max>")
        if media_open in parts[0]:
            parts[0] = parts[0].replace(media_open, media_open + media, 1)
        else:
            parts.append(media_open + media + "</media>")
        config = self.dir / "bench-config.xml"
        config.write_text("\n".join(parts) + "\n")
        done = subprocess.run([self.tool, "--data-dir", self.data, "config", "import", config],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"sipbox config import failed: {done.stdout}{done.stderr}")
        self.child = L.Child([self.daemon, "--data-dir", self.data, "--bind", LOOPBACK, "--sip-port", self.port,
                              "--http-port", 0, "--netconf-port", 0], self.dir / "sipboxd.log", self.dir)
        deadline = time.monotonic() + 60
        while "started" not in self.child.log_tail(50):
            if not self.child.running() or time.monotonic() > deadline:
                raise RuntimeError(f"sipboxd did not start:\n{self.child.log_tail()}")
            time.sleep(0.1)
        if not L.answers_sip(self.port, 15):
            raise RuntimeError(f"sipboxd does not answer SIP on udp {LOOPBACK}:{self.port}")
        self.calls = SipCalls((LOOPBACK, self.port))
        self.calls.register_callee()

    def setup(self, ports, tag):
        return self.calls.setup(ports, tag)

    def teardown(self):
        return self.calls.teardown()

    def stop(self):
        if self.child:
            self.child.stop()
            self.child = None
