#!/usr/bin/env python3
"""One party of a G.711 call's media, for tests: it sends ~20 s of a speech-like signal
as PCMU RTP (payload type 0, 160 samples every 20 ms, paced against the clock) and
receives the other party's RTP, both on one port pair (RTP even port, RTCP + 1), so
that a relay's symmetric latching sees the source it sends to. Every 5 s it sends an
RTCP SR with a report block on what it received (RFC 3550 6.4; LSR/DLSR let the other
side, or a relay, compute the round trip). Received packets are measured as RFC 3550
A.1/A.3/A.8 does (expected, lost, duplicates, interarrival jitter) and can be written
back as a WAV file (losses as silence).

The signal: speech_like(seconds, seed) is deterministic synthetic speech, no recorded
file: syllables of 80 to 300 ms, voiced ones a glottal pulse train (pitch 95 to 230 Hz
with intonation) through three formant resonators of a vowel, unvoiced ones filtered
noise, pauses of 40 to 500 ms between words; about the level and on/off rhythm of
conversational speech (enough for a codec, VAD-less G.711 and a relay; not for a
perceptual speech-quality measurement, which would need a recorded ITU-T P.501 talker).

Library use:
    party = RtpParty(("127.0.0.1", 40000), remote=("127.0.0.1", 30000), seconds=20, seed=1)
    party.start(); party.join(); print(party.stats())
Command line: rtp_party.py --local 127.0.0.1:40000 --remote 127.0.0.1:30000
--seconds 20 [--stats FILE] [--wav-out FILE]; rtp_party.py --write-speech FILE.wav.
Python 3.11 standard library only.
"""
import argparse
import json
import math
import os
import random
import selectors
import socket
import struct
import sys
import threading
import time
import wave

RATE = 8000
FRAME = 160          # samples per 20 ms packet
PTIME = 0.020
PT_PCMU = 0
NTP_EPOCH = 2208988800

# ---------------------------------------------------------------------- the signal

# Formants F1, F2, F3 (Hz) of a few vowels (Peterson & Barney averages, male).
VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410),
          (660, 1720, 2410), (440, 1020, 2240), (490, 1350, 1690)]


def _resonator(freq, bandwidth):
    """Coefficients of a two-pole resonator (Klatt) at freq with the given bandwidth."""
    c = -math.exp(-2 * math.pi * bandwidth / RATE)
    b = 2 * math.exp(-math.pi * bandwidth / RATE) * math.cos(2 * math.pi * freq / RATE)
    return 1 - b - c, b, c


def speech_like(seconds=20.0, seed=1, level_dbfs=-20.0):
    """int16 samples at 8 kHz; the same for the same (seconds, seed)."""
    rng = random.Random(f"speech/{seed}")
    total = int(seconds * RATE)
    out = []
    while len(out) < total:
        # A word: 1 to 4 syllables, then a pause.
        for _ in range(rng.randint(1, 4)):
            n = int(rng.uniform(0.08, 0.30) * RATE)
            if rng.random() < 0.25:  # unvoiced: noise through one broad resonance
                a0, a1, a2 = _resonator(rng.uniform(2500, 3500), 900)
                y1 = y2 = 0.0
                for k in range(n):
                    env = math.sin(math.pi * k / n)
                    y = a0 * rng.uniform(-1, 1) + a1 * y1 + a2 * y2
                    y2, y1 = y1, y
                    out.append(0.35 * env * y)
                continue
            f1, f2, f3 = VOWELS[rng.randrange(len(VOWELS))]
            res = [_resonator(f1, 90), _resonator(f2, 110), _resonator(f3, 170)]
            state = [[0.0, 0.0] for _ in res]
            pitch0, slope = rng.uniform(95, 230), rng.uniform(-0.25, 0.15)
            phase = 0.0
            for k in range(n):
                frac = k / n
                pitch = pitch0 * (1 + slope * frac)
                phase += pitch / RATE
                pulse = 1.0 if phase >= 1.0 else 0.0
                phase -= pulse
                x = pulse - 0.02
                y = 0.0
                for (a0, a1, a2), st in zip(res, state):  # cascade
                    x = a0 * x + a1 * st[0] + a2 * st[1]
                    st[1], st[0] = st[0], x
                y = x
                env = min(1.0, frac * 8) * min(1.0, (1 - frac) * 5)
                out.append(env * y)
        out.extend([0.0] * int(rng.uniform(0.04, 0.5) * RATE))
    out = out[:total]
    # Normalise the active parts to the level (RMS, dBFS), add a faint noise floor.
    active = [v for v in out if abs(v) > 1e-6]
    rms = math.sqrt(sum(v * v for v in active) / len(active)) if active else 1.0
    gain = 32767 * 10 ** (level_dbfs / 20) / rms
    noise = random.Random(f"noise/{seed}")
    return [max(-32768, min(32767, int(v * gain + noise.gauss(0, 3)))) for v in out]


