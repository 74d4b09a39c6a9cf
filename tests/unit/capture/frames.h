// Test frames and capture files for the capture module: UDP over IPv4/IPv6 under each
// link layer, RTP and RTCP packets, and pcap files written with libpcap itself
// (pcap_open_dead + pcap_dump), so the tests read what libpcap writes.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "capture/capture.h"

namespace sipbox::capture::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

// An IP packet carrying one UDP datagram (checksums zero: "not computed" for IPv4).
inline Bytes udp_packet(const UdpEndpoint& src, const UdpEndpoint& dst, const Bytes& payload) {
  Bytes udp;
  put16(udp, src.port);
  put16(udp, dst.port);
  put16(udp, static_cast<std::uint16_t>(8 + payload.size()));
  put16(udp, 0);
  udp.insert(udp.end(), payload.begin(), payload.end());
  Bytes ip;
  if (!src.address.v6) {
    ip = {0x45, 0};
    put16(ip, static_cast<std::uint16_t>(20 + udp.size()));
    put32(ip, 0x12340000);  // id, no flags, offset 0
    ip.push_back(64);
    ip.push_back(17);
    put16(ip, 0);
    ip.insert(ip.end(), src.address.octets.begin(), src.address.octets.begin() + 4);
    ip.insert(ip.end(), dst.address.octets.begin(), dst.address.octets.begin() + 4);
  } else {
    ip = {0x60, 0, 0, 0};
    put16(ip, static_cast<std::uint16_t>(udp.size()));
    ip.push_back(17);
    ip.push_back(64);
    ip.insert(ip.end(), src.address.octets.begin(), src.address.octets.end());
    ip.insert(ip.end(), dst.address.octets.begin(), dst.address.octets.end());
  }
  ip.insert(ip.end(), udp.begin(), udp.end());
  return ip;
}

enum class Link { ethernet, vlan, qinq, sll, sll2, raw, null };

inline int dlt_of(Link link) {
  switch (link) {
    case Link::ethernet:
    case Link::vlan:
    case Link::qinq:
      return DLT_EN10MB;
    case Link::sll:
      return DLT_LINUX_SLL;
    case Link::sll2:
      return DLT_LINUX_SLL2;
    case Link::raw:
      return DLT_RAW;
    case Link::null:
      return DLT_NULL;
  }
  return DLT_EN10MB;
}

// The IP packet under `link`'s header.
inline Bytes frame(Link link, const Bytes& ip) {
  const bool v6 = !ip.empty() && ip[0] >> 4 == 6;
  const std::uint16_t type = v6 ? 0x86dd : 0x0800;
  Bytes f;
  switch (link) {
    case Link::ethernet:
    case Link::vlan:
    case Link::qinq:
      f = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
      if (link == Link::qinq) {
        put16(f, 0x88a8);
        put16(f, 100);
      }
      if (link != Link::ethernet) {
        put16(f, 0x8100);
        put16(f, 42);
      }
      put16(f, type);
      break;
    case Link::sll:
      f = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
      put16(f, type);
      break;
    case Link::sll2:
      put16(f, type);
      f.insert(f.end(), {0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0});
      break;
    case Link::raw:
      break;
    case Link::null:
      f = {static_cast<std::uint8_t>(v6 ? 10 : 2), 0, 0, 0};
      break;  // host order, Linux
  }
  f.insert(f.end(), ip.begin(), ip.end());
  if ((link == Link::ethernet || link == Link::vlan) && f.size() < 60) f.resize(60);  // minimum frame padding
  return f;
}

inline Bytes rtp(std::uint8_t pt, std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, std::size_t payload = 160) {
  Bytes b{0x80, pt};
  put16(b, seq);
  put32(b, ts);
  put32(b, ssrc);
  b.resize(b.size() + payload, 0xd5);
  return b;
}

// An SR (no report blocks) or an RR with one block.
inline Bytes rtcp_sr(std::uint32_t ssrc, std::uint64_t ntp, std::uint32_t rtp_ts) {
  Bytes b{0x80, 200};
  put16(b, 6);
  put32(b, ssrc);
  put32(b, static_cast<std::uint32_t>(ntp >> 32));
  put32(b, static_cast<std::uint32_t>(ntp));
  put32(b, rtp_ts);
  put32(b, 10);
  put32(b, 1600);
  return b;
}
inline Bytes rtcp_rr(std::uint32_t ssrc, std::uint32_t about, std::uint32_t lsr, std::uint32_t dlsr) {
  Bytes b{0x81, 201};
  put16(b, 7);
  put32(b, ssrc);
  put32(b, about);
  put32(b, 0);
  put32(b, 100);
  put32(b, 0);
  put32(b, lsr);
  put32(b, dlsr);
  return b;
}

// A pcap file of `dlt` with nanosecond timestamps.
class PcapWriter {
 public:
  PcapWriter(const std::filesystem::path& path, int dlt)
      : dead_(pcap_open_dead_with_tstamp_precision(dlt, 65535, PCAP_TSTAMP_PRECISION_NANO)),
        dumper_(pcap_dump_open(dead_, path.c_str())) {}
  ~PcapWriter() { close(); }
  bool ok() const { return dumper_ != nullptr; }
  void add(const Bytes& frame, std::int64_t time_ns, std::size_t caplen = SIZE_MAX) {
    pcap_pkthdr h{};
    h.ts.tv_sec = time_ns / 1'000'000'000;
    h.ts.tv_usec = time_ns % 1'000'000'000;  // nanoseconds in a nanosecond file
    h.len = static_cast<bpf_u_int32>(frame.size());
    h.caplen = static_cast<bpf_u_int32>(std::min(caplen, frame.size()));
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());
  }
  void close() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
  }

 private:
  pcap_t* dead_;
  pcap_dumper_t* dumper_;
};

}  // namespace sipbox::capture::test
