#include "sip/uri.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "sip/lexer.h"

namespace sipbox::sip {
namespace {

using lexer::Cursor;

// Consumes 1*(allowed / escaped); an escape must be "%" HEXDIG HEXDIG.
bool take_escaped(Cursor& c, std::uint16_t allowed, std::string_view& out, bool allow_empty = false) {
  const char* start = c.p;
  while (!c.done()) {
    const char ch = *c.p;
    if (ch == '%') {
      if (c.end - c.p < 3 || lexer::hex_value(c.p[1]) < 0 || lexer::hex_value(c.p[2]) < 0) return false;
      c.p += 3;
    } else if (lexer::is(ch, allowed)) {
      ++c.p;
    } else {
      break;
    }
  }
  out = {start, static_cast<std::size_t>(c.p - start)};
  return allow_empty || !out.empty();
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = i;
    unsigned value = 0;
    while (j < s.size() && lexer::is_digit(s[j]) && j - i < 3) value = value * 10 + static_cast<unsigned>(s[j++] - '0');
    if (j == i || value > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.') return false;
    i = j + 1;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view s) {
  if (s.size() >= INET6_ADDRSTRLEN) return false;
  std::array<char, INET6_ADDRSTRLEN> buf{};
  std::memcpy(buf.data(), s.data(), s.size());
  unsigned char addr[16];
  return inet_pton(AF_INET6, buf.data(), addr) == 1;
}

bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  // Labels of alphanumerics and hyphens; '_' is tolerated as deployed DNS names use it.
  char prev = '.';
  for (char ch : s) {
    if (ch == '.') {
      if (prev == '.') return false;
    } else if (!(lexer::is(ch, lexer::kAlnum) || ch == '-' || ch == '_')) {
      return false;
    }
    prev = ch;
  }
  return s.front() != '-';
}

Status parse_sip(std::string_view rest, Uri& uri) {
  Cursor c(rest);
  if (rest.find('@') != std::string_view::npos) {
    if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kUserUnreserved, uri.user))
      return fail("bad user part in URI");
    uri.has_user = true;
    if (c.consume(':')) {
      if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kPasswordExtra, uri.password, true))
        return fail("bad password in URI");
      uri.has_password = true;
    }
    if (!c.consume('@')) return fail("bad user part in URI");
  }
  const char* host_start = c.p;
  if (c.consume('[')) {
    c.take_while([](char ch) { return ch != ']'; });
    if (!c.consume(']')) return fail("unterminated IPv6 reference in URI");
  } else {
    c.take_while([](char ch) { return lexer::is(ch, lexer::kAlnum) || ch == '-' || ch == '.' || ch == '_'; });
  }
  uri.host = {host_start, static_cast<std::size_t>(c.p - host_start)};
  uri.host_kind = classify_host(uri.host);
  if (uri.host_kind == HostKind::None) return fail("bad host in URI");
  if (c.consume(':')) {
    std::uint64_t port = 0;
    if (!lexer::parse_decimal(c.take_while(lexer::is_digit), port) || port > 65535 || port == 0)
      return fail("bad port in URI");
    uri.port = static_cast<std::uint16_t>(port);
  }
  const char* params_start = c.p;
  while (c.consume(';')) {
    std::string_view name;
    std::string_view value;
    if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kParamUnreserved, name))
      return fail("bad parameter in URI");
    if (c.consume('=') && !take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kParamUnreserved, value))
      return fail("bad parameter value in URI");
  }
  uri.params = Params(std::string_view(params_start, static_cast<std::size_t>(c.p - params_start)));
  if (c.consume('?')) {
    const char* headers_start = c.p;
    do {
      std::string_view name;
      std::string_view value;
      if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kHnvUnreserved, name) || !c.consume('='))
        return fail("bad header in URI");
      if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kHnvUnreserved, value, true))
        return fail("bad header value in URI");
    } while (c.consume('&'));
    uri.headers = {headers_start, static_cast<std::size_t>(c.p - headers_start)};
  }
  if (!c.done()) return fail("unexpected character in URI");
  return {};
}

// RFC 3966: tel:+1-201-555-0123;ext=1234;phone-context=example.com
Status parse_tel(std::string_view rest, Uri& uri) {
  Cursor c(rest);
  uri.user = c.take_while([](char ch) {
    return lexer::is(ch, lexer::kHex) || ch == '+' || ch == '*' || ch == '#' || ch == '-' || ch == '.' || ch == '(' ||
           ch == ')';
  });
  if (uri.user.empty()) return fail("bad tel URI number");
  uri.has_user = true;
  const char* params_start = c.p;
  while (c.consume(';')) {
    std::string_view name;
    std::string_view value;
    if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kParamUnreserved, name))
      return fail("bad parameter in tel URI");
    if (c.consume('=') && !take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kParamUnreserved, value))
      return fail("bad parameter value in tel URI");
  }
  uri.params = Params(std::string_view(params_start, static_cast<std::size_t>(c.p - params_start)));
  if (!c.done()) return fail("unexpected character in tel URI");
  return {};
}

// RFC 2396 absoluteURI: any reserved, unreserved or escaped octets (plus IPv6 brackets).
Status parse_other(std::string_view rest, Uri& uri) {
  Cursor c(rest);
  std::string_view body;
  if (!take_escaped(c, lexer::kAlnum | lexer::kMark | lexer::kReserved | lexer::kParamUnreserved, body) || !c.done())
    return fail("bad character in URI");
  uri.opaque = body;
  return {};
}

std::string_view strip_visual_separators(std::string_view s, std::string& buf) {
  buf.clear();
  for (char ch : s)
    if (ch != '-' && ch != '.' && ch != '(' && ch != ')') buf.push_back(lexer::to_lower(ch));
  return buf;
}

