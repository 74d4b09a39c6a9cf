// Payload options: content (with |hex| bytes and '!'), its modifiers (nocase, offset,
// depth, distance, within), pcre (PCRE2, compiled and JIT-compiled once), the buffer
// selectors sip_header / sip_body / pkt_data, and sip_method / sip_stat_code.
#include <algorithm>

#include "security/rule_options.h"

namespace sipbox::security::detail {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes of a content string: "\"" "\;" "\\" "\:" "\|" escapes, |0d 0a| hex blocks.
Result<std::string, RuleError> content_bytes(std::string_view inner, const Locator& loc) {
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == '\\') {
      const char next = i + 1 < inner.size() ? inner[i + 1] : '\0';
      if (next != '"' && next != ';' && next != '\\' && next != ':' && next != '|')
        return refuse(loc.error(inner.substr(i), "unknown escape in content (write other bytes as |hex|, e.g. |0a|)"));
      out.push_back(next);
      ++i;
    } else if (c == '|') {
      const std::size_t close = inner.find('|', i + 1);
      if (close == std::string_view::npos) return refuse(loc.error(inner.substr(i), "unterminated |hex| block in content"));
      std::size_t digits = 0;
      int high = 0;
      for (std::size_t j = i + 1; j < close; ++j) {
        if (is_space(inner[j])) {
          if (digits % 2 == 1) return refuse(loc.error(inner.substr(j), "odd number of hex digits in content"));
          continue;
        }
        const int d = hex_digit(inner[j]);
        if (d < 0) return refuse(loc.error(inner.substr(j), "bad hex digit '" + std::string(1, inner[j]) + "' in content"));
        if (digits++ % 2 == 0) {
          high = d;
        } else {
          out.push_back(static_cast<char>(high * 16 + d));
        }
      }
      if (digits == 0) return refuse(loc.error(inner.substr(i), "empty |hex| block in content"));
      if (digits % 2 == 1) return refuse(loc.error(inner.substr(close), "odd number of hex digits in content"));
      i = close;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Check add_pattern(OptionState& state, Pattern p, std::string_view at) {
  if (state.rule.patterns.size() >= kMaxPatterns)
    return refuse(state.loc.error(at, "too many content and pcre options (at most " + std::to_string(kMaxPatterns) + ")"));
  p.section = state.section;
  state.rule.patterns.push_back(std::move(p));
  return {};
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

}  // namespace

Check content_option(const OptionContext& c) {
  auto q = quoted_value(c, true);
  if (!q) return refuse(q.error());
  auto bytes = content_bytes(q->inner, c.state.loc);
  if (!bytes) return refuse(bytes.error());
  if (bytes->empty()) return refuse(c.state.loc.error(c.value, "empty content"));
  Pattern p;
  p.kind = Pattern::Kind::Content;
  p.negated = q->negated;
  p.bytes = std::move(*bytes);
  p.name = c.name;
  if (auto r = add_pattern(c.state, std::move(p), c.name); !r) return r;
  c.state.last_content = static_cast<int>(c.state.rule.patterns.size()) - 1;
  return {};
}

Check modifier_option(const OptionContext& c) {
  const Locator& loc = c.state.loc;
  if (c.state.last_content < 0)
    return refuse(loc.error(c.name, "'" + c.key + "' modifies a content, but no content comes before it"));
  Pattern& p = c.state.rule.patterns[static_cast<std::size_t>(c.state.last_content)];
  if (c.key == "fast_pattern") return {};  // sipbox picks its own prefilter (the longest content)
  if (c.key == "nocase") {
    if (p.nocase) return refuse(loc.error(c.name, "'nocase' given twice for one content"));
    p.nocase = true;
    return {};
  }
  const bool relative = c.key == "distance" || c.key == "within";
  std::optional<std::int32_t>& slot =
      c.key == "offset" ? p.offset : c.key == "depth" ? p.depth : c.key == "distance" ? p.distance : p.within;
  if (slot) return refuse(loc.error(c.name, "'" + c.key + "' given twice for one content"));
  if (relative ? (p.offset || p.depth) : (p.distance || p.within))
    return refuse(loc.error(c.name, "'" + c.key + "' cannot be combined with " +
                                        (relative ? "offset/depth" : "distance/within") +
                                        " on one content (absolute and relative positions)"));
  const std::int64_t min = c.key == "distance" ? -65535 : (c.key == "offset" ? 0 : 1);
  const auto v = parse_int(c.value, min, 65535);
  if (!v)
    return refuse(loc.error(c.value, c.key + " must be a number from " + std::to_string(min) + " to 65535, not '" +
                                         std::string(c.value) + "'"));
  if ((c.key == "depth" || c.key == "within") && static_cast<std::size_t>(*v) < p.bytes.size())
    return refuse(loc.error(c.value, c.key + " " + std::to_string(*v) + " is shorter than the content (" +
                                         std::to_string(p.bytes.size()) + " bytes)"));
  slot = static_cast<std::int32_t>(*v);
  return {};
}

Check pcre_option(const OptionContext& c) {
  const Locator& loc = c.state.loc;
  auto q = quoted_value(c, true);
  if (!q) return refuse(q.error());
  const std::string_view inner = q->inner;
  const std::size_t last = inner.rfind('/');
  if (inner.empty() || inner.front() != '/' || last == 0)
    return refuse(loc.error(inner, "pcre needs \"/regex/flags\""));
  const std::string_view regex = inner.substr(1, last - 1);
  Pattern p;
  p.kind = Pattern::Kind::Pcre;
  p.negated = q->negated;
  p.name = c.name;
  std::uint32_t options = PCRE2_NEVER_UTF;
  const std::string_view flags = inner.substr(last + 1);
  for (std::size_t i = 0; i < flags.size(); ++i) {
    switch (flags[i]) {
      case 'i': options |= PCRE2_CASELESS; break;
      case 's': options |= PCRE2_DOTALL; break;
      case 'm': options |= PCRE2_MULTILINE; break;
      case 'x': options |= PCRE2_EXTENDED; break;
      case 'A': options |= PCRE2_ANCHORED; break;
      case 'E': options |= PCRE2_DOLLAR_ENDONLY; break;
      case 'G': options |= PCRE2_UNGREEDY; break;
      case 'R': p.relative = true; break;
      default:
        return refuse(loc.error(flags.substr(i), "pcre flag '" + std::string(1, flags[i]) +
                                                     "' is not supported (i s m x A E G R)"));
    }
  }
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()), regex.size(), options, &code, &offset, nullptr);
  if (!compiled) {
    PCRE2_UCHAR message[256];
    if (pcre2_get_error_message(code, message, sizeof message) < 0) message[0] = 0;
    return refuse(loc.error(regex.substr(std::min<std::size_t>(offset, regex.size())),
                            std::string("bad pcre: ") + reinterpret_cast<const char*>(message)));
  }
  p.code.reset(compiled);
  // JIT when the library has it; the interpreter otherwise (same results, same limits).
  (void)pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE);
  return add_pattern(c.state, std::move(p), c.name);
}

