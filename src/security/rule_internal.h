// Inside the rule engine: the compiled form of a rule and the pieces that build and run
// it. Only src/security/rule_*.cpp include this header (it brings in PCRE2).
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "security/rules.h"

namespace sipbox::security::detail {

// ---- limits that keep compile time and evaluation bounded ----
inline constexpr std::size_t kMaxRuleBytes = 65535;
inline constexpr std::size_t kMaxListDepth = 16;      // nested [...] and $VAR expansions
inline constexpr std::size_t kMaxPatterns = 64;       // content + pcre options per rule
inline constexpr int kMatchBudget = 512;              // candidate positions tried per rule and packet
inline constexpr std::uint32_t kPcreMatchLimit = 20000;
inline constexpr std::uint32_t kPcreDepthLimit = 2000;

// ---- text helpers (rule_text.cpp) ----
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr unsigned char fold(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Decimal without sign; nullopt when empty, not all digits or above `max`.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max);
// Optional '-' then decimal, within [min, max].
std::optional<std::int64_t> parse_int(std::string_view s, std::int64_t min, std::int64_t max);
// Splits at commas outside [...] and "..." (escapes honoured); parts are trimmed views.
std::vector<std::string_view> split_list(std::string_view s);

// Turns views of the rule text into columns. Text that came from a variable's value has
// no column of its own: errors in it point at the $NAME in the rule and say which
// variable ("in $HOME_NET: ...").
class Locator {
 public:
  explicit Locator(std::string_view rule) : rule_(rule) {}
  // For text inside `value`, the value of the variable written at `reference`.
  Locator inside_variable(std::string_view reference, std::string_view name) const;
  RuleError error(std::string_view at, std::string reason) const;
  std::size_t column(std::string_view at) const;

 private:
  std::string_view rule_;
  std::size_t fixed_column_ = 0;
  std::string prefix_;
};

inline Unexpected<RuleError> refuse(RuleError error) { return {std::move(error)}; }
using Check = Result<void, RuleError>;

// ---- addresses and ports (rule_lists.cpp) ----

// An address with IPv4-mapped IPv6 addresses turned into IPv4.
struct NetAddr {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
};
NetAddr to_net(const boost::asio::ip::address& address);

struct Cidr {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t prefix = 0;
  bool v6 = false;
  bool contains(const NetAddr& a) const;
};

struct PortRange {
  std::uint16_t lo = 0;
  std::uint16_t hi = 65535;
  bool contains(std::uint16_t p) const { return lo <= p && p <= hi; }
};

// A Snort list: it matches when some included item matches (or nothing is included, only
// excluded) and no excluded item matches. Items are leaves or nested lists; '!' before
// an item (or a whole list, or a variable) moves it to the excluded side.
template <class Leaf, class Value>
struct ListSet {
  bool include_all = false;  // 'any' among the included items
  std::vector<Leaf> include;
  std::vector<Leaf> exclude;
  std::vector<ListSet> include_sets;
  std::vector<ListSet> exclude_sets;

  bool is_any() const { return include_all && exclude.empty() && exclude_sets.empty(); }
  bool matches(const Value& v) const {
    bool in = include_all || (include.empty() && include_sets.empty());
    for (std::size_t i = 0; !in && i < include.size(); ++i) in = include[i].contains(v);
    for (std::size_t i = 0; !in && i < include_sets.size(); ++i) in = include_sets[i].matches(v);
    if (!in) return false;
    for (const Leaf& leaf : exclude)
      if (leaf.contains(v)) return false;
    for (const ListSet& set : exclude_sets)
      if (set.matches(v)) return false;
    return true;
  }
};
using AddrSet = ListSet<Cidr, NetAddr>;
using PortSet = ListSet<PortRange, std::uint16_t>;

Result<AddrSet, RuleError> parse_addresses(std::string_view text, const RuleVariables& vars, const Locator& loc);
Result<PortSet, RuleError> parse_ports(std::string_view text, const RuleVariables& vars, const Locator& loc);

// ---- the compiled rule ----

enum class Proto : std::uint8_t { Udp, Tcp, Ip };
// What content and pcre search: the whole packet, or (sip_header / sip_body) a section
// of the parsed SIP message.
enum class Section : std::uint8_t { Raw, Header, Body };

struct PcreFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};