bool equal_unescaped(std::string_view a, std::string_view b, bool ignore_case) {
  const std::string ua = unescape(a);
  const std::string ub = unescape(b);
  return ignore_case ? lexer::iequals(ua, ub) : ua == ub;
}

bool hosts_equal(const Uri& a, const Uri& b) {
  if (a.host_kind == HostKind::IPv6 && b.host_kind == HostKind::IPv6) {
    unsigned char x[16];
    unsigned char y[16];
    const std::string sa(a.host_address());
    const std::string sb(b.host_address());
    return inet_pton(AF_INET6, sa.c_str(), x) == 1 && inet_pton(AF_INET6, sb.c_str(), y) == 1 &&
           std::memcmp(x, y, 16) == 0;
  }
  return lexer::iequals(a.host, b.host);
}

// 19.1.4: user, ttl, method, maddr and transport must match when either side has them;
// any other parameter only when both have it.
bool params_equal(const Params& a, const Params& b) {
  static constexpr std::array<std::string_view, 5> kSignificant{"user", "ttl", "method", "maddr", "transport"};
  for (std::string_view name : kSignificant) {
    const auto pa = a.find(name);
    const auto pb = b.find(name);
    if (pa.has_value() != pb.has_value()) return false;
    if (pa && !equal_unescaped(pa->value, pb->value, true)) return false;
  }
  for (const Param& pa : a) {
    const std::string name = unescape(pa.name);
    // A repeated name counts once, as find() sees it.
    if (a.find(name)->name.data() != pa.name.data()) continue;
    const auto pb = b.find(name);
    if (pb && !equal_unescaped(pa.value, pb->value, true)) return false;
  }
  return true;
}

// 19.1.4: every header must appear in both, with equal values.
bool headers_equal(std::string_view a, std::string_view b) {
  const Params ha(a, '&');
  const Params hb(b, '&');
  std::size_t count_a = 0;
  std::size_t count_b = 0;
  for (const Param& p : ha) {
    ++count_a;
    const auto q = hb.find(unescape(p.name));
    if (!q || !equal_unescaped(p.value, q->value, false)) return false;
  }
  for ([[maybe_unused]] const Param& p : hb) ++count_b;
  return count_a == count_b;
}

}  // namespace

HostKind classify_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return valid_ipv6(host.substr(1, host.size() - 2)) ? HostKind::IPv6 : HostKind::None;
  if (!host.empty() && std::all_of(host.begin(), host.end(), [](char ch) { return lexer::is_digit(ch) || ch == '.'; }))
    return valid_ipv4(host) ? HostKind::IPv4 : HostKind::None;
  return valid_hostname(host) ? HostKind::Name : HostKind::None;
}

std::string_view Uri::host_address() const {
  if (host_kind == HostKind::IPv6) return host.substr(1, host.size() - 2);
  return host;
}

Result<Uri> parse_uri(std::string_view text) {
  Uri uri;
  uri.text = text;
  Cursor c(text);
  if (!lexer::is_alpha(c.peek())) return fail("URI has no scheme");
  uri.scheme = c.take_while([](char ch) { return lexer::is(ch, lexer::kAlnum) || ch == '+' || ch == '-' || ch == '.'; });
  if (!c.consume(':')) return fail("URI has no scheme");
  const std::string_view rest = c.rest();
  if (rest.empty()) return fail("URI is empty after its scheme");
  Status status;
  if (lexer::iequals(uri.scheme, "sip") || lexer::iequals(uri.scheme, "sips")) {
    uri.kind = lexer::iequals(uri.scheme, "sip") ? UriScheme::Sip : UriScheme::Sips;
    status = parse_sip(rest, uri);
  } else if (lexer::iequals(uri.scheme, "tel")) {
    uri.kind = UriScheme::Tel;
    status = parse_tel(rest, uri);
  } else {
    status = parse_other(rest, uri);
  }
  if (!status) return Unexpected<Error>{status.error()};
  return uri;
}

bool uri_equivalent(const Uri& a, const Uri& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case UriScheme::Sip:
    case UriScheme::Sips:
      return a.has_user == b.has_user && equal_unescaped(a.user, b.user, false) &&
             a.has_password == b.has_password && equal_unescaped(a.password, b.password, false) && hosts_equal(a, b) &&
             a.port == b.port && params_equal(a.params, b.params) && headers_equal(a.headers, b.headers);
    case UriScheme::Tel: {
      std::string x;
      std::string y;
      if (strip_visual_separators(a.user, x) != strip_visual_separators(b.user, y)) return false;
      std::size_t count_a = 0;
      std::size_t count_b = 0;
      for (const Param& p : a.params) {
        ++count_a;
        const auto q = b.params.find(p.name);
        if (!q || !equal_unescaped(p.value, q->value, true)) return false;
      }
      for ([[maybe_unused]] const Param& p : b.params) ++count_b;
      return count_a == count_b;
    }
    case UriScheme::Other:
      return lexer::iequals(a.scheme, b.scheme) && a.opaque == b.opaque;
  }
  return false;
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && lexer::hex_value(text[i + 1]) >= 0 &&
        lexer::hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(lexer::hex_value(text[i + 1]) * 16 + lexer::hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string escape_user(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (lexer::is(ch, lexer::kAlnum | lexer::kMark | lexer::kUserUnreserved)) {
      out.push_back(ch);
    } else {
      const auto byte = static_cast<unsigned char>(ch);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0f]);
    }
  }
  return out;
}

}  // namespace sipbox::sip
