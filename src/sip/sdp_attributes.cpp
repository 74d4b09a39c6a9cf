// Typed access to SDP attributes (RFC 3551 rtpmap, fmtp, ptime, direction, RFC 3605
// rtcp, RFC 5761 rtcp-mux, RFC 4568 crypto) and the attribute edit helpers. The parser
// keeps attribute values as written; they are interpreted here, on demand, and a
// malformed value reads as absent rather than failing the whole description.
#include <algorithm>
#include <array>

#include "sip/lexer.h"
#include "sip/sdp.h"

namespace sipbox::sip {

namespace {

using lexer::is_digit;

bool is_token_text(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), lexer::is_token); }

// Decimal with an optional fraction, greater than zero (RFC 8866 9 non-zero-int-or-real).
std::optional<double> parse_positive_real(std::string_view s) {
  double value = 0;
  double scale = 0;
  bool digit_seen = false;
  for (char c : s) {
    if (c == '.' && scale == 0) {
      scale = 1;
    } else if (is_digit(c)) {
      digit_seen = true;
      if (scale == 0) {
        value = value * 10 + (c - '0');
      } else {
        scale /= 10;
        value += (c - '0') * scale;
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digit_seen || value <= 0 || s.size() > 16) return std::nullopt;
  return value;
}

// RFC 3551 6 static payload types (encoding, clock rate, channels); empty name = unassigned.
struct StaticPayload {
  std::string_view encoding;
  std::uint32_t clock_rate;
  std::uint32_t channels;
};
constexpr std::array<StaticPayload, 35> kStaticPayloads{{
    {"PCMU", 8000, 1},  {"", 0, 0},         {"", 0, 0},         {"GSM", 8000, 1},   {"G723", 8000, 1},
    {"DVI4", 8000, 1},  {"DVI4", 16000, 1}, {"LPC", 8000, 1},   {"PCMA", 8000, 1},  {"G722", 8000, 1},
    {"L16", 44100, 2},  {"L16", 44100, 1},  {"QCELP", 8000, 1}, {"CN", 8000, 1},    {"MPA", 90000, 1},
    {"G728", 8000, 1},  {"DVI4", 11025, 1}, {"DVI4", 22050, 1}, {"G729", 8000, 1},  {"", 0, 0},
    {"", 0, 0},         {"", 0, 0},         {"", 0, 0},         {"", 0, 0},         {"", 0, 0},
    {"CelB", 90000, 1}, {"JPEG", 90000, 1}, {"", 0, 0},         {"nv", 90000, 1},   {"", 0, 0},
    {"", 0, 0},         {"H261", 90000, 1}, {"MPV", 90000, 1},  {"MP2T", 90000, 1}, {"H263", 90000, 1},
}};

// "<pt> <rest>" of rtpmap and fmtp values: the rest when the payload type matches.
std::optional<std::string_view> payload_rest(std::string_view value, unsigned payload_type) {
  const auto space = value.find(' ');
  std::uint64_t pt = 0;
  if (!lexer::parse_decimal(value.substr(0, space), pt) || pt != payload_type) return std::nullopt;
  if (space == std::string_view::npos) return std::string_view{};
  value.remove_prefix(space);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

constexpr std::array<std::string_view, 4> kDirections{"sendrecv", "sendonly", "recvonly", "inactive"};

}  // namespace

std::string_view to_string(SdpDirection direction) { return kDirections[static_cast<std::size_t>(direction)]; }

const SdpAttribute* SdpAttributes::attribute(std::string_view name) const {
  for (const SdpAttribute& a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<const SdpAttribute*> SdpAttributes::attributes_named(std::string_view name) const {
  std::vector<const SdpAttribute*> out;
  for (const SdpAttribute& a : attributes)
    if (a.name == name) out.push_back(&a);
  return out;
}

void SdpAttributes::set_attribute(std::string_view name, std::string_view value) {
  const auto first = std::find_if(attributes.begin(), attributes.end(), [&](const auto& a) { return a.name == name; });
  if (first == attributes.end()) {
    add_attribute(name, value);
    return;
  }
  first->value = value;
  first->has_value = true;
  attributes.erase(std::remove_if(first + 1, attributes.end(), [&](const auto& a) { return a.name == name; }),
                   attributes.end());
}

void SdpAttributes::set_flag(std::string_view name) {
  if (!has_attribute(name)) attributes.push_back(SdpAttribute{std::string(name), {}, false});
}

void SdpAttributes::add_attribute(std::string_view name, std::string_view value) {
  attributes.push_back(SdpAttribute{std::string(name), std::string(value), true});
}

std::size_t SdpAttributes::remove_attributes(std::string_view name) {
  return std::erase_if(attributes, [&](const SdpAttribute& a) { return a.name == name; });
}

std::optional<SdpDirection> SdpAttributes::own_direction() const {
  for (const SdpAttribute& a : attributes)
    for (std::size_t i = 0; i < kDirections.size(); ++i)
      if (a.name == kDirections[i]) return static_cast<SdpDirection>(i);
  return std::nullopt;
}

void SdpAttributes::set_direction(SdpDirection direction) {
  for (std::string_view name : kDirections) remove_attributes(name);
  set_flag(to_string(direction));
}

bool SdpMedia::is_rtp() const {
  // RFC 3551, 3711, 4585, 5124, 5764: RTP/AVP, RTP/SAVP, RTP/AVPF, RTP/SAVPF, with a
  // transport prefix such as UDP/TLS/ or TCP/.
  const auto at = std::string_view(proto).rfind("RTP/");
  if (at == std::string_view::npos) return false;
  const std::string_view profile = std::string_view(proto).substr(at + 4);
  return profile == "AVP" || profile == "SAVP" || profile == "AVPF" || profile == "SAVPF";
}

std::optional<SdpRtpmap> SdpMedia::rtpmap(unsigned payload_type) const {
  for (const SdpAttribute& a : attributes) {
    if (a.name != "rtpmap") continue;
    const auto rest = payload_rest(a.value, payload_type);
    if (!rest) continue;
    // <encoding name>/<clock rate>[/<encoding parameters>]; RFC 4475 shows "LPC" alone.
    SdpRtpmap map;
    map.payload_type = payload_type;
    std::string_view r = *rest;
    while (!r.empty() && r.back() == ' ') r.remove_suffix(1);
    const auto slash = r.find('/');
    map.encoding = r.substr(0, slash);
    if (!is_token_text(map.encoding)) return std::nullopt;
    if (slash != std::string_view::npos) {
      r.remove_prefix(slash + 1);
      const auto slash2 = r.find('/');
      std::uint64_t n = 0;
      if (!lexer::parse_decimal(r.substr(0, slash2), n) || n > 0xFFFFFFFFu) return std::nullopt;
      map.clock_rate = static_cast<std::uint32_t>(n);
      if (slash2 != std::string_view::npos) {
        if (!lexer::parse_decimal(r.substr(slash2 + 1), n) || n == 0 || n > 0xFFFFFFFFu) return std::nullopt;
        map.channels = static_cast<std::uint32_t>(n);
      }
    }
    return map;
  }
  if (payload_type >= kStaticPayloads.size() || kStaticPayloads[payload_type].encoding.empty() || !is_rtp())
    return std::nullopt;
  const bool listed = std::any_of(formats.begin(), formats.end(), [&](const std::string& f) {
    std::uint64_t n = 0;
    return lexer::parse_decimal(f, n) && n == payload_type;
  });
  if (!listed) return std::nullopt;
  const StaticPayload& s = kStaticPayloads[payload_type];
  return SdpRtpmap{payload_type, std::string(s.encoding), s.clock_rate, s.channels};
}

std::optional<std::string_view> SdpMedia::fmtp(unsigned payload_type) const {
  for (const SdpAttribute& a : attributes)
    if (a.name == "fmtp")
      if (auto rest = payload_rest(a.value, payload_type)) return rest;
  return std::nullopt;
}

std::optional<double> SdpMedia::ptime() const {
  const SdpAttribute* a = attribute("ptime");
  return a ? parse_positive_real(a->value) : std::nullopt;
}

std::optional<double> SdpMedia::maxptime() const {
  const SdpAttribute* a = attribute("maxptime");
  return a ? parse_positive_real(a->value) : std::nullopt;
}

std::optional<SdpRtcp> SdpMedia::rtcp() const {
  const SdpAttribute* a = attribute("rtcp");
  if (!a) return std::nullopt;
  std::string_view value = a->value;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  const auto space = value.find(' ');
  std::uint64_t port = 0;
  if (!lexer::parse_decimal(value.substr(0, space), port) || port > 65535) return std::nullopt;
  SdpRtcp rtcp{static_cast<std::uint16_t>(port), {}, {}, {}};
  if (space == std::string_view::npos || value.find_first_not_of(' ', space) == std::string_view::npos) return rtcp;
  // The address is a connection-address (RFC 3605 2.1), so it is checked like c=.
  auto c = parse_sdp_connection(value.substr(space));
  if (!c || c->ttl || c->count) return std::nullopt;
  rtcp.net_type = std::move(c->net_type);
  rtcp.addr_type = std::move(c->addr_type);
  rtcp.address = std::move(c->address);
  return rtcp;
}

void SdpMedia::set_rtcp(const SdpRtcp& rtcp) {
  std::string value = std::to_string(rtcp.port);
  if (!rtcp.address.empty()) value += " " + rtcp.net_type + " " + rtcp.addr_type + " " + rtcp.address;
  set_attribute("rtcp", value);
}

std::vector<SdpCrypto> SdpMedia::crypto() const {
  std::vector<SdpCrypto> out;
  for (const SdpAttribute& a : attributes) {
    if (a.name != "crypto") continue;
    const auto f = lexer::split_on_spaces(a.value);
    std::uint64_t tag = 0;
    // RFC 4568 9.1: tag = 1*9DIGIT; key-params start with a method ("inline:").
    if (f.size() < 3 || f[0].size() > 9 || !lexer::parse_decimal(f[0], tag) || !is_token_text(f[1]) ||
        f[2].find(':') == std::string_view::npos)
      continue;
    SdpCrypto c{static_cast<std::uint32_t>(tag), std::string(f[1]), std::string(f[2]), {}};
    for (std::size_t i = 3; i < f.size(); ++i) c.session_params.emplace_back(f[i]);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace sipbox::sip
