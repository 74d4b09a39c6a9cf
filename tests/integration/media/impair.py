#!/usr/bin/env python3
"""A user-space UDP impairment relay for RTP and RTCP tests (this kernel has no netem).

Party A sends to the relay's A-facing port pair (`listen`, RTP; RTCP = RTP + 1); the
relay forwards each packet to the target (party B, or sipboxd's relay port) from its
B-facing pair, and what B sends back to the B-facing pair (or to the A-facing pair, when
it comes from the target's address) goes to A from the A-facing pair. A is whoever
last sent to the A-facing pair (latched), or a fixed address (`a_peer`). Both parties
therefore see one peer address per pair, as symmetric RTP expects.

Each direction (`a2b`, `b2a`) has its own Impairment and its own random generators, all
derived from one seed, so the same packet sequence meets the same fate on every run:

- random loss: each packet is dropped with probability loss_percent / 100;
- Gilbert-Elliott bursty loss: a good and a bad state; per packet the loss decision is
  taken in the current state (ge_loss_good / ge_loss_bad percent), then the state moves
  good -> bad with probability ge_p and bad -> good with ge_r. With ge_loss_bad = 100
  and ge_loss_good = 0 (the Gilbert model):
      mean loss Ppl = p / (p + r),  mean burst length = 1 / r,
      burst ratio BurstR (ITU-T G.107 / G.113 App. I; src/media/rtp_stats.h) = 1 / (p + r).
  So for a mean loss L (a fraction) and a burst ratio B: p = L / B, r = (1 - L) / B
  (needs B >= 1 - L; B = 1 gives random loss). gilbert_for(loss_percent, burst_ratio)
  returns that Impairment. Random loss and GE loss combine (a packet is lost if either
  drops it); use one of them.
- delay: delay_ms plus per-packet jitter, `uniform` in [-jitter_ms, +jitter_ms] or
  `normal` with standard deviation jitter_ms, clipped at 0 total; with keep_order
  (default) a packet never leaves before the one received ahead of it (the jitter then
  only stretches gaps, as a FIFO queue does); without it packets overtake each other.

RTCP (the odd port) is forwarded unimpaired unless impair_rtcp is set. Every decision is
counted: per direction, packets received, forwarded, dropped (random, GE), the RTP
sequence numbers dropped and the loss pattern as the receiver will see it (loss %,
bursts, burst ratio), so a test can compare what the measuring side reports with what
was really done. stats() returns them; the command line writes them as JSON (--stats).

Library use:
    relay = ImpairRelay(("127.0.0.1", 40000), ("127.0.0.1", 30000),
                        a2b=Impairment(loss_percent=5), b2a=gilbert_for(3, 2), seed=7)
    relay.start()          # a thread; run time bounded by max_seconds (default 600)
    ...
    relay.stop()           # joins the thread, closes the sockets
    print(relay.stats())

Command line: impair.py --listen 127.0.0.1:40000 --target 127.0.0.1:30000 --loss 5
--seed 7 --seconds 30 --stats out.json (see --help). Python 3.11 standard library only.
"""
import argparse
import dataclasses
import heapq
import json
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time

DIRECTIONS = ("a2b", "b2a")
MAX_PATTERN = 1_000_000  # loss decisions remembered per direction (about 5.5 h of 20 ms RTP)


