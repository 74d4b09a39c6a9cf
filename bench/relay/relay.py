#!/usr/bin/env python3
"""bench/relay: sipboxd's RTP relay against rtpengine (userspace forwarding) under the
same G.711 load, on loopback, in one run. For each step of N concurrent calls, rtp_load
sends 50 packets/s each way per call through the relay and receives them at the far
ends; the table gives the packets per second relayed, loss, latency added (p50/p99,
the direct generator-to-generator path beside it), the relay's CPU over the
measurement window (user + sys of its process group, /proc/PID/stat) and packets per
second per core (relayed pps / the relay's CPU share). Last line:
`ratio sipbox/rtpengine packets per second per core: X.XX`.

Started by bench/relay/run (which builds sipboxd and rtp_load first); see README.md."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
import relaylib as R  # noqa: E402

L = R.L
ROOT = R.HERE.parent.parent
T0 = time.monotonic()


def say(text=""):
    print(text, flush=True)


def progress(text):
    say(f"{time.monotonic() - T0:6.1f}s {text}")


def options():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 and 250 calls, 4 s each (under a minute)")
    p.add_argument("--only", choices=["sipbox", "rtpengine"], help="run one relay only")
    p.add_argument("--calls", help="call counts of the steps, comma-separated (default 100,250,500,1000,2000)")
    p.add_argument("--seconds", type=float, help="measurement per step (default 8)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds sent before measuring (default 2)")
    p.add_argument("--drain", type=float, default=1.0, help="seconds waited for late packets (default 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="rtpengine --num-threads (default 2: one per core, as sipboxd's relay)")
    p.add_argument("--no-direct", action="store_true", help="skip the direct (no relay) baseline steps")
    p.add_argument("--max-loss", type=float, default=5.0,
                   help="stop stepping up a relay once its loss exceeds this %% (default 5)")
    p.add_argument("--build-dir", default=str(ROOT / "build-bench-relay"), help="sipboxd, sipbox and rtp_load")
    p.add_argument("--no-build", action="store_true", help="(for run) use what --build-dir holds")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, calls files)")
    a = p.parse_args()
    a.calls = a.calls or ("100,250" if a.quick else "100,250,500,1000,2000")
    a.calls = [int(x) for x in a.calls.split(",") if x]
    if any(n < 1 or n > 2000 for n in a.calls):
        p.error("call counts are 1..2000")
    a.seconds = a.seconds or (4.0 if a.quick else 8.0)
    if a.seconds > 60:
        p.error("--seconds is at most 60")
    return a


class Direct:
    """No relay: each endpoint sends straight to the other (the generator's own floor)."""

    name = "direct"
    child = None

    def start(self):
        pass

    def setup(self, ports, tag):
        return [(a, (R.LOOPBACK, b), b, (R.LOOPBACK, a)) for a, b in ports]

    def teardown(self):
        pass

    def stop(self):
        pass


def step(server, n, work, args, load_bin):
    """One step of n calls through `server`: set-up, load, tear-down. Returns the row."""
    ports = R.generator_ports(n)
    t0 = time.monotonic()
    rows = server.setup(ports, f"{server.name}-{n}-{int(time.time())}")
    setup_s = time.monotonic() - t0
    calls_file = R.write_calls(Path(work) / f"{server.name}-{n}.calls", rows)
    proc = subprocess.Popen([str(load_bin), str(calls_file), str(args.warmup), str(args.seconds), str(args.drain)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks = {}
    result = None
    deadline = time.monotonic() + args.warmup + args.seconds + args.drain + 30
    for line in proc.stdout:
        line = line.strip()
        if line in ("MEASURE_START", "MEASURE_END"):
            marks[line] = (time.monotonic(), server.child.cpu() if server.child else 0.0)
        elif line.startswith("{"):
            result = json.loads(line)
        if time.monotonic() > deadline:
            proc.kill()
            break
    err = proc.stderr.read()
    proc.wait(10)
    if result is None or len(marks) != 2:
        raise RuntimeError(f"rtp_load failed ({proc.returncode}): {err.strip()}")
    (w0, c0), (w1, c1) = marks["MEASURE_START"], marks["MEASURE_END"]
    cpu_share = (c1 - c0) / (w1 - w0) if server.child else None
    t1 = time.monotonic()
    ended = server.teardown()
    row = {"server": server.name, "calls": n, "setup_s": setup_s, "teardown_s": time.monotonic() - t1,
           "relay_cpu_pct": None if cpu_share is None else 100.0 * cpu_share,
           "pps_per_core": result["relayed_pps"] / cpu_share if cpu_share else None,
           "gen_cpu_pct": 100.0 * result["generator_cpu_s"] / args.seconds, "load": L.loadavg(), **result}
    if ended is not None and ended != n:
        row["teardown_incomplete"] = n - ended
    return row


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(rows, direct):
    say("")
    say(f"{'relay':<10} {'calls':>5} {'offered pps':>11} {'relayed pps':>11} {'loss %':>7} {'p50 us':>7} "
        f"{'p99 us':>7} {'direct p50/p99':>14} {'relay CPU %':>11} {'pps/core':>9} {'gen CPU %':>9} "
        f"{'late sends':>10} {'load':>5}")
    for r in rows:
        d = direct.get(r["calls"])
        dd = f"{d['latency_us']['p50']:.0f}/{d['latency_us']['p99']:.0f}" if d else "-"
        say(f"{r['server']:<10} {r['calls']:>5} {r['offered_pps']:>11.0f} {r['relayed_pps']:>11.0f} "
            f"{r['loss_percent']:>7.3f} {r['latency_us']['p50']:>7.0f} {r['latency_us']['p99']:>7.0f} {dd:>14} "
            f"{fmt(r['relay_cpu_pct'], '11.1f')} {fmt(r['pps_per_core'], '9.0f')} {r['gen_cpu_pct']:>9.1f} "
            f"{r['sender_late']:>10} {r['load']:>5}"
            + (f"  misrouted {r['misrouted']}" if r["misrouted"] else ""))


def main():
    args = options()
    build = Path(args.build_dir)
    load_bin = build / "rtp_load"
    if not load_bin.exists():
        sys.exit(f"{load_bin} missing: bench/relay/run builds it")
    work = tempfile.mkdtemp(prefix="bench-relay-")
    servers = []
    if not args.no_direct:
        servers.append(Direct())
    if args.only in (None, "rtpengine"):
        servers.append(R.Rtpengine(work, L.free_ports(1)[0], 30000, 39999, args.threads))
    if args.only in (None, "sipbox"):
        servers.append(R.Sipboxd(work, L.free_ports(3)[0], 40000, 49999, build / "sipboxd", build / "sipbox"))
    say(f"bench/relay: steps {args.calls} calls, {args.warmup:g} s warm-up + {args.seconds:g} s measured each, "
        f"{os.cpu_count()} cores, load {L.loadavg()}; work in {work}")
    rows, direct, errors = [], {}, []
    try:
        for server in servers:
            try:
                progress(f"[{server.name}] starting")
                server.start()
            except Exception as e:  # one relay failing leaves the other's figures
                errors.append(f"{server.name}: {e}")
                progress(f"[{server.name}] FAILED to start: {e}")
                server.stop()
                continue
            for n in args.calls:
                try:
                    row = step(server, n, work, args, load_bin)
                except Exception as e:
                    errors.append(f"{server.name} {n} calls: {e}")
                    progress(f"[{server.name}] {n} calls FAILED: {e}")
                    break
                progress(f"[{server.name}] {n} calls: {row['relayed_pps']:.0f} pps relayed, loss "
                         f"{row['loss_percent']:.3f} %, p50/p99 {row['latency_us']['p50']:.0f}/"
                         f"{row['latency_us']['p99']:.0f} us, CPU {fmt(row['relay_cpu_pct'], '.1f')} %, "
                         f"{fmt(row['pps_per_core'], '.0f')} pps/core (set-up {row['setup_s']:.1f} s)")
                if server.name == "direct":
                    direct[n] = row
                else:
                    rows.append(row)
                if row["loss_percent"] > args.max_loss:
                    progress(f"[{server.name}] loss over {args.max_loss} %: no larger steps")
                    break
            server.stop()
    finally:
        L.stop_all()
    table(rows, direct)
    with open(Path(work) / "results.json", "w") as out:
        json.dump({"rows": rows, "direct": direct, "errors": errors}, out, indent=1)
    for e in errors:
        say(f"error: {e}")
    by = {(r["server"], r["calls"]): r for r in rows}
    common = [n for n in args.calls if ("sipbox", n) in by and ("rtpengine", n) in by]
    if args.keep or errors:
        say(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    for n in common:
        s, r = by[("sipbox", n)]["pps_per_core"], by[("rtpengine", n)]["pps_per_core"]
        if s and r:
            say(f"  at {n} calls: sipbox/rtpengine packets per second per core {s / r:.2f}")
    if common:
        n = common[-1]
        s, r = by[("sipbox", n)]["pps_per_core"], by[("rtpengine", n)]["pps_per_core"]
        say(f"ratio sipbox/rtpengine packets per second per core: {s / r:.2f}" if s and r else
            "ratio sipbox/rtpengine packets per second per core: n/a (no CPU used?)")
    else:
        say("ratio sipbox/rtpengine packets per second per core: n/a (both relays did not complete a common step)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
