#!/usr/bin/env python3
"""The reference measurement for media tests: Wireshark's own RTP analysis of a capture,
to compare sipboxd's quality records with.

- Capture: dumpcap on an interface (loopback by default; needs root or the capture
  capability) with a BPF filter for the ports of interest, bounded in time, stopped
  cleanly (SIGINT lets dumpcap finish the file).
- write_pcap(): a pcap file written in pure Python from (time, src, dst, payload)
  tuples, for checks with exactly known arrival times.
- rtp_streams(): `tshark -r FILE -q -z rtp,streams`, with the RTP ports decoded as RTP
  (-d udp.port==N,rtp) and/or the RTP heuristic, parsed into one dict per stream: src,
  dst, ssrc, payload, packets, lost, loss_percent, min/mean/max delta and jitter (ms).
  Wireshark computes jitter as RFC 3550 A.8 does (from capture timestamps and the
  payload type's clock rate), loss as expected - received from the sequence numbers.
- emodel(): the simplified E-model R and MOS for a loss, burst ratio and delay, from
  `sipbox emodel --codec PCMU --loss P --burst-ratio B --delay-ms T --json` (the same
  code sipboxd uses; docs/quality.md).

Command line: tshark_ref.py streams FILE [--port N ...]   (JSON on stdout)
              tshark_ref.py emodel SIPBOX --loss P [--burst-ratio B] [--delay-ms T]
Python 3.11 standard library only.
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"
DUMPCAP = shutil.which("dumpcap") or "/usr/bin/dumpcap"

# One row of `-z rtp,streams` (Wireshark 4.0): start end src sport dst dport ssrc payload
# pkts lost (pct%) min/mean/max delta, min/mean/max jitter, problems ("X").
_ROW = re.compile(
    r"^\s*(?P<start>[\d.]+)\s+(?P<end>[\d.]+)\s+(?P<src>\S+)\s+(?P<sport>\d+)\s+(?P<dst>\S+)\s+(?P<dport>\d+)\s+"
    r"(?P<ssrc>0x[0-9A-Fa-f]+)\s+(?P<payload>.+?)\s+(?P<packets>\d+)\s+(?P<lost>-?\d+)\s+\((?P<pct>-?[\d.]+)%\)\s+"
    r"(?P<min_delta>[\d.]+)\s+(?P<mean_delta>[\d.]+)\s+(?P<max_delta>[\d.]+)\s+"
    r"(?P<min_jitter>[\d.]+)\s+(?P<mean_jitter>[\d.]+)\s+(?P<max_jitter>[\d.]+)\s*(?P<problems>X?)\s*$")


def parse_rtp_streams(text):
    """The rows of tshark's `-z rtp,streams` report as dicts (numbers as numbers)."""
    streams = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        g = m.groupdict()
        streams.append({
            "src": g["src"], "src_port": int(g["sport"]), "dst": g["dst"], "dst_port": int(g["dport"]),
            "ssrc": int(g["ssrc"], 16), "payload": g["payload"], "packets": int(g["packets"]),
            "lost": int(g["lost"]), "loss_percent": float(g["pct"]),
            "start": float(g["start"]), "end": float(g["end"]),
            "min_delta_ms": float(g["min_delta"]), "mean_delta_ms": float(g["mean_delta"]),
            "max_delta_ms": float(g["max_delta"]), "min_jitter_ms": float(g["min_jitter"]),
            "mean_jitter_ms": float(g["mean_jitter"]), "max_jitter_ms": float(g["max_jitter"]),
            "problems": g["problems"] == "X"})
    return streams


def rtp_streams(pcap, ports=(), heuristic=True, timeout=120):
    """Wireshark's RTP stream analysis of `pcap`; `ports` are decoded as RTP whatever
    the heuristic thinks (RTCP on port + 1 is left to the RTCP heuristic)."""
    argv = [TSHARK, "-n", "-r", str(pcap), "-q", "-z", "rtp,streams"]
    for port in ports:
        argv += ["-d", f"udp.port=={int(port)},rtp"]
    if heuristic:
        argv += ["-o", "rtp.heuristic_rtp:TRUE"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"tshark failed ({done.returncode}): {done.stderr.strip()}")
    if "RTP Streams" not in done.stdout:
        raise RuntimeError(f"tshark printed no RTP stream report:\n{done.stdout}{done.stderr}")
    return parse_rtp_streams(done.stdout)


