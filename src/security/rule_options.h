// Shared by the option parsers (rule_options.cpp, rule_patterns.cpp); internal.
#pragma once

#include <string>
#include <string_view>

#include "security/rule_internal.h"

namespace sipbox::security::detail {

// One option being applied: `name` as written (a view of the rule text, for columns),
// `key` in lower case, `value` trimmed (an empty view at the end of the name when the
// option has no value).
struct OptionContext {
  OptionState& state;
  std::string_view name;
  std::string key;
  std::string_view value;
  bool has_value = false;
};

// A "..." value, optionally preceded by '!': the raw text between the quotes (escapes
// still in it).
struct Quoted {
  std::string_view inner;
  bool negated = false;
};
Result<Quoted, RuleError> quoted_value(const OptionContext& c, bool allow_negation);

// rule_patterns.cpp
Check content_option(const OptionContext& c);
Check modifier_option(const OptionContext& c);  // nocase offset depth distance within fast_pattern
Check pcre_option(const OptionContext& c);
Check sip_method_option(const OptionContext& c);
Check sip_stat_code_option(const OptionContext& c);
Check section_option(const OptionContext& c);  // sip_header sip_body pkt_data
// Relative flags, retry flags, the fast pattern and search tables, once all options are in.
void finish_patterns(CompiledRule& rule);

}  // namespace sipbox::security::detail
