// SDP parsing (RFC 8866 5 and 9) and canonical serialization. Typed attribute access is
// in sdp_attributes.cpp.
#include "sip/sdp.h"

#include <algorithm>
#include <array>

#include "sip/lexer.h"
#include "sip/uri.h"

namespace sipbox::sip {

namespace {

using lexer::is_digit;

// RFC 8866 9: token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
constexpr bool is_sdp_token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D || u == 0x2E ||
         (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) || (u >= 0x5E && u <= 0x7E);
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_sdp_token_char); }

// non-ws-string = 1*(VCHAR / %x80-FF)
bool is_non_ws(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7F;
  });
}

bool is_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

bool parse_number(std::string_view s, std::uint64_t& out) { return lexer::parse_decimal(s, out); }

// Fields of a structured line, split at runs of spaces (RFC 8866 says one space; some
// user agents send more, or a trailing one).
std::string join(const std::vector<std::string_view>& fields, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < fields.size(); ++i) {
    if (i > from) out += ' ';
    out.append(fields[i]);
  }
  return out;
}

// typed-time = 1*DIGIT [fixed-len-time-unit]
bool is_typed_time(std::string_view s) {
  if (!s.empty() && (s.back() == 'd' || s.back() == 'h' || s.back() == 'm' || s.back() == 's')) s.remove_suffix(1);
  return is_digits(s) && s.size() <= 10;
}

bool valid_ipv4(std::string_view s) { return classify_host(s) == HostKind::IPv4; }

bool valid_ip4_field(std::string_view s) { return classify_host(s) != HostKind::None; }

bool valid_ip6_field(std::string_view s) {
  if (s.find(':') == std::string_view::npos) return classify_host(s) == HostKind::Name;
  return classify_host("[" + std::string(s) + "]") == HostKind::IPv6;
}

// RFC 8866 5.7: IP4 <addr>[/<ttl>[/<count>]], IP6 <addr>[/<count>]; other address types
// are kept as written.
Result<SdpConnection> parse_connection(std::string_view value) {
  const auto f = lexer::split_on_spaces(value);
  if (f.size() != 3) return fail("c= line needs 3 fields");
  SdpConnection c;
  if (!is_token(f[0]) || !is_token(f[1])) return fail("c= line has a bad network or address type");
  c.net_type = f[0];
  c.addr_type = f[1];
  if (c.net_type != "IN" || (c.addr_type != "IP4" && c.addr_type != "IP6")) {
    if (!is_non_ws(f[2])) return fail("c= line has a bad address");
    c.address = f[2];
    return c;
  }
  std::vector<std::string_view> parts;
  std::string_view rest = f[2];
  for (std::size_t slash; (slash = rest.find('/')) != std::string_view::npos; rest.remove_prefix(slash + 1))
    parts.push_back(rest.substr(0, slash));
  parts.push_back(rest);
  const bool ip4 = c.addr_type == "IP4";
  if (parts.size() > (ip4 ? 3u : 2u)) return fail("c= line has too many '/' suffixes");
  if (!(ip4 ? valid_ip4_field(parts[0]) : valid_ip6_field(parts[0]))) return fail("c= line has a bad address");
  c.address = parts[0];
  std::uint64_t n = 0;
  if (ip4 && parts.size() >= 2) {
    if (!parse_number(parts[1], n) || n > 255) return fail("c= line has a bad TTL");
    c.ttl = static_cast<std::uint32_t>(n);
  }
  if (parts.size() == (ip4 ? 3u : 2u)) {
    if (!parse_number(parts.back(), n) || n == 0 || n > 0xFFFFFFFFu) return fail("c= line has a bad address count");
    c.count = static_cast<std::uint32_t>(n);
  }
  return c;
}

Result<SdpOrigin> parse_origin(std::string_view value) {
  const auto f = lexer::split_on_spaces(value);
  if (f.size() != 6) return fail("o= line needs 6 fields");
  if (!is_non_ws(f[0])) return fail("o= line has a bad username");
  if (!is_digits(f[1])) return fail("o= line has a bad session id");
  if (!is_digits(f[2])) return fail("o= line has a bad session version");
  if (!is_token(f[3]) || !is_token(f[4])) return fail("o= line has a bad network or address type");
  if (!is_non_ws(f[5])) return fail("o= line has a bad address");
  return SdpOrigin{std::string(f[0]), std::string(f[1]), std::string(f[2]),
                   std::string(f[3]), std::string(f[4]), std::string(f[5])};
}

