// The E-model of ITU-T G.107: transmission rating R and MOS from codec, packet loss,
// loss burstiness and one-way delay. Two forms:
//  - the simplified form of the BESIP papers (R = 93.3552 - Id - Ie,eff with a
//    piecewise-linear Id), which sipbox uses for its quality records, and
//  - the full G.107 computation (Ro, Is, Idte/Idle/Idd, Ie,eff, A) with its default
//    parameters, for comparison and for operators who want the reference model.
// Codec impairments (Ie, Bpl) come from ITU-T G.113 Appendix I. docs/quality.md states
// every choice made here (delay estimate, clamps, how one delay feeds T, Ta and Tr).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sipbox::quality {

// ---------------------------------------------------------------- codec impairments

// One codec's impairment parameters (G.113 Appendix I; yang: media/monitoring/codec).
struct CodecImpairment {
  std::string name;                          // rtpmap encoding name or a variant (PCMU-noplc)
  std::optional<std::uint8_t> payload_type;  // static RTP payload type (RFC 3551), if any
  double ie = 0;                             // equipment impairment factor, 0..95
  double bpl = 1;                            // packet-loss robustness factor, > 0
  std::string description;
};

// The codec list the E-model looks codecs up in. Built from the G.113 defaults or from
// the configuration's list (which replaces the defaults entirely).
class CodecTable {
 public:
  // PCMU/PCMA with and without PLC, G729, G723, GSM-EFR (G.113 Appendix I).
  static CodecTable g113_defaults();
  // Validates what YANG validates too (names 1..32 characters, unique ignoring case;
  // Ie 0..95; Bpl > 0), so a table built in code is as sound as a configured one.
  static Result<CodecTable> from_list(std::vector<CodecImpairment> entries);

  // Case-insensitive; "G711U"/"G711A" (and their "-noplc" variants) name PCMU/PCMA.
  const CodecImpairment* find(std::string_view name) const;
  // Among entries sharing a payload type, the one named as RFC 3551 names that type
  // wins (PCMU over PCMU-noplc for 0); otherwise the first listed.
  const CodecImpairment* find_payload_type(std::uint8_t payload_type) const;
  // A stream's codec: by rtpmap encoding name when there is one, else by payload type.
  const CodecImpairment* find_stream_codec(std::string_view encoding_name, std::uint8_t payload_type) const;

  const std::vector<CodecImpairment>& entries() const& { return entries_; }
  // On a temporary (`for (auto& c : CodecTable::g113_defaults().entries())`) the list is
  // moved out, so the loop does not run over a destroyed table.
  std::vector<CodecImpairment> entries() && { return std::move(entries_); }
  // "PCMU, PCMU-noplc, ..." for error messages.
  std::string names() const;

 private:
  std::vector<CodecImpairment> entries_;
};

// ---------------------------------------------------------------- E-model inputs

// What the E-model needs to know about a stream.
struct Conditions {
  double ie = 0;            // codec Ie
  double bpl = 25.1;        // codec Bpl
  double loss_percent = 0;  // Ppl, packet-loss probability in percent (0..100)
  double burst_ratio = 1;   // BurstR: 1 for random loss, > 1 for bursty loss
  double delay_ms = 0;      // T, mean one-way (mouth-to-ear) delay in milliseconds
};

Conditions conditions_for(const CodecImpairment& codec, double loss_percent, double burst_ratio, double delay_ms);

// The parts of R, for display and for the quality records.
struct Rating {
  double ro = 0;      // basic signal-to-noise ratio Ro
  double is = 0;      // simultaneous impairment factor Is
  double id = 0;      // delay impairment Id (= Idte + Idle + Idd in the full model)
  double idte = 0;    // talker echo (full model only)
  double idle = 0;    // listener echo (full model only)
  double idd = 0;     // absolute delay (full model only)
  double ie_eff = 0;  // effective equipment impairment
  double a = 0;       // advantage factor
  double r = 0;       // transmission rating, clamped to 0..100
  double mos = 1;     // estimated conversational MOS (MOS-CQE), 1..4.5
};

