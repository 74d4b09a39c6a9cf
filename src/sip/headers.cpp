#include "sip/headers.h"

#include <array>

#include "sip/lexer.h"

namespace sipbox::sip {
namespace {

using lexer::Cursor;

bool is_host_char(char ch) { return lexer::is(ch, lexer::kAlnum) || ch == '-' || ch == '.' || ch == '_'; }

// host / "[" IPv6 "]"
std::string_view take_host(Cursor& c) {
  const char* start = c.p;
  if (c.consume('[')) {
    c.take_while([](char ch) { return ch != ']'; });
    if (!c.consume(']')) {
      c.p = start;
      return {};
    }
  } else {
    c.take_while(is_host_char);
  }
  return {start, static_cast<std::size_t>(c.p - start)};
}

// *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
// gen-value = token / host / quoted-string. Leaves the cursor after the last one.
// The value of the first parameter named `wanted` (branch, tag) is stored in `found`,
// so that the most used parameter needs no second scan.
Status take_generic_params(Cursor& c, Params& out, std::string_view wanted = {},
                           std::string_view* found = nullptr, char separator = ';') {
  const char* start = c.p;
  bool have_wanted = false;
  while (true) {
    const char* before = c.p;
    c.skip_lws();
    if (c.done()) break;
    if (!c.separator(separator)) {
      c.p = before;
      break;
    }
    const std::string_view name = c.token();
    if (name.empty()) return fail("empty or malformed parameter");
    std::string_view value;
    if (c.separator('=')) {
      if (c.peek() == '"') {
        const std::string_view quoted = c.quoted_string();
        if (quoted.empty()) return fail("unterminated quoted string in parameter");
        value = unquote(quoted);
      } else if (c.peek() == '[') {
        value = take_host(c);
        if (value.empty()) return fail("bad IPv6 reference in parameter");
      } else {
        value = c.take_while([](char ch) { return lexer::is_token(ch) || ch == ':'; });
        if (value.empty()) return fail("empty parameter value");
      }
    }
    if (found != nullptr && !have_wanted && lexer::iequals(name, wanted)) {
      *found = value;
      have_wanted = true;
    }
  }
  out = Params(std::string_view(start, static_cast<std::size_t>(c.p - start)), separator);
  return {};
}

Status expect_end(Cursor& c, const char* what) {
  c.skip_lws();
  if (!c.done()) return fail(std::string("unexpected text after ") + what);
  return {};
}

}  // namespace

Result<Via> parse_via(std::string_view value) {
  Via via;
  Cursor c(value);
  c.skip_lws();
  via.protocol = c.token();
  if (via.protocol.empty() || !c.separator('/')) return fail("malformed Via sent-protocol");
  via.version = c.token();
  if (via.version.empty() || !c.separator('/')) return fail("malformed Via sent-protocol");
  via.transport = c.token();
  if (via.transport.empty()) return fail("malformed Via transport");
  if (!lexer::iequals(via.protocol, "SIP") || via.version != "2.0") return fail("unsupported SIP version in Via");
  if (!c.skip_lws()) return fail("malformed Via sent-by");
  via.host = take_host(c);
  via.host_kind = classify_host(via.host);
  if (via.host_kind == HostKind::None) return fail("bad host in Via");
  if (c.separator(':')) {
    std::uint64_t port = 0;
    if (!lexer::parse_decimal(c.take_while(lexer::is_digit), port) || port == 0 || port > 65535)
      return fail("bad port in Via");
    via.port = static_cast<std::uint16_t>(port);
  }
  if (auto s = take_generic_params(c, via.params, "branch", &via.branch_value); !s) return Unexpected<Error>{s.error()};
  if (auto s = expect_end(c, "Via"); !s) return Unexpected<Error>{s.error()};
  return via;
}

Result<NameAddr> parse_name_addr(std::string_view value, AddrForm form) {
  NameAddr na;
  Cursor c(value);
  c.skip_lws();
  // Is there a '<' outside quotes? Then this is name-addr.
  bool has_angle = false;
  {
    bool quoted = false;
    for (const char* p = c.p; p < c.end; ++p) {
      if (quoted && *p == '\\') {
        ++p;
        continue;
      }
      if (*p == '"') quoted = !quoted;
      if (!quoted && *p == '<') {
        has_angle = true;
        break;
      }
      if (!quoted && *p == ';' ) break;  // parameters begin: addr-spec form
    }
  }
  if (c.peek() == '"') {
    na.display_name = c.quoted_string();
    if (na.display_name.empty()) return fail("unterminated quoted string in display name");
    c.skip_lws();
    if (c.peek() != '<') return fail("display name not followed by <URI>");
    has_angle = true;
  } else if (has_angle) {
    // display-name = *(token LWS): tokens up to '<'
    const char* start = c.p;
    const char* last = c.p;
    while (!c.done() && c.peek() != '<') {
      if (c.token().empty()) return fail("display name is not a token or quoted string");
      last = c.p;
      c.skip_lws();
    }
    na.display_name = {start, static_cast<std::size_t>(last - start)};
  }
  if (has_angle) {
    if (!c.consume('<')) return fail("missing <");
    const char* uri_start = c.p;
    c.take_while([](char ch) { return ch != '>'; });
    const std::string_view uri_text(uri_start, static_cast<std::size_t>(c.p - uri_start));
    if (!c.consume('>')) return fail("missing > after URI");
    // LAQUOT/RAQUOT allow no whitespace inside the brackets (RFC 4475 3.1.2.14).
    if (!uri_text.empty() && (lexer::is_wsp(uri_text.front()) || lexer::is_wsp(uri_text.back())))
      return fail("whitespace inside <> around the URI");
    auto uri = parse_uri(uri_text);
    if (!uri) return fail(uri.error().message);
    na.uri = *uri;
    na.bracketed = true;
  } else {
    if (form == AddrForm::NameAddrOnly) return fail("URI must be enclosed in <>");
    const char* uri_start = c.p;
    c.take_while([](char ch) { return ch != ';' && ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n'; });
    const std::string_view uri_text(uri_start, static_cast<std::size_t>(c.p - uri_start));
    // RFC 3261 20: a URI with a comma, question mark or semicolon must be in <>.
    if (uri_text.find_first_of("?,") != std::string_view::npos) return fail("URI with ? or , must be enclosed in <>");
    auto uri = parse_uri(uri_text);
    if (!uri) return fail(uri.error().message);
    na.uri = *uri;
  }
  if (auto s = take_generic_params(c, na.params, "tag", &na.tag_value); !s) return Unexpected<Error>{s.error()};
  if (auto s = expect_end(c, "address"); !s) return Unexpected<Error>{s.error()};
  return na;
}

std::string NameAddr::display_name_text() const {
  if (!display_name.empty() && display_name.front() == '"') return unquote_unescape(display_name);
  return std::string(display_name);
}

std::optional<std::uint32_t> contact_expires(const NameAddr& contact) {
  const auto p = contact.params.find("expires");
  std::uint64_t v = 0;
  if (!p || !lexer::parse_decimal(p->value, v) || v > 0xffffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::uint16_t contact_q(const NameAddr& contact) {
  const std::string_view q = contact.params.get("q");
  if (q.empty() || !lexer::is_digit(q[0])) return 1000;
  unsigned value = static_cast<unsigned>(q[0] - '0') * 1000;
  unsigned scale = 100;
  for (std::size_t i = 2; i < q.size() && i < 5 && q[1] == '.'; ++i, scale /= 10) {
    if (!lexer::is_digit(q[i])) break;
    value += static_cast<unsigned>(q[i] - '0') * scale;
  }
  return static_cast<std::uint16_t>(value > 1000 ? 1000 : value);
}

Result<CSeq> parse_cseq(std::string_view value) {
  CSeq cseq;
  Cursor c(value);
  c.skip_lws();
  std::uint64_t number = 0;
  // RFC 3261 8.1.1.5: the sequence number is less than 2**31.
  if (!lexer::parse_decimal(c.take_while(lexer::is_digit), number) || number > 0x7fffffffULL)
    return fail("CSeq number missing or too large");
  cseq.number = static_cast<std::uint32_t>(number);
  if (!c.skip_lws()) return fail("malformed CSeq");
  cseq.method = c.token();
  if (cseq.method.empty()) return fail("CSeq has no method");
  if (auto s = expect_end(c, "CSeq"); !s) return Unexpected<Error>{s.error()};
  return cseq;
}

Result<std::uint32_t> parse_number(std::string_view value, std::uint32_t max) {
  std::uint64_t v = 0;
  if (!lexer::parse_decimal(lexer::trim_lws(value), v)) return fail("not a decimal number");
  if (v > max) return fail("number out of range");
  return static_cast<std::uint32_t>(v);
}

Result<AuthHeader> parse_auth(std::string_view value) {
  AuthHeader auth;
  Cursor c(value);
  c.skip_lws();
  auth.scheme = c.token();
  if (auth.scheme.empty()) return fail("authorization header has no scheme");
  if (c.done()) return auth;
  if (!c.skip_lws()) return fail("malformed authorization header");
  // auth-param *(COMMA auth-param): parse the first one after a virtual separator.
  const char* start = c.p;
  bool first = true;
  while (true) {
    c.skip_lws();
    if (c.done()) break;
    if (!first && !c.separator(',')) return fail("malformed authorization parameters");
    first = false;
    if (c.token().empty() || !c.separator('=')) return fail("malformed authorization parameter");
    if (c.peek() == '"') {
      if (c.quoted_string().empty()) return fail("unterminated quoted string in authorization header");
    } else if (c.take_while([](char ch) { return lexer::is_token(ch) || ch == '/' || ch == ':' || ch == '='; }).empty()) {
      return fail("empty authorization parameter value");
    }
  }
  auth.params = Params(std::string_view(start, static_cast<std::size_t>(c.p - start)), ',');
  return auth;
}

bool MediaType::is(std::string_view t, std::string_view s) const {
  return lexer::iequals(type, t) && lexer::iequals(subtype, s);
}

Result<MediaType> parse_media_type(std::string_view value) {
  MediaType mt;
  Cursor c(value);
  c.skip_lws();
  mt.type = c.token();
  if (mt.type.empty() || !c.separator('/')) return fail("malformed media type");
  mt.subtype = c.token();
  if (mt.subtype.empty()) return fail("malformed media subtype");
  if (auto s = take_generic_params(c, mt.params); !s) return Unexpected<Error>{s.error()};
  if (auto s = expect_end(c, "media type"); !s) return Unexpected<Error>{s.error()};
  return mt;
}

Result<EventHeader> parse_event(std::string_view value) {
  EventHeader ev;
  Cursor c(value);
  c.skip_lws();
  ev.package = c.token();  // token includes '.', so "presence.winfo" is one package name
  if (ev.package.empty()) return fail("Event has no package");
  if (auto s = take_generic_params(c, ev.params); !s) return Unexpected<Error>{s.error()};
  if (auto s = expect_end(c, "Event"); !s) return Unexpected<Error>{s.error()};
  return ev;
}

Result<SubscriptionState> parse_subscription_state(std::string_view value) {
  SubscriptionState st;
  Cursor c(value);
  c.skip_lws();
  st.state = c.token();
  if (st.state.empty()) return fail("Subscription-State has no state");
  if (auto s = take_generic_params(c, st.params); !s) return Unexpected<Error>{s.error()};
  if (auto s = expect_end(c, "Subscription-State"); !s) return Unexpected<Error>{s.error()};
  return st;
}

Status check_token(std::string_view value) {
  Cursor c(value);
  c.skip_lws();
  if (c.token().empty()) return fail("expected a token");
  return expect_end(c, "token");
}

Result<std::int64_t> parse_date(std::string_view value) {
  // rfc1123-date = wkday "," SP 2DIGIT SP month SP 4DIGIT SP 2DIGIT:2DIGIT:2DIGIT SP "GMT"
  static constexpr std::array<std::string_view, 7> kDays{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::string_view v = lexer::trim_lws(value);
  if (v.size() != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' ||
      v[22] != ':' || v[25] != ' ' || v.substr(26) != "GMT")
    return fail("Date is not an RFC 1123 date in GMT");
  bool day_ok = false;
  for (auto d : kDays) day_ok = day_ok || v.substr(0, 3) == d;
  int month = -1;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (v.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
  auto num = [&](std::size_t pos, std::size_t len, std::uint64_t& out) { return lexer::parse_decimal(v.substr(pos, len), out); };
  std::uint64_t day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (!day_ok || month < 0 || !num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hh) || !num(20, 2, mm) ||
      !num(23, 2, ss) || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
    return fail("Date is not an RFC 1123 date in GMT");
  // Days from civil (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
  const std::int64_t y = static_cast<std::int64_t>(year) - (month < 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (month + 10) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + static_cast<std::int64_t>(day) - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + static_cast<std::int64_t>(hh * 3600 + mm * 60 + ss);
}

}  // namespace sipbox::sip
