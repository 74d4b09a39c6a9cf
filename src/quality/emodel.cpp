// The simplified E-model (BESIP), the formulas it shares with G.107, and the delay
// estimate. Formulas and their sources: docs/quality.md.
#include <algorithm>

#include "quality/quality.h"

namespace sipbox::quality {

Conditions conditions_for(const CodecImpairment& codec, double loss_percent, double burst_ratio, double delay_ms) {
  return Conditions{codec.ie, codec.bpl, loss_percent, burst_ratio, delay_ms};
}

double effective_equipment_impairment(double ie, double bpl, double loss_percent, double burst_ratio) {
  // Out-of-range inputs are clamped rather than refused: they come from measurements,
  // and a NaN or negative R in a quality record helps nobody.
  const double ppl = std::clamp(loss_percent, 0.0, 100.0);
  const double burst = burst_ratio > 0 ? burst_ratio : 1.0;
  if (ppl == 0) return ie;
  return ie + (95 - ie) * ppl / (ppl / burst + bpl);
}

double mos_from_r(double r) {
  if (r < 6.5) return 1;
  if (r > 100) return 4.5;
  // The cubic dips just below 1 near 6.5 (0.99993 at 6.5); never report less than 1.
  return std::max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

double simplified_delay_impairment(double delay_ms) {
  const double t = std::max(0.0, delay_ms);
  return t < kDelayKneeMs ? 0.0267 * t : 0.1194 * t - 15.876;
}

Rating simplified_rating(const Conditions& c) {
  Rating out;
  out.ro = kSimplifiedRo;
  out.is = kSimplifiedIs;
  out.id = simplified_delay_impairment(c.delay_ms);
  out.ie_eff = effective_equipment_impairment(c.ie, c.bpl, c.loss_percent, c.burst_ratio);
  out.r = std::clamp(out.ro - out.is - out.id - out.ie_eff, 0.0, 100.0);
  out.mos = mos_from_r(out.r);
  return out;
}

double estimate_one_way_delay_ms(const DelayInputs& in) {
  const double network = in.rtcp_round_trip_ms ? std::max(0.0, *in.rtcp_round_trip_ms) / 2 : 0.0;
  return network + std::max(0.0, in.packetisation_ms) + std::max(0.0, in.jitter_buffer_ms);
}

}  // namespace sipbox::quality
