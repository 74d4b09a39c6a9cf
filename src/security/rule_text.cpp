// Text helpers of the rule parser, error columns, and durations (fwsam, configuration).
#include <limits>

#include "security/rule_internal.h"

namespace sipbox::security {
namespace detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(static_cast<unsigned char>(a[i])) != fold(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (max - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

std::optional<std::int64_t> parse_int(std::string_view s, std::int64_t min, std::int64_t max) {
  const bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  const std::uint64_t limit = negative ? static_cast<std::uint64_t>(-(min + 1)) + 1 : static_cast<std::uint64_t>(max);
  const auto v = parse_uint(s, limit);
  if (!v) return std::nullopt;
  const std::int64_t value = negative ? -static_cast<std::int64_t>(*v - 1) - 1 : static_cast<std::int64_t>(*v);
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t depth = 0;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == '[') {
      ++depth;
    } else if (!quoted && c == ']' && depth > 0) {
      --depth;
    } else if (!quoted && depth == 0 && c == ',') {
      parts.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim(s.substr(start)));
  return parts;
}

Locator Locator::inside_variable(std::string_view reference, std::string_view name) const {
  Locator inner(*this);
  if (fixed_column_ == 0) inner.fixed_column_ = column(reference);
  inner.prefix_ = prefix_ + "in $" + std::string(name) + ": ";
  return inner;
}

std::size_t Locator::column(std::string_view at) const {
  if (fixed_column_ != 0) return fixed_column_;
  const char* begin = rule_.data();
  if (at.data() < begin || at.data() > begin + rule_.size()) return 1;
  return static_cast<std::size_t>(at.data() - begin) + 1;
}

RuleError Locator::error(std::string_view at, std::string reason) const {
  return RuleError{column(at), prefix_ + std::move(reason)};
}

}  // namespace detail

namespace {

struct Unit {
  std::string_view name;
  std::int64_t seconds;
};

constexpr std::int64_t kDay = 24 * 3600;
constexpr Unit kUnits[] = {
    {"s", 1},          {"sec", 1},          {"secs", 1},      {"second", 1},      {"seconds", 1},
    {"m", 60},         {"min", 60},         {"mins", 60},     {"minute", 60},     {"minutes", 60},
    {"h", 3600},       {"hr", 3600},        {"hrs", 3600},    {"hour", 3600},     {"hours", 3600},
    {"d", kDay},       {"day", kDay},       {"days", kDay},   {"w", 7 * kDay},    {"wk", 7 * kDay},
    {"week", 7 * kDay}, {"weeks", 7 * kDay}, {"mon", 30 * kDay}, {"month", 30 * kDay}, {"months", 30 * kDay},
    {"y", 365 * kDay}, {"yr", 365 * kDay},  {"year", 365 * kDay}, {"years", 365 * kDay},
};
constexpr std::int64_t kMaxDuration = 100 * 365 * kDay;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  text = detail::trim(text);
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && detail::is_space(text[i])) ++i;
    const std::size_t number_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    const auto number = detail::parse_uint(text.substr(number_start, i - number_start), kMaxDuration);
    if (!number) return std::nullopt;
    while (i < text.size() && detail::is_space(text[i])) ++i;
    const std::size_t unit_start = i;
    while (i < text.size() && is_alpha(text[i])) ++i;
    const std::string_view unit_text = text.substr(unit_start, i - unit_start);
    std::int64_t unit = 1;
    if (!unit_text.empty()) {
      unit = 0;
      for (const Unit& u : kUnits)
        if (detail::iequals(unit_text, u.name)) unit = u.seconds;
      if (unit == 0) return std::nullopt;
    }
    if (static_cast<std::int64_t>(*number) > (kMaxDuration - total) / unit) return std::nullopt;
    total += static_cast<std::int64_t>(*number) * unit;
    // A part must be followed by space, another number, or the end: "10min" "1h30m".
    if (i < text.size() && !detail::is_space(text[i]) && !is_digit(text[i])) return std::nullopt;
  }
  return std::chrono::seconds(total);
}

}  // namespace sipbox::security
