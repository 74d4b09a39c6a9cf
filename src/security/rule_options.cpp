// The options of a rule, one at a time: what each accepts and what it refuses.
// Payload options (content and its modifiers, pcre, the sip_* ones) are in
// rule_patterns.cpp; this file has the dispatch, the descriptive options, the counters
// (detection_filter, threshold) and fwsam.
#include <algorithm>
#include <limits>

#include "security/rule_options.h"

namespace sipbox::security::detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(fold(static_cast<unsigned char>(c)));
  return out;
}

// The first word of `part` and the rest after it ("count 50" -> "count", "50").
std::pair<std::string_view, std::string_view> word_and_rest(std::string_view part) {
  std::size_t i = 0;
  while (i < part.size() && !is_space(part[i])) ++i;
  return {part.substr(0, i), trim(part.substr(i))};
}

Result<std::uint32_t, RuleError> number_option(const OptionContext& c, std::uint32_t min) {
  const auto v = parse_uint(c.value, std::numeric_limits<std::uint32_t>::max());
  if (!v || *v < min)
    return refuse(c.state.loc.error(c.value, c.key + " must be a number from " + std::to_string(min) +
                                                 " to 4294967295, not '" + std::string(c.value) + "'"));
  return static_cast<std::uint32_t>(*v);
}

Check msg_option(const OptionContext& c) {
  auto q = quoted_value(c, false);
  if (!q) return refuse(q.error());
  std::string& msg = c.state.rule.msg;
  for (std::size_t i = 0; i < q->inner.size(); ++i) {
    if (q->inner[i] == '\\' && i + 1 < q->inner.size()) ++i;
    msg.push_back(q->inner[i]);
  }
  return {};
}

Check classtype_option(const OptionContext& c) {
  const bool ok = !c.value.empty() && std::all_of(c.value.begin(), c.value.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
  });
  if (!ok) return refuse(c.state.loc.error(c.value, "bad classtype '" + std::string(c.value) + "'"));
  c.state.rule.classtype = std::string(c.value);
  return {};
}

// detection_filter:track by_src, count 50, seconds 5;
// threshold:type limit|threshold|both, track by_src|by_dst, count N, seconds S;
Check filter_option(const OptionContext& c, bool threshold) {
  const Locator& loc = c.state.loc;
  const std::string& name = c.key;
  Filter f;
  bool have_type = !threshold, have_track = false, have_count = false, have_seconds = false;
  for (std::string_view part : split_list(c.value)) {
    const auto split = word_and_rest(part);
    const std::string_view word = split.first;
    const std::string_view rest = split.second;
    const auto duplicate = [&](bool& seen) -> Check {
      if (seen) return refuse(loc.error(part, name + " gives '" + std::string(word) + "' twice"));
      seen = true;
      return {};
    };
    if (word == "track") {
      if (auto r = duplicate(have_track); !r) return r;
      if (rest == "by_src") {
        f.track = Track::BySrc;
      } else if (rest == "by_dst") {
        f.track = Track::ByDst;
      } else {
        return refuse(loc.error(rest, "track must be by_src or by_dst, not '" + std::string(rest) + "'"));
      }
    } else if (word == "count" || word == "seconds") {
      if (auto r = duplicate(word == "count" ? have_count : have_seconds); !r) return r;
      const auto v = parse_uint(rest, std::numeric_limits<std::uint32_t>::max());
      if (!v || *v == 0)
        return refuse(loc.error(rest, std::string(word) + " must be a number from 1, not '" + std::string(rest) + "'"));
      if (word == "count") {
        f.count = static_cast<std::uint32_t>(*v);
      } else {
        f.seconds = std::chrono::seconds(*v);
      }
    } else if (threshold && word == "type") {
      // have_type starts false for threshold only.
      if (auto r = duplicate(have_type); !r) return r;
      if (rest == "limit") {
        f.kind = Filter::Kind::Limit;
      } else if (rest == "threshold") {
        f.kind = Filter::Kind::Threshold;
      } else if (rest == "both") {
        f.kind = Filter::Kind::Both;
      } else {
        return refuse(loc.error(rest, "threshold type must be limit, threshold or both, not '" + std::string(rest) + "'"));
      }
    } else {
      return refuse(loc.error(part, "unknown " + name + " part '" + std::string(word) + "' (" +
                                        (threshold ? "type, " : "") + "track, count, seconds)"));
    }
  }
  if (!have_type) return refuse(loc.error(c.name, name + " needs type (limit, threshold or both)"));
  if (!have_track) return refuse(loc.error(c.name, name + " needs track (by_src or by_dst)"));
  if (!have_count) return refuse(loc.error(c.name, name + " needs count"));
  if (!have_seconds) return refuse(loc.error(c.name, name + " needs seconds"));
  (threshold ? c.state.rule.threshold : c.state.rule.detection) = f;
  return {};
}

