// libFuzzer target for the RTP and RTCP parsers and the stream statistics. Beyond "no
// crash": whatever parses must describe only bytes inside the input, and statistics fed
// from the parsed headers must keep their invariants (pattern counts add up to the
// expected count, jitter finite and non-negative).
#include <cmath>
#include <cstdint>
#include <span>

#include "media/media.h"

namespace {

using namespace sipbox::media;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);

  RtpHeader h;
  const PacketError rtp = parse_rtp(input, h);
  check(!describe(rtp).empty());
  if (rtp == PacketError::None) {
    check(inside(h.payload, input) && inside(h.extension_data, input));
    check(12 + 4u * h.csrc_count + h.payload.size() + h.padding_size <= size);
    check(h.payload_type < 128 && h.csrc_count < 16);
  }

  RtcpReport report;
  if (parse_rtcp(input, report) == PacketError::None) {
    check(report.block_count <= RtcpReport::kMaxReportBlocks);
    check(report.packet_count >= 1);
    for (std::size_t i = 0; i < report.block_count; ++i) {
      const ReportBlock& b = report.blocks[i];
      const auto rtt = round_trip_ms(b.lsr + b.dlsr + 655, b.lsr, b.dlsr);
      check(!rtt || (*rtt >= 0 && *rtt < 65536.0 * 1000));
    }
  }

  // The input as a stream: every 8 octets one packet header (seq, timestamp, arrival step).
  RtpStreamStats stats(size % 2 ? 8000 : 48000);
  std::int64_t arrival = 0;
  for (std::size_t off = 0; off + 8 <= size; off += 8) {
    RtpPacketInfo p;
    p.sequence = static_cast<std::uint16_t>(data[off] << 8 | data[off + 1]);
    p.timestamp = static_cast<std::uint32_t>(data[off + 2]) << 24 | static_cast<std::uint32_t>(data[off + 3]) << 16 |
                  static_cast<std::uint32_t>(data[off + 4]) << 8 | data[off + 5];
    arrival += static_cast<std::int64_t>(data[off + 6]) * 1'000'000;
    p.arrival_ns = arrival;
    p.size = data[off + 7];
    stats.on_packet(p);
    if (data[off + 7] == 0xff) (void)stats.take_interval();
  }
  const RtpStreamSnapshot s = stats.snapshot();
  check(std::isfinite(s.jitter_ms) && s.jitter_ms >= 0 && s.max_jitter_ms >= s.jitter_ms - 1e-9);
  check(s.pattern.lost + s.pattern.received >= s.expected);
  const double burst = s.pattern.burst_ratio();
  check(std::isfinite(burst) && burst >= 0);
  return 0;
}