// ---------------------------------------------------------------- shared formulas

// Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)  (G.107 3.5; Ppl in percent).
double effective_equipment_impairment(double ie, double bpl, double loss_percent, double burst_ratio);

// G.107 Annex B as the issue states it: 1 below R 6.5 (where the cubic meets 1),
// 4.5 above 100, else 1 + 0.035 R + R (R - 60)(100 - R) 7e-6.
double mos_from_r(double r);

// ---------------------------------------------------------------- simplified form

// The BESIP constants: Ro and Is of G.107 with default parameters.
inline constexpr double kSimplifiedRo = 94.7688;
inline constexpr double kSimplifiedIs = 1.4136;
// Where the two straight lines of the simplified Id meet the knee (ms).
inline constexpr double kDelayKneeMs = 175;

// Id = 0.0267 T for T < 175 ms, else 0.1194 T - 15.876 (T clamped at 0).
double simplified_delay_impairment(double delay_ms);

// R = 94.7688 - 1.4136 - Id - Ie,eff, clamped to 0..100; MOS from R.
Rating simplified_rating(const Conditions& conditions);

// ---------------------------------------------------------------- full G.107

// Every input parameter of G.107 (2015 edition, clause 3.7 / Table 3), at its default.
struct G107Parameters {
  double slr = 8;      // send loudness rating, dB
  double rlr = 2;      // receive loudness rating, dB
  double stmr = 15;    // sidetone masking rating, dB
  double lstr = 18;    // listener sidetone rating, dB
  double ds = 3;       // D-value of telephone, send side
  double dr = 3;       // D-value of telephone, receive side
  double telr = 65;    // talker echo loudness rating, dB
  double wepl = 110;   // weighted echo path loss, dB
  double t = 0;        // mean one-way delay of the echo path, ms
  double tr = 0;       // round-trip delay in a 4-wire loop, ms
  double ta = 0;       // absolute delay in echo-free connections, ms
  double qdu = 1;      // number of quantization distortion units
  double ie = 0;       // equipment impairment factor
  double bpl = 4.3;    // packet-loss robustness factor (G.711 without PLC)
  double ppl = 0;      // random packet-loss probability, %
  double burst_r = 1;  // burst ratio
  double nc = -70;     // circuit noise referred to the 0 dBr point, dBm0p
  double nfor = -64;   // noise floor at the receive side, dBmp
  double ps = 35;      // room noise at the send side, dB(A)
  double pr = 35;      // room noise at the receive side, dB(A)
  double a = 0;        // advantage factor
  double mt = 100;     // Idd: delay (ms) below which absolute delay costs nothing
  double st = 1;       // Idd: sensitivity to absolute delay
};

// Defaults with the stream's codec, loss and delay: T = Ta = delay, Tr = 2 delay.
G107Parameters g107_parameters(const Conditions& conditions);

// R = Ro - Is - Id - Ie,eff + A with every factor of G.107 clause 3; MOS from R.
Rating g107_rating(const G107Parameters& parameters);

// ---------------------------------------------------------------- delay estimate

// What sipbox knows about a stream's delay (docs/quality.md "Delay estimate").
struct DelayInputs {
  std::optional<double> rtcp_round_trip_ms;  // from RTCP LSR/DLSR; absent without RTCP
  double packetisation_ms = 20;              // SDP ptime (RFC 3551 default 20 ms)
  double jitter_buffer_ms = 40;              // yang: monitoring/jitter-buffer-ms
};

// T = round trip / 2 + packetisation + jitter-buffer allowance (negative inputs
// count as 0; without RTCP the network part is 0).
double estimate_one_way_delay_ms(const DelayInputs& inputs);

}  // namespace sipbox::quality
