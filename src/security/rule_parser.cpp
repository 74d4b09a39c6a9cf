// compile_rule: the rule header (action, protocol, addresses, ports, direction) and the
// option list "(name:value; name; ...)" split into options; each option is applied by
// rule_options.cpp. Every error names the column of the token at fault.
#include "security/rule_internal.h"

namespace sipbox::security {
namespace detail {
namespace {

// The next header field: a run of non-space characters, where a [list] may contain
// spaces; a '(' outside brackets ends it. `unclosed` tells that a '[' was never closed.
std::string_view next_field(std::string_view text, std::size_t& pos, bool& unclosed) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  const std::size_t start = pos;
  std::size_t depth = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if (depth == 0 && (is_space(c) || c == '(')) break;
    ++pos;
  }
  unclosed = depth > 0;
  return text.substr(start, pos - start);
}

Check parse_action(CompiledRule& rule, std::string_view f, const Locator& loc) {
  if (iequals(f, "alert")) {
    rule.action = RuleAction::Alert;
  } else if (iequals(f, "drop")) {
    rule.action = RuleAction::Drop;
  } else if (iequals(f, "pass")) {
    rule.action = RuleAction::Pass;
  } else if (iequals(f, "log")) {
    return refuse(loc.error(f, "action 'log' is not supported: use alert (every match is an incident)"));
  } else {
    return refuse(loc.error(f, "unknown action '" + std::string(f) + "' (alert, drop or pass)"));
  }
  return {};
}

Check parse_proto(CompiledRule& rule, std::string_view f, const Locator& loc) {
  if (iequals(f, "udp")) {
    rule.proto = Proto::Udp;
  } else if (iequals(f, "tcp")) {
    rule.proto = Proto::Tcp;
  } else if (iequals(f, "ip")) {
    rule.proto = Proto::Ip;
  } else {
    return refuse(loc.error(f, "protocol '" + std::string(f) + "' is not supported (udp, tcp or ip)"));
  }
  return {};
}

Check parse_direction(CompiledRule& rule, std::string_view f, const Locator& loc) {
  if (f == "->") {
    rule.bidirectional = false;
  } else if (f == "<>") {
    rule.bidirectional = true;
  } else if (f == "<-") {
    return refuse(loc.error(f, "direction '<-' is not supported: swap the addresses and write '->'"));
  } else {
    return refuse(loc.error(f, "expected direction '->' or '<>', found '" + std::string(f) + "'"));
  }
  return {};
}

// The end of an option value: the first ';' outside quotes, or a ')' outside quotes
// that is the last character of the rule but spaces (the last option may omit its ';').
// npos when the text ends first; `open_quote` then tells whether a quoted string was left
// open, and where.
std::size_t value_end(std::string_view text, std::size_t pos, std::size_t last, std::size_t& open_quote) {
  bool quoted = false;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
      if (quoted) open_quote = i;
    } else if (!quoted && c == ';') {
      return i;
    } else if (!quoted && c == ')' && i == last) {
      return i;
    }
  }
  if (!quoted) open_quote = std::string_view::npos;
  return std::string_view::npos;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

