// The simplified E-model of the BESIP papers against values worked out by hand from the
// formulas in the issue (R = 94.7688 - 1.4136 - Id - Ie,eff), plus the delay estimate.
#include <gtest/gtest.h>

#include "quality/quality.h"

namespace sipbox::quality {
namespace {

constexpr double kR0 = 94.7688 - 1.4136;  // 93.3552

struct Point {
  const char* what;
  double ie, bpl, loss, burst, delay;
  double id, ie_eff, r, mos;
};

TEST(SimplifiedEmodel, HandComputedPoints) {
  const Point points[] = {
      // No impairment: R = R0; MOS = 1 + 0.035 R + R (R - 60)(100 - R) 7e-6.
      {"pcmu clean", 0, 25.1, 0, 1, 0, 0, 0, kR0, 1 + 0.035 * kR0 + kR0 * (kR0 - 60) * (100 - kR0) * 7e-6},
      // Id = 0.0267 * 100; Ie,eff = 95 * 1 / (1 / 1 + 25.1).
      {"pcmu 1% 100ms", 0, 25.1, 1, 1, 100, 2.67, 95.0 / 26.1, 87.045353, 4.26007},
      // Id = 0.0267 * 150; Ie,eff = 11 + 84 * 2 / (2 / 1.5 + 19).
      {"g729 2% bursty 150ms", 11, 19, 2, 1.5, 150, 4.005, 11 + 168 / (2 / 1.5 + 19), 70.087905, 3.60112},
      // Id = 0.1194 * 250 - 15.876; Ie,eff = 15 + 80 * 5 / (5 / 2 + 16.1).
      {"g723 5% burst 2 250ms", 15, 16.1, 5, 2, 250, 13.974, 15 + 400 / 18.6, 42.875824, 2.207065},
      // Just below the knee: Id = 0.0267 * 174.9; Ie,eff = 5 + 90 * 1 / (1 + 10).
      {"gsm-efr 1% 174.9ms", 5, 10, 1, 1, 174.9, 4.66983, 5 + 90.0 / 11, 75.503552, 3.843349},
      // At the knee the second line applies: Id = 0.1194 * 175 - 15.876 = 5.019.
      {"pcmu 3% 175ms", 0, 25.1, 3, 1, 175, 5.019, 95.0 * 3 / 28.1, 78.193851, 3.953942},
  };
  for (const Point& p : points) {
    SCOPED_TRACE(p.what);
    const Rating r = simplified_rating(Conditions{p.ie, p.bpl, p.loss, p.burst, p.delay});
    EXPECT_NEAR(r.id, p.id, 1e-6);
    EXPECT_NEAR(r.ie_eff, p.ie_eff, 1e-6);
    EXPECT_NEAR(r.r, p.r, 1e-5);
    EXPECT_NEAR(r.mos, p.mos, 1e-5);
    EXPECT_NEAR(r.ro - r.is, kR0, 1e-12);
  }
}

TEST(SimplifiedEmodel, DelayKneeAt175) {
  EXPECT_DOUBLE_EQ(simplified_delay_impairment(0), 0);
  EXPECT_NEAR(simplified_delay_impairment(174.999), 0.0267 * 174.999, 1e-12);
  EXPECT_NEAR(simplified_delay_impairment(175), 0.1194 * 175 - 15.876, 1e-12);
  EXPECT_NEAR(simplified_delay_impairment(400), 0.1194 * 400 - 15.876, 1e-12);
  // The two lines do not meet: the published fit jumps by about 0.35 at the knee.
  EXPECT_NEAR(simplified_delay_impairment(175) - simplified_delay_impairment(174.9999), 0.3465, 1e-3);
  EXPECT_DOUBLE_EQ(simplified_delay_impairment(-5), 0);  // a bad estimate is no bonus
}

TEST(SimplifiedEmodel, BurstRatioOneIsRandomLoss) {
  // With BurstR = 1 the G.107 form reduces to its random-loss form Ie + (95 - Ie) Ppl / (Ppl + Bpl).
  for (double loss : {0.5, 1.0, 5.0, 20.0}) {
    EXPECT_NEAR(effective_equipment_impairment(11, 19, loss, 1), 11 + 84 * loss / (loss + 19), 1e-12);
  }
  // Burstier loss at the same rate hurts more.
  EXPECT_GT(effective_equipment_impairment(0, 25.1, 5, 2), effective_equipment_impairment(0, 25.1, 5, 1));
  // No loss: Ie alone, whatever the burst ratio.
  EXPECT_DOUBLE_EQ(effective_equipment_impairment(15, 16.1, 0, 4), 15);
  // 100 % loss with random loss saturates towards 95 - (95 - Ie) Bpl / (100 + Bpl).
  EXPECT_NEAR(effective_equipment_impairment(0, 25.1, 100, 1), 95 * 100 / 125.1, 1e-12);
}

TEST(SimplifiedEmodel, RIsClampedAndMosHasItsExtremes) {
  // 50 % loss without PLC at 600 ms: 93.3552 - 55.764 - 87.477 < 0, reported as 0.
  const Rating worst = simplified_rating(Conditions{0, 4.3, 50, 1, 600});
  EXPECT_DOUBLE_EQ(worst.r, 0);
  EXPECT_DOUBLE_EQ(worst.mos, 1);
  EXPECT_NEAR(worst.id, 55.764, 1e-9);

  EXPECT_DOUBLE_EQ(mos_from_r(-10), 1);
  EXPECT_DOUBLE_EQ(mos_from_r(0), 1);
  EXPECT_DOUBLE_EQ(mos_from_r(6.4999), 1);
  EXPECT_NEAR(mos_from_r(6.5), 1, 1e-3);  // the cubic meets 1 there
  EXPECT_GE(mos_from_r(6.5), 1.0);
  EXPECT_DOUBLE_EQ(mos_from_r(100), 4.5);
  EXPECT_DOUBLE_EQ(mos_from_r(100.01), 4.5);
  EXPECT_DOUBLE_EQ(mos_from_r(1000), 4.5);
  EXPECT_NEAR(mos_from_r(50), 1 + 0.035 * 50 + 50 * (-10) * 50 * 7e-6, 1e-12);
  // MOS never falls as R rises over the whole range.
  double previous = 0;
  for (double r = 0; r <= 101; r += 0.25) {
    EXPECT_GE(mos_from_r(r), previous) << r;
    previous = mos_from_r(r);
  }
}

TEST(DelayEstimate, HalfRoundTripPlusPacketisationPlusJitterBuffer) {
  EXPECT_DOUBLE_EQ(estimate_one_way_delay_ms({120.0, 20, 40}), 60 + 20 + 40);
  EXPECT_DOUBLE_EQ(estimate_one_way_delay_ms({std::nullopt, 30, 40}), 70);  // no RTCP: no network part
  EXPECT_DOUBLE_EQ(estimate_one_way_delay_ms({-4.0, 20, 0}), 20);            // nonsense counts as 0
  EXPECT_DOUBLE_EQ(estimate_one_way_delay_ms(DelayInputs{}), 60);            // defaults: 20 ms ptime, 40 ms buffer
}

}  // namespace
}  // namespace sipbox::quality