Check section_option(const OptionContext& c) {
  c.state.section = c.key == "sip_header" ? Section::Header : c.key == "sip_body" ? Section::Body : Section::Raw;
  return {};
}

// sip_method:INVITE,REGISTER;  sip_method:!OPTIONS;  ('!' first negates the whole list)
Check sip_method_option(const OptionContext& c) {
  const Locator& loc = c.state.loc;
  CompiledRule& rule = c.state.rule;
  rule.has_methods = true;
  std::string_view list = c.value;
  if (list.front() == '!') {
    rule.methods_negated = true;
    list = trim(list.substr(1));
  }
  for (std::string_view m : split_list(list)) {
    if (m.empty()) return refuse(loc.error(m, "empty method in sip_method"));
    if (m.front() == '!')
      return refuse(loc.error(m, "'!' must come before the first method (it negates the whole list)"));
    if (!std::all_of(m.begin(), m.end(), is_token_char))
      return refuse(loc.error(m, "bad method '" + std::string(m) + "' in sip_method"));
    rule.methods.emplace_back(m);
  }
  return {};
}

// sip_stat_code:200,4;  (a single digit is a class: 4 means 400-499)
Check sip_stat_code_option(const OptionContext& c) {
  for (std::string_view code : split_list(c.value)) {
    const auto v = parse_uint(code, 999);
    if (!v || *v == 0 || (*v >= 10 && *v < 100))
      return refuse(c.state.loc.error(code, "bad status code '" + std::string(code) + "' (100-999, or 1-9 for a class)"));
    c.state.rule.status_codes.push_back(static_cast<std::uint16_t>(*v));
  }
  return {};
}

void finish_patterns(CompiledRule& rule) {
  std::vector<Pattern>& ps = rule.patterns;
  std::size_t longest = 0;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    Pattern& p = ps[i];
    if (p.kind == Pattern::Kind::Content) {
      p.relative = p.distance.has_value() || p.within.has_value();
      prepare_search(p);
      if (!p.negated && p.bytes.size() > longest) {
        longest = p.bytes.size();
        rule.fast_pattern = static_cast<int>(i);
      }
    }
  }
  // Trying another position of pattern i only helps when a later pattern measures from
  // its end: the next positive pattern resets the cursor, negated ones leave it alone.
  for (std::size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].negated) continue;
    for (std::size_t j = i + 1; j < ps.size(); ++j) {
      if (ps[j].relative && ps[j].section == ps[i].section) {
        ps[i].retry = true;
        break;
      }
      if (!ps[j].negated) break;
    }
  }
}

}  // namespace sipbox::security::detail
