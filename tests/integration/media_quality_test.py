#!/usr/bin/env python3
"""Issue 6's acceptance test: sipboxd's quality records of relayed G.711 calls against
Wireshark's analysis of the same packets and the E-model, under known impairments.

Every call goes caller -> sipboxd -> callee over SIP (a UDP caller of a foreign domain,
a callee registered with digest); its media is two rtp_party.py parties playing a
speech WAV (PCMU, 20 ms, ~20 s) through sipboxd's relay (relay-mode always). For the
impairment conditions, impair.py sits between the caller's party and sipboxd: the
caller's SDP names the impairer's A-facing port pair, the impairer forwards to the
relay port of sipboxd's 200 OK, and sipboxd latches onto the impairer's source.

  party A ─► impair.py ─► sipboxd relay (port P) ─► party B      dumpcap on lo, ports P, P+1
          ◄─(delay only)◄─                       ◄─

Conditions (all calls at once, each with its own ports and impairer): random loss 0, 1,
3, 5 % and Gilbert-Elliott loss (5 %, burst ratio 2.5) on A -> sipboxd; 50, 150 and
300 ms delay with ±10 ms uniform jitter (FIFO) on both directions of A's leg, RTCP
included, so that the relay's RTCP round trip of A's leg is twice the delay.

The reference for the direction A -> B is what reached port P: tshark -z rtp,streams
(loss, mean jitter), the sequence gaps of the capture (burst ratio, as G.113 App. I:
mean burst length x (1 - p)), and `sipbox emodel --codec PCMU` with tshark's loss, that
burst ratio and T = the configured one-way delay + 20 ms ptime + 40 ms jitter buffer
(sipboxd adds the same two terms to half the measured round trips; the impairer's
jitter is left out of T). Asserted per condition: loss within 0.2 percentage points,
mean jitter within 1 ms or 10 %, MOS within 0.1.

Also, in the same run: a call whose parties stop after 3 s (media timeout 2 s: a record
per direction, sipbox_media_timeouts_total and status media.timeouts count one); a call
put on hold by re-INVITE (c=0.0.0.0; both parties silent for longer than the media
timeout) and resumed (media flows both ways again); a call put on hold with
a=sendonly / a=recvonly (the holder keeps sending) and resumed; a call whose callee
never sends (one record only). Prints the results table (docs/monitoring.md,
"Impairment test results").

usage: media_quality_test.py SIPBOXD SIPBOX"""
import base64
import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "media")]
sys.dont_write_bytecode = True
import impair as I  # noqa: E402
import netns  # noqa: E402
import rtp_party as R  # noqa: E402
import tshark_ref as T  # noqa: E402
from ports import free_port  # noqa: E402

netns.isolate()
SIPBOXD, SIPBOX = sys.argv[1], sys.argv[2]
HOST = "127.0.0.1"
DOMAIN = "media.example"
CALLEE, CALLEE_PASSWORD = "callee", "pw-callee-9"
ADMIN = ("qadmin", "qadmin-secret-1")
SECONDS = 20.0           # media of each impairment call
MEDIA_TIMEOUT = 2        # media/media-timeout-seconds
PTIME_MS, BUFFER_MS = 20.0, 40.0
JITTER_MS = 10.0

failures = []