Check parse_options(OptionState& state, std::string_view text, std::size_t open) {
  const Locator& loc = state.loc;
  const auto unclosed = [&] {
    return refuse(loc.error(text.substr(open), "unbalanced parentheses: the '(' of the options is never closed"));
  };
  std::size_t last = text.size();
  while (last > 0 && is_space(text[last - 1])) --last;
  last = last > 0 ? last - 1 : 0;  // the last character that is not a space
  std::size_t pos = open + 1;
  while (true) {
    while (pos < text.size() && is_space(text[pos])) ++pos;
    if (pos >= text.size()) return unclosed();
    if (text[pos] == ')') {
      const std::string_view rest = trim(text.substr(pos + 1));
      if (!rest.empty()) {
        return refuse(loc.error(rest, rest.front() == ')' ? "unbalanced parentheses: ')' without '('"
                                                           : "text after the closing ')' of the options"));
      }
      return finish_options(state, text.substr(pos, 1));
    }
    const std::size_t name_start = pos;
    while (pos < text.size() && is_name_char(text[pos])) ++pos;
    const std::string_view name = text.substr(name_start, pos - name_start);
    if (name.empty()) {
      return refuse(loc.error(text.substr(pos), "expected an option name, found '" + std::string(1, text[pos]) + "'"));
    }
    while (pos < text.size() && is_space(text[pos])) ++pos;
    if (pos >= text.size()) return unclosed();
    std::optional<std::string_view> value;
    if (text[pos] == ':') {
      std::size_t open_quote = std::string_view::npos;
      const std::size_t end = value_end(text, pos + 1, last, open_quote);
      if (end == std::string_view::npos) {
        if (open_quote != std::string_view::npos)
          return refuse(loc.error(text.substr(open_quote), "unterminated quoted string"));
        return unclosed();
      }
      value = trim(text.substr(pos + 1, end - pos - 1));
      pos = text[end] == ';' ? end + 1 : end;
    } else if (text[pos] == ';') {
      ++pos;
    } else if (text[pos] != ')') {
      return refuse(loc.error(text.substr(pos), "expected ':' or ';' after option '" + std::string(name) + "'"));
    }
    if (auto r = apply_option(state, name, value); !r) return r;
  }
}

}  // namespace
}  // namespace detail

Result<std::shared_ptr<const CompiledRule>, RuleError> compile_rule(std::string_view text,
                                                                    const RuleVariables& variables) {
  using namespace detail;
  if (text.size() > kMaxRuleBytes)
    return refuse(RuleError{kMaxRuleBytes + 1, "rule longer than " + std::to_string(kMaxRuleBytes) + " bytes"});
  const Locator loc(text);
  auto rule = std::make_shared<CompiledRule>();
  static constexpr const char* kFields[] = {"action", "protocol", "source address", "source port", "direction",
                                            "destination address", "destination port"};
  std::string_view fields[7];
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    bool unclosed = false;
    fields[i] = next_field(text, pos, unclosed);
    if (unclosed) return refuse(loc.error(fields[i], "unbalanced brackets: '[' is never closed"));
    if (fields[i].empty()) {
      const std::string_view at = text.substr(pos);
      if (i == 0) return refuse(loc.error(at, "empty rule"));
      return refuse(loc.error(at, std::string("rule header ends early: missing the ") + kFields[i]));
    }
  }
  if (auto r = parse_action(*rule, fields[0], loc); !r) return refuse(r.error());
  if (auto r = parse_proto(*rule, fields[1], loc); !r) return refuse(r.error());
  auto src = parse_addresses(fields[2], variables, loc);
  if (!src) return refuse(src.error());
  auto src_ports = parse_ports(fields[3], variables, loc);
  if (!src_ports) return refuse(src_ports.error());
  if (auto r = parse_direction(*rule, fields[4], loc); !r) return refuse(r.error());
  auto dst = parse_addresses(fields[5], variables, loc);
  if (!dst) return refuse(dst.error());
  auto dst_ports = parse_ports(fields[6], variables, loc);
  if (!dst_ports) return refuse(dst_ports.error());
  rule->src = std::move(*src);
  rule->src_ports = std::move(*src_ports);
  rule->dst = std::move(*dst);
  rule->dst_ports = std::move(*dst_ports);

  while (pos < text.size() && is_space(text[pos])) ++pos;
  if (pos >= text.size()) return refuse(loc.error(text.substr(pos), "missing the options: '(msg:...; sid:N;)'"));
  if (text[pos] != '(') {
    bool unclosed = false;
    const std::string_view extra = next_field(text, pos, unclosed);
    return refuse(loc.error(extra, "expected '(' after the destination port, found '" + std::string(extra) + "'"));
  }
  OptionState state{*rule, loc, Section::Raw, -1, {}};
  if (auto r = parse_options(state, text, pos); !r) return refuse(r.error());
  return std::shared_ptr<const CompiledRule>(std::move(rule));
}

std::uint32_t rule_sid(const CompiledRule& rule) { return rule.sid; }
RuleAction rule_action(const CompiledRule& rule) { return rule.action; }
std::string_view rule_msg(const CompiledRule& rule) { return rule.msg; }

}  // namespace sipbox::security
