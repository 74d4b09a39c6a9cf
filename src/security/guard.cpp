// The Guard: ban table first, then rules and the built-in detectors (floods, brute
// force, enumeration, scanners, malformed bursts, toll fraud).
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include "security/security.h"

namespace sipbox::security {
namespace {

// A sliding window estimated from two fixed buckets (the previous one weighted by how
// much of it still overlaps the window), as pike does: O(1) memory and time.
struct Window {
  Clock::time_point start{};
  std::uint32_t current = 0;
  std::uint32_t previous = 0;

  double add(Clock::time_point now, std::chrono::seconds length) {
    roll(now, length);
    ++current;
    return estimate(now, length);
  }
  void roll(Clock::time_point now, std::chrono::seconds length) {
    if (now - start >= 2 * length) {
      previous = 0;
      current = 0;
      start = now;
    } else if (now - start >= length) {
      previous = current;
      current = 0;
      start += length;
    }
  }
  double estimate(Clock::time_point now, std::chrono::seconds length) const {
    const double elapsed = std::chrono::duration<double>(now - start).count() / std::max<double>(1, length.count());
    return current + previous * std::max(0.0, 1.0 - elapsed);
  }
};

struct SourceState {
  Clock::time_point last_seen{};
  Window register_flood, invite_flood, options_flood, any_flood, malformed, auth_failures;
  Clock::time_point unknown_start{};
  std::vector<std::size_t> unknown_users;  // hashes of distinct unknown user names
  std::vector<std::pair<std::uint32_t, Clock::time_point>> last_alert;  // (sid, time)
};

constexpr std::size_t kStripes = 64;
constexpr std::size_t kMaxSourcesPerStripe = 16384;  // 1M sources in all

std::string address_key(const Address& address) {
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  const auto b = address.to_v6().to_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

bool contains_nocase(std::string_view haystack, std::string_view needle) {
  if (needle.empty() || needle.size() > haystack.size()) return false;
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(haystack[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string describe(std::chrono::seconds duration) { return "ban " + std::to_string(duration.count()) + " s"; }

}  // namespace

struct Guard::Impl {
  struct Stripe {
    std::mutex mutex;
    std::unordered_map<std::string, SourceState> sources;
  };

  Impl(SecuritySettings s, BanTable& b, Reporter& r)
      : settings(std::make_shared<const SecuritySettings>(std::move(s))), bans(b), reporter(r) {}

  std::atomic<std::shared_ptr<const SecuritySettings>> settings;
  std::atomic<std::shared_ptr<RuleSet>> rules;
  BanTable& bans;
  Reporter& reporter;
  std::array<Stripe, kStripes> stripes;
  std::mutex users_mutex;
  std::unordered_map<std::string, Window> user_failures;
  std::mutex offences_mutex;
  std::unordered_map<std::string, std::uint32_t> offences;
  std::mutex accounts_mutex;
  std::unordered_map<std::string, std::vector<std::string>> account_sources;  // toll fraud: sources seen
  std::atomic<std::uint64_t> banned_dropped{0}, rule_matches{0}, detections{0}, ban_count{0}, dropped_by_rule{0};

  // Runs `f(state)` with the source's state locked; false when the table is full.
  template <class F>
  bool with_source(const Address& source, Clock::time_point now, F&& f) {
    const std::string key = address_key(source);
    Stripe& stripe = stripes[std::hash<std::string>{}(key) % kStripes];
    std::lock_guard lock(stripe.mutex);
    auto found = stripe.sources.find(key);
    if (found == stripe.sources.end()) {
      if (stripe.sources.size() >= kMaxSourcesPerStripe) return false;
      found = stripe.sources.emplace(key, SourceState{}).first;
    }
    found->second.last_seen = now;
    f(found->second);
    return true;
  }

  bool whitelisted(const SecuritySettings& s, const Address& address) const {
    return std::any_of(s.whitelist.begin(), s.whitelist.end(), [&](const Prefix& p) { return p.contains(address); });
  }

  void detect(const Address& source, std::uint32_t sid, std::string message, std::uint64_t count, std::string action) {
    ++detections;
    reporter.detected(Detection{WallClock::now(), source, sid, std::move(message), count, std::move(action)});
  }

  // Bans `source` (not whitelisted) for `base` times the repeat factor per earlier offence.
  std::chrono::seconds ban(const SecuritySettings& s, const Address& source, std::chrono::seconds base,
                           std::string reason, std::uint32_t sid, bool permanent = false) {
    // Offences: counted here, and carried by a ban still in the table (restored from the
    // store at start), whichever is higher. The map is bounded: when it is full it
    // starts again (the bans in the table still carry their count).
    const Prefix host{source, source.is_v4() ? 32u : 128u};
    const auto existing = bans.find(host);
    std::uint32_t n = 1;
    {
      std::lock_guard lock(offences_mutex);
      if (offences.size() >= 100000) offences.clear();
      std::uint32_t& count = offences[source.to_string()];
      count = std::max(count + 1, existing ? existing->offences + 1 : 1u);
      n = count;
    }
    const double factor = std::pow(std::max(1.0, s.repeat_factor), static_cast<double>(n - 1));
    const double longest = permanent ? static_cast<double>(base.count()) : static_cast<double>(s.max_ban.count());
    const auto seconds = std::min<double>(static_cast<double>(base.count()) * factor, longest);
    const std::chrono::seconds duration(static_cast<std::int64_t>(seconds));
    BanEntry entry{host, WallClock::now() + duration, std::move(reason), sid, n};
    reporter.banned(bans.ban(std::move(entry)));
    ++ban_count;
    return duration;
  }

  // A detector's threshold crossed: incident + ban.
  void trip(const SecuritySettings& s, const Address& source, std::string message, std::uint64_t count) {
    const auto duration = ban(s, source, s.default_ban, message, 0);
    detect(source, 0, std::move(message), count, describe(duration));
  }
};

Guard::Guard(SecuritySettings settings, BanTable& bans, Reporter& reporter)
    : impl_(std::make_unique<Impl>(std::move(settings), bans, reporter)) {}
Guard::~Guard() = default;

void Guard::set_rules(std::shared_ptr<RuleSet> rules) { impl_->rules.store(std::move(rules)); }
void Guard::set_settings(SecuritySettings settings) {
  impl_->settings.store(std::make_shared<const SecuritySettings>(std::move(settings)));
}

bool Guard::whitelisted(const Address& address) const { return impl_->whitelisted(*impl_->settings.load(), address); }

Verdict Guard::before_parse(const Address& source, WallClock::time_point now) {
  if (!impl_->bans.is_banned(source, now)) return Verdict::Pass;
  // Only when banned: the master switch off keeps bans but enforces none, and an address
  // whitelisted after its ban passes.
  const auto settings = impl_->settings.load();
  if (!settings->enabled || impl_->whitelisted(*settings, source)) return Verdict::Pass;
  ++impl_->banned_dropped;
  switch (settings->ban_action) {
    case SecuritySettings::BanAction::Drop: return Verdict::Drop;
    case SecuritySettings::BanAction::Reject403: return Verdict::Reject403;
    case SecuritySettings::BanAction::Reject503: return Verdict::Reject503;
  }
  return Verdict::Drop;
}

Verdict Guard::inspect(const Packet& packet, Clock::time_point now) {
  const auto settings = impl_->settings.load();
  const SecuritySettings& s = *settings;
  if (!s.enabled) return Verdict::Pass;
  const bool trusted = impl_->whitelisted(s, packet.src);
  Verdict verdict = Verdict::Pass;

  if (auto rules = impl_->rules.load(); rules && rules->size() > 0) {
    for (const RuleMatch& match : rules->evaluate(packet, now)) {
      ++impl_->rule_matches;
      if (match.action == RuleAction::Pass) break;
      // One incident per rule and source per second: a flood keeps firing until banned.
      bool report = true;
      impl_->with_source(packet.src, now, [&](SourceState& state) {
        for (auto& [sid, at] : state.last_alert) {
          if (sid != match.sid) continue;
          report = now - at >= std::chrono::seconds(1);
          if (report) at = now;
          return;
        }
        state.last_alert.emplace_back(match.sid, now);
      });
      std::string action = match.action == RuleAction::Drop ? "drop" : "alert";
      if (match.action == RuleAction::Drop) {
        ++impl_->dropped_by_rule;
        verdict = Verdict::Drop;
      }
      if (match.block && !trusted) {
        const Address whom = match.block->whom == Track::BySrc ? packet.src : packet.dst;
        if (match.block->whom == Track::BySrc) {
          // fwsam without a duration: the configured default; a permanent ban is not
          // capped by max-ban-duration.
          const auto base = match.block->defaulted ? s.default_ban : match.block->duration;
          action = describe(
              impl_->ban(s, whom, base, std::string(match.msg), match.sid, match.block->permanent));
          verdict = Verdict::Drop;
          report = true;
        }
      }
      if (report) impl_->detect(packet.src, match.sid, std::string(match.msg), match.count, action);
    }
  }
  if (trusted || verdict == Verdict::Drop) return verdict;

  // Built-in detectors, on what the source sent.
  const sip::Message* m = packet.message;
  std::optional<std::string> tripped;
  double count = 0;
  impl_->with_source(packet.src, now, [&](SourceState& state) {
    if (!m) {
      if (s.malformed.enabled && (count = state.malformed.add(now, s.malformed.window)) > s.malformed.threshold)
        tripped = "burst of malformed messages";
      return;
    }
    if (!m->is_request() || !s.flood.enabled) return;
    const auto check = [&](Window& window, std::uint32_t threshold, const char* what) {
      if (tripped || threshold == 0) return;
      if ((count = window.add(now, s.flood.window)) > threshold) tripped = what;
    };
    switch (m->method_id()) {
      case sip::Method::Register: check(state.register_flood, s.flood.register_threshold, "REGISTER flood"); break;
      case sip::Method::Invite: check(state.invite_flood, s.flood.invite_threshold, "INVITE flood"); break;
      case sip::Method::Options: check(state.options_flood, s.flood.options_threshold, "OPTIONS flood"); break;
      default: break;
    }
    check(state.any_flood, s.flood.any_threshold, "request flood");
  });
  if (!tripped && m && s.scanner.enabled) {
    for (const sip::HeaderField& field : m->headers()) {
      if (field.id != sip::HeaderId::UserAgent && field.id != sip::HeaderId::Server) continue;
      for (const std::string& pattern : s.scanner.user_agent_patterns)
        if (contains_nocase(field.value, pattern)) {
          tripped = "scanner (User-Agent '" + pattern + "')";
          count = 1;
        }
    }
  }
  if (!tripped) return Verdict::Pass;
  impl_->trip(s, packet.src, *tripped, static_cast<std::uint64_t>(count));
  return Verdict::Drop;
}

void Guard::auth_failure(const Address& source, std::string_view user, Clock::time_point now) {
  const auto settings = impl_->settings.load();
  const SecuritySettings& s = *settings;
  if (!s.enabled || !s.brute_force.enabled || impl_->whitelisted(s, source)) return;
  double count = 0;
  impl_->with_source(source, now,
                     [&](SourceState& state) { count = state.auth_failures.add(now, s.brute_force.window); });
  if (count > s.brute_force.per_source) {
    impl_->trip(s, source, "digest brute force (failed authentications from one source)",
                static_cast<std::uint64_t>(count));
    return;
  }
  double per_user = 0;
  {
    std::lock_guard lock(impl_->users_mutex);
    if (impl_->user_failures.size() > 100000) impl_->user_failures.clear();
    per_user = impl_->user_failures[std::string(user)].add(now, s.brute_force.window);
  }
  // Many sources guessing one account: the account is under attack; the latest source
  // is banned, and every further one as it comes.
  if (per_user > s.brute_force.per_user)
    impl_->trip(s, source, "digest brute force against user '" + std::string(user) + "'",
                static_cast<std::uint64_t>(per_user));
}

void Guard::unknown_user(const Address& source, std::string_view user, Clock::time_point now) {
  const auto settings = impl_->settings.load();
  const SecuritySettings& s = *settings;
  if (!s.enabled || !s.enumeration.enabled || impl_->whitelisted(s, source)) return;
  std::size_t distinct = 0;
  impl_->with_source(source, now, [&](SourceState& state) {
    if (now - state.unknown_start > s.enumeration.window) {
      state.unknown_users.clear();
      state.unknown_start = now;
    }
    const std::size_t h = std::hash<std::string_view>{}(user);
    if (std::find(state.unknown_users.begin(), state.unknown_users.end(), h) == state.unknown_users.end())
      state.unknown_users.push_back(h);
    distinct = state.unknown_users.size();
  });
  if (distinct > s.enumeration.distinct_unknown_users)
    impl_->trip(s, source, "extension enumeration (distinct unknown users)", distinct);
}

bool Guard::call_attempt(const Address& source, std::string_view account, std::string_view target,
                         Clock::time_point) {
  const auto settings = impl_->settings.load();
  const SecuritySettings& s = *settings;
  if (!s.enabled || !s.toll_fraud.enabled) return true;
  const auto starts = [&](const std::vector<std::string>& prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return target.starts_with(p); });
  };
  const bool premium = starts(s.toll_fraud.premium_prefixes);
  const bool international = starts(s.toll_fraud.international_prefixes);
  bool new_source = false;
  {
    std::lock_guard lock(impl_->accounts_mutex);
    auto& seen = impl_->account_sources[std::string(account)];
    const std::string address = source.to_string();
    new_source = std::find(seen.begin(), seen.end(), address) == seen.end();
    if (new_source) {
      if (seen.size() >= 64) seen.erase(seen.begin());
      seen.push_back(address);
    }
    new_source = new_source && seen.size() > 1;  // the first source of an account is its home
  }
  if (!(premium || international) || !new_source) return true;
  impl_->detect(source, 0,
                std::string("toll fraud signal: call to ") + (premium ? "premium" : "international") + " number " +
                    std::string(target) + " by '" + std::string(account) + "' from a new source",
                1, "refused 403");
  return false;
}

void Guard::call_limit_reached(const Address& source, std::string_view account, std::size_t active,
                               std::uint16_t limit) {
  const auto settings = impl_->settings.load();
  if (!settings->enabled || !settings->toll_fraud.enabled) return;
  impl_->detect(source, 0,
                "toll fraud signal: '" + std::string(account) + "' calls while " + std::to_string(active) +
                    " calls are in progress (limit " + std::to_string(limit) + ")",
                active + 1, "refused 403");
}

BanEntry Guard::ban(const Prefix& prefix, std::chrono::seconds duration, std::string reason) {
  BanEntry entry{prefix, WallClock::now() + duration, std::move(reason), 0, 1};
  BanEntry stored = impl_->bans.ban(std::move(entry));
  impl_->reporter.banned(stored);
  ++impl_->ban_count;
  return stored;
}

bool Guard::unban(const Prefix& prefix) {
  auto entry = impl_->bans.find(prefix);
  if (!entry || !impl_->bans.unban(prefix)) return false;
  impl_->reporter.unbanned(*entry);
  return true;
}

void Guard::tick(WallClock::time_point now) {
  for (const BanEntry& entry : impl_->bans.expire(now)) impl_->reporter.unbanned(entry);
  if (auto rules = impl_->rules.load()) rules->sweep(Clock::now());
  // Forget sources idle for longer than every window.
  const auto settings = impl_->settings.load();
  const auto idle = 2 * std::max({settings->flood.window, settings->malformed.window, settings->brute_force.window,
                                  settings->enumeration.window, std::chrono::seconds(1)});
  const auto steady = Clock::now();
  for (auto& stripe : impl_->stripes) {
    std::lock_guard lock(stripe.mutex);
    std::erase_if(stripe.sources, [&](const auto& entry) { return steady - entry.second.last_seen > idle; });
  }
}

GuardStats Guard::stats() const {
  GuardStats out;
  out.banned_dropped = impl_->banned_dropped.load();
  out.rule_matches = impl_->rule_matches.load();
  out.detections = impl_->detections.load();
  out.bans = impl_->ban_count.load();
  out.dropped_by_rule = impl_->dropped_by_rule.load();
  out.active_bans = impl_->bans.size();
  return out;
}

}  // namespace sipbox::security