Result<SdpBandwidth> parse_bandwidth(std::string_view value) {
  const auto f = lexer::split_on_spaces(value);
  if (f.size() != 1) return fail("b= line must be <type>:<bandwidth>");
  const auto colon = f[0].find(':');
  if (colon == std::string_view::npos || !is_token(f[0].substr(0, colon))) return fail("b= line has a bad type");
  SdpBandwidth b{std::string(f[0].substr(0, colon)), 0};
  if (!parse_number(f[0].substr(colon + 1), b.value)) return fail("b= line has a bad bandwidth");
  return b;
}

Result<SdpTiming> parse_timing(std::string_view value) {
  const auto f = lexer::split_on_spaces(value);
  if (f.size() != 2) return fail("t= line needs a start and a stop time");
  SdpTiming t;
  if (!parse_number(f[0], t.start)) return fail("t= line has a bad start time");
  if (!parse_number(f[1], t.stop)) return fail("t= line has a bad stop time");
  return t;
}

// m=<media> <port>[/<count>] <proto> <fmt> ...
Result<SdpMedia> parse_media_line(std::string_view value) {
  const auto f = lexer::split_on_spaces(value);
  if (f.size() < 4) return fail("m= line needs media, port, protocol and formats");
  SdpMedia m;
  if (!is_token(f[0])) return fail("m= line has a bad media type");
  m.media = f[0];
  std::string_view port = f[1];
  std::uint64_t n = 0;
  if (const auto slash = port.find('/'); slash != std::string_view::npos) {
    if (!parse_number(port.substr(slash + 1), n) || n == 0 || n > 65535) return fail("m= line has a bad port count");
    m.port_count = static_cast<std::uint32_t>(n);
    port = port.substr(0, slash);
  }
  if (!parse_number(port, n) || n > 65535) return fail("m= line has a bad port");
  m.port = static_cast<std::uint16_t>(n);
  // proto = token *("/" token)
  for (std::string_view rest = f[2];;) {
    const auto slash = rest.find('/');
    if (!is_token(rest.substr(0, slash))) return fail("m= line has a bad protocol");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  m.proto = f[2];
  const bool rtp = m.is_rtp();
  for (std::size_t i = 3; i < f.size(); ++i) {
    // RFC 3551 3: RTP payload types are 0-127 (7 bits in the RTP header).
    if (rtp ? (!parse_number(f[i], n) || f[i].size() > 3 || n > 127) : !is_token(f[i]))
      return fail("m= line has a bad " + std::string(rtp ? "payload type" : "format") + " '" + std::string(f[i]) + "'");
    m.formats.emplace_back(f[i]);
  }
  return m;
}

Result<SdpAttribute> parse_attribute(std::string_view value) {
  const auto colon = value.find(':');
  SdpAttribute a;
  a.name = value.substr(0, colon);
  if (a.name.empty()) return fail("a= line has no attribute name");
  if (!is_token(a.name)) return fail("a= line has a bad attribute name");
  if (colon != std::string_view::npos) {
    a.value = value.substr(colon + 1);
    a.has_value = true;
  }
  return a;
}

std::string at_line(std::size_t number, std::string_view why) {
  return "line " + std::to_string(number) + ": " + std::string(why);
}

// Builds the description line by line; see the header for what is liberal and strict.
class SdpParser {
 public:
  Result<SessionDescription> run(std::string_view text);

 private:
  Status session_line(char type, std::string_view value);
  Status media_line(char type, std::string_view value);

  SessionDescription sdp_;
  bool seen_o_ = false;
  bool seen_s_ = false;
  bool seen_t_ = false;
  bool media_has_i_ = false;
  bool media_has_k_ = false;
  std::vector<std::size_t> media_lines_;
};

template <class T>
Status assign(Result<T> parsed, T& target) {
  if (!parsed) return Unexpected<Error>{parsed.error()};
  target = std::move(*parsed);
  return {};
}

template <class T>
Status append(Result<T> parsed, std::vector<T>& target) {
  if (!parsed) return Unexpected<Error>{parsed.error()};
  target.push_back(std::move(*parsed));
  return {};
}

Status once(bool& seen, char type) {
  if (seen) return fail(std::string("second ") + type + "= line");
  seen = true;
  return {};
}

Status SdpParser::session_line(char type, std::string_view value) {
  switch (type) {
    case 'v':
      return fail("v= may only be the first line");
    case 'o':
      if (Status s = once(seen_o_, type); !s) return s;
      return assign(parse_origin(value), sdp_.origin);
    case 's':
      if (Status s = once(seen_s_, type); !s) return s;
      sdp_.session_name = value;
      return {};
    case 'i':
    case 'u':
    case 'k': {
      auto& field = type == 'i' ? sdp_.information : type == 'u' ? sdp_.uri : sdp_.key;
      if (field) return fail(std::string("second ") + type + "= line");
      field = std::string(value);
      return {};
    }
    case 'e':
      sdp_.emails.emplace_back(value);
      return {};
    case 'p':
      sdp_.phones.emplace_back(value);
      return {};
    case 'c': {
      if (sdp_.connection) return fail("second c= line at session level");
      auto c = parse_connection(value);
      if (!c) return Unexpected<Error>{c.error()};
      sdp_.connection = std::move(*c);
      return {};
    }
    case 'b':
      return append(parse_bandwidth(value), sdp_.bandwidths);
    case 't':
      if (!seen_t_) sdp_.timings.clear();
      seen_t_ = true;
      return append(parse_timing(value), sdp_.timings);
    case 'r': {
      if (!seen_t_) return fail("r= line before any t= line");
      const auto f = lexer::split_on_spaces(value);
      if (f.size() < 3 || !std::all_of(f.begin(), f.end(), is_typed_time)) return fail("r= line has bad times");
      sdp_.timings.back().repeats.push_back(join(f));
      return {};
    }
    case 'z': {
      if (!seen_t_) return fail("z= line before any t= line");
      if (sdp_.timings.back().zone) return fail("second z= line for one t= line");
      const auto f = lexer::split_on_spaces(value);
      bool ok = !f.empty() && f.size() % 2 == 0;
      for (std::size_t i = 0; ok && i < f.size(); i += 2) {
        const std::string_view offset = f[i + 1].starts_with('-') ? f[i + 1].substr(1) : f[i + 1];
        ok = is_digits(f[i]) && f[i].size() <= 10 && is_typed_time(offset);
      }
      if (!ok) return fail("z= line has bad adjustments");
      sdp_.timings.back().zone = join(f);
      return {};
    }
    case 'a':
      return append(parse_attribute(value), sdp_.attributes);
    default:
      return fail(std::string("unknown line type '") + type + "='");
  }
}

Status SdpParser::media_line(char type, std::string_view value) {
  SdpMedia& m = sdp_.media.back();
  switch (type) {
    case 'i':
    case 'k': {
      bool& seen = type == 'i' ? media_has_i_ : media_has_k_;
      if (Status s = once(seen, type); !s) return s;
      (type == 'i' ? m.information : m.key) = std::string(value);
      return {};
    }
    case 'c':
      return append(parse_connection(value), m.connections);
    case 'b':
      return append(parse_bandwidth(value), m.bandwidths);
    case 'a':
      return append(parse_attribute(value), m.attributes);
    case 'v':
    case 'o':
    case 's':
    case 'u':
    case 'e':
    case 'p':
    case 't':
    case 'r':
    case 'z':
      return fail(std::string(1, type) + "= line is not allowed in a media description");
    default:
      return session_line(type, value);  // reports the unknown type
  }
}

Result<SessionDescription> SdpParser::run(std::string_view text) {
  // Split into lines (CRLF or LF); empty lines at the end are tolerated.
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return fail("empty session description");

  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t number = i + 1;
    const std::string_view line = lines[i];
    if (number == 1) {
      if (!line.starts_with("v=")) return fail(at_line(number, "a session description must start with v=0"));
      if (line != "v=0")
        return fail(at_line(number, "unsupported SDP version '" + std::string(line.substr(2, 16)) + "'"));
      continue;
    }
    if (line.empty()) return fail(at_line(number, "empty line"));
    if (line.size() < 2 || line[1] != '=')
      return fail(at_line(number, line.find('=') == std::string_view::npos
                                      ? "line has no '='"
                                      : "expected '=' right after the type letter"));
    const char type = line[0];
    const std::string_view value = line.substr(2);
    // RFC 8866 9: text and byte-string exclude NUL, CR and LF.
    if (value.find('\r') != std::string_view::npos) return fail(at_line(number, "stray CR inside the line"));
    if (value.find('\0') != std::string_view::npos) return fail(at_line(number, "NUL inside the line"));
    if (type < 'a' || type > 'z')
      return fail(at_line(number, "bad type letter (RFC 8866 5: a type is one lower-case letter)"));
    Status status;
    if (type == 'm') {
      auto m = parse_media_line(value);
      if (!m) return fail(at_line(number, m.error().message));
      sdp_.media.push_back(std::move(*m));
      media_lines_.push_back(number);
      media_has_i_ = media_has_k_ = false;
    } else {
      status = sdp_.media.empty() ? session_line(type, value) : media_line(type, value);
    }
    if (!status) return fail(at_line(number, status.error().message));
  }

  if (!seen_o_) return fail("missing o= line");
  if (!seen_s_) return fail("missing s= line");
  if (!seen_t_) return fail("missing t= line");
  // RFC 8866 5.7: a c= in every media description or one at session level. A rejected
  // stream (port 0) may lack it; it carries no media.
  for (std::size_t i = 0; i < sdp_.media.size(); ++i)
    if (!sdp_.connection && sdp_.media[i].connections.empty() && sdp_.media[i].port != 0)
      return fail(at_line(media_lines_[i], "m= line has no c= line and there is no session-level c= line"));
  return std::move(sdp_);
}

}  // namespace

