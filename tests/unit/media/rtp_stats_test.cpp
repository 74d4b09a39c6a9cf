// RFC 3550 receiver statistics on synthetic streams with known loss, reordering,
// duplicates, sequence wrap and delay variation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "media/media.h"
#include "stream.h"

namespace sipbox::media {
namespace {

using test::g711_packet;

TEST(RtpStats, CleanStreamConstantDelayHasNoLossAndNoJitter) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 500; ++i) stats.on_packet(g711_packet(i, 45));
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.packets, 500u);
  EXPECT_EQ(s.octets, 500u * 160);
  EXPECT_EQ(s.expected, 500u);
  EXPECT_EQ(s.cumulative_lost, 0);
  EXPECT_EQ(s.base_sequence, 1000u);
  EXPECT_EQ(s.extended_highest_sequence, 1499u);
  EXPECT_DOUBLE_EQ(s.jitter_ts, 0);
  EXPECT_DOUBLE_EQ(s.max_jitter_ms, 0);
  EXPECT_DOUBLE_EQ(s.mean_jitter_ms, 0);
  EXPECT_EQ(s.pattern.lost, 0u);
  EXPECT_EQ(s.pattern.received, 500u);
  EXPECT_EQ(s.pattern.gap_count, 1u);
  EXPECT_DOUBLE_EQ(s.pattern.burst_ratio(), 1);
  EXPECT_DOUBLE_EQ(s.loss_percent(), 0);
}

TEST(RtpStats, Rfc3550_A3_EveryTenthPacketLost) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    if (i % 10 != 5) stats.on_packet(g711_packet(i));
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.packets, 900u);
  EXPECT_EQ(s.expected, 1000u);
  EXPECT_EQ(s.cumulative_lost, 100);
  EXPECT_DOUBLE_EQ(s.loss_percent(), 10);
  EXPECT_EQ(s.pattern.lost, 100u);
  EXPECT_EQ(s.pattern.burst_count, 100u);
  EXPECT_EQ(s.pattern.max_burst, 1u);
  EXPECT_EQ(s.pattern.gap_count, 101u);  // 5 received, then 9 between losses, 4 at the end
  EXPECT_EQ(s.pattern.max_gap, 9u);
  // Isolated losses are less bursty than random: BurstR = 1 x (1 - 0.1).
  EXPECT_NEAR(s.pattern.burst_ratio(), 0.9, 1e-12);
  // A constant-delay stream stays jitter-free across the gaps: timestamps and
  // arrival times skip together.
  EXPECT_DOUBLE_EQ(s.jitter_ts, 0);
}

TEST(RtpStats, BurstsOfThree) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    if (i % 20 < 10 || i % 20 >= 13) stats.on_packet(g711_packet(i));
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.cumulative_lost, 300);
  EXPECT_EQ(s.pattern.burst_count, 100u);
  EXPECT_DOUBLE_EQ(s.pattern.mean_burst_length(), 3);
  EXPECT_EQ(s.pattern.max_burst, 3u);
  EXPECT_DOUBLE_EQ(s.pattern.mean_gap_length(), 1700.0 / 101);
  EXPECT_NEAR(s.pattern.loss_rate(), 0.15, 1e-12);
  EXPECT_NEAR(s.pattern.burst_ratio(), 3 * (1 - 0.15), 1e-12);
}

TEST(RtpStats, ReorderedPacketsAreNotLost) {
  RtpStreamStats stats;
  const std::uint32_t order[] = {0, 1, 2, 4, 3, 5, 8, 6, 7, 9, 10};
  for (std::uint32_t i : order) stats.on_packet(g711_packet(i));
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.packets, 11u);
  EXPECT_EQ(s.expected, 11u);
  EXPECT_EQ(s.cumulative_lost, 0);
  EXPECT_EQ(s.reordered, 3u);  // 3, 6 and 7 came after a higher number
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.pattern.lost, 0u);
  EXPECT_EQ(s.pattern.burst_count, 0u);
}

TEST(RtpStats, ReorderingBeyondTheFinalWindowIsStillRepaired) {
  // 200 packets after the gap, the missing one arrives: A.1 sees a large jump (over
  // MAX_MISORDER) and discards it; the pattern has finalised it as lost. Both agree.
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 300; ++i) {
    if (i != 50) stats.on_packet(g711_packet(i));
  }
  stats.on_packet(g711_packet(50));
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.bad_sequence, 1u);
  EXPECT_EQ(s.cumulative_lost, 1);
  EXPECT_EQ(s.pattern.lost, 1u);
}

TEST(RtpStats, DuplicatesAreCountedAndReceivedPerRfc3550) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 10; ++i) {
    stats.on_packet(g711_packet(i));
    if (i == 3 || i == 9) stats.on_packet(g711_packet(i));  // copy of the highest
  }
  stats.on_packet(g711_packet(5));  // copy of an older one
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.packets, 13u);
  EXPECT_EQ(s.duplicates, 3u);
  EXPECT_EQ(s.reordered, 0u);
  EXPECT_EQ(s.expected, 10u);
  EXPECT_EQ(s.cumulative_lost, -3);  // 6.4.1: may be negative with duplicates
  EXPECT_DOUBLE_EQ(s.loss_percent(), 0);
  EXPECT_EQ(s.pattern.lost, 0u);
  EXPECT_EQ(s.pattern.received, 10u);
}