# ---------------------------------------------------------------------- G.711 mu-law


def _ulaw(sample):
    """ITU-T G.711 mu-law code of a 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    mag = min(-sample if sample < 0 else sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not mag & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ulaw_decode(code):
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 7, code & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -mag if sign else mag


_ENC = None
_DEC = [_ulaw_decode(c) for c in range(256)]


def ulaw_encode(samples):
    global _ENC
    if _ENC is None:
        _ENC = bytes(_ulaw(s - 32768) for s in range(65536))
    return bytes(_ENC[s + 32768] for s in samples)


def ulaw_decode(data):
    return [_DEC[b] for b in data]


def write_wav(path, samples, rate=RATE):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != RATE:
            raise ValueError(f"{path}: need 8 kHz 16-bit mono")
        data = w.readframes(w.getnframes())
    return list(struct.unpack(f"<{len(data) // 2}h", data))


# ---------------------------------------------------------------------- RFC 3550 receiver


class Receiver:
    """Statistics of one received RTP stream (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, clock_rate=RATE):
        self.clock = clock_rate
        self.ssrc = None
        self.packets = 0
        self.duplicates = 0
        self.base = None      # first sequence number
        self.max_ext = None   # highest extended sequence number
        self.cycles = 0
        self.jitter = 0.0     # in timestamp units
        self.max_jitter = 0.0
        self.jitter_sum = 0.0
        self.transit = None
        self.seen = set()
        self.payloads = {}    # extended seq -> payload
        self.keep_payload = False
        self.last_sr = None   # (middle 32 bits of NTP, arrival time)
        self.expected_prior = self.received_prior = 0

    def add(self, data, arrival):
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        cc = data[0] & 0x0F
        seq, ts, ssrc = struct.unpack_from("!HII", data, 2)
        if self.ssrc is None:
            self.ssrc, self.base, self.max_ext = ssrc, seq, seq
        # Extended sequence number nearest to the highest so far.
        ext = (self.max_ext & ~0xFFFF) | seq
        if ext < self.max_ext - 0x8000:
            ext += 0x10000
        elif ext > self.max_ext + 0x8000:
            ext -= 0x10000
        if ext in self.seen:
            self.duplicates += 1
            return
        self.seen.add(ext)
        self.packets += 1
        self.max_ext = max(self.max_ext, ext)
        if self.keep_payload:
            self.payloads[ext] = data[12 + 4 * cc:]
        transit = arrival * self.clock - ts
        if self.transit is not None:
            d = abs(transit - self.transit)
            self.jitter += (d - self.jitter) / 16
            self.max_jitter = max(self.max_jitter, self.jitter)
            self.jitter_sum += self.jitter
        self.transit = transit

    def expected(self):
        return 0 if self.base is None else self.max_ext - self.base + 1

    def stats(self):
        expected = self.expected()
        lost = expected - self.packets
        n = max(self.packets - 1, 1)
        return {"ssrc": self.ssrc, "packets": self.packets, "expected": expected, "lost": lost,
                "loss_percent": 100.0 * lost / expected if expected else 0.0,
                "duplicates": self.duplicates,
                "jitter_ms": 1000.0 * self.jitter / self.clock,
                "mean_jitter_ms": 1000.0 * self.jitter_sum / n / self.clock,
                "max_jitter_ms": 1000.0 * self.max_jitter / self.clock,
                "missing": sorted(set(range(self.base, self.max_ext + 1)) - self.seen) if self.base is not None else [],
                "highest": self.max_ext if self.base is not None else None}

    def report_block(self, now):
        """An RFC 3550 6.4.1 report block about this stream."""
        expected = self.expected()
        lost = max(0, min(expected - self.packets, 0x7FFFFF))
        interval_expected = expected - self.expected_prior
        interval_received = self.packets - self.received_prior
        self.expected_prior, self.received_prior = expected, self.packets
        lost_interval = interval_expected - interval_received
        fraction = (lost_interval << 8) // interval_expected if interval_expected > 0 and lost_interval > 0 else 0
        lsr, dlsr = 0, 0
        if self.last_sr:
            lsr = self.last_sr[0]
            dlsr = int((now - self.last_sr[1]) * 65536)
        return struct.pack("!IB3sIIII", self.ssrc or 0, min(fraction, 255), lost.to_bytes(3, "big"),
                           (self.max_ext or 0) & 0xFFFFFFFF, int(self.jitter), lsr, dlsr)

    def audio(self):
        """Received audio (linear samples), every lost packet as 20 ms of silence."""
        if self.base is None:
            return []
        out = []
        for ext in range(self.base, self.max_ext + 1):
            payload = self.payloads.get(ext)
            out.extend(ulaw_decode(payload) if payload else [0] * FRAME)
        return out