Result<SessionDescription> parse_sdp(std::string_view text) { return SdpParser().run(text); }

Result<SdpConnection> parse_sdp_connection(std::string_view text) { return parse_connection(text); }

void SdpOrigin::increment_version() {
  if (!is_digits(session_version)) {
    session_version = "1";
    return;
  }
  for (auto it = session_version.rbegin(); it != session_version.rend(); ++it) {
    if (*it != '9') {
      ++*it;
      return;
    }
    *it = '0';
  }
  session_version.insert(session_version.begin(), '1');
}

bool SdpConnection::is_multicast() const {
  if (addr_type == "IP6")
    return address.find(':') != std::string::npos && lexer::iequals(std::string_view(address).substr(0, 2), "ff");
  if (addr_type != "IP4" || !valid_ipv4(address)) return false;
  std::uint64_t first = 0;
  return parse_number(std::string_view(address).substr(0, address.find('.')), first) && first >= 224 && first <= 239;
}

const SdpConnection* SessionDescription::connection_for(const SdpMedia& m) const {
  if (!m.connections.empty()) return &m.connections.front();
  return connection ? &*connection : nullptr;
}

SdpConnection* SessionDescription::connection_for(SdpMedia& m) {
  if (!m.connections.empty()) return &m.connections.front();
  return connection ? &*connection : nullptr;
}

