// Test helper: a synthetic G.711 stream (20 ms packets, 160 timestamp units) whose
// packets can be dropped, repeated, reordered and delayed before RtpStreamStats sees them.
#pragma once

#include <cstdint>

#include "media/media.h"

namespace sipbox::media::test {

constexpr std::int64_t kMs = 1'000'000;

// Packet i of a stream starting at `first_seq`: sent at i * 20 ms, arriving after
// `delay_ms`.
inline RtpPacketInfo g711_packet(std::uint32_t i, double delay_ms = 30, std::uint16_t first_seq = 1000) {
  RtpPacketInfo p;
  p.sequence = static_cast<std::uint16_t>(first_seq + i);
  p.timestamp = 5000 + 160 * i;
  p.arrival_ns = static_cast<std::int64_t>(i) * 20 * kMs + static_cast<std::int64_t>(delay_ms * kMs);
  p.payload_type = 0;
  p.size = 160;
  return p;
}

}  // namespace sipbox::media::test