bool permanent_word(std::string_view s) {
  for (std::string_view w : {"0", "permanent", "perm", "infinite", "inf", "always"})
    if (iequals(s, w)) return true;
  return false;
}

bool starts_duration(std::string_view s) { return !s.empty() && ((s[0] >= '0' && s[0] <= '9') || permanent_word(s)); }

// SnortSam: fwsam: who[how], duration;  who is src|source|dst|dest|destination (default
// src); how (in, out, src, dest, either, both, this, conn, connection) is accepted and
// ignored: a ban drops everything from the address.
Check fwsam_option(const OptionContext& c) {
  const Locator& loc = c.state.loc;
  RuleMatch::Block block;
  block.duration = kFwsamDefaultDuration;
  block.defaulted = true;
  const std::vector<std::string_view> parts = split_list(c.value);
  if (parts.size() > 2) return refuse(loc.error(parts[2], "fwsam takes who and a duration, as in 'fwsam:src, 10min'"));
  std::string_view duration;
  if (parts.size() == 2) {
    duration = parts[1];
  } else if (starts_duration(parts[0])) {
    duration = parts[0];
  }
  if (duration.data() != parts[0].data()) {
    std::string_view who = parts[0];
    const std::size_t bracket = who.find_first_of("[{");
    if (bracket != std::string_view::npos) {
      const char close = who[bracket] == '[' ? ']' : '}';
      const std::string_view how = trim(who.substr(bracket + 1, who.size() - bracket - 2));
      if (who.back() != close)
        return refuse(loc.error(who.substr(bracket), "fwsam: unbalanced brackets after who"));
      bool known = false;
      for (std::string_view h : {"in", "out", "src", "dest", "either", "both", "this", "conn", "connection"})
        known = known || iequals(how, h);
      if (!known)
        return refuse(loc.error(how, "fwsam: how must be in, out, src, dest, either, both, this, conn or connection"));
      who = trim(who.substr(0, bracket));
    }
    if (iequals(who, "src") || iequals(who, "source")) {
      block.whom = Track::BySrc;
    } else if (iequals(who, "dst") || iequals(who, "dest") || iequals(who, "destination")) {
      block.whom = Track::ByDst;
    } else {
      return refuse(loc.error(who, "fwsam: who must be src or dst, not '" + std::string(who) + "'"));
    }
  }
  if (duration.data() != nullptr) {
    if (duration.empty()) return refuse(loc.error(duration, "fwsam: empty duration"));
    block.defaulted = false;
    const auto d = permanent_word(duration) ? std::optional<std::chrono::seconds>(0) : parse_duration(duration);
    if (!d)
      return refuse(loc.error(duration, "bad fwsam duration '" + std::string(duration) +
                                            "' (e.g. 30s, 10min, 1h, 2 days, or permanent)"));
    block.permanent = d->count() == 0;
    block.duration = block.permanent ? kPermanentBan : *d;
  }
  c.state.rule.block = block;
  return {};
}

using Handler = Check (*)(const OptionContext&);

struct OptionSpec {
  std::string_view name;
  enum class Value : std::uint8_t { None, Required, Optional } value;
  bool once;
  Handler handler;
};

