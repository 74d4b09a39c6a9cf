// RuleSet: rules in order, and the detection_filter / threshold counters per (rule,
// tracked address) with Snort's window semantics (docs/security.md, "Rule language"):
//
// - Windows are fixed, not sliding: a window opens at the first counted match and lasts
//   `seconds`; the first match at or after its end opens the next one (Snort's sfthd,
//   which counts whole seconds of packet time; here the steady clock at full resolution).
// - detection_filter fires on every match after the first `count` in a window. When a
//   window closes while the source is still active (its previous match no more than
//   `seconds` ago) and that window had fired, the new window fires from its first match:
//   a sustained flood is not let through again at each window boundary.
// - threshold: limit fires on the first `count` matches of a window; threshold fires on
//   every `count`-th match (the count and window start over when it fires); both fires
//   once per window, on the `count`-th match.
//
// A counter idle for longer than its window holds nothing Snort would still use (the next
// match opens a new window with no carry-over), so dropping it loses nothing.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "security/rule_internal.h"

namespace sipbox::security {
namespace {

using detail::Filter;
using detail::NetAddr;

constexpr std::size_t kStripes = 64;
constexpr std::size_t kExpirePerInsert = 8;  // idle counters reclaimed on each new one

struct CounterKey {
  NetAddr address;
  std::uint32_t rule = 0;
  std::uint8_t filter = 0;  // 0: detection_filter, 1: threshold

  bool operator==(const CounterKey& o) const {
    return rule == o.rule && filter == o.filter && address.v6 == o.address.v6 && address.bytes == o.address.bytes;
  }
};

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

std::uint64_t address_hash(const NetAddr& a) {
  std::uint64_t hi = 0, lo = 0;
  std::memcpy(&hi, a.bytes.data(), 8);
  std::memcpy(&lo, a.bytes.data() + 8, 8);
  return mix(hi ^ mix(lo ^ (a.v6 ? 0x9e3779b97f4a7c15ULL : 0)));
}

struct CounterKeyHash {
  std::size_t operator()(const CounterKey& k) const {
    return static_cast<std::size_t>(mix(address_hash(k.address) ^ (std::uint64_t{k.rule} << 1 | k.filter)));
  }
};

struct Counter {
  std::uint32_t count = 0;  // matches in the current window
  std::uint32_t prev = 0;   // matches of the previous window, while the source stayed active
  Clock::time_point start;  // the window opened here
  Clock::time_point last;   // the latest match
  Clock::duration window{};
  // Least-recently-used list through the map's nodes (their addresses never change).
  std::pair<const CounterKey, Counter>* newer = nullptr;
  std::pair<const CounterKey, Counter>* older = nullptr;
};
using Node = std::pair<const CounterKey, Counter>;

struct Verdict {
  bool fire = false;
  std::uint64_t count = 0;
};

// One counted match; `fresh` when the counter was just created.
Verdict count_match(const Filter& f, Counter& c, Clock::time_point now, bool fresh) {
  const Clock::duration window = f.seconds;
  if (fresh) {
    c.count = 1;
    c.prev = 0;
    c.start = c.last = now;
  } else if (c.count < std::numeric_limits<std::uint32_t>::max()) {
    ++c.count;
  }
  c.window = window;
  switch (f.kind) {
    case Filter::Kind::Detection: {
      if (now - c.start >= window) {
        c.prev = (now - c.last > window) ? 0 : c.count - 1;
        c.start = now;
        c.count = 1;
      }
      c.last = now;
      return {c.count > f.count || c.prev > f.count, c.count};
    }
    case Filter::Kind::Limit:
      if (now - c.start >= window) {
        c.start = now;
        c.count = 1;
      }
      c.last = now;
      return {c.count <= f.count, c.count};
    case Filter::Kind::Threshold: {
      if (now - c.start >= window) {
        c.start = now;
        c.count = 1;
      }
      c.last = now;
      const std::uint64_t seen = c.count;
      if (c.count < f.count) return {false, seen};
      c.count = 0;
      c.start = now;
      return {true, seen};
    }
    case Filter::Kind::Both:
      if (now - c.start >= window) {
        c.start = now;
        c.count = 1;
      }
      c.last = now;
      return {c.count == f.count, c.count};
  }
  return {};
}

class Stripe {
 public:
  Verdict hit(const CounterKey& key, const Filter& f, Clock::time_point now, std::size_t cap) {
    std::lock_guard lock(mutex_);
    auto it = map_.find(key);
    const bool fresh = it == map_.end();
    if (fresh) {
      expire(now, kExpirePerInsert);
      if (map_.size() >= cap && oldest_) {
        remove(oldest_);
        ++evicted_;
      }
      it = map_.try_emplace(key).first;
      link_newest(*it);
    } else {
      touch(*it);
    }
    return count_match(f, it->second, now, fresh);
  }

