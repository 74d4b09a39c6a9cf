#!/usr/bin/env python3
"""`sipbox emodel` against the E-model computed here from the formulas themselves
(ITU-T G.107 simplified form as the BESIP papers use it, G.113 Appendix I codec values):
text and --json output, aliases, the full G.107 model, and bad arguments."""
import json
import subprocess
import sys

sipbox = sys.argv[1]
failures = []

CODECS = {  # G.113 Appendix I: name -> (Ie, Bpl)
    "PCMU": (0, 25.1), "PCMU-noplc": (0, 4.3), "PCMA": (0, 25.1), "PCMA-noplc": (0, 4.3),
    "G729": (11, 19.0), "G723": (15, 16.1), "GSM-EFR": (5, 10.0),
}


def check(condition, what):
    if not condition:
        failures.append(what)


def run(*args):
    return subprocess.run([sipbox, "emodel", *args], capture_output=True, text=True, timeout=30)


def expected(ie, bpl, loss, burst, delay):
    i_d = 0.0267 * delay if delay < 175 else 0.1194 * delay - 15.876
    ie_eff = ie + (95 - ie) * loss / (loss / burst + bpl)
    r = min(100.0, max(0.0, 94.7688 - 1.4136 - i_d - ie_eff))
    mos = 1.0 if r < 6.5 else 4.5 if r > 100 else max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)
    return i_d, ie_eff, r, mos


POINTS = [("PCMU", 0, 1, 0), ("PCMU", 1, 1, 100), ("PCMA-noplc", 2, 1, 20), ("G729", 2, 1.5, 150),
          ("G723", 5, 2, 250), ("GSM-EFR", 1, 1, 175), ("PCMU", 0.5, 3.2, 174.9), ("PCMU-noplc", 50, 1, 600)]

for codec, loss, burst, delay in POINTS:
    what = f"{codec} loss {loss} burst {burst} delay {delay}"
    ie, bpl = CODECS[codec]
    i_d, ie_eff, r, mos = expected(ie, bpl, loss, burst, delay)
    args = ["--codec", codec, "--loss", str(loss), "--burst-ratio", str(burst), "--delay-ms", str(delay)]
    result = run(*args, "--json")
    check(result.returncode == 0, f"{what}: exit {result.returncode} {result.stderr}")
    if result.returncode != 0:
        continue
    out = json.loads(result.stdout)
    for key in ("codec", "ie", "bpl", "loss", "burst_ratio", "delay_ms", "id", "ie_eff", "r", "mos"):
        check(key in out, f"{what}: JSON has {key}")
    check(out["codec"] == codec and out["model"] == "simplified", f"{what}: codec/model {out}")
    check(abs(out["ie"] - ie) < 1e-9 and abs(out["bpl"] - bpl) < 1e-9, f"{what}: ie/bpl {out}")
    check(out["loss"] == loss and out["burst_ratio"] == burst and out["delay_ms"] == delay, f"{what}: inputs echoed")
    for key, value in (("id", i_d), ("ie_eff", ie_eff), ("r", r), ("mos", mos)):
        check(abs(out[key] - value) < 1e-6, f"{what}: {key} {out[key]} expected {value}")
    text = run(*args)
    check(text.returncode == 0, f"{what}: text exit {text.returncode}")
    check(f"R {r:.2f}  MOS {mos:.2f}" in text.stdout, f"{what}: text line 'R {r:.2f}  MOS {mos:.2f}' in {text.stdout!r}")

# Aliases and case: G711U is PCMU, g729 is G729.
for alias, name in (("G711U", "PCMU"), ("g711a", "PCMA"), ("g729", "G729"), ("G711U-noplc", "PCMU-noplc")):
    result = run("--codec", alias, "--loss", "1", "--json")
    check(result.returncode == 0 and json.loads(result.stdout)["codec"] == name, f"alias {alias} -> {name}")

# Defaults: no loss, random, no delay.
result = run("--codec", "PCMU", "--json")
out = json.loads(result.stdout)
check(abs(out["r"] - 93.3552) < 1e-6 and out["burst_ratio"] == 1, f"defaults {out}")

# The full G.107 model: default-parameter R 93.2 for a clean G.711 call, its delay parts listed.
result = run("--codec", "PCMU-noplc", "--model", "g107", "--json")
out = json.loads(result.stdout)
check(out["model"] == "g107" and abs(out["r"] - 93.2) < 0.01, f"g107 default R 93.2: {out.get('r')}")
check(abs(out["ro"] - 94.7688) < 1e-3 and abs(out["is"] - 1.4136) < 1e-3, "g107 Ro and Is")
for key in ("idte", "idle", "idd"):
    check(key in out, f"g107 JSON has {key}")
result = run("--codec", "G729", "--loss", "2", "--delay-ms", "300", "--model", "g107")
check(result.returncode == 0 and "Idd" in result.stdout and "R " in result.stdout, "g107 text output")
full = json.loads(run("--codec", "G729", "--loss", "2", "--delay-ms", "300", "--model", "g107", "--json").stdout)
simple = json.loads(run("--codec", "G729", "--loss", "2", "--delay-ms", "300", "--json").stdout)
check(abs(full["ie_eff"] - simple["ie_eff"]) < 1e-9, "both models share Ie,eff")
check(abs(full["r"] - simple["r"]) < 1.5, f"models agree within 1.5 at 300 ms: {full['r']} vs {simple['r']}")

# Bad arguments: clear error, non-zero exit, nothing on stdout.
result = run("--codec", "opus", "--loss", "1")
check(result.returncode == 1, f"unknown codec exits 1 (got {result.returncode})")
check("unknown codec 'opus'" in result.stderr, f"unknown codec message: {result.stderr!r}")
for name in CODECS:
    check(name in result.stderr, f"unknown codec lists {name}")
check(result.stdout == "", "unknown codec prints nothing on stdout")
for args, what in ((["--codec", "PCMU", "--loss", "120"], "loss over 100"),
                   (["--codec", "PCMU", "--loss", "-1"], "negative loss"),
                   (["--codec", "PCMU", "--loss", "abc"], "loss not a number"),
                   (["--codec", "PCMU", "--burst-ratio", "0"], "burst ratio 0"),
                   (["--codec", "PCMU", "--delay-ms", "-5"], "negative delay"),
                   (["--codec", "PCMU", "--model", "g108"], "unknown model"),
                   (["--loss", "1"], "missing codec")):
    result = run(*args)
    check(result.returncode != 0, f"{what}: non-zero exit")
    check(result.stderr.strip() != "", f"{what}: says why")
    check(result.stdout == "", f"{what}: no result printed")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("cli_emodel: all checks passed")
