#include "sip/params.h"

#include "sip/lexer.h"

namespace sipbox::sip {

Params::Iterator::Iterator(std::string_view text, char sep) : rest_(text), sep_(sep), at_end_(false) {
  advance();
}

Params::Iterator& Params::Iterator::operator++() {
  advance();
  return *this;
}

// Takes the next element up to a separator outside quotes; skips empty elements
// (the parser has refused them where the grammar forbids them).
void Params::Iterator::advance() {
  while (true) {
    lexer::Cursor c(rest_);
    c.skip_lws();
    while (c.consume(sep_)) c.skip_lws();
    if (c.done()) {
      at_end_ = true;
      rest_ = {};
      return;
    }
    const char* start = c.p;
    bool quoted = false;
    while (!c.done()) {
      const char ch = *c.p;
      if (quoted && ch == '\\' && c.end - c.p >= 2) {
        c.p += 2;
        continue;
      }
      if (ch == '"') quoted = !quoted;
      if (!quoted && ch == sep_) break;
      ++c.p;
    }
    std::string_view element(start, static_cast<std::size_t>(c.p - start));
    rest_ = c.rest();
    element = lexer::trim_lws(element);
    if (element.empty()) continue;
    const auto eq = element.find('=');
    if (eq == std::string_view::npos) {
      current_ = Param{element, {}, false};
    } else {
      current_ = Param{lexer::trim_lws(element.substr(0, eq)), lexer::trim_lws(element.substr(eq + 1)), true};
    }
    return;
  }
}

namespace {

// Compares a name that may hold %HH escapes (RFC 3261 19.1.4: URI parameters compare
// unescaped) with a plain one, case-insensitively, without allocating.
bool iequals_unescaped(std::string_view escaped, std::string_view plain) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < escaped.size() && j < plain.size()) {
    char c = escaped[i];
    if (c == '%' && i + 2 < escaped.size() && lexer::hex_value(escaped[i + 1]) >= 0 &&
        lexer::hex_value(escaped[i + 2]) >= 0) {
      c = static_cast<char>(lexer::hex_value(escaped[i + 1]) * 16 + lexer::hex_value(escaped[i + 2]));
      i += 3;
    } else {
      ++i;
    }
    if (lexer::to_lower(c) != lexer::to_lower(plain[j++])) return false;
  }
  return i == escaped.size() && j == plain.size();
}

}  // namespace

std::optional<Param> Params::find(std::string_view name) const {
  for (const Param& p : *this)
    if (lexer::iequals(p.name, name) || (p.name.find('%') != std::string_view::npos && iequals_unescaped(p.name, name)))
      return p;
  return std::nullopt;
}

std::string_view Params::get(std::string_view name) const {
  const auto p = find(name);
  return p ? unquote(p->value) : std::string_view{};
}

std::string_view unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

std::string unquote_unescape(std::string_view value) {
  const std::string_view inner = unquote(value);
  std::string out;
  out.reserve(inner.size());
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '\\' && i + 1 < inner.size() && inner.size() != value.size()) ++i;
    out.push_back(inner[i]);
  }
  return out;
}

}  // namespace sipbox::sip
