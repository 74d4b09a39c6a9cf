// The full E-model of ITU-T G.107 clause 3 (R = Ro - Is - Id - Ie,eff + A). Variable
// names follow the Recommendation so each line can be checked against it.
#include <algorithm>
#include <cmath>

#include "quality/quality.h"

namespace sipbox::quality {
namespace {

double db_sum(double a, double b) { return std::pow(10.0, a / 10) + std::pow(10.0, b / 10); }

// Shape used by Iolr, Ist and Idd: (1 + x^n)^(1/n).
double soft(double x, double n) { return std::pow(1 + std::pow(x, n), 1 / n); }

}  // namespace

G107Parameters g107_parameters(const Conditions& c) {
  G107Parameters p;
  p.ie = c.ie;
  p.bpl = c.bpl;
  p.ppl = c.loss_percent;
  p.burst_r = c.burst_ratio;
  // One measured mouth-to-ear delay feeds all three delays: the echo path (T) and the
  // absolute delay (Ta) are that delay, the 4-wire loop (Tr) twice it.
  const double t = std::max(0.0, c.delay_ms);
  p.t = t;
  p.ta = t;
  p.tr = 2 * t;
  return p;
}

Rating g107_rating(const G107Parameters& p) {
  Rating out;
  // 3.2 Basic signal-to-noise ratio Ro.
  const double olr = p.slr + p.rlr;
  const double nfo = p.nfor + p.rlr;
  const double pre = p.pr + 10 * std::log10(1 + std::pow(10.0, (10 - p.lstr) / 10));
  const double nor = p.rlr - 121 + pre + 0.008 * (pre - 35) * (pre - 35);
  const double nos = p.ps - p.slr - p.ds - 100 + 0.004 * std::pow(p.ps - olr - p.ds - 14, 2);
  const double no = 10 * std::log10(db_sum(p.nc, nos) + db_sum(nor, nfo));
  out.ro = 15 - 1.5 * (p.slr + no);

  // 3.3 Simultaneous impairment Is = Iolr + Ist + Iq.
  const double xolr = olr + 0.2 * (64 + no - p.rlr);
  const double iolr = 20 * (soft(xolr / 8, 8) - xolr / 8);
  const double stmro = -10 * std::log10(std::pow(10.0, -p.stmr / 10) + std::exp(-p.t / 4) * std::pow(10.0, -p.telr / 10));
  const double ist = 12 * soft((stmro - 13) / 6, 8) - 28 * soft((stmro + 1) / 19.4, 35) -
                     13 * soft((stmro - 3) / 33, 13) + 29;
  const double q = 37 - 15 * std::log10(p.qdu);
  const double g = 1.07 + 0.258 * q + 0.0602 * q * q;
  const double z = 46.0 / 30 - g / 40;
  const double y = (out.ro - 100) / 15 + 46 / 8.4 - g / 9;
  const double iq = 15 * std::log10(1 + std::pow(10.0, y) + std::pow(10.0, z));
  out.is = iolr + ist + iq;

  // 3.4 Delay impairment Id = Idte + Idle + Idd.
  const double roe = -1.5 * (no - p.rlr);
  double terv = p.telr - 40 * std::log10((1 + p.t / 10) / (1 + p.t / 150)) + 6 * std::exp(-0.3 * p.t * p.t);
  if (p.stmr < 9) terv += ist / 2;  // low sidetone masking makes echo more audible
  const double re = 80 + 2.5 * (terv - 14);
  out.idte = ((roe - re) / 2 + std::sqrt((roe - re) * (roe - re) / 4 + 100) - 1) * (1 - std::exp(-p.t));
  if (p.stmr > 20) out.idte = std::sqrt(out.idte * out.idte + ist * ist);
  const double rle = 10.5 * (p.wepl + 7) * std::pow(p.tr + 1, -0.25);
  out.idle = (out.ro - rle) / 2 + std::sqrt((out.ro - rle) * (out.ro - rle) / 4 + 169);
  out.idd = 0;
  if (p.ta > p.mt) {
    const double x = std::log10(p.ta / p.mt) / std::log10(2.0);
    const double n = 6 * p.st;
    out.idd = 25 * (soft(x, n) - 3 * soft(x / 3, n) + 2);
  }
  out.id = out.idte + out.idle + out.idd;

  // 3.5 Effective equipment impairment; 3.6 advantage factor.
  out.ie_eff = effective_equipment_impairment(p.ie, p.bpl, p.ppl, p.burst_r);
  out.a = p.a;
  out.r = std::clamp(out.ro - out.is - out.id - out.ie_eff + out.a, 0.0, 100.0);
  out.mos = mos_from_r(out.r);
  return out;
}

}  // namespace sipbox::quality
