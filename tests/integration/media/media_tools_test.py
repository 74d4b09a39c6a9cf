#!/usr/bin/env python3
"""Checks of the media test tools themselves (impair.py, tshark_ref.py, rtp_party.py),
so that a media test that fails points at sipboxd, not at its instruments.

    media_tools_test.py [SIPBOX]

1. impair: the Gilbert model set from a mean loss and burst ratio gives them (200,000
   packets, within sampling error); the same seed gives the same decisions, another
   seed others; random loss has burst ratio ~1.
2. tshark_ref on a pcap written here with known sequence gaps and arrival times: the
   loss is exact, the jitter matches an independent RFC 3550 A.8 computation.
3. On the wire: rtp_party A -> impair -> rtp_party B and back for 6 s, captured with
   dumpcap on loopback: tshark's loss on each leg equals what impair dropped and what
   the receiving party counted; the delayed leg's jitter agrees with the party's.
4. With SIPBOX: tshark_ref.emodel() reads `sipbox emodel --json` (MOS falls with loss
   and burst ratio).
Runs in a network namespace of its own when unshare is allowed (../netns.py). Prints
PASS/FAIL per check; exits 1 on a failure.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
sys.dont_write_bytecode = True
import impair as I  # noqa: E402
import netns  # noqa: E402
import rtp_party as R  # noqa: E402
import tshark_ref as T  # noqa: E402

FAILED = []


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        FAILED.append(name)


def decisions(imp, seed, n):
    d = I._Direction("a2b", imp, seed)
    return [d.drop() for _ in range(n)]


def check_impair_model():
    for loss, burst in ((5, 2.0), (2, 1.5), (10, 3.0)):
        p = I.loss_pattern(decisions(I.gilbert_for(loss, burst), 11, 200_000))
        check(f"gilbert_for({loss} %, {burst}) gives them",
              abs(p["loss_percent"] - loss) < 0.1 * loss and abs(p["burst_ratio"] - burst) < 0.1 * burst,
              f"loss {p['loss_percent']:.2f} %, burst ratio {p['burst_ratio']:.3f}")
    p = I.loss_pattern(decisions(I.Impairment(loss_percent=3), 5, 200_000))
    check("random loss: burst ratio ~1", abs(p["loss_percent"] - 3) < 0.2 and abs(p["burst_ratio"] - 1) < 0.05,
          f"loss {p['loss_percent']:.2f} %, burst ratio {p['burst_ratio']:.3f}")
    a = decisions(I.gilbert_for(5, 2), "x", 5000)
    check("same seed, same decisions; another seed, others",
          a == decisions(I.gilbert_for(5, 2), "x", 5000) and a != decisions(I.gilbert_for(5, 2), "y", 5000))
    try:
        I.gilbert_for(60, 0.3)
        check("an impossible burst ratio is refused", False)
    except ValueError:
        check("an impossible burst ratio is refused", True)


def check_tshark_parser(work):
    import random
    rng = random.Random(3)
    missing = {10, 11, 12, 40, 200, 201, 350}
    packets, arrivals = [], []
    for k in range(500):
        if k in missing:
            continue
        when = 1000.0 + k * 0.02 + rng.uniform(0, 0.004)  # up to 4 ms late
        rtp = R.struct.pack("!BBHII", 0x80, 0, (65500 + k) & 0xFFFF, k * 160, 0xCAFE) + b"\xff" * 160
        packets.append((when, ("127.0.0.1", 40000), ("127.0.0.2", 30000), rtp))
        arrivals.append((rtp, when))
    path = os.path.join(work, "known.pcap")
    T.write_pcap(path, packets)
    streams = T.rtp_streams(path, ports=[30000])
    ref = R.Receiver()
    for rtp, when in arrivals:
        ref.add(rtp, when)
    mine = ref.stats()
    s = T.find_stream(streams, ssrc=0xCAFE)
    check("tshark_ref parses the stream", s is not None and len(streams) == 1, str(streams))
    if not s:
        return
    check("tshark_ref: exact loss across the sequence wrap",
          s["packets"] == 493 and s["lost"] == 7 and abs(s["loss_percent"] - 1.4) < 0.05,
          f"packets {s['packets']} lost {s['lost']} ({s['loss_percent']} %)")
    check("tshark_ref: SSRC, ports, payload", (s["src_port"], s["dst_port"], s["payload"]) == (40000, 30000, "g711U"),
          f"{s['src_port']} -> {s['dst_port']} {s['payload']}")
    check("tshark_ref: jitter as RFC 3550 A.8 (max within 0.01 ms, mean within 2 %)",
          abs(s["max_jitter_ms"] - mine["max_jitter_ms"]) < 0.01
          and abs(s["mean_jitter_ms"] - mine["mean_jitter_ms"]) < 0.02 * mine["mean_jitter_ms"],
          f"tshark mean {s['mean_jitter_ms']} max {s['max_jitter_ms']}; "
          f"ours mean {mine['mean_jitter_ms']:.3f} max {mine['max_jitter_ms']:.3f}")


def check_on_the_wire(work):
    seconds = 6
    b = R.RtpParty(("127.0.0.1", 0), seconds=seconds, seed=2)
    relay = I.ImpairRelay(("127.0.0.1", 0), b.local,
                          a2b=I.Impairment(loss_percent=5),
                          b2a=I.gilbert_for(4, 2, delay_ms=20, jitter_ms=8), seed=9)
    b.set_remote(relay.source)
    a = R.RtpParty(("127.0.0.1", 0), remote=relay.listen, seconds=seconds, seed=1)
    pcap = os.path.join(work, "wire.pcap")
    ports = [a.local[1], b.local[1], relay.listen[1], relay.source[1]]
    with T.Capture(pcap, T.Capture.udp_ports_filter(ports), seconds=seconds + 20):
        relay.start()
        a.start()
        b.start()
        a.join()
        b.join()
        relay.stop()
    a.stop()
    b.stop()
    st = relay.stats()
    streams = T.rtp_streams(pcap, ports=ports)
    legs = {"A->impair": T.find_stream(streams, src_port=a.local[1], dst_port=relay.listen[1]),
            "impair->B": T.find_stream(streams, src_port=relay.source[1], dst_port=b.local[1]),
            "B->impair": T.find_stream(streams, src_port=b.local[1], dst_port=relay.source[1]),
            "impair->A": T.find_stream(streams, src_port=relay.listen[1], dst_port=a.local[1])}
    check("capture holds the four legs", all(legs.values()),
          ", ".join(f"{k} {v and v['packets']}" for k, v in legs.items()))
    if not all(legs.values()):
        return
    # What each sender really sent (a loaded machine can make its paced loop fall short
    # of seconds * 50 before its time is up).
    for name, leg, d, party, sender in (("a2b", legs["impair->B"], st["a2b"], b, a),
                                        ("b2a", legs["impair->A"], st["b2a"], a, b)):
        got = party.recv.stats()
        # A drop after the last packet that arrived is invisible to any receiver.
        visible = sorted(s for s in d["dropped_seqs"] if got["highest"] is not None and s < got["highest"])
        check(f"{name}: tshark's loss = impair's drops = the receiver's count",
              d["received"] == sender.sent and leg["lost"] == len(visible) == got["lost"] and d["dropped"] > 0
              and sorted(got["missing"]) == visible,
              f"impair dropped {d['dropped']} of {d['received']} (sent {sender.sent}), tshark lost {leg['lost']}, "
              f"receiver lost {got['lost']}")
    check("unimpaired legs lose nothing", legs["A->impair"]["lost"] == 0 and legs["B->impair"]["lost"] == 0)
    got = a.recv.stats()
    leg = legs["impair->A"]
    check("delayed leg: tshark's mean jitter agrees with the receiver's (within 25 %)",
          leg["mean_jitter_ms"] > 1 and abs(leg["mean_jitter_ms"] - got["mean_jitter_ms"]) < 0.25 * leg["mean_jitter_ms"],
          f"tshark {leg['mean_jitter_ms']} ms, receiver {got['mean_jitter_ms']:.3f} ms, "
          f"undelayed leg {legs['impair->B']['mean_jitter_ms']} ms")


def check_emodel(sipbox):
    clean = T.emodel(sipbox, 0)
    lossy = T.emodel(sipbox, 5)
    bursty = T.emodel(sipbox, 5, burst_ratio=2)
    far = T.emodel(sipbox, 5, burst_ratio=2, delay_ms=300)
    check("emodel: MOS falls with loss, burst ratio and delay",
          clean["mos"] > 4.3 > lossy["mos"] > bursty["mos"] > far["mos"] and clean["codec"] == "PCMU",
          f"{clean['mos']:.2f} {lossy['mos']:.2f} {bursty['mos']:.2f} {far['mos']:.2f}")


def main():
    netns.isolate()
    sipbox = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="media-tools-") as work:
        check_impair_model()
        check_tshark_parser(work)
        check_on_the_wire(work)
        if sipbox:
            check_emodel(sipbox)
    print(f"{'FAILED: ' + ', '.join(FAILED) if FAILED else 'all media tool checks passed'}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