  void sweep(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto it = map_.begin(); it != map_.end();) {
      if (now - it->second.last > it->second.window) {
        unlink(*it);
        it = map_.erase(it);
        ++expired_;
      } else {
        ++it;
      }
    }
  }

  void add_stats(RuleSet::CounterStats& s) const {
    std::lock_guard lock(mutex_);
    s.entries += map_.size();
    s.evicted += evicted_;
    s.expired += expired_;
  }

 private:
  // Least recently used first; stops at the first one still inside its window.
  void expire(Clock::time_point now, std::size_t at_most) {
    while (at_most-- > 0 && oldest_ && now - oldest_->second.last > oldest_->second.window) {
      remove(oldest_);
      ++expired_;
    }
  }

  void remove(Node* n) {
    unlink(*n);
    map_.erase(map_.find(n->first));
  }

  void link_newest(Node& n) {
    n.second.older = newest_;
    n.second.newer = nullptr;
    if (newest_) newest_->second.newer = &n;
    newest_ = &n;
    if (!oldest_) oldest_ = &n;
  }

  void unlink(Node& n) {
    if (n.second.newer) n.second.newer->second.older = n.second.older;
    if (n.second.older) n.second.older->second.newer = n.second.newer;
    if (newest_ == &n) newest_ = n.second.older;
    if (oldest_ == &n) oldest_ = n.second.newer;
    n.second.newer = n.second.older = nullptr;
  }

  void touch(Node& n) {
    if (newest_ == &n) return;
    unlink(n);
    link_newest(n);
  }

  mutable std::mutex mutex_;
  std::unordered_map<CounterKey, Counter, CounterKeyHash> map_;
  Node* newest_ = nullptr;
  Node* oldest_ = nullptr;
  std::uint64_t evicted_ = 0;
  std::uint64_t expired_ = 0;
};

RuleMatch make_match(const CompiledRule& rule, std::uint64_t count) {
  RuleMatch m;
  m.sid = rule.sid;
  m.rev = rule.rev;
  m.msg = rule.msg;
  m.classtype = rule.classtype;
  m.priority = rule.priority;
  m.action = rule.action;
  m.block = rule.block;
  m.count = count;
  return m;
}

}  // namespace

struct RuleSet::Impl {
  std::vector<std::shared_ptr<const CompiledRule>> rules;
  std::size_t stripe_cap = 1;
  std::array<Stripe, kStripes> stripes;

  Verdict hit(std::uint32_t rule, std::uint8_t filter_index, const Filter& f, const detail::PacketView& view,
              Clock::time_point now) {
    const CounterKey key{f.track == Track::BySrc ? view.src() : view.dst(), rule, filter_index};
    return stripes[address_hash(key.address) % kStripes].hit(key, f, now, stripe_cap);
  }
};

RuleSet::RuleSet() : RuleSet({}, Limits{}) {}

RuleSet::RuleSet(std::vector<std::shared_ptr<const CompiledRule>> rules) : RuleSet(std::move(rules), Limits{}) {}

RuleSet::RuleSet(std::vector<std::shared_ptr<const CompiledRule>> rules, Limits limits) : impl_(std::make_unique<Impl>()) {
  for (auto& rule : rules)
    if (rule) impl_->rules.push_back(std::move(rule));
  impl_->stripe_cap = std::max<std::size_t>(1, limits.max_counters / kStripes);
}

RuleSet::~RuleSet() = default;

std::size_t RuleSet::size() const { return impl_->rules.size(); }

std::vector<RuleMatch> RuleSet::evaluate(const Packet& packet, Clock::time_point now) {
  std::vector<RuleMatch> out;
  const detail::PacketView view(packet);
  const auto& rules = impl_->rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const CompiledRule& rule = *rules[i];
    if (!detail::rule_matches(rule, view)) continue;
    std::uint64_t count = 1;
    // Snort: detection_filter decides whether the rule matched; threshold then filters
    // the events of a rule that matched.
    if (rule.detection) {
      const Verdict v = impl_->hit(static_cast<std::uint32_t>(i), 0, *rule.detection, view, now);
      if (!v.fire) continue;
      count = v.count;
    }
    if (rule.threshold) {
      const Verdict v = impl_->hit(static_cast<std::uint32_t>(i), 1, *rule.threshold, view, now);
      if (!v.fire) continue;
      if (!rule.detection) count = v.count;
    }
    out.push_back(make_match(rule, count));
    if (rule.action == RuleAction::Pass) break;
  }
  return out;
}

void RuleSet::sweep(Clock::time_point now) {
  for (Stripe& s : impl_->stripes) s.sweep(now);
}

RuleSet::CounterStats RuleSet::counter_stats() const {
  CounterStats stats;
  for (const Stripe& s : impl_->stripes) s.add_stats(stats);
  return stats;
}

}  // namespace sipbox::security