const OptionSpec kOptions[] = {
    {"msg", OptionSpec::Value::Required, true, msg_option},
    {"content", OptionSpec::Value::Required, false, content_option},
    {"nocase", OptionSpec::Value::None, false, modifier_option},
    {"offset", OptionSpec::Value::Required, false, modifier_option},
    {"depth", OptionSpec::Value::Required, false, modifier_option},
    {"distance", OptionSpec::Value::Required, false, modifier_option},
    {"within", OptionSpec::Value::Required, false, modifier_option},
    {"fast_pattern", OptionSpec::Value::Optional, false, modifier_option},
    {"pcre", OptionSpec::Value::Required, false, pcre_option},
    {"sip_method", OptionSpec::Value::Required, true, sip_method_option},
    {"sip_stat_code", OptionSpec::Value::Required, true, sip_stat_code_option},
    {"sip_header", OptionSpec::Value::None, false, section_option},
    {"sip_body", OptionSpec::Value::None, false, section_option},
    {"pkt_data", OptionSpec::Value::None, false, section_option},
    {"detection_filter", OptionSpec::Value::Required, true, [](const OptionContext& c) { return filter_option(c, false); }},
    {"threshold", OptionSpec::Value::Required, true, [](const OptionContext& c) { return filter_option(c, true); }},
    {"classtype", OptionSpec::Value::Required, true, classtype_option},
    {"priority", OptionSpec::Value::Required, true,
     [](const OptionContext& c) -> Check {
       auto v = number_option(c, 1);
       if (!v) return refuse(v.error());
       c.state.rule.priority = *v;
       return {};
     }},
    {"sid", OptionSpec::Value::Required, true,
     [](const OptionContext& c) -> Check {
       auto v = number_option(c, 1);
       if (!v) return refuse(v.error());
       c.state.rule.sid = *v;
       return {};
     }},
    {"rev", OptionSpec::Value::Required, true,
     [](const OptionContext& c) -> Check {
       auto v = number_option(c, 0);
       if (!v) return refuse(v.error());
       c.state.rule.rev = *v;
       return {};
     }},
    {"reference", OptionSpec::Value::Required, false, [](const OptionContext&) -> Check { return {}; }},
    {"metadata", OptionSpec::Value::Required, false, [](const OptionContext&) -> Check { return {}; }},
    {"fwsam", OptionSpec::Value::Required, true, fwsam_option},
};

}  // namespace

Result<Quoted, RuleError> quoted_value(const OptionContext& c, bool allow_negation) {
  const Locator& loc = c.state.loc;
  std::string_view v = c.value;
  Quoted out;
  if (!v.empty() && v.front() == '!') {
    if (!allow_negation) return refuse(loc.error(v, c.key + " cannot be negated"));
    out.negated = true;
    v = trim(v.substr(1));
  }
  if (v.empty() || v.front() != '"')
    return refuse(loc.error(v, c.key + " needs a quoted string"));
  std::size_t i = 1;
  while (i < v.size() && v[i] != '"') i += v[i] == '\\' ? 2 : 1;
  if (i >= v.size()) return refuse(loc.error(v, "unterminated quoted string"));
  const std::string_view rest = trim(v.substr(i + 1));
  if (!rest.empty()) return refuse(loc.error(rest, "text after the closing quote: '" + std::string(rest) + "'"));
  out.inner = v.substr(1, i - 1);
  return out;
}

Check apply_option(OptionState& state, std::string_view name, std::optional<std::string_view> value) {
  const std::string key = lower(name);
  const OptionSpec* spec = nullptr;
  for (const OptionSpec& s : kOptions)
    if (s.name == key) spec = &s;
  if (!spec) return refuse(state.loc.error(name, "unknown option '" + std::string(name) + "'"));
  if (spec->value == OptionSpec::Value::Required && (!value || value->empty()))
    return refuse(state.loc.error(name, "option '" + key + "' needs a value ('" + key + ":...;')"));
  if (spec->value == OptionSpec::Value::None && value)
    return refuse(state.loc.error(*value, "option '" + key + "' takes no value"));
  if (spec->once) {
    if (std::find(state.seen.begin(), state.seen.end(), key) != state.seen.end())
      return refuse(state.loc.error(name, "option '" + key + "' given twice"));
    state.seen.push_back(key);
  }
  const std::string_view v = value ? *value : name.substr(name.size());
  return spec->handler(OptionContext{state, name, key, v, value.has_value()});
}

Check finish_options(OptionState& state, std::string_view closing_paren) {
  CompiledRule& rule = state.rule;
  if (rule.sid == 0) return refuse(state.loc.error(closing_paren, "missing sid (every rule needs sid:N)"));
  finish_patterns(rule);
  return {};
}

}  // namespace sipbox::security::detail