def check(ok, what):
    print(f"{'PASS' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)
    return ok


def wait_for(predicate, seconds, step=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ---------------------------------------------------------------------- conditions

def delayed(ms):
    return I.Impairment(delay_ms=ms, jitter_ms=JITTER_MS)


# (name, a2b, b2a, impair RTCP, configured one-way network delay in ms)
CONDITIONS = [
    ("loss 0 %", I.Impairment(), I.Impairment(), False, 0),
    ("loss 1 %", I.Impairment(loss_percent=1), I.Impairment(), False, 0),
    ("loss 3 %", I.Impairment(loss_percent=3), I.Impairment(), False, 0),
    ("loss 5 %", I.Impairment(loss_percent=5), I.Impairment(), False, 0),
    ("GE 5 %, BurstR 2.5", I.gilbert_for(5, 2.5), I.Impairment(), False, 0),
    ("delay 50 ms ±10", delayed(50), delayed(50), True, 50),
    ("delay 150 ms ±10", delayed(150), delayed(150), True, 150),
    ("delay 300 ms ±10", delayed(300), delayed(300), True, 300),
]


# ---------------------------------------------------------------------- SIP

def sdp(port, session, address=HOST, direction="sendrecv", version=1):
    return (f"v=0\r\no=- {session} {version} IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=rtcp:{port + 1}\r\n"
            f"a={direction}\r\n")


def headers(msg, name, compact=None):
    names = {name.lower()} | ({compact} if compact else set())
    for line in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() in names:
            yield value.strip()


def header(msg, name, compact=None):
    return next(headers(msg, name, compact), None)


def body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def sdp_endpoint(text):
    m = re.search(r"^m=audio (\d+) ", text, re.M)
    c = re.search(r"^c=IN IP4 (\S+)", text, re.M)
    if not m or not c:
        raise RuntimeError(f"no c=/m=audio in SDP:\n{text}")
    return c.group(1), int(m.group(1))


class UA:
    """A bare UDP SIP endpoint on loopback."""

    def __init__(self, user, domain, server):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.user, self.domain, self.server = user, domain, server

    def send(self, text, to=None):
        self.sock.sendto(text.encode(), to or self.server)

    def recv(self, seconds, want):
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
            if want(msg):
                return msg

    def via(self, branch):
        return f"Via: SIP/2.0/UDP {HOST}:{self.port};rport;branch=z9hG4bK{branch}"

    def register(self, password):
        call_id = f"reg-{random.getrandbits(48)}"
        auth = ""
        for cseq in (1, 2):
            self.send(f"REGISTER sip:{self.domain} SIP/2.0\r\n{self.via(f'r{cseq}x{random.getrandbits(32)}')}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:{self.user}@{self.domain}>;tag=r{self.port}\r\n"
                      f"To: <sip:{self.user}@{self.domain}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
                      f"Contact: <sip:{self.user}@{HOST}:{self.port}>\r\nExpires: 600\r\n{auth}"
                      f"Content-Length: 0\r\n\r\n")
            resp = self.recv(5, lambda m: m.startswith("SIP/2.0 ") and f"{cseq} REGISTER" in m
                             and not m.startswith("SIP/2.0 100"))
            if resp is None:
                return False
            if resp.startswith("SIP/2.0 200"):
                return True
            if not resp.startswith("SIP/2.0 401") or cseq == 2:
                return False
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', header(resp, "WWW-Authenticate").split(" ", 1)[1]))
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


class Calls:
    """Calls caller -> sipboxd -> callee, one transaction at a time (the main thread)."""

    def __init__(self, server):
        self.server = server
        self.uac = UA("caller", "foreign.example", server)
        self.uas = UA(CALLEE, DOMAIN, server)

    def _answer(self, request, answer_sdp):
        vias = "".join(f"Via: {v}\r\n" for v in headers(request, "Via", "v"))
        rr = "".join(f"Record-Route: {v}\r\n" for v in headers(request, "Record-Route"))
        to = header(request, "To", "t")
        if ";tag=" not in to:
            to += f";tag=b{abs(hash(header(request, 'Call-ID', 'i'))) % 100000}"
        extra = ""
        if answer_sdp is not None:
            extra = f"Content-Type: application/sdp\r\n"
        payload = answer_sdp or ""
        self.uas.send(f"SIP/2.0 200 OK\r\n{vias}{rr}From: {header(request, 'From', 'f')}\r\nTo: {to}\r\n"
                      f"Call-ID: {header(request, 'Call-ID', 'i')}\r\nCSeq: {header(request, 'CSeq')}\r\n"
                      f"Contact: <sip:{CALLEE}@{HOST}:{self.uas.port}>\r\n{extra}"
                      f"Content-Length: {len(payload)}\r\n\r\n{payload}")

    def call(self, call_id, offer, answer):
        """INVITE with `offer`, answered 200 with `answer` (a function of the SDP the callee
        got); ACK. Returns the dialog with the SDP each party received."""
        ruri = f"sip:{CALLEE}@{DOMAIN}"
        self.uac.send(f"INVITE {ruri} SIP/2.0\r\n{self.uac.via(f'i{random.getrandbits(40)}')}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:caller@foreign.example>;tag=a-{call_id}\r\nTo: <{ruri}>\r\n"
                      f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@{HOST}:{self.uac.port}>\r\n"
                      f"Content-Type: application/sdp\r\nContent-Length: {len(offer)}\r\n\r\n{offer}")
        invite = self.uas.recv(5, lambda m: m.startswith("INVITE ") and header(m, "Call-ID", "i") == call_id)
        if invite is None:
            raise RuntimeError(f"{call_id}: the INVITE did not reach the callee")
        at_callee = body(invite)
        self._answer(invite, answer(at_callee))
        ok = self.uac.recv(5, lambda m: m.startswith("SIP/2.0 200") and header(m, "Call-ID", "i") == call_id
                           and "INVITE" in header(m, "CSeq"))
        if ok is None:
            raise RuntimeError(f"{call_id}: no 200 OK at the caller")
        d = {"call_id": call_id, "target": re.search(r"<([^>]+)>", header(ok, "Contact", "m")).group(1),
             "routes": list(reversed([r.strip() for v in headers(ok, "Record-Route") for r in v.split(",")])),
             "to": header(ok, "To", "t"), "cseq": 1, "at_callee": at_callee, "at_caller": body(ok)}
        self._request(d, "ACK", 1)
        return d

    def _request(self, d, method, cseq, payload=None):
        route = "".join(f"Route: {r}\r\n" for r in d["routes"])
        extra = f"Contact: <sip:caller@{HOST}:{self.uac.port}>\r\nContent-Type: application/sdp\r\n" if payload else ""
        payload = payload or ""
        self.uac.send(f"{method} {d['target']} SIP/2.0\r\n{self.uac.via(f'{method[0]}{random.getrandbits(40)}')}\r\n"
                      f"Max-Forwards: 70\r\n{route}From: <sip:caller@foreign.example>;tag=a-{d['call_id']}\r\n"
                      f"To: {d['to']}\r\nCall-ID: {d['call_id']}\r\nCSeq: {cseq} {method}\r\n{extra}"
                      f"Content-Length: {len(payload)}\r\n\r\n{payload}")

    def reinvite(self, d, offer, answer):
        """A re-INVITE from the caller; returns (SDP at the callee, SDP at the caller)."""
        d["cseq"] += 1
        cid = d["call_id"]
        self._request(d, "INVITE", d["cseq"], offer)
        invite = self.uas.recv(5, lambda m: m.startswith("INVITE ") and header(m, "Call-ID", "i") == cid)
        if invite is None:
            raise RuntimeError(f"{cid}: the re-INVITE did not reach the callee")
        self._answer(invite, answer)
        ok = self.uac.recv(5, lambda m: m.startswith("SIP/2.0 200") and header(m, "Call-ID", "i") == cid
                           and f"{d['cseq']} INVITE" in header(m, "CSeq"))
        if ok is None:
            raise RuntimeError(f"{cid}: no 200 OK to the re-INVITE")
        self._request(d, "ACK", d["cseq"])
        return body(invite), body(ok)

    def bye(self, d):
        d["cseq"] += 1
        cid = d["call_id"]
        self._request(d, "BYE", d["cseq"])
        bye = self.uas.recv(5, lambda m: m.startswith("BYE ") and header(m, "Call-ID", "i") == cid)
        if bye is not None:
            self._answer(bye, None)
        ok = self.uac.recv(5, lambda m: m.startswith("SIP/2.0 200") and header(m, "Call-ID", "i") == cid
                           and "BYE" in header(m, "CSeq"))
        return ok is not None


# ---------------------------------------------------------------------- media

class Party(R.RtpParty):
    """rtp_party with a pause (hold): while paused it sends neither RTP nor RTCP; its
    sequence numbers stay contiguous and its timestamps follow the clock, as a phone's do."""

    paused = False

    def _send_rtp(self, k):
        if self.paused:
            return
        header = struct.pack("!BBHII", 0x80, (0x80 if self.sent == 0 else 0) | R.PT_PCMU,
                             (self.seq0 + self.sent) & 0xFFFF, (self.ts0 + k * R.FRAME) & 0xFFFFFFFF, self.ssrc)
        try:
            self.rtp.sendto(header + self.payload[k * R.FRAME:(k + 1) * R.FRAME], self.remote)
            self.sent += 1
            self.octets += R.FRAME
        except OSError:
            pass

    def _send_rtcp(self, bye=False):
        if not self.paused:
            super()._send_rtcp(bye)


def party(samples, seconds, seed, send=True):
    return Party((HOST, 0), seconds=seconds, seed=seed, samples=samples[:int(seconds * R.RATE)], linger=0.5,
                 max_seconds=seconds + 30, send=send)


def capture_pattern(seqs):
    """Loss %, bursts and burst ratio (G.113 App. I) of the RTP sequence numbers seen, in order."""
    ext, seen = [], set()
    for s in seqs:
        if not ext:
            e = s
        else:
            e = (ext[-1] & ~0xFFFF) | s
            if e < ext[-1] - 0x8000:
                e += 0x10000
            elif e > ext[-1] + 0x8000:
                e -= 0x10000
        ext.append(e)
        seen.add(e)
    if not ext:
        return None
    decisions = [n not in seen for n in range(min(ext), max(ext) + 1)]
    return I.loss_pattern(decisions)


# ---------------------------------------------------------------------- sipboxd

def http(port, path):
    request = urllib.request.Request(f"http://{HOST}:{port}{path}")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
            return json.loads(text) if text.lstrip()[:1] in "[{" else text
    except (urllib.error.URLError, OSError, ValueError):
        return None


def quality(http_port, call_id):
    return http(http_port, "/api/v1/quality?limit=100&call_id=" + urllib.parse.quote(call_id)) or []


def records(http_port, call_id, n):
    """The call's quality records once there are n (or what there is after 5 s)."""
    found = []

    def enough():
        found[:] = quality(http_port, call_id)
        return len(found) >= n
    wait_for(enough, 5)
    return found


def configure(data):
    base = subprocess.run([SIPBOX, "--data-dir", data, "config", "export"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    ha1 = hashlib.md5(f"{CALLEE}:{DOMAIN}:{CALLEE_PASSWORD}".encode()).hexdigest()
    media_open = '<media xmlns="urn:sipbox:yang:sipbox-media">'
    media = f"<relay-mode>always</relay-mode><media-timeout-seconds>{MEDIA_TIMEOUT}</media-timeout-seconds>"
    base = base.strip()
    base = base.replace(media_open, media_open + media, 1) if media_open in base else \
        base + "\n" + media_open + media + "</media>"
    parts = [base,
             f'<domain xmlns="urn:sipbox:yang:sipbox-domains"><name>{DOMAIN}</name></domain>',
             # a dozen INVITEs in a second from one address is this test, not an attack
             '<security xmlns="urn:sipbox:yang:sipbox-security"><enabled>false</enabled></security>',
             f'<user xmlns="urn:sipbox:yang:sipbox-users"><name>{CALLEE}</name><domain>{DOMAIN}</domain>'
             f'<ha1-md5>{ha1}</ha1-md5><max-concurrent-calls>0</max-concurrent-calls></user>']
    path = os.path.join(os.path.dirname(data), "config.xml")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    for argv in (["config", "import", path], ["admin", "add", ADMIN[0], "--password", ADMIN[1], "--role", "admin"]):
        done = subprocess.run([SIPBOX, "--data-dir", data, *argv], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"sipbox {' '.join(argv[:2])}: {done.stdout}{done.stderr}")


def fmt(v, digits=2):
    return "—" if v is None else f"{v:.{digits}f}"


# ---------------------------------------------------------------------- the test

def run(tmp):
    data = os.path.join(tmp, "data")
    configure(data)
    sip_port, http_port = free_port(HOST, 3), free_port(HOST)
    log_path = os.path.join(tmp, "sipboxd.log")
    with open(log_path, "wb") as log:
        server = subprocess.Popen([SIPBOXD, "--data-dir", data, "--bind", HOST, "--sip-port", str(sip_port),
                                   "--http-port", str(http_port), "--netconf-port", "0", "--rtp-ports", "21000-21999"],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def server_log():
        with open(log_path, "rb") as f:
            return f.read().decode(errors="replace")

    parties, impairers, cap = [], [], None
    try:
        if not wait_for(lambda: "started" in server_log() or server.poll() is not None, 20) or \
                server.poll() is not None:
            raise RuntimeError(f"sipboxd did not start:\n{server_log()}")
        sip = Calls((HOST, sip_port))
        if not sip.uas.register(CALLEE_PASSWORD):
            raise RuntimeError("the callee could not register")

        wav = os.path.join(tmp, "speech.wav")
        R.write_wav(wav, R.speech_like(SECONDS, 1))
        samples = R.read_wav(wav)  # the WAV every party plays

        # ---- set-up: every call before any media
        calls = []
        for n, (name, a2b, b2a, impair_rtcp, delay) in enumerate(CONDITIONS):
            a, b = party(samples, SECONDS, f"a{n}"), party(samples, SECONDS, f"b{n}")
            parties += [a, b]
            imp = I.ImpairRelay((HOST, 0), (HOST, 9), a2b=a2b, b2a=b2a, seed=100 + n, a_peer=a.local,
                                impair_rtcp=impair_rtcp, max_seconds=SECONDS + 60)
            impairers.append(imp)
            d = sip.call(f"quality-{n}", sdp(imp.listen[1], 100 + n), lambda _: sdp(b.local[1], 200 + n))
            imp.target = sdp_endpoint(d["at_caller"])   # sipboxd's port for A's side
            a.set_remote(imp.listen)                    # A sends to the impairer
            b.set_remote(sdp_endpoint(d["at_callee"]))
            calls.append({"name": name, "delay": delay, "a": a, "b": b, "imp": imp, "dialog": d,
                          "relay_port": imp.target[1]})
        check(all(c["relay_port"] != c["imp"].listen[1] for c in calls), "sipboxd put its relay ports in the SDP")

        def plain_call(tag, seconds, b_sends=True):
            a, b = party(samples, seconds, f"{tag}-a"), party(samples, seconds, f"{tag}-b", send=b_sends)
            parties.extend([a, b])
            d = sip.call(f"quality-{tag}", sdp(a.local[1], 300), lambda _: sdp(b.local[1], 301))
            a.set_remote(sdp_endpoint(d["at_caller"]))
            b.set_remote(sdp_endpoint(d["at_callee"]))
            return {"a": a, "b": b, "dialog": d}

        timeout_call = plain_call("timeout", 3.0)
        hold_call = plain_call("hold", SECONDS)
        sendonly_call = plain_call("sendonly", SECONDS)
        oneway_call = plain_call("oneway", 6.0, b_sends=False)

        pcap = os.path.join(tmp, "relay.pcap")
        cap = T.Capture(pcap, T.Capture.udp_ports_filter([c["relay_port"] for c in calls]), seconds=SECONDS + 60)
        cap.start()
        for imp in impairers:
            imp.start()
        t0 = time.monotonic()
        for p in parties:
            p.start()

        def at(seconds):
            time.sleep(max(0.0, t0 + seconds - time.monotonic()))

        # ---- hold (c=0.0.0.0): both silent for 2 x the media timeout, then resumed
        ha, hb, hd = hold_call["a"], hold_call["b"], hold_call["dialog"]
        sa = sendonly_call["a"]
        sb, sd = sendonly_call["b"], sendonly_call["dialog"]
        at(3.0)
        held_callee, _ = sip.reinvite(hd, sdp(ha.local[1], 300, address="0.0.0.0", version=2),
                                      sdp(hb.local[1], 301, version=2))
        ha.paused = hb.paused = True
        check("c=IN IP4 0.0.0.0" in held_callee or "a=sendonly" in held_callee or "a=inactive" in held_callee,
              f"hold: the callee is told the caller holds ({held_callee!r})")
        sip.reinvite(sd, sdp(sa.local[1], 300, direction="sendonly", version=2),
                     sdp(sb.local[1], 301, direction="recvonly", version=2))
        sb.paused = True
        at(3.6)
        a_held, b_held, sa_held, sb_held = ha.recv.packets, hb.recv.packets, sa.recv.packets, sb.recv.packets

        # ---- one-way call ends (BYE) once its caller is done
        at(7.0)
        check(sip.bye(oneway_call["dialog"]), "one-way call: BYE answered")
        # ---- resume both held calls
        at(3.0 + 2 * MEDIA_TIMEOUT + 1)
        a_before, b_before, sa_before, sb_before = ha.recv.packets, hb.recv.packets, sa.recv.packets, sb.recv.packets
        check(a_before - a_held <= 2 and b_before - b_held <= 2,
              f"hold: no media while both are silent ({a_held}->{a_before}, {b_held}->{b_before})")
        check(sb_before - sb_held > 150,
              f"sendonly hold: the holder's media still reaches the held party ({sb_held}->{sb_before})")
        check(sa_before - sa_held <= 2, f"sendonly hold: the held party sends nothing ({sa_held}->{sa_before})")
        resumed_callee, resumed_caller = sip.reinvite(hd, sdp(ha.local[1], 300, version=3),
                                                      sdp(hb.local[1], 301, version=3))
        ha.paused = hb.paused = False
        sip.reinvite(sd, sdp(sa.local[1], 300, version=3), sdp(sb.local[1], 301, version=3))
        sb.paused = False
        check(sdp_endpoint(resumed_callee)[0] == HOST and sdp_endpoint(resumed_caller)[0] == HOST,
              "resume: both parties get a real address again")

        # ---- media timeout: its parties stopped at 3 s; the relay ends the call at ~5 s
        def timeout_seen():
            st = http(http_port, "/api/v1/status")
            return isinstance(st, dict) and st.get("media", {}).get("timeouts", 0) >= 1
        check(wait_for(timeout_seen, 8), "status media.timeouts counts the silent call")
        recs = records(http_port, "quality-timeout", 2)
        check(len(recs) == 2 and all(r["packets"] >= 140 for r in recs),
              f"media timeout: a record per direction ({[(r['source'], r['packets']) for r in recs]})")
        metrics = http(http_port, "/metrics") or ""
        m = re.search(r"^sipbox_media_timeouts_total (\d+)", metrics, re.M)
        check(m is not None and int(m.group(1)) == 1, f"/metrics sipbox_media_timeouts_total 1 ({m and m.group(0)})")

        # ---- end of the conditions' media
        for p in parties:
            p.join(SECONDS + 20)
        for p in parties:
            check(p.error is None, f"party {p.local}: ran ({p.error})")
        for d in [c["dialog"] for c in calls] + [hd, sd]:
            check(sip.bye(d), f"{d['call_id']}: BYE answered")
        sip.bye(timeout_call["dialog"])  # the relay ended it; the dialog still is one
        time.sleep(0.3)
        cap.stop()
        for imp in impairers:
            imp.stop()
        st = http(http_port, "/api/v1/status") or {}
        check(st.get("media", {}).get("timeouts") == 1, f"no other call timed out (timeouts "
              f"{st.get('media', {}).get('timeouts')})")

        # ---- held calls after resume: media both ways, every packet counted, no loss for the pause
        for tag, pa, pb, a0, b0 in (("hold", ha, hb, a_before, b_before), ("sendonly", sa, sb, sa_before, sb_before)):
            after_a, after_b = pa.recv.packets - a0, pb.recv.packets - b0
            check(after_a > 150 and after_b > 150, f"{tag}: media flows both ways after resume "
                  f"(A +{after_a}, B +{after_b})")
            recs = records(http_port, f"quality-{tag}", 2)
            check(len(recs) == 2 and all(r["loss_percent"] == 0 for r in recs)
                  and sorted(r["packets"] for r in recs) == sorted([pa.sent, pb.sent]),
                  f"{tag}: two records, every packet counted, no loss "
                  f"({[(r['packets'], r['loss_percent']) for r in recs]}; sent {pa.sent}, {pb.sent})")

        # ---- one-way call: one record, the caller's direction
        recs = records(http_port, "quality-oneway", 1)
        oa = oneway_call["a"]
        check(len(recs) == 1 and recs[0]["packets"] == oa.sent and recs[0]["destination"].endswith(
            f":{oneway_call['b'].local[1]}"), f"one-way call: one record, the caller's {oa.sent} packets "
              f"({[(r['source'], r['destination'], r['packets']) for r in recs]})")

        # ---- the impairment conditions against tshark and the E-model
        streams = T.rtp_streams(pcap, [c["relay_port"] for c in calls], heuristic=False)
        argv = [T.TSHARK, "-n", "-r", pcap, "-Y", "rtp", "-T", "fields", "-e", "udp.dstport", "-e", "rtp.seq"]
        for c in calls:
            argv += ["-d", f"udp.port=={c['relay_port']},rtp"]
        seqs = {}
        for line in subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout.splitlines():
            port, _, seq = line.partition("\t")
            if port and seq:
                seqs.setdefault(int(port), []).append(int(seq))
        rows = []
        for c in calls:
            name, imp = c["name"], c["imp"]
            ref = T.find_stream(streams, src_port=imp.source[1], dst_port=c["relay_port"])
            pattern = capture_pattern(seqs.get(c["relay_port"], []))
            recs = records(http_port, c["dialog"]["call_id"], 2)
            rec = next((r for r in recs if r["source"] == f"{imp.source[0]}:{imp.source[1]}"), None)
            if not check(ref is not None and pattern is not None and rec is not None,
                         f"{name}: tshark stream, capture and sipbox record found (records {recs})"):
                continue
            expected_delay = c["delay"] + PTIME_MS + BUFFER_MS
            em = T.emodel(SIPBOX, ref["loss_percent"], pattern["burst_ratio"], expected_delay)
            row = {"name": name, "t_loss": ref["loss_percent"], "t_jitter": ref["mean_jitter_ms"],
                   "t_burst": pattern["burst_ratio"], "s_loss": rec["loss_percent"], "s_jitter": rec["jitter_mean_ms"],
                   "s_burst": rec["burst_ratio"], "s_delay": rec["delay_ms"], "s_mos": rec["mos"],
                   "e_delay": expected_delay, "e_mos": em["mos"], "dropped": imp.stats()["a2b"]["dropped"],
                   "packets": rec["packets"], "t_packets": ref["packets"]}
            rows.append(row)
            check(abs(rec["loss_percent"] - ref["loss_percent"]) <= 0.2,
                  f"{name}: loss sipbox {rec['loss_percent']:.2f} % vs tshark {ref['loss_percent']:.2f} %")
            check(rec["packets"] == ref["packets"], f"{name}: packets sipbox {rec['packets']} vs tshark "
                  f"{ref['packets']}")
            tol = max(1.0, 0.1 * ref["mean_jitter_ms"])
            check(abs(rec["jitter_mean_ms"] - ref["mean_jitter_ms"]) <= tol,
                  f"{name}: mean jitter sipbox {rec['jitter_mean_ms']:.3f} ms vs tshark "
                  f"{ref['mean_jitter_ms']:.3f} ms (±{tol:.2f})")
            check(abs(rec["burst_ratio"] - pattern["burst_ratio"]) <= 0.05,
                  f"{name}: burst ratio sipbox {rec['burst_ratio']:.3f} vs capture {pattern['burst_ratio']:.3f}")
            check(abs(rec["mos"] - em["mos"]) <= 0.1,
                  f"{name}: MOS sipbox {rec['mos']:.3f} (T {rec['delay_ms']:.1f} ms) vs E-model {em['mos']:.3f} "
                  f"(T {expected_delay:.0f} ms)")

        print("\nImpairment results (direction caller -> sipboxd, "
              f"{SECONDS:g} s of PCMU speech per call; T expected = delay + {PTIME_MS:g} + {BUFFER_MS:g} ms)")
        print("| condition | tshark loss % | tshark jitter ms | capture BurstR | sipbox loss % | sipbox jitter ms "
              "| sipbox BurstR | sipbox T ms | sipbox MOS | expected T ms | expected MOS |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['name']} | {fmt(r['t_loss'])} | {fmt(r['t_jitter'])} | {fmt(r['t_burst'])} | "
                  f"{fmt(r['s_loss'])} | {fmt(r['s_jitter'])} | {fmt(r['s_burst'])} | {fmt(r['s_delay'], 0)} | "
                  f"{fmt(r['s_mos'])} | {fmt(r['e_delay'], 0)} | {fmt(r['e_mos'])} |")
        print()
    finally:
        for p in parties:
            try:
                p.stop()
            except OSError:
                pass
        for imp in impairers:
            if imp._thread and imp._thread.is_alive():
                imp.stop(flush=False)
        if cap is not None:
            cap.stop()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                check(server.wait(timeout=10) == 0, "sipboxd exits 0 on SIGTERM")
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                check(False, "sipboxd stopped within 10 s of SIGTERM")
        else:
            check(False, f"sipboxd died during the test (exit {server.returncode})")
        if failures:
            print("--- sipboxd log (tail) ---\n" + server_log()[-8000:])


started = time.monotonic()
with tempfile.TemporaryDirectory(prefix="media-quality-") as tmp:
    try:
        run(tmp)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        import traceback
        traceback.print_exc()
        failures.append(f"error: {e}")
print(f"media_quality_test: {time.monotonic() - started:.1f} s")
if failures:
    print("media_quality_test: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("media_quality_test: passed")
