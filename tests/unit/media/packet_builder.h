// Test helper: RTP and RTCP packets built byte by byte, as a sender would put them on the wire.
#pragma once

#include <cstdint>
#include <vector>

namespace sipbox::media::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}

// V=2 RTP header with `payload_size` payload octets of 0xd5 (G.711 silence).
inline Bytes rtp_packet(std::uint16_t seq, std::uint32_t ts, std::uint8_t pt = 0, std::size_t payload_size = 160,
                        std::uint32_t ssrc = 0x11223344) {
  Bytes b{0x80, pt};
  put16(b, seq);
  put32(b, ts);
  put32(b, ssrc);
  b.insert(b.end(), payload_size, 0xd5);
  return b;
}

struct Block {
  std::uint32_t ssrc = 0x11223344;
  std::uint8_t fraction = 0;
  std::int32_t cumulative = 0;
  std::uint32_t highest = 0;
  std::uint32_t jitter = 0;
  std::uint32_t lsr = 0;
  std::uint32_t dlsr = 0;
};

inline void put_block(Bytes& b, const Block& k) {
  put32(b, k.ssrc);
  put32(b, static_cast<std::uint32_t>(k.fraction) << 24 | (static_cast<std::uint32_t>(k.cumulative) & 0xffffff));
  put32(b, k.highest);
  put32(b, k.jitter);
  put32(b, k.lsr);
  put32(b, k.dlsr);
}

inline Bytes rtcp_rr(std::uint32_t ssrc, const std::vector<Block>& blocks) {
  Bytes b{static_cast<std::uint8_t>(0x80 | blocks.size()), 201};
  put16(b, static_cast<std::uint32_t>(1 + 6 * blocks.size()));
  put32(b, ssrc);
  for (const Block& k : blocks) put_block(b, k);
  return b;
}

inline Bytes rtcp_sr(std::uint32_t ssrc, std::uint64_t ntp, std::uint32_t rtp_ts, std::uint32_t packets,
                     std::uint32_t octets, const std::vector<Block>& blocks = {}) {
  Bytes b{static_cast<std::uint8_t>(0x80 | blocks.size()), 200};
  put16(b, static_cast<std::uint32_t>(6 + 6 * blocks.size()));
  put32(b, ssrc);
  put32(b, static_cast<std::uint32_t>(ntp >> 32));
  put32(b, static_cast<std::uint32_t>(ntp));
  put32(b, rtp_ts);
  put32(b, packets);
  put32(b, octets);
  for (const Block& k : blocks) put_block(b, k);
  return b;
}

// SDES with one CNAME item, padded to a 32-bit boundary.
inline Bytes rtcp_sdes(std::uint32_t ssrc) {
  Bytes b{0x81, 202, 0, 3};
  put32(b, ssrc);
  const char cname[] = "a@b";
  b.push_back(1);
  b.push_back(3);
  b.insert(b.end(), cname, cname + 3);
  b.push_back(0);  // end of items, the chunk is now 8 octets
  b.push_back(0);
  b.push_back(0);
  return b;
}

inline Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace sipbox::media::test
