// The Snort rule language subset that SIP protection uses (BESIP's Snort + SnortSam
// rules), compiled and evaluated inside sipboxd before a message reaches the core.
// Part of the security module; docs/security.md ("Rule language") documents the subset
// and the semantics of detection_filter, threshold and fwsam.
//
//   alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:"SIP DoS attempt(registerflood)";
//     content:"REGISTER sip"; detection_filter:track by_src, count 50, seconds 5;
//     classtype:misc-attack; sid:1000001; rev:1; fwsam:src, 10min;)
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/result.h"
#include "sip/sip.h"

namespace sipbox::security {

using Clock = std::chrono::steady_clock;

// $NAME -> value in rule syntax ("any", "192.0.2.0/24", "[10.0.0.0/8,!10.1.0.0/16]",
// "5060", "5060:5061", "[5060,5080]"). Values may name other variables.
using RuleVariables = std::map<std::string, std::string, std::less<>>;

// Why a rule was refused: the 1-based column (byte offset + 1) in the rule text where the
// problem is, and the reason in words ("unknown option 'conten'", "detection_filter needs
// seconds"). A problem inside a variable's value points at the $NAME that brought it in.
struct RuleError {
  std::size_t column = 0;
  std::string reason;
};

enum class RuleAction : std::uint8_t { Alert, Drop, Pass };
enum class Track : std::uint8_t { BySrc, ByDst };

// fwsam without a duration: SnortSam's default block length (its README: "Defaults to
// src[either],5min"). RuleMatch::Block::defaulted says the rule gave none, so the caller
// may apply its own default (the YANG default-ban-duration) instead.
inline constexpr std::chrono::seconds kFwsamDefaultDuration{300};
// fwsam with a duration of 0, "permanent", "infinite" or "always": ten years.
inline constexpr std::chrono::seconds kPermanentBan{10LL * 365 * 24 * 3600};

// One packet as the rule engine sees it: the bytes (before or after parsing), the parsed
// message when it could be parsed (sip_method, sip_header, sip_body, sip_stat_code need
// it), and the addresses (IPv4-mapped IPv6 addresses count as IPv4). `udp` false means a
// stream transport (Snort's tcp).
struct Packet {
  std::string_view bytes;
  const sip::Message* message = nullptr;
  bool udp = true;
  boost::asio::ip::address src;
  std::uint16_t src_port = 0;
  boost::asio::ip::address dst;
  std::uint16_t dst_port = 0;
};

// A rule that fired (its options matched and its detection_filter/threshold let it
// through). The views point into the CompiledRule: valid while the RuleSet lives.
struct RuleMatch {
  std::uint32_t sid = 0;
  std::uint32_t rev = 0;
  std::string_view msg;
  std::string_view classtype;
  std::uint32_t priority = 0;  // 0: the rule has no priority option
  RuleAction action = RuleAction::Alert;
  // fwsam:src|dst, DURATION: whom to block and for how long; nullopt without fwsam.
  struct Block {
    Track whom = Track::BySrc;
    std::chrono::seconds duration{0};
    bool permanent = false;  // duration is kPermanentBan
    bool defaulted = false;  // no duration in the rule: kFwsamDefaultDuration
  };
  std::optional<Block> block;
  // Matches counted in the current window by detection_filter (else threshold) when the
  // rule fired; 1 for a rule without either.
  std::uint64_t count = 0;
};

// One compiled rule (opaque, immutable, shareable between threads).
struct CompiledRule;

// Parses one rule. Variables are resolved at compile time; an undefined variable is an
// error pointing at it. pcre patterns are compiled (and JIT-compiled) here, once.
// Thread-safe (no shared state).
Result<std::shared_ptr<const CompiledRule>, RuleError> compile_rule(std::string_view text,
                                                                    const RuleVariables& variables);
std::uint32_t rule_sid(const CompiledRule& rule);
RuleAction rule_action(const CompiledRule& rule);
std::string_view rule_msg(const CompiledRule& rule);

// Checks a variable's value the way a rule would use it: as an address list or a port
// list (variables it names must be defined). The column is within `value`.
Result<void, RuleError> check_variable(std::string_view value, const RuleVariables& variables);

// Rules plus the state of their detection_filter / threshold counters (per rule and
// tracked address, Snort's fixed windows). Thread-safe: evaluate() is called from every
// SIP worker at once; the counter state is striped by address (64 stripes, one mutex
// each), so workers rarely meet on a lock. Memory is bounded: counters idle longer than
// their window are reclaimed, and the table never holds more than Limits::max_counters
// entries (the least recently used one is evicted, and counted).
class RuleSet {
 public:
  struct Limits {
    std::size_t max_counters = 1'000'000;
  };
  struct CounterStats {
    std::size_t entries = 0;     // counters held now
    std::uint64_t evicted = 0;   // dropped to stay under max_counters (state lost)
    std::uint64_t expired = 0;   // dropped because idle longer than their window (no loss)
  };

  RuleSet();
  explicit RuleSet(std::vector<std::shared_ptr<const CompiledRule>> rules);
  RuleSet(std::vector<std::shared_ptr<const CompiledRule>> rules, Limits limits);
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Every rule whose header and options match, in rule order, after its
  // detection_filter/threshold. A `pass` rule that matches is returned last and stops
  // evaluation (Snort's pass-first is not modelled: order is the configuration's).
  // Allocates nothing when nothing fires (the vector is empty, without capacity).
  std::vector<RuleMatch> evaluate(const Packet& packet, Clock::time_point now);
  std::size_t size() const;

  // Drops every counter idle longer than its window (evaluate() also reclaims a few on
  // each insertion); for a periodic timer.
  void sweep(Clock::time_point now);
  CounterStats counter_stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Durations as fwsam and the configuration write them: a number with an optional unit,
// or several such parts summed ("10min", "1h", "30s", "2d", "600" (seconds),
// "2 days 4 hours", "1h30m"). Units, case-insensitive: s sec secs second seconds;
// m min mins minute minutes; h hr hrs hour hours; d day days; w wk week weeks;
// mon month months (30 days); y yr year years (365 days). nullopt when malformed, empty
// or longer than 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace sipbox::security
