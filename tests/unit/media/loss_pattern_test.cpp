// Burst ratio (ITU-T G.107 / G.113 Appendix I) measured on long seeded streams: random
// loss gives BurstR = 1, a Gilbert-Elliott channel gives 1 / (p + q).
#include <gtest/gtest.h>

#include <random>

#include "media/media.h"
#include "stream.h"

namespace sipbox::media {
namespace {

using test::g711_packet;

constexpr std::uint32_t kPackets = 200'000;  // about 67 minutes of 20 ms packets

TEST(LossPattern, RandomLossHasBurstRatioOne) {
  for (double p : {0.01, 0.05, 0.2}) {
    SCOPED_TRACE(p);
    std::mt19937 rng(20240601);
    std::bernoulli_distribution lose(p);
    RtpStreamStats stats;
    std::uint32_t dropped = 0;
    for (std::uint32_t i = 0; i < kPackets; ++i) {
      if (i != 0 && i != kPackets - 1 && lose(rng)) {
        ++dropped;
        continue;
      }
      stats.on_packet(g711_packet(i));
    }
    const RtpStreamSnapshot s = stats.snapshot();
    EXPECT_EQ(s.cumulative_lost, dropped);
    EXPECT_EQ(s.pattern.lost, dropped);
    EXPECT_NEAR(s.pattern.loss_rate(), p, p * 0.1);
    EXPECT_NEAR(s.pattern.burst_ratio(), 1.0, 0.05);
  }
}

TEST(LossPattern, GilbertElliottLossIsBursty) {
  // Good -> bad with probability p, bad -> good with q; every packet in the bad state is
  // lost. Mean burst 1/q, loss rate p/(p+q), so BurstR = (1/q)(q/(p+q)) = 1/(p+q).
  const double p = 0.01, q = 0.25;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  bool bad = false;
  RtpStreamStats stats;
  for (std::uint32_t i = 0; i < kPackets; ++i) {
    bad = bad ? u(rng) >= q : u(rng) < p;
    if (!bad || i == kPackets - 1) stats.on_packet(g711_packet(i));
  }
  const LossPattern pattern = stats.snapshot().pattern;
  EXPECT_NEAR(pattern.loss_rate(), p / (p + q), 0.01);
  EXPECT_NEAR(pattern.mean_burst_length(), 1 / q, 0.3);
  EXPECT_GT(pattern.burst_ratio(), 1.5);
  EXPECT_NEAR(pattern.burst_ratio(), 1 / (p + q), 0.1 / (p + q));
  EXPECT_GE(pattern.max_burst, 10u);
}

TEST(LossPattern, LossesAtTheEdgeOfTheWindowAreFinalisedOnce) {
  // A long stream crosses the 128-packet window many times; counts must not drift.
  RtpStreamStats stats;
  std::uint64_t lost = 0;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    if (i % 97 == 13 || i % 127 == 0) {
      if (i != 0) {
        ++lost;
        continue;
      }
    }
    stats.on_packet(g711_packet(i));
  }
  const RtpStreamSnapshot s = stats.snapshot();
  EXPECT_EQ(s.pattern.lost, lost);
  EXPECT_EQ(s.pattern.lost + s.pattern.received, s.expected);
  EXPECT_EQ(static_cast<std::uint64_t>(s.cumulative_lost), lost);
  // A jump larger than the window (within MAX_DROPOUT) is one burst.
  RtpStreamStats gap;
  gap.on_packet(g711_packet(0));
  gap.on_packet(g711_packet(1000));
  const LossPattern g = gap.snapshot().pattern;
  EXPECT_EQ(g.lost, 999u);
  EXPECT_EQ(g.burst_count, 1u);
  EXPECT_EQ(g.max_burst, 999u);
  EXPECT_EQ(g.gap_count, 2u);
}

}  // namespace
}  // namespace sipbox::media
