// Codec impairment table (ITU-T G.113 Appendix I) and its lookups.
#include <algorithm>
#include <array>
#include <cctype>

#include "quality/quality.h"

namespace sipbox::quality {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// RFC 3551 Table 4 names of the static audio payload types the G.113 table covers.
std::string_view rfc3551_name(std::uint8_t payload_type) {
  switch (payload_type) {
    case 0: return "PCMU";
    case 3: return "GSM";
    case 4: return "G723";
    case 8: return "PCMA";
    case 9: return "G722";
    case 18: return "G729";
    default: return {};
  }
}

}  // namespace

CodecTable CodecTable::g113_defaults() {
  // G.113 Appendix I (Tables I.1 and I.3), as in shared/corpora/emodel/g113.csv. Bpl 25.1
  // is G.711 with PLC (Appendix I of G.711); 4.3 the same codec without concealment.
  CodecTable table;
  table.entries_ = {
      {"PCMU", 0, 0, 25.1, "G.711 mu-law with packet loss concealment"},
      {"PCMU-noplc", 0, 0, 4.3, "G.711 mu-law without packet loss concealment"},
      {"PCMA", 8, 0, 25.1, "G.711 A-law with packet loss concealment"},
      {"PCMA-noplc", 8, 0, 4.3, "G.711 A-law without packet loss concealment"},
      {"G729", 18, 11, 19.0, "G.729A + VAD"},
      {"G723", 4, 15, 16.1, "G.723.1 6.3 kbit/s + VAD"},
      {"GSM-EFR", std::nullopt, 5, 10.0, "GSM-EFR 12.2 kbit/s (dynamic payload type)"},
  };
  return table;
}

Result<CodecTable> CodecTable::from_list(std::vector<CodecImpairment> entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const CodecImpairment& e = entries[i];
    if (e.name.empty() || e.name.size() > 32) return fail("codec name must be 1 to 32 characters: '" + e.name + "'");
    for (char c : e.name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
        return fail("codec name '" + e.name + "' may hold only letters, digits, '_', '.', '-'");
      }
    }
    if (!(e.ie >= 0 && e.ie <= 95)) return fail("codec " + e.name + ": Ie must be within 0..95");
    if (!(e.bpl > 0 && e.bpl <= 100)) return fail("codec " + e.name + ": Bpl must be greater than 0 and at most 100");
    if (e.payload_type && *e.payload_type > 127) return fail("codec " + e.name + ": payload type must be 0..127");
    for (std::size_t j = 0; j < i; ++j) {
      if (iequals(entries[j].name, e.name)) return fail("codec " + e.name + " is listed twice");
    }
  }
  CodecTable table;
  table.entries_ = std::move(entries);
  return table;
}

const CodecImpairment* CodecTable::find(std::string_view name) const {
  for (const CodecImpairment& e : entries_) {
    if (iequals(e.name, name)) return &e;
  }
  // G711U/G711A are what operators type; RFC 3551 and rtpmap say PCMU/PCMA.
  constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kAliases{
      {{"G711U", "PCMU"}, {"G711A", "PCMA"}}};
  for (const auto& [alias, canonical] : kAliases) {
    if (!istarts_with(name, alias)) continue;
    const std::string_view rest = name.substr(alias.size());
    for (const CodecImpairment& e : entries_) {
      if (istarts_with(e.name, canonical) && iequals(std::string_view(e.name).substr(canonical.size()), rest)) return &e;
    }
  }
  return nullptr;
}

const CodecImpairment* CodecTable::find_payload_type(std::uint8_t payload_type) const {
  const CodecImpairment* first = nullptr;
  const std::string_view preferred = rfc3551_name(payload_type);
  for (const CodecImpairment& e : entries_) {
    if (e.payload_type != payload_type) continue;
    if (!preferred.empty() && iequals(e.name, preferred)) return &e;
    if (first == nullptr) first = &e;
  }
  return first;
}

const CodecImpairment* CodecTable::find_stream_codec(std::string_view encoding_name,
                                                     std::uint8_t payload_type) const {
  if (!encoding_name.empty()) {
    if (const CodecImpairment* e = find(encoding_name)) return e;
  }
  return find_payload_type(payload_type);
}

std::string CodecTable::names() const {
  std::string out;
  for (const CodecImpairment& e : entries_) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

}  // namespace sipbox::quality
