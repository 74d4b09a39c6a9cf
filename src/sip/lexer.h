// Character classes and small scanning helpers from the RFC 3261 25.1 grammar.
// Internal to src/sip; everything works on string_views into the received bytes.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sipbox::sip::lexer {

enum CharClass : std::uint16_t {
  kAlnum = 1 << 0,
  kMark = 1 << 1,            // - _ . ! ~ * ' ( )
  kTokenExtra = 1 << 2,      // - . ! % * _ + ` ' ~  (token = alnum + these)
  kWordExtra = 1 << 3,       // ( ) < > : \ " / [ ] ? { }  (word = token + these)
  kUserUnreserved = 1 << 4,  // & = + $ , ; ? /
  kPasswordExtra = 1 << 5,   // & = + $ ,
  kParamUnreserved = 1 << 6, // [ ] / : & + $
  kHnvUnreserved = 1 << 7,   // [ ] / ? : + $
  kReserved = 1 << 8,        // ; / ? : @ & = + $ ,
  kHex = 1 << 9,
  kDigit = 1 << 10,
};

constexpr std::array<std::uint16_t, 256> make_classes() {
  std::array<std::uint16_t, 256> t{};
  auto add = [&t](std::string_view chars, std::uint16_t cls) {
    for (char c : chars) t[static_cast<unsigned char>(c)] |= cls;
  };
  for (int c = '0'; c <= '9'; ++c) t[c] |= kAlnum | kHex | kDigit;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlnum;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlnum;
  add("abcdefABCDEF", kHex);
  add("-_.!~*'()", kMark);
  add("-.!%*_+`'~", kTokenExtra);
  add("()<>:\\\"/[]?{}", kWordExtra);
  add("&=+$,;?/", kUserUnreserved);
  add("&=+$,", kPasswordExtra);
  add("[]/:&+$", kParamUnreserved);
  add("[]/?:+$", kHnvUnreserved);
  add(";/?:@&=+$,", kReserved);
  return t;
}

inline constexpr std::array<std::uint16_t, 256> kClasses = make_classes();

constexpr bool is(char c, std::uint16_t cls) {
  return (kClasses[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
constexpr bool is_token(char c) { return is(c, kAlnum | kTokenExtra); }
constexpr bool is_word(char c) { return is(c, kAlnum | kTokenExtra | kWordExtra); }
constexpr bool is_unreserved(char c) { return is(c, kAlnum | kMark); }
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = to_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A cursor over a header value. LWS (RFC 3261 25.1) is spaces, tabs and folded line
// breaks: CRLF (or a lone LF) followed by a space or tab.
struct Cursor {
  const char* p;
  const char* end;

  explicit constexpr Cursor(std::string_view s) : p(s.data()), end(s.data() + s.size()) {}

  constexpr bool done() const { return p >= end; }
  constexpr char peek() const { return p < end ? *p : '\0'; }
  constexpr std::string_view rest() const { return {p, static_cast<std::size_t>(end - p)}; }

  // Skips LWS; returns true if anything was skipped.
  constexpr bool skip_lws() {
    const char* start = p;
    while (p < end) {
      if (is_wsp(*p)) {
        ++p;
      } else if (*p == '\r' && end - p >= 3 && p[1] == '\n' && is_wsp(p[2])) {
        p += 3;
      } else if (*p == '\n' && end - p >= 2 && is_wsp(p[1])) {
        p += 2;
      } else {
        break;
      }
    }
    return p != start;
  }

  constexpr bool consume(char c) {
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }

  // SWS c SWS: separators such as SLASH, SEMI, EQUAL, COMMA, COLON.
  constexpr bool separator(char c) {
    const char* save = p;
    skip_lws();
    if (consume(c)) {
      skip_lws();
      return true;
    }
    p = save;
    return false;
  }

  template <class Pred>
  constexpr std::string_view take_while(Pred pred) {
    const char* start = p;
    while (p < end && pred(*p)) ++p;
    return {start, static_cast<std::size_t>(p - start)};
  }

  constexpr std::string_view token() { return take_while(is_token); }

  // quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE; returns it with quotes,
  // or an empty view when malformed (an unterminated string, a bad quoted-pair).
  constexpr std::string_view quoted_string() {
    const char* start = p;
    if (!consume('"')) return {};
    while (p < end) {
      const char c = *p;
      if (c == '"') {
        ++p;
        return {start, static_cast<std::size_t>(p - start)};
      }
      if (c == '\\') {
        // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
        if (end - p < 2 || p[1] == '\n' || p[1] == '\r' || static_cast<unsigned char>(p[1]) > 0x7f)
          break;
        p += 2;
      } else if (c == '\r' || c == '\n') {
        if (!skip_lws()) break;  // only folded line breaks may appear inside
      } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        break;
      } else {
        ++p;
      }
    }
    p = start;
    return {};
  }
};

// Trims LWS at both ends.
constexpr std::string_view trim_lws(std::string_view s) {
  Cursor c(s);
  c.skip_lws();
  std::string_view r = c.rest();
  while (!r.empty()) {
    const char last = r.back();
    if (is_wsp(last) || last == '\r' || last == '\n')
      r.remove_suffix(1);
    else
      break;
  }
  return r;
}

// Parses a decimal number of at most 10 digits into a uint64; false on anything else.
constexpr bool parse_decimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// The space-separated fields of an SDP line or attribute value (runs of spaces count once).
inline std::vector<std::string_view> split_on_spaces(std::string_view value) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t end = value.find(' ', i) < value.size() ? value.find(' ', i) : value.size();
    fields.push_back(value.substr(i, end - i));
    i = end;
  }
  return fields;
}

}  // namespace sipbox::sip::lexer