struct Pattern {
  enum class Kind : std::uint8_t { Content, Pcre };
  Kind kind = Kind::Content;
  Section section = Section::Raw;
  bool negated = false;
  bool relative = false;  // distance/within, or pcre's R: from the end of the previous match
  bool retry = false;     // another match position may help a later relative option
  // content
  std::string bytes;      // folded to lower case when nocase
  bool nocase = false;
  std::optional<std::int32_t> offset, depth, distance, within;
  std::array<std::uint16_t, 256> shift{};  // Horspool shifts (on folded bytes when nocase)
  std::string_view name;  // the option name in the rule text, for modifier errors
  // pcre
  std::unique_ptr<pcre2_code, PcreFree> code;
};

struct Filter {
  enum class Kind : std::uint8_t { Detection, Limit, Threshold, Both };
  Kind kind = Kind::Detection;
  Track track = Track::BySrc;
  std::uint32_t count = 0;
  std::chrono::seconds seconds{0};
};

}  // namespace sipbox::security::detail

namespace sipbox::security {

struct CompiledRule {
  RuleAction action = RuleAction::Alert;
  detail::Proto proto = detail::Proto::Ip;
  bool bidirectional = false;
  detail::AddrSet src, dst;
  detail::PortSet src_ports, dst_ports;

  std::string msg;
  std::string classtype;
  std::uint32_t sid = 0;
  std::uint32_t rev = 0;
  std::uint32_t priority = 0;

  std::vector<detail::Pattern> patterns;
  int fast_pattern = -1;  // the longest positive content: checked before the rest
  bool has_methods = false;
  bool methods_negated = false;
  std::vector<std::string> methods;
  std::vector<std::uint16_t> status_codes;  // 100..999, or 1..9 for a class
  std::optional<detail::Filter> detection;
  std::optional<detail::Filter> threshold;
  std::optional<RuleMatch::Block> block;
};

}  // namespace sipbox::security

namespace sipbox::security::detail {

// ---- options (rule_options.cpp) ----

// The state of the option list while it is read: where content goes, which content the
// next modifier applies to, which options were given.
struct OptionState {
  CompiledRule& rule;
  const Locator& loc;
  Section section = Section::Raw;
  int last_content = -1;
  std::vector<std::string> seen;  // single-use options given so far
};
// Applies one `name[:value]` option; `name` and `value` are views of the rule text.
Check apply_option(OptionState& state, std::string_view name, std::optional<std::string_view> value);
// Checks that need the whole option list (sid present) and precomputes search tables.
Check finish_options(OptionState& state, std::string_view closing_paren);

// ---- matching (rule_match.cpp) ----

// A packet with its addresses normalized and the SIP sections found once.
class PacketView {
 public:
  explicit PacketView(const Packet& packet);
  const Packet& packet() const { return packet_; }
  const NetAddr& src() const { return src_; }
  const NetAddr& dst() const { return dst_; }
  // nullopt when the section needs a parsed message and there is none.
  std::optional<std::string_view> section(Section s) const;

 private:
  const Packet& packet_;
  NetAddr src_, dst_;
  mutable std::optional<std::string_view> header_;
};

// Header, sip_* and content/pcre options (not the counters).
bool rule_matches(const CompiledRule& rule, const PacketView& packet);
// First position >= from where the content lies wholly inside [from, end); npos if none.
std::size_t find_content(const Pattern& p, std::string_view hay, std::size_t from, std::size_t end);
void prepare_search(Pattern& p);

}  // namespace sipbox::security::detail