TEST(RtpStats, Rfc3550_A1_SequenceWrapsAt65535) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 20; ++i) {
    if (i == 7) continue;  // seq 65535 + 2 = 1 lost, right after the wrap
    stats.on_packet(g711_packet(i, 30, 65530));
  }
  // Late packet from before the wrap arriving after it.
  RtpStreamStats wrap_reorder;
  for (std::uint16_t seq : {65533, 65534, 0, 65535, 1, 2}) {
    RtpPacketInfo p = g711_packet(static_cast<std::uint16_t>(seq - 65533));
    p.sequence = seq;
    wrap_reorder.on_packet(p);
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.cycles, 1u);
  EXPECT_EQ(s.extended_highest_sequence, 65536u + 13);
  EXPECT_EQ(s.expected, 20u);
  EXPECT_EQ(s.cumulative_lost, 1);
  EXPECT_EQ(s.pattern.lost, 1u);

  const RtpStreamSnapshot w = wrap_reorder.snapshot();
  EXPECT_EQ(w.cycles, 1u);
  EXPECT_EQ(w.extended_highest_sequence, 65536u + 2);
  EXPECT_EQ(w.expected, 6u);
  EXPECT_EQ(w.cumulative_lost, 0);
  EXPECT_EQ(w.reordered, 1u);
  EXPECT_EQ(w.pattern.lost, 0u);
}

TEST(RtpStats, Rfc3550_A1_TwoSequentialJumpsResynchronise) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 10; ++i) stats.on_packet(g711_packet(i));
  RtpPacketInfo jump = g711_packet(10);
  jump.sequence = 30000;
  stats.on_packet(jump);  // one: discarded
  EXPECT_EQ(stats.snapshot().bad_sequence, 1u);
  EXPECT_EQ(stats.snapshot().expected, 10u);
  jump.sequence = 30001;
  stats.on_packet(jump);  // the next in line: the sender restarted
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.base_sequence, 30001u);
  EXPECT_EQ(s.expected, 1u);
  EXPECT_EQ(s.cumulative_lost, 0);
  EXPECT_EQ(s.packets, 12u);
  EXPECT_EQ(s.pattern.lost, 0u);  // the jump itself is no loss
}

TEST(RtpStats, Rfc3550_A8_JitterOfAlternatingDelay) {
  RtpStreamStats stats;
  // Delay alternates 40 and 60 ms around 50 ms.
  std::vector<RtpPacketInfo> packets;
  for (std::uint32_t i = 0; i < 200; ++i) packets.push_back(g711_packet(i, i % 2 ? 60 : 40));
  for (const RtpPacketInfo& p : packets) stats.on_packet(p);

  // The A.8 recurrence on its own, in integer timestamp units (8 per ms).
  double j = 0, max = 0, sum = 0;
  int samples = 0;
  for (std::size_t i = 1; i < packets.size(); ++i) {
    const long r_i = packets[i].arrival_ns / 125'000, r_prev = packets[i - 1].arrival_ns / 125'000;
    const long d = (r_i - r_prev) - (long(packets[i].timestamp) - long(packets[i - 1].timestamp));
    j += (std::labs(d) - j) / 16;
    max = std::max(max, j);
    sum += j;
    ++samples;
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_NEAR(s.jitter_ts, j, 1e-9);
  EXPECT_NEAR(s.jitter_ms, j / 8, 1e-9);
  EXPECT_NEAR(s.max_jitter_ms, max / 8, 1e-9);
  EXPECT_NEAR(s.mean_jitter_ms, sum / samples / 8, 1e-9);
  // |D| is always 20 ms = 160 units, so J converges to 160 (20 ms).
  EXPECT_NEAR(s.jitter_ms, 20, 0.01);
}

TEST(RtpStats, JitterUsesThePayloadClockRate) {
  RtpStreamStats stats(48000);  // e.g. opus/48000 from rtpmap
  for (std::uint32_t i = 0; i < 300; ++i) {
    RtpPacketInfo p;
    p.sequence = static_cast<std::uint16_t>(i);
    p.timestamp = 960 * i;
    p.arrival_ns = static_cast<std::int64_t>(i) * 20 * test::kMs + (i % 2 ? 4 : 0) * test::kMs;
    stats.on_packet(p);
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.clock_rate, 48000u);
  EXPECT_NEAR(s.jitter_ts, 4 * 48, 0.01);  // |D| = 4 ms = 192 units at 48 kHz
  EXPECT_NEAR(s.jitter_ms, 4, 0.001);
}

TEST(RtpStats, Rfc3550_A3_IntervalReport) {
  RtpStreamStats stats;
  EXPECT_EQ(stats.take_interval().expected, 0u);
  for (std::uint32_t i = 0; i < 100; ++i) {
    if (i % 10 != 3) stats.on_packet(g711_packet(i));
  }
  IntervalReport first = stats.take_interval();
  EXPECT_EQ(first.expected, 100u);
  EXPECT_EQ(first.lost, 10);
  EXPECT_EQ(first.fraction_lost, 25);  // 10 * 256 / 100
  for (std::uint32_t i = 100; i < 150; ++i) stats.on_packet(g711_packet(i));
  stats.on_packet(g711_packet(120));  // duplicate: more received than expected
  IntervalReport second = stats.take_interval();
  EXPECT_EQ(second.expected, 50u);
  EXPECT_EQ(second.lost, -1);
  EXPECT_EQ(second.fraction_lost, 0);
}

TEST(RtpStats, ClockChangeRestartsTheJitterReference) {
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < 10; ++i) stats.on_packet(g711_packet(i));
  stats.set_clock_rate(16000);
  RtpPacketInfo p = g711_packet(10);
  p.timestamp = 123456789;  // new codec, new timestamp base
  stats.on_packet(p);
  EXPECT_DOUBLE_EQ(stats.snapshot().jitter_ts, 0);
  EXPECT_EQ(stats.snapshot().clock_rate, 16000u);
}

}  // namespace
}  // namespace sipbox::media
