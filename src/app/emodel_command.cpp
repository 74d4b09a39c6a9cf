// sipbox emodel: R and MOS of the ITU-T G.107 E-model for a codec, loss, burst ratio
// and one-way delay (DESIGN.md section 4; formulas in docs/quality.md).
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/commands.h"
#include "quality/quality.h"

namespace sipbox::app {
namespace {

struct Options {
  std::string codec;
  double loss = 0;
  double burst_ratio = 1;
  double delay_ms = 0;
  std::string model = "simplified";
  bool json = false;
};

// Two decimals, as operators compare R and MOS with published tables.
std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

int run(const Options& o) {
  const quality::CodecTable table = quality::CodecTable::g113_defaults();
  const quality::CodecImpairment* codec = table.find(o.codec);
  if (codec == nullptr) {
    std::cerr << "sipbox emodel: unknown codec '" << o.codec << "'; known codecs: " << table.names()
              << " (G711U and G711A name PCMU and PCMA)\n";
    return 1;
  }
  const quality::Conditions conditions = quality::conditions_for(*codec, o.loss, o.burst_ratio, o.delay_ms);
  const bool full = o.model == "g107";
  const quality::Rating rating =
      full ? quality::g107_rating(quality::g107_parameters(conditions)) : quality::simplified_rating(conditions);
  if (o.json) {
    nlohmann::json out{{"model", o.model},          {"codec", codec->name},
                       {"ie", codec->ie},           {"bpl", codec->bpl},
                       {"loss", o.loss},            {"burst_ratio", o.burst_ratio},
                       {"delay_ms", o.delay_ms},    {"ro", rating.ro},
                       {"is", rating.is},           {"id", rating.id},
                       {"ie_eff", rating.ie_eff},   {"r", rating.r},
                       {"mos", rating.mos}};
    if (full) {
      out["idte"] = rating.idte;
      out["idle"] = rating.idle;
      out["idd"] = rating.idd;
      out["a"] = rating.a;
    }
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  std::cout << "codec " << codec->name << "  Ie " << codec->ie << "  Bpl " << codec->bpl << "  loss " << o.loss
            << " %  burst ratio " << o.burst_ratio << "  delay " << o.delay_ms << " ms  model " << o.model << '\n';
  std::cout << "Ro " << fixed2(rating.ro) << "  Is " << fixed2(rating.is) << "  Id " << fixed2(rating.id);
  if (full) {
    std::cout << " (Idte " << fixed2(rating.idte) << "  Idle " << fixed2(rating.idle) << "  Idd " << fixed2(rating.idd)
              << ")";
  }
  std::cout << "  Ie,eff " << fixed2(rating.ie_eff) << '\n';
  std::cout << "R " << fixed2(rating.r) << "  MOS " << fixed2(rating.mos) << '\n';
  return 0;
}

}  // namespace

void add_emodel_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "emodel", "Compute the E-model transmission rating R and MOS (ITU-T G.107) for a codec, packet loss, "
                "burst ratio and one-way delay. Codec Ie/Bpl come from ITU-T G.113 Appendix I.");
  cmd->add_option("--codec", options->codec, "Codec name (PCMU, PCMA, PCMU-noplc, G729, G723, GSM-EFR, G711U, ...)")
      ->required();
  cmd->add_option("--loss", options->loss, "Packet loss in percent (Ppl)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--burst-ratio", options->burst_ratio, "Burst ratio BurstR (1: random loss, > 1: bursty)")
      ->check(CLI::Range(0.01, 1000.0))
      ->capture_default_str();
  cmd->add_option("--delay-ms", options->delay_ms, "Mean one-way (mouth-to-ear) delay T in milliseconds")
      ->check(CLI::Range(0.0, 100000.0))
      ->capture_default_str();
  cmd->add_option("--model", options->model,
                  "simplified: the BESIP form (R = 93.3552 - Id - Ie,eff); g107: the full G.107 computation "
                  "with its default parameters")
      ->check(CLI::IsMember({"simplified", "g107"}))
      ->capture_default_str();
  cmd->add_flag("--json", options->json,
                "Print a JSON object: model, codec, ie, bpl, loss, burst_ratio, delay_ms, ro, is, id, ie_eff, r, mos");
  cmd->callback([options, &exit_code] { exit_code = run(*options); });
}

}  // namespace sipbox::app