SdpDirection SessionDescription::direction(const SdpMedia& m) const {
  return m.own_direction().value_or(own_direction().value_or(SdpDirection::SendRecv));
}

namespace {

void put(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out.append(value);
  out += "\r\n";
}

std::string connection_text(const SdpConnection& c) {
  std::string s = c.net_type + " " + c.addr_type + " " + c.address;
  if (c.ttl) s += "/" + std::to_string(*c.ttl);
  if (c.count) s += "/" + std::to_string(*c.count);
  return s;
}

void put_common(std::string& out, const std::vector<SdpBandwidth>& bandwidths) {
  for (const SdpBandwidth& b : bandwidths) put(out, 'b', b.type + ":" + std::to_string(b.value));
}

void put_attributes(std::string& out, const std::optional<std::string>& key, const SdpAttributes& attrs) {
  if (key) put(out, 'k', *key);
  for (const SdpAttribute& a : attrs.attributes) put(out, 'a', a.has_value ? a.name + ":" + a.value : a.name);
}

}  // namespace

std::string serialize_sdp(const SessionDescription& sdp) {
  std::string out;
  out.reserve(512);
  put(out, 'v', "0");
  const SdpOrigin& o = sdp.origin;
  put(out, 'o',
      o.username + " " + o.session_id + " " + o.session_version + " " + o.net_type + " " + o.addr_type + " " +
          o.address);
  put(out, 's', sdp.session_name);
  if (sdp.information) put(out, 'i', *sdp.information);
  if (sdp.uri) put(out, 'u', *sdp.uri);
  for (const std::string& e : sdp.emails) put(out, 'e', e);
  for (const std::string& p : sdp.phones) put(out, 'p', p);
  if (sdp.connection) put(out, 'c', connection_text(*sdp.connection));
  put_common(out, sdp.bandwidths);
  for (const SdpTiming& t : sdp.timings) {
    put(out, 't', std::to_string(t.start) + " " + std::to_string(t.stop));
    for (const std::string& r : t.repeats) put(out, 'r', r);
    if (t.zone) put(out, 'z', *t.zone);
  }
  put_attributes(out, sdp.key, sdp);
  for (const SdpMedia& m : sdp.media) {
    std::string line = m.media + " " + std::to_string(m.port);
    if (m.port_count) line += "/" + std::to_string(*m.port_count);
    line += " " + m.proto;
    for (const std::string& f : m.formats) line += " " + f;
    put(out, 'm', line);
    if (m.information) put(out, 'i', *m.information);
    for (const SdpConnection& c : m.connections) put(out, 'c', connection_text(c));
    put_common(out, m.bandwidths);
    put_attributes(out, m.key, m);
  }
  return out;
}

}  // namespace sipbox::sip