def find_stream(streams, ssrc=None, src_port=None, dst_port=None):
    """The one stream matching every given key (None when none does)."""
    for s in streams:
        if ssrc is not None and s["ssrc"] != ssrc:
            continue
        if src_port is not None and s["src_port"] != src_port:
            continue
        if dst_port is not None and s["dst_port"] != dst_port:
            continue
        return s
    return None


# ---------------------------------------------------------------------- capture


class Capture:
    """dumpcap on `interface`, filtered (BPF), into `path`; at most `seconds` long.
    Use as a context manager or start()/stop(). Root (or CAP_NET_RAW) is needed."""

    def __init__(self, path, bpf="udp", interface="lo", seconds=120):
        self.path = str(path)
        self.argv = [DUMPCAP, "-q", "-i", interface, "-f", bpf, "-w", self.path, "-P",
                     "-a", f"duration:{int(seconds)}"]
        self.proc = None

    @staticmethod
    def udp_ports_filter(ports):
        """A BPF filter for UDP on these ports (an RTP port's RTCP + 1 is added)."""
        terms = sorted({int(p) for port in ports for p in (port, int(port) + 1)})
        return "udp and (" + " or ".join(f"port {p}" for p in terms) + ")"

    def start(self, ready_seconds=10):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.err_path = self.path + ".dumpcap.log"
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._err, start_new_session=True)
        # dumpcap writes the pcap header once the capture runs.
        deadline = time.monotonic() + ready_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dumpcap exited: {open(self.err_path, errors='replace').read().strip()}")
            if os.path.exists(self.path) and os.path.getsize(self.path) >= 24:
                time.sleep(0.2)  # the filter is attached before the header is flushed; margin
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("dumpcap did not start capturing")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            time.sleep(0.2)  # let the last packets reach the ring buffer
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._err.close()
        return self.path

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def write_pcap(path, packets):
    """A pcap (Ethernet, microsecond stamps) of IPv4 UDP datagrams; packets are
    (time_s, (src_ip, src_port), (dst_ip, dst_port), payload_bytes)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for when, (src, sport), (dst, dport), payload in packets:
            udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                             bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
            frame = b"\x00" * 12 + b"\x08\x00" + ip + udp
            usec = round(when * 1e6)
            f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)) + frame)


# ---------------------------------------------------------------------- E-model


def emodel(sipbox, loss, burst_ratio=1.0, delay_ms=0.0, codec="PCMU", model="simplified"):
    """R, MOS and the intermediate terms as `sipbox emodel --json` prints them
    (keys: model codec ie bpl loss burst_ratio delay_ms ro is id ie_eff r mos)."""
    argv = [str(sipbox), "emodel", "--codec", codec, "--loss", f"{loss:.6f}",
            "--burst-ratio", f"{max(burst_ratio, 0.01):.6f}", "--delay-ms", f"{delay_ms:.6f}",
            "--model", model, "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"sipbox emodel failed: {done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("streams", help="tshark's RTP streams of a pcap as JSON")
    s.add_argument("pcap")
    s.add_argument("--port", type=int, action="append", default=[], help="decode this UDP port as RTP")
    s.add_argument("--no-heuristic", action="store_true")
    e = sub.add_parser("emodel", help="R and MOS from sipbox emodel")
    e.add_argument("sipbox")
    e.add_argument("--codec", default="PCMU")
    e.add_argument("--loss", type=float, required=True)
    e.add_argument("--burst-ratio", type=float, default=1.0)
    e.add_argument("--delay-ms", type=float, default=0.0)
    a = p.parse_args(argv)
    if a.cmd == "streams":
        out = rtp_streams(a.pcap, a.port, heuristic=not a.no_heuristic)
    else:
        out = emodel(a.sipbox, a.loss, a.burst_ratio, a.delay_ms, a.codec)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