@dataclasses.dataclass
class Impairment:
    loss_percent: float = 0.0      # random (Bernoulli) loss
    ge_p: float = 0.0              # Gilbert-Elliott: P(good -> bad) per packet
    ge_r: float = 1.0              # P(bad -> good) per packet
    ge_loss_bad: float = 100.0     # loss in the bad state, percent
    ge_loss_good: float = 0.0      # loss in the good state, percent
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    jitter_dist: str = "uniform"   # uniform | normal
    keep_order: bool = True

    def validate(self):
        for name in ("loss_percent", "ge_loss_bad", "ge_loss_good"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be within 0..100")
        for name in ("ge_p", "ge_r"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within 0..1")
        if self.delay_ms < 0 or self.jitter_ms < 0:
            raise ValueError("delay_ms and jitter_ms must not be negative")
        if self.jitter_dist not in ("uniform", "normal"):
            raise ValueError("jitter_dist is uniform or normal")
        return self

    def gilbert(self):
        return self.ge_p > 0


def gilbert_for(loss_percent, burst_ratio, **more):
    """The Gilbert model (all loss in the bad state) with mean loss `loss_percent` and
    burst ratio `burst_ratio` (see the module text); more= sets delay and jitter."""
    loss = loss_percent / 100.0
    if not 0 < loss < 1:
        raise ValueError("loss_percent must be within 0..100, exclusive")
    if burst_ratio < 1 - loss:
        raise ValueError(f"burst ratio {burst_ratio} too low for {loss_percent} % loss (needs >= {1 - loss:.3f})")
    return Impairment(ge_p=loss / burst_ratio, ge_r=(1 - loss) / burst_ratio, **more).validate()


def loss_pattern(decisions):
    """Loss %, bursts and the G.107 burst ratio of a sequence of per-packet decisions
    (True = lost), computed as src/media/rtp_stats.cpp does."""
    lost = sum(1 for d in decisions if d)
    total = len(decisions)
    bursts, max_burst, run = 0, 0, 0
    for d in decisions:
        if d:
            run += 1
            if run == 1:
                bursts += 1
            max_burst = max(max_burst, run)
        else:
            run = 0
    rate = lost / total if total else 0.0
    mean_burst = lost / bursts if bursts else 0.0
    return {"packets": total, "lost": lost, "loss_percent": 100.0 * rate, "bursts": bursts,
            "max_burst": max_burst, "mean_burst": mean_burst,
            "burst_ratio": mean_burst * (1 - rate) if bursts else 1.0}


class _Direction:
    """The impairment of one direction: its generators, state and counters."""

    def __init__(self, name, impairment, seed):
        self.name = name
        self.imp = impairment.validate()
        # Separate generators, so that turning delay on does not change which packets
        # are lost (and the other way round).
        self.loss_rng = random.Random(f"{seed}/{name}/loss")
        self.ge_rng = random.Random(f"{seed}/{name}/ge")
        self.delay_rng = random.Random(f"{seed}/{name}/delay")
        self.bad = False
        self.last_due = 0.0
        self.received = self.forwarded = self.dropped_random = self.dropped_ge = 0
        self.rtcp_forwarded = 0
        self.dropped_seqs = []
        self.decisions = []
        self.max_delay_ms = 0.0
        self.reordered = 0

    def drop(self):
        imp = self.imp
        lost = False
        if imp.loss_percent > 0 and self.loss_rng.random() * 100 < imp.loss_percent:
            lost = True
            self.dropped_random += 1
        if imp.gilbert():
            in_state = imp.ge_loss_bad if self.bad else imp.ge_loss_good
            ge_lost = self.ge_rng.random() * 100 < in_state
            move = self.ge_rng.random()
            self.bad = move >= imp.ge_r if self.bad else move < imp.ge_p
            if ge_lost and not lost:
                lost = True
                self.dropped_ge += 1
        return lost

    def due(self, now):
        imp = self.imp
        extra = imp.delay_ms
        if imp.jitter_ms > 0:
            if imp.jitter_dist == "uniform":
                extra += self.delay_rng.uniform(-imp.jitter_ms, imp.jitter_ms)
            else:
                extra += self.delay_rng.gauss(0, imp.jitter_ms)
        when = now + max(extra, 0.0) / 1000.0
        if imp.keep_order:
            when = max(when, self.last_due)
        elif when < self.last_due:
            self.reordered += 1
        self.last_due = max(self.last_due, when)
        self.max_delay_ms = max(self.max_delay_ms, (when - now) * 1000.0)
        return when

    def stats(self):
        out = {"received": self.received, "forwarded": self.forwarded,
               "dropped": self.dropped_random + self.dropped_ge, "dropped_random": self.dropped_random,
               "dropped_ge": self.dropped_ge, "rtcp_forwarded": self.rtcp_forwarded,
               "dropped_seqs": list(self.dropped_seqs), "max_delay_ms": round(self.max_delay_ms, 3),
               "overtaken": self.reordered, "impairment": dataclasses.asdict(self.imp)}
        out["pattern"] = loss_pattern(self.decisions)
        return out


def _rtp_seq(data):
    if len(data) >= 12 and data[0] >> 6 == 2:
        return struct.unpack_from("!H", data, 2)[0]
    return None


class ImpairRelay:
    """Two port pairs and a thread between them; see the module text."""

    def __init__(self, listen, target, a2b=None, b2a=None, seed=1, source=None, a_peer=None,
                 rtcp=True, impair_rtcp=False, max_seconds=600.0):
        self.listen = (listen[0], int(listen[1]))
        self.target = (target[0], int(target[1]))
        self.a_peer = (a_peer[0], int(a_peer[1])) if a_peer else None
        self.rtcp = rtcp
        self.impair_rtcp = impair_rtcp
        self.max_seconds = max_seconds
        self.dirs = {"a2b": _Direction("a2b", a2b or Impairment(), seed),
                     "b2a": _Direction("b2a", b2a or Impairment(), seed)}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._queue = []   # (due, n, socket, bytes, address)
        self._n = 0
        self.errors = 0
        pairs = 2 if rtcp else 1
        if self.listen[1]:
            self.a_socks = [self._bind((self.listen[0], self.listen[1] + i)) for i in range(pairs)]
        else:  # port 0: any free even port and the next one
            self.a_socks = self._ephemeral_pair(self.listen[0], pairs)
            self.listen = self.a_socks[0].getsockname()
        src_host = source[0] if source else self.listen[0]
        src_port = int(source[1]) if source else 0
        if src_port:
            self.b_socks = [self._bind((src_host, src_port + i)) for i in range(pairs)]
        else:
            self.b_socks = self._ephemeral_pair(src_host, pairs)
        self.source = self.b_socks[0].getsockname()  # (host, RTP port) the target sees packets come from
        self.a_latched = [self.a_peer and (self.a_peer[0], self.a_peer[1] + i) for i in range(pairs)]

    @staticmethod
    def _bind(addr):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind(addr)
        s.setblocking(False)
        return s

    def _ephemeral_pair(self, host, pairs):
        """An even port and the next one (so that RTCP = RTP + 1 holds on the B side too)."""
        for _ in range(200):
            first = self._bind((host, 0))
            port = first.getsockname()[1]
            if pairs == 1:
                return [first]
            if port % 2 or port >= 65535:
                first.close()
                continue
            try:
                return [first, self._bind((host, port + 1))]
            except OSError:
                first.close()
        raise OSError("no free port pair for the B side")

    def start(self):
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="impair", daemon=True)
        self._thread.start()
        return self

    def stop(self, flush=True):
        """Stops the thread; with flush, packets still delayed are sent first."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        if flush:
            for due, _, sock, data, addr in sorted(self._queue):
                self._send(sock, data, addr)
        self._queue.clear()
        for s in self.a_socks + self.b_socks:
            s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stats(self):
        with self._lock:
            return {"listen": list(self.listen), "target": list(self.target), "source": list(self.source),
                    "send_errors": self.errors, **{name: d.stats() for name, d in self.dirs.items()}}

    # ------------------------------------------------------------------ the loop

    def _send(self, sock, data, addr):
        try:
            sock.sendto(data, addr)
        except OSError:
            self.errors += 1

    def _run(self):
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.a_socks):
            sel.register(s, selectors.EVENT_READ, ("a", i))
        for i, s in enumerate(self.b_socks):
            sel.register(s, selectors.EVENT_READ, ("b", i))
        deadline = self._t0 + self.max_seconds
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                now = time.monotonic()
                timeout = 0.05
                if self._queue:
                    timeout = min(timeout, max(0.0, self._queue[0][0] - now))
                for key, _ in sel.select(timeout):
                    side, i = key.data
                    while True:
                        try:
                            data, addr = key.fileobj.recvfrom(65535)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:  # ICMP port unreachable from an earlier send
                            continue
                        self._packet(side, i, data, addr, time.monotonic())
                now = time.monotonic()
                while self._queue and self._queue[0][0] <= now:
                    _, _, sock, data, addr = heapq.heappop(self._queue)
                    self._send(sock, data, addr)
        finally:
            sel.close()

    def _packet(self, side, i, data, addr, now):
        target = (self.target[0], self.target[1] + i)
        if side == "a" and addr != target:
            if not self.a_peer:
                self.a_latched[i] = addr
            name, out, dest = "a2b", self.b_socks[i], target
        else:  # from B, on either pair
            dest = self.a_latched[i]
            if dest is None and i == 1 and self.a_latched[0]:
                dest = (self.a_latched[0][0], self.a_latched[0][1] + 1)  # RTCP = RTP + 1
            if dest is None:
                return  # nobody to send to yet
            name, out = "b2a", self.a_socks[i]
        d = self.dirs[name]
        with self._lock:
            if i == 1 and not self.impair_rtcp:
                d.rtcp_forwarded += 1
                self._send(out, data, dest)
                return
            if i == 0:
                d.received += 1
            if d.drop():
                if i == 0:
                    seq = _rtp_seq(data)
                    if seq is not None and len(d.dropped_seqs) < MAX_PATTERN:
                        d.dropped_seqs.append(seq)
                    if len(d.decisions) < MAX_PATTERN:
                        d.decisions.append(True)
                return
            if i == 0:
                d.forwarded += 1
                if len(d.decisions) < MAX_PATTERN:
                    d.decisions.append(False)
            else:
                d.rtcp_forwarded += 1
            if d.imp.delay_ms == 0 and d.imp.jitter_ms == 0:
                self._send(out, data, dest)
                return
            self._n += 1
            heapq.heappush(self._queue, (d.due(now), self._n, out, data, dest))


# ---------------------------------------------------------------------- command line


def _hostport(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", type=_hostport, required=True, help="HOST:PORT the A side sends to (RTP; RTCP +1)")
    p.add_argument("--target", type=_hostport, required=True, help="HOST:PORT packets from A go to")
    p.add_argument("--source", type=_hostport, help="HOST:PORT to send to the target from (default: ephemeral)")
    p.add_argument("--a-peer", type=_hostport, help="fixed A address (default: latched from A's packets)")
    p.add_argument("--direction", choices=["both", "a2b", "b2a"], default="both", help="which directions to impair")
    p.add_argument("--loss", type=float, default=0.0, help="random loss, percent")
    p.add_argument("--ge-p", type=float, default=0.0, help="Gilbert-Elliott P(good->bad)")
    p.add_argument("--ge-r", type=float, default=1.0, help="Gilbert-Elliott P(bad->good)")
    p.add_argument("--ge-loss-bad", type=float, default=100.0, help="loss in the bad state, percent")
    p.add_argument("--ge-loss-good", type=float, default=0.0, help="loss in the good state, percent")
    p.add_argument("--ge-mean-loss", type=float, help="Gilbert model for this mean loss %% (with --burst-ratio)")
    p.add_argument("--burst-ratio", type=float, default=1.0, help="burst ratio for --ge-mean-loss")
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--jitter-dist", choices=["uniform", "normal"], default="uniform")
    p.add_argument("--reorder", action="store_true", help="let jittered packets overtake each other")
    p.add_argument("--impair-rtcp", action="store_true", help="impair RTCP too (default: forwarded as is)")
    p.add_argument("--no-rtcp", action="store_true", help="relay the RTP port only")
    p.add_argument("--seed", default="1")
    p.add_argument("--seconds", type=float, default=60.0, help="run time limit (at most 3600)")
    p.add_argument("--stats", help="write the counters as JSON to this file at the end ('-': stdout)")
    a = p.parse_args(argv)
    extra = dict(delay_ms=a.delay_ms, jitter_ms=a.jitter_ms, jitter_dist=a.jitter_dist, keep_order=not a.reorder)
    try:
        if a.ge_mean_loss is not None:
            imp = gilbert_for(a.ge_mean_loss, a.burst_ratio, **extra)
        else:
            imp = Impairment(loss_percent=a.loss, ge_p=a.ge_p, ge_r=a.ge_r, ge_loss_bad=a.ge_loss_bad,
                             ge_loss_good=a.ge_loss_good, **extra).validate()
    except ValueError as e:
        p.error(str(e))
    clean = Impairment()
    relay = ImpairRelay(a.listen, a.target, seed=a.seed, source=a.source, a_peer=a.a_peer,
                        a2b=imp if a.direction in ("both", "a2b") else clean,
                        b2a=imp if a.direction in ("both", "b2a") else clean,
                        rtcp=not a.no_rtcp, impair_rtcp=a.impair_rtcp, max_seconds=min(a.seconds, 3600))
    print(f"impair: {a.listen[0]}:{a.listen[1]} -> {a.target[0]}:{a.target[1]} "
          f"from {relay.source[0]}:{relay.source[1]}, {a.seconds:g} s", file=sys.stderr, flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    relay.start()
    while not done.is_set() and relay._thread.is_alive():
        done.wait(0.2)
    relay.stop()
    stats = relay.stats()
    if a.stats == "-":
        json.dump(stats, sys.stdout, indent=1)
        print()
    elif a.stats:
        with open(a.stats, "w") as out:
            json.dump(stats, out, indent=1)
    for name in DIRECTIONS:
        d = stats[name]
        print(f"impair: {name} received {d['received']} forwarded {d['forwarded']} dropped {d['dropped']} "
              f"({d['pattern']['loss_percent']:.2f} %, burst ratio {d['pattern']['burst_ratio']:.2f})",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
