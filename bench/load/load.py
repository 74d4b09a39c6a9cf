#!/usr/bin/env python3
"""bench/load: sipboxd and Kamailio as registrar + stateful proxy under the same SIPp
scenarios, on loopback, in one run. Prints a table and the ratio lines.

Started by bench/load/run (which builds sipboxd first); see bench/load/README.md."""

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import loadlib as L  # noqa: E402

ROOT = L.HERE.parent.parent


def options():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short smoke run (under 2 minutes)")
    p.add_argument("--only", choices=["sipbox", "kamailio"], help="run one server only")
    p.add_argument("--users", type=int, help="distinct users registering (default 10000)")
    p.add_argument("--reg-rate", type=int, help="registrations per second offered (default 5000)")
    p.add_argument("--reg-seconds", type=float, help="length of the registration test (default 20)")
    p.add_argument("--call-rate", type=int, help="calls per second offered (default 500)")
    p.add_argument("--call-seconds", type=float, help="length of the call test (default 20)")
    p.add_argument("--mem-bindings", type=int, help="registrations held for the memory figure (default 100000)")
    p.add_argument("--mem-users", type=int,
                   help="users holding them, at most 10 contacts each (default: --users); "
                        "--mem-users 100000 makes them 100000 distinct users")
    p.add_argument("--mem-rate", type=int, help="registration rate of the memory fill (default 1000)")
    p.add_argument("--reg-steps", help="rates of the registration step-up search, comma-separated")
    p.add_argument("--call-steps", help="rates of the call step-up search, comma-separated")
    p.add_argument("--step-seconds", type=float, help="length of each search step (default 5)")
    p.add_argument("--no-search", action="store_true", help="skip the step-up searches")
    p.add_argument("--settle", type=float,
                   help="seconds after each measured test whose server CPU still counts, for the "
                        "transactions that end then (default 40; 5 with --quick)")
    p.add_argument("--probe-share", type=float, default=0.02,
                   help="delay probe rate as a share of the load rate (default 0.02)")
    p.add_argument("--build-dir", default=str(ROOT / "build-bench"), help="where sipboxd and sipbox were built")
    p.add_argument("--no-build", action="store_true",
                   help="(for run) use the sipboxd and sipbox already in --build-dir")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SIPp traces)")
    a = p.parse_args()
    full = dict(users=10000, reg_rate=5000, reg_seconds=20, call_rate=500, call_seconds=20,
                mem_bindings=100000, mem_rate=1000, step_seconds=5, settle=40,
                reg_steps="2000,4000,6000,8000,10000,12000,14000", call_steps="250,500,750,1000,1500,2000")
    quick = dict(users=1000, reg_rate=1000, reg_seconds=4, call_rate=100, call_seconds=4,
                 mem_bindings=10000, mem_rate=2500, step_seconds=2, settle=5, reg_steps="2000,4000",
                 call_steps="200,400")
    for key, value in (quick if a.quick else full).items():
        if getattr(a, key) is None:
            setattr(a, key, value)
    a.mem_users = a.mem_users or a.users
    a.reg_steps = [int(x) for x in a.reg_steps.split(",") if x]
    a.call_steps = [int(x) for x in a.call_steps.split(",") if x]
    if math.ceil(a.mem_bindings / a.mem_users) > 10:
        p.error("--mem-bindings / --mem-users must be at most 10 (both registrars allow 10 contacts per AOR)")
    return a


T0 = time.monotonic()


def say(text=""):
    print(text, flush=True)


def progress(text):
    say(f"{time.monotonic() - T0:6.1f}s {text}")


