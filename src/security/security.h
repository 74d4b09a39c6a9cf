// Public interface of the security module: the intrusion prevention system inside
// sipboxd (issue 5). A Guard sits in front of the SIP core: the ban table is consulted
// before a message is parsed (O(1) for single addresses), then the Snort-style rules
// (rules.h) and the built-in detectors look at what was received; a detection becomes an
// incident and, when the rule or detector says so, a ban.
//
// Everything here is shared by the SIP workers and thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/result.h"
#include "security/rules.h"

namespace sipbox::security {

using Address = boost::asio::ip::address;
using WallClock = std::chrono::system_clock;

// An address or prefix: "192.0.2.7", "2001:db8::/64", "10.0.0.0/8".
struct Prefix {
  Address network;
  unsigned length = 32;
  bool contains(const Address& address) const;
  std::string text() const;  // canonical: a host without "/32" or "/128"
  bool operator==(const Prefix&) const = default;
};
Result<Prefix> parse_prefix(std::string_view text);

struct BanEntry {
  Prefix prefix;
  WallClock::time_point until;
  std::string reason;
  std::uint32_t sid = 0;
  std::uint32_t offences = 1;
};

// The bans in force. Lookups of a single address are one hash probe; prefix bans (few)
// are scanned by length. An empty table costs one atomic load.
class BanTable {
 public:
  bool is_banned(const Address& address, WallClock::time_point now) const;
  // Adds or extends a ban; returns the entry as stored.
  BanEntry ban(BanEntry entry);
  bool unban(const Prefix& prefix);
  // Removes what has expired and returns it (for nftables and the store).
  std::vector<BanEntry> expire(WallClock::time_point now);
  std::vector<BanEntry> list(WallClock::time_point now) const;
  std::optional<BanEntry> find(const Prefix& prefix) const;
  std::size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, BanEntry> hosts_;  // key: address bytes
  std::vector<BanEntry> prefixes_;                    // length < 32 (IPv4) or < 128 (IPv6)
  std::atomic<std::size_t> count_{0};
};

// Mirrors `container security` in yang/sipbox-security.yang.
struct SecuritySettings {
  bool enabled = true;
  enum class BanAction : std::uint8_t { Drop, Reject403, Reject503 };
  BanAction ban_action = BanAction::Drop;
  std::chrono::seconds default_ban{600};
  double repeat_factor = 2.0;  // each further offence multiplies the duration
  std::chrono::seconds max_ban{7 * 86400};
  std::vector<Prefix> whitelist;
  struct Flood {
    bool enabled = true;
    std::chrono::seconds window{5};
    std::uint32_t register_threshold = 100;
    std::uint32_t invite_threshold = 50;
    std::uint32_t options_threshold = 50;
    std::uint32_t any_threshold = 200;
  } flood;
  struct BruteForce {
    bool enabled = true;
    std::chrono::seconds window{60};
    std::uint32_t per_source = 10;
    std::uint32_t per_user = 20;
  } brute_force;
  struct Enumeration {
    bool enabled = true;
    std::chrono::seconds window{60};
    std::uint32_t distinct_unknown_users = 10;
  } enumeration;
  struct Scanner {
    bool enabled = true;
    std::vector<std::string> user_agent_patterns;  // case-insensitive substrings
  } scanner;
  struct Malformed {
    bool enabled = true;
    std::chrono::seconds window{10};
    std::uint32_t threshold = 20;
  } malformed;
  struct TollFraud {
    bool enabled = true;
    std::vector<std::string> premium_prefixes;
    std::vector<std::string> international_prefixes;
  } toll_fraud;
};

// A detection, as stored and logged.
struct Detection {
  WallClock::time_point at;
  Address source;
  std::uint32_t sid = 0;  // 0 for a built-in detector
  std::string message;    // rule msg or detector description
  std::uint64_t count = 0;
  std::string action;     // "alert", "drop", "ban 600 s", ...
};

// Where detections and ban changes go (the daemon: store, log, nftables, webhook).
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void detected(const Detection& detection) = 0;
  virtual void banned(const BanEntry& ban) = 0;
  virtual void unbanned(const BanEntry& ban) = 0;
};

enum class Verdict : std::uint8_t { Pass, Drop, Reject403, Reject503 };

// Counters for /metrics.
struct GuardStats {
  std::uint64_t banned_dropped = 0;  // packets from banned sources, before parsing
  std::uint64_t rule_matches = 0;
  std::uint64_t detections = 0;
  std::uint64_t bans = 0;
  std::uint64_t dropped_by_rule = 0;
  std::size_t active_bans = 0;
};

class Guard {
 public:
  Guard(SecuritySettings settings, BanTable& bans, Reporter& reporter);
  ~Guard();

  // Replaced as a whole when the configuration changes (rules are compiled by the caller).
  void set_rules(std::shared_ptr<RuleSet> rules);
  void set_settings(SecuritySettings settings);

  // Before parsing: Drop (or a reject) for a banned source, else Pass. O(1).
  Verdict before_parse(const Address& source, WallClock::time_point now);
  // After parsing (`packet.message` null when the parser refused it): rules, flood,
  // scanner, malformed detectors. Drop when a drop rule matched or the source got banned.
  Verdict inspect(const Packet& packet, Clock::time_point now);
  // From the registrar and the proxy.
  void auth_failure(const Address& source, std::string_view user, Clock::time_point now);
  void unknown_user(const Address& source, std::string_view user, Clock::time_point now);
  // Toll fraud: a call set up by `account` from `source` to `target` (a dialled number).
  // false: a toll-fraud signal; the call is to be refused (403).
  bool call_attempt(const Address& source, std::string_view account, std::string_view target,
                    Clock::time_point now);
  // Toll fraud: `account` tried a call while it had `active` calls at its limit (the
  // proxy refuses it); an incident when the detector is on.
  void call_limit_reached(const Address& source, std::string_view account, std::size_t active, std::uint16_t limit);

  // Manual ban/unban (CLI, REST).
  BanEntry ban(const Prefix& prefix, std::chrono::seconds duration, std::string reason);
  bool unban(const Prefix& prefix);
  // Expires bans (called once a second by the daemon).
  void tick(WallClock::time_point now);

  bool whitelisted(const Address& address) const;
  GuardStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::security