def _ntp(wall):
    secs = wall + NTP_EPOCH
    return int(secs) & 0xFFFFFFFF, int((secs % 1) * (1 << 32)) & 0xFFFFFFFF


# ---------------------------------------------------------------------- the party


# Python 3.11 has no name for it; 35 on Linux (asm-generic/socket.h), also the cmsg type.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def arrival(ancillary):
    """The kernel's receive time of a datagram (SO_TIMESTAMPNS, CLOCK_REALTIME) on the
    time.monotonic() timeline: jitter as it was on the wire, as tshark sees it, not when
    this thread got round to reading it (which a loaded machine delays)."""
    now, wall = time.monotonic(), time.time()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("@qq", data[:16])
            return min(now, now - (wall - (sec + nsec / 1e9)))
    return now


class RtpParty:
    """Sends `seconds` of audio to `remote` and receives on the same port pair; a thread.
    remote may be set later (set_remote) as it comes from SDP; until then nothing is sent.
    Bounded: it ends `seconds` after the first packet was sent, plus `linger` seconds of
    receiving; or after `max_seconds` whatever happens."""

    def __init__(self, local, remote=None, seconds=20.0, seed=1, samples=None, ssrc=None, linger=1.0,
                 rtcp_interval=5.0, keep_payload=False, max_seconds=600.0, send=True):
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((local[0], int(local[1])))
        port = self.rtp.getsockname()[1]
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind((local[0], port + 1))
        for s in (self.rtp, self.rtcp):
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.local = self.rtp.getsockname()
        self.remote = None
        self.set_remote(remote)
        self.seconds, self.linger, self.max_seconds = seconds, linger, max_seconds
        self.send_enabled = send
        self.rtcp_interval = rtcp_interval
        rng = random.Random(f"party/{seed}")
        self.ssrc = ssrc if ssrc is not None else rng.getrandbits(32)
        self.seq0, self.ts0 = rng.getrandbits(16), rng.getrandbits(32)
        self.payload = ulaw_encode(samples if samples is not None else speech_like(seconds, seed))
        self.sent = self.octets = 0
        self.rtcp_sent = self.rtcp_received = 0
        self.rtt_ms = []  # round trips computed from report blocks about our stream
        self.recv = Receiver()
        self.recv.keep_payload = keep_payload
        self._stop = threading.Event()
        self._thread = None
        self.error = None

    def set_remote(self, remote, rtcp_port=None):
        if remote:
            self.remote = (remote[0], int(remote[1]))
            self.remote_rtcp = (remote[0], int(rtcp_port or remote[1] + 1))

    def start(self):
        self._thread = threading.Thread(target=self._guard, name="rtp-party", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout=None):
        self._thread.join(timeout if timeout is not None else self.max_seconds + 5)
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        self.rtp.close()
        self.rtcp.close()

    def stats(self):
        return {"local": list(self.local), "remote": list(self.remote) if self.remote else None,
                "ssrc": self.ssrc, "sent": self.sent, "rtcp_sent": self.rtcp_sent,
                "rtcp_received": self.rtcp_received, "rtt_ms": self.rtt_ms, "received": self.recv.stats()}

    def _guard(self):
        try:
            self._run()
        except Exception as e:  # reported by stats() users through .error
            self.error = repr(e)

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.rtp, selectors.EVENT_READ, "rtp")
        sel.register(self.rtcp, selectors.EVENT_READ, "rtcp")
        frames = len(self.payload) // FRAME if self.send_enabled else 0
        started = time.monotonic()
        hard_end = started + self.max_seconds
        t0 = None
        next_rtcp = None
        k = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if now > hard_end:
                break
            if frames == 0 and now >= started + self.seconds + self.linger:
                break  # receive-only
            if t0 is None and self.remote is not None and frames:
                t0 = now
                next_rtcp = t0 + self.rtcp_interval
            if t0 is not None:
                while k < frames and t0 + k * PTIME <= now:
                    self._send_rtp(k)
                    k += 1
                if next_rtcp is not None and now >= next_rtcp:
                    self._send_rtcp()
                    next_rtcp += self.rtcp_interval
                if k >= frames and now >= t0 + frames * PTIME + self.linger:
                    break
            wake = t0 + k * PTIME if (t0 is not None and k < frames) else now + 0.02
            for key, _ in sel.select(max(0.0, min(wake - now, 0.02))):
                self._drain(key.fileobj, key.data)
        if t0 is not None:
            self._send_rtcp(bye=True)
        sel.close()

    def _send_rtp(self, k):
        header = struct.pack("!BBHII", 0x80, (0x80 if k == 0 else 0) | PT_PCMU, (self.seq0 + k) & 0xFFFF,
                             (self.ts0 + k * FRAME) & 0xFFFFFFFF, self.ssrc)
        data = header + self.payload[k * FRAME:(k + 1) * FRAME]
        try:
            self.rtp.sendto(data, self.remote)
            self.sent += 1
            self.octets += FRAME
        except OSError:
            pass

    def _send_rtcp(self, bye=False):
        now, wall = time.monotonic(), time.time()
        msw, lsw = _ntp(wall)
        rtp_ts = (self.ts0 + int((self.sent) * FRAME)) & 0xFFFFFFFF
        blocks = self.recv.report_block(now) if self.recv.ssrc is not None else b""
        rc = 1 if blocks else 0
        body = struct.pack("!IIIIII", self.ssrc, msw, lsw, rtp_ts, self.sent, self.octets) + blocks
        sr = struct.pack("!BBH", 0x80 | rc, 200, (len(body) + 4) // 4 - 1) + body
        cname = f"party@{self.local[0]}".encode()
        item = bytes([1, len(cname)]) + cname + b"\0"
        item += b"\0" * (-(len(item) + 4) % 4)
        sdes = struct.pack("!BBHI", 0x81, 202, (len(item) + 8) // 4 - 1, self.ssrc) + item
        packet = sr + sdes
        if bye:
            packet += struct.pack("!BBHI", 0x81, 203, 1, self.ssrc)
        try:
            self.rtcp.sendto(packet, self.remote_rtcp)
            self.rtcp_sent += 1
        except OSError:
            pass

    def _drain(self, sock, kind):
        while True:
            try:
                data, ancillary, _, addr = sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            if kind == "rtp":
                self.recv.add(data, arrival(ancillary))
            else:
                self._rtcp_in(data)

    def _rtcp_in(self, data):
        self.rtcp_received += 1
        now, wall = time.monotonic(), time.time()
        off = 0
        while off + 8 <= len(data):
            first, pt, length = struct.unpack_from("!BBH", data, off)
            end = off + 4 * (length + 1)
            if pt == 200 and off + 28 <= len(data):
                msw, lsw = struct.unpack_from("!II", data, off + 8)
                self.recv.last_sr = (((msw & 0xFFFF) << 16) | (lsw >> 16), now)
                blocks_at = off + 28
            elif pt == 201:
                blocks_at = off + 8
            else:
                off = end
                continue
            for i in range(first & 0x1F):
                b = blocks_at + 24 * i
                if b + 24 > len(data):
                    break
                ssrc, lsr, dlsr = struct.unpack_from("!I16xII", data, b)
                if ssrc == self.ssrc and lsr:
                    msw_n, lsw_n = _ntp(wall)
                    a = ((msw_n & 0xFFFF) << 16) | (lsw_n >> 16)
                    rtt = ((a - lsr - dlsr) & 0xFFFFFFFF) / 65536.0
                    if rtt < 60:
                        self.rtt_ms.append(round(rtt * 1000.0, 3))
            off = end


def _hostport(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--local", type=_hostport, help="HOST:PORT to send from and receive on (RTP; RTCP +1)")
    p.add_argument("--remote", type=_hostport, help="HOST:PORT to send to")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--seed", default="1")
    p.add_argument("--wav-in", help="send this 8 kHz 16-bit mono WAV instead of the synthetic speech")
    p.add_argument("--wav-out", help="write the received audio here")
    p.add_argument("--receive-only", action="store_true")
    p.add_argument("--stats", help="write the statistics as JSON here ('-': stdout)")
    p.add_argument("--write-speech", metavar="FILE", help="only write the speech-like signal as a WAV and exit")
    a = p.parse_args(argv)
    if a.write_speech:
        write_wav(a.write_speech, speech_like(a.seconds, a.seed))
        return 0
    if not a.local:
        p.error("--local is required")
    samples = read_wav(a.wav_in) if a.wav_in else None
    party = RtpParty(a.local, a.remote, seconds=a.seconds, seed=a.seed, samples=samples,
                     keep_payload=bool(a.wav_out), send=not a.receive_only,
                     max_seconds=min(3600.0, a.seconds + 30))
    party.start().join()
    party.stop()
    stats = party.stats()
    if a.wav_out:
        write_wav(a.wav_out, party.recv.audio())
    if a.stats == "-":
        json.dump(stats, sys.stdout, indent=1)
        print()
    elif a.stats:
        with open(a.stats, "w") as out:
            json.dump(stats, out, indent=1)
    r = stats["received"]
    print(f"rtp_party: sent {stats['sent']}, received {r['packets']} of {r['expected']} "
          f"({r['loss_percent']:.2f} % lost), jitter {r['jitter_ms']:.2f} ms", file=sys.stderr)
    return 1 if party.error else 0


if __name__ == "__main__":
    sys.exit(main())