class Bench:
    """The tests for one server. Each test fills self.r[...]; failures end up in self.error."""

    def __init__(self, server, work, ports, args):
        self.s, self.work, self.args = server, Path(work), args
        self.uac_port, self.probe_port, self.uas_port = ports
        self.r = {}
        self.error = None
        self.users = [f"u{i}" for i in range(args.users)]

    def log(self, text):
        progress(f"[{self.s.name}] {text}")

    def sipp(self, tag, scenario, **kw):
        return L.SippRun(self.work, f"{self.s.name}-{tag}", self.s.port, scenario, **kw)

    # A window of server CPU around some SIPp runs that go on in parallel, plus `settle`
    # seconds after they end: transactions are freed after their final response
    # (Kamailio's tm 5 s, RFC 3261 timer J 32 s in sipbox), and that work belongs to the
    # operations too. Both servers use next to no CPU when idle. The CPU shares (% of a
    # core) of the server and of the generators are taken over the `planned` seconds of
    # offered load, not over the tail where SIPp waits for late answers.
    def window(self, runs, planned, extra=(), settle=0.0):
        t0, load0 = time.monotonic(), L.loadavg()
        generators = [r.child for r in runs] + [c.child for c in extra]
        cpu0, gen0 = self.s.child.cpu(), [g.cpu() for g in generators]
        share = None
        while any(r.child.running() for r in runs):
            if share is None and time.monotonic() - t0 >= planned:
                share = self.shares(cpu0, gen0, generators, t0)
            time.sleep(0.05)
        for run in runs:
            run.wait()
        share = share or self.shares(cpu0, gen0, generators, t0)
        run_cpu, load1 = self.s.child.cpu() - cpu0, L.loadavg()
        time.sleep(settle)
        return {"server_cpu": self.s.child.cpu() - cpu0, "run_cpu": run_cpu, "load": f"{load0}->{load1}",
                "server_pct": share[0], "sipp_pct": sum(share[1]), "sipp_max": max(share[1])}

    def shares(self, cpu0, gen0, generators, t0):
        """% of one core used since t0 by the server, and by each generator."""
        wall = time.monotonic() - t0
        return (100.0 * (self.s.child.cpu() - cpu0) / wall,
                [100.0 * (g.cpu() - g0) / wall for g, g0 in zip(generators, gen0)])

    def registration_rows(self, users, port):
        return [(u, L.auth_field(u), u, port) for u in users]

    # ---- memory: idle, then with mem_bindings registrations. The fill goes in two
    # stages so that the marginal cost per registration is not mixed up with what the
    # traffic itself holds: transactions live on after their final response (Kamailio's
    # tm 5 s, RFC 3261 timer J 32 s in sipbox), so PSS grows with the registration rate
    # until that population is steady, and pages once touched are not given back. The
    # first stage runs 35 s (at most half the fill); the slope over the second stage is
    # the per-registration figure.
    def memory(self):
        a = self.args
        self.s.start("memory.log")
        time.sleep(2)
        self.r["pss_idle"] = L.pss_kib(self.s.child.pids())
        users = [f"u{i}" for i in range(a.mem_users)]
        rows = []
        for k in range(math.ceil(a.mem_bindings / a.mem_users)):
            rows += [(u, L.auth_field(u), f"{u}x{k}", self.uac_port) for u in users]
        rows = rows[:a.mem_bindings]
        self.log(f"memory: idle PSS {self.r['pss_idle'] / 1024:.1f} MiB; registering {len(rows)} contacts "
                 f"of {min(len(users), len(rows))} users at {a.mem_rate}/s")
        first = min(max(len(rows) // 10, int(a.mem_rate * 35)), len(rows) // 2)
        ok = []
        for stage, part in (("mem1", rows[:first]), ("mem2", rows[first:])):
            csv = L.write_csv(self.work / f"{self.s.name}-{stage}.csv", part)
            run = self.sipp(stage, "register.xml", local_port=self.uac_port, rate=a.mem_rate, count=len(part),
                            csv=csv, auth_uri=L.DOMAIN, seconds=len(part) / a.mem_rate + 20).wait()
            ok.append(run.stats()["ok"])
            time.sleep(3)
            self.r["pss_" + stage] = L.pss_kib(self.s.child.pids())
        self.r["pss_loaded"] = self.r["pss_mem2"]
        self.r["mem_ok"] = sum(ok)
        self.r["mem_marginal"] = (self.r["pss_mem2"] - self.r["pss_mem1"]) * 1024.0 / ok[1] if ok[1] else None
        self.log(f"memory: {sum(ok)}/{len(rows)} registered; PSS {self.r['pss_mem1'] / 1024:.1f} MiB after "
                 f"{ok[0]}, {self.r['pss_loaded'] / 1024:.1f} MiB after all")
        self.s.stop()

    # ---- (1) registrations at reg_rate, with the delay probe alongside
    def registrations(self, rate, seconds, tag, probe=True):
        a = self.args
        count = int(rate * seconds)
        csv = L.write_csv(self.work / f"{self.s.name}-{tag}.csv",
                          self.registration_rows(self.users, self.uac_port))
        runs = [self.sipp(tag, "register.xml", local_port=self.uac_port, rate=rate, count=count, csv=csv,
                          auth_uri=L.DOMAIN, seconds=seconds + 10)]
        if probe:
            prate = max(5, int(rate * a.probe_share))
            pcsv = L.write_csv(self.work / f"{self.s.name}-{tag}-probe.csv",
                               self.registration_rows(self.users[::-1], self.probe_port))
            runs.append(self.sipp(tag + "-probe", "register.xml", local_port=self.probe_port, rate=prate,
                                  count=int(prate * seconds), csv=pcsv, auth_uri=L.DOMAIN,
                                  seconds=seconds + 10, trace_msg=True))
        w = self.window(runs, seconds, settle=a.settle if probe else 0.0)
        return self.summarize(runs, w, rate, "REGISTER", ("200",))

    # ---- (2) calls at call_rate through the proxy to the SIPp UAS
    def start_callee(self):
        csv = L.write_csv(self.work / f"{self.s.name}-callee.csv",
                          [("callee", L.auth_field("callee"), "callee", self.uas_port)])
        # Registered from the UAS's own port: a Contact that differs from the REGISTER's
        # source counts as behind NAT, and sipbox would then send the INVITEs to the source.
        st = self.sipp("callee-register", "register.xml", local_port=self.uas_port, rate=1, count=1, csv=csv,
                       auth_uri=L.DOMAIN, seconds=10).wait().stats()
        if st["ok"] != 1:
            raise RuntimeError("the callee's REGISTER failed")
        return L.SippRun(self.work, f"{self.s.name}-uas", None, "call_uas.xml", local_port=self.uas_port,
                         seconds=3600)

    def calls(self, uas, rate, seconds, tag, probe=True):
        a = self.args
        count = int(rate * seconds)
        csv = L.write_csv(self.work / f"{self.s.name}-{tag}.csv", [(u, L.auth_field(u)) for u in self.users])
        auth_uri = f"callee@{L.DOMAIN}"
        runs = [self.sipp(tag, "call_uac.xml", local_port=self.uac_port, rate=rate, count=count, csv=csv,
                          auth_uri=auth_uri, seconds=seconds + 10)]
        if probe:
            prate = max(5, int(rate * a.probe_share))
            runs.append(self.sipp(tag + "-probe", "call_uac.xml", local_port=self.probe_port, rate=prate,
                                  count=int(prate * seconds), csv=csv, auth_uri=auth_uri,
                                  seconds=seconds + 10, trace_msg=True))
        w = self.window(runs, seconds, extra=[uas], settle=a.settle if probe else 0.0)
        return self.summarize(runs, w, rate, "INVITE", ("180", "183", "200"))

    def summarize(self, runs, w, rate, method, end_codes):
        main = runs[0].stats()
        ok = sum(r.stats()["ok"] for r in runs)
        res = dict(main)
        res.update(offered=rate, server_cpu=w["server_cpu"], load=w["load"], server_pct=w["server_pct"],
                   sipp_pct=w["sipp_pct"], sipp_max=w["sipp_max"], us_per_op=1e6 * w["server_cpu"] / ok if ok else None)
        res["delays"] = L.probe_delays(runs[1].msg_path, method, end_codes) if len(runs) > 1 else []
        return res

    def describe(self, name, r):
        self.log(f"{name}: {r['ok']}/{r['created']} ok ({100 * r['success']:.2f} %), "
                 f"{r['achieved']:.0f}/s of {r['offered']}/s, server CPU {r['server_pct']:.0f} % "
                 f"({fmt(r['us_per_op'], '.1f')} µs/op), SIPp CPU {r['sipp_pct']:.0f} %, "
                 f"{r['retrans']} retransmissions, load {r['load']}")

    # ---- (5) step-up search
    def search(self, kind, steps, run_one):
        best, note = None, "no step passed"
        for rate in steps:
            r = run_one(rate)
            self.describe(f"search {kind} {rate}/s", r)
            passed = r["success"] >= 0.999 and r["achieved"] >= 0.9 * rate
            if passed:
                best, note = rate, "highest step tried"
            cores = os.cpu_count() or 1
            if r["sipp_max"] >= 90.0:
                note = "SIPp near 100 % CPU: the generator is the limit"
                break
            if not passed:
                if r["sipp_pct"] + r["server_pct"] >= 85.0 * cores:
                    note = f"server and SIPp together use the {cores} CPUs"
                else:
                    note = "server limit" if best else "fails at the lowest step"
                if float(L.loadavg()) > cores:
                    note += f"; load average {L.loadavg()} on {cores} CPUs"
                break
        return best, note

    def run(self):
        a = self.args
        try:
            self.memory()
            self.s.start("load.log")
            self.r["startup"] = self.s.startup_seconds
            r = self.registrations(a.reg_rate, a.reg_seconds, "reg")
            self.describe(f"registrations {a.reg_rate}/s", r)
            self.r["reg"] = r
            uas = self.start_callee()
            try:
                r = self.calls(uas, a.call_rate, a.call_seconds, "call")
                self.describe(f"calls {a.call_rate}/s", r)
                self.r["call"] = r
                if not a.no_search:
                    self.r["reg_max"] = self.search(
                        "registrations", a.reg_steps,
                        lambda rate: self.registrations(rate, a.step_seconds, f"reg-{rate}", probe=False))
                    time.sleep(a.settle)  # the registration steps' transactions end
                    self.r["call_max"] = self.search(
                        "calls", a.call_steps,
                        lambda rate: self.calls(uas, rate, a.step_seconds, f"call-{rate}", probe=False))
            finally:
                uas.child.stop()
        except Exception as e:  # report what failed, keep the other server's figures
            self.error = str(e)
            self.log(f"FAILED: {e}")
        finally:
            self.s.stop()


# ---------------------------------------------------------------- report


def fmt(value, spec=".0f", unit=""):
    return "-" if value is None else f"{value:{spec}}{unit}"


def table(benches, args):
    cols = [b.s.name for b in benches]

    def get(b, *keys):
        v = b.r
        for k in keys:
            if not isinstance(v, dict) or k not in v:
                return None
            v = v[k]
        return v

    def pct(b, test, key="success"):
        v = get(b, test, key)
        return None if v is None else 100.0 * v

    def delay(b, test, p):
        d = get(b, test, "delays")
        return L.percentile(d, p) if d else None

    def mem(b, key):
        v = get(b, key)
        return None if v is None else v / 1024.0

    def per_binding(b):
        idle, loaded, n = get(b, "pss_idle"), get(b, "pss_loaded"), get(b, "mem_ok")
        return (loaded - idle) * 1024.0 / n if None not in (idle, loaded, n) and n else None

    def marginal(b):
        return get(b, "mem_marginal")

    def maxrate(b, key):
        v = get(b, key)
        if v is None:
            return "-"
        best, note = v
        return f"{best if best else 'none'} ({note})"

    rows = [
        (f"REGISTER+digest {args.reg_rate}/s x {args.reg_seconds:g} s, {args.users} users: success %",
         lambda b: fmt(pct(b, "reg"), ".2f")),
        ("  achieved rate /s", lambda b: fmt(get(b, "reg", "achieved"))),
        ("  server CPU per registration, µs", lambda b: fmt(get(b, "reg", "us_per_op"), ".1f")),
        ("  server CPU, % of one core", lambda b: fmt(get(b, "reg", "server_pct"))),
        ("  SIPp CPU, % of one core", lambda b: fmt(get(b, "reg", "sipp_pct"))),
        ("  RRD median, ms (probe)", lambda b: fmt(delay(b, "reg", 50), ".3f")),
        ("  RRD p95, ms (probe)", lambda b: fmt(delay(b, "reg", 95), ".3f")),
        (f"calls INVITE/407/INVITE/180/200/ACK/BYE {args.call_rate}/s x {args.call_seconds:g} s: success %",
         lambda b: fmt(pct(b, "call"), ".2f")),
        ("  achieved rate /s", lambda b: fmt(get(b, "call", "achieved"))),
        ("  server CPU per call, µs", lambda b: fmt(get(b, "call", "us_per_op"), ".1f")),
        ("  server CPU, % of one core", lambda b: fmt(get(b, "call", "server_pct"))),
        ("  SIPp CPU (UAC+UAS), % of one core", lambda b: fmt(get(b, "call", "sipp_pct"))),
        ("  SRD median, ms (probe)", lambda b: fmt(delay(b, "call", 50), ".3f")),
        ("  SRD p95, ms (probe)", lambda b: fmt(delay(b, "call", 95), ".3f")),
        ("memory PSS idle, MiB", lambda b: fmt(mem(b, "pss_idle"), ".1f")),
        (f"memory PSS with {args.mem_bindings} registrations ({args.mem_users} users), MiB",
         lambda b: fmt(mem(b, "pss_loaded"), ".1f")),
        ("  registrations held", lambda b: fmt(get(b, "mem_ok"))),
        ("  (PSS with them - PSS idle) / registrations, bytes", lambda b: fmt(per_binding(b))),
        ("  memory per registration (slope over the 2nd stage), bytes", lambda b: fmt(marginal(b))),
        ("highest registration rate at >= 99.9 %", lambda b: maxrate(b, "reg_max")),
        ("highest call rate at >= 99.9 %", lambda b: maxrate(b, "call_max")),
        ("start-up until SIP answers, s", lambda b: fmt(get(b, "startup"), ".1f")),
        ("user import (sipbox config import), s", lambda b: fmt(b.s.import_seconds, ".1f")),
    ]
    width = max(len(r[0]) for r in rows) + 2
    cells = [[label] + [cell(b) for b in benches] for label, cell in rows]
    colw = [max(14, max(len(c[i + 1]) for c in cells) + 2) for i in range(len(cols))]
    say("metric".ljust(width) + "".join(c.rjust(w) for c, w in zip(cols, colw)))
    for c in cells:
        say(c[0].ljust(width) + "".join(v.rjust(w) for v, w in zip(c[1:], colw)))
    for b in benches:
        if b.error:
            say(f"{b.s.name}: FAILED: {b.error}")

    by = {b.s.name: b for b in benches}
    sb, km = by.get("sipbox"), by.get("kamailio")

    def ratio(key):
        if not sb or not km:
            return "pending"
        x, y = get(km, key, "us_per_op"), get(sb, key, "us_per_op")
        return f"{x / y:.2f}" if x and y else "pending"

    def side(fn):
        return ", ".join(f"{b.s.name} {fn(b)}" for b in benches)

    say(f"delay RRD median/p95 ms: {side(lambda b: fmt(delay(b, 'reg', 50), '.3f') + '/' + fmt(delay(b, 'reg', 95), '.3f'))}")
    say(f"delay SRD median/p95 ms: {side(lambda b: fmt(delay(b, 'call', 50), '.3f') + '/' + fmt(delay(b, 'call', 95), '.3f'))}")
    say(f"memory per registration bytes (marginal): {side(lambda b: fmt(marginal(b)))}")
    say(f"ratio kamailio/sipbox CPU per registration: {ratio('reg')}")
    say(f"ratio kamailio/sipbox CPU per call: {ratio('call')}")


def main():
    args = options()
    build = Path(args.build_dir)
    names = [args.only] if args.only else ["sipbox", "kamailio"]
    for tool in ["sipp"] + (["kamailio"] if "kamailio" in names else []):
        if not shutil.which(tool):
            sys.exit(f"bench/load: {tool} is not installed (scripts/install-deps installs it)")
    work = Path(tempfile.mkdtemp(prefix="sipbox-load-"))
    say(f"bench/load: {', '.join(names)}; {'quick' if args.quick else 'full'} run; work dir {work}; "
        f"load average {Path('/proc/loadavg').read_text().strip()}; {os.cpu_count()} CPUs")
    benches = []
    try:
        users = L.user_names(max(args.users, args.mem_users))
        for name in names:
            port = L.free_ports(3)[0]
            client_ports = tuple(L.free_ports(1)[0] for _ in range(3))
            if name == "kamailio":
                server = L.Kamailio(work, port)
            else:
                server = L.Sipbox(work, port, build / "sipboxd", build / "sipbox")
            bench = Bench(server, work, client_ports, args)
            benches.append(bench)
            progress(f"[{name}] preparing {len(users)} users")
            try:
                server.prepare(users)
                if server.import_seconds is not None:
                    bench.log(f"config import of {len(users)} users took {server.import_seconds:.1f} s")
            except Exception as e:
                bench.error = str(e)
                bench.log(f"FAILED: {e}")
                continue
            bench.run()
        say()
        say(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
        table(benches, args)
    finally:
        L.stop_all()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
