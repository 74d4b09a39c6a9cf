// detection_filter and threshold with a fake clock (evaluate() takes `now`): Snort's
// semantics (fixed windows from the first match, the carry-over of a flooding source),
// separate counts per tracked address, bounded memory, fwsam durations, and concurrent
// evaluation from several threads.
#include <atomic>
#include <thread>

#include "rule_test_util.h"

namespace sipbox::security::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kBesip =
    "alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:\"SIP DoS attempt(registerflood)\"; "
    "content:\"REGISTER sip\"; detection_filter:track by_src, count 50, seconds 5; classtype:misc-attack; "
    "sid:1000001; rev:1; fwsam:src, 10min;)";

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(24);

class Counted : public ::testing::Test {
 protected:
  void load(std::string_view rule, RuleSet::Limits limits = {}) {
    set = std::make_unique<RuleSet>(std::vector<std::shared_ptr<const CompiledRule>>{compile_ok(rule)}, limits);
  }
  // Sends one REGISTER from `src` at t0 + at; true when the rule fired.
  bool send(Clock::duration at, std::string_view src = "203.0.113.5", std::string_view dst = "192.0.2.10") {
    last = set->evaluate(packet_of(reg, src, 5062, dst, 5060), t0 + at);
    return !last.empty();
  }
  // Sends n REGISTERs spread evenly over [from, from + span); returns how many fired.
  int burst(int n, Clock::duration from, Clock::duration span, std::string_view src = "203.0.113.5") {
    int fired = 0;
    for (int i = 0; i < n; ++i) fired += send(from + span * i / n, src) ? 1 : 0;
    return fired;
  }

  Sip reg{kRegister};
  std::unique_ptr<RuleSet> set;
  std::vector<RuleMatch> last;
};

TEST_F(Counted, besip_rule_lets_50_registers_through_and_fires_on_the_51st) {
  load(kBesip);
  EXPECT_EQ(burst(50, {}, milliseconds(4900)), 0);
  ASSERT_TRUE(send(milliseconds(4950)));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].sid, 1000001u);
  EXPECT_EQ(last[0].msg, "SIP DoS attempt(registerflood)");
  EXPECT_EQ(last[0].classtype, "misc-attack");
  EXPECT_EQ(last[0].count, 51u);
  ASSERT_TRUE(last[0].block);
  EXPECT_EQ(last[0].block->whom, Track::BySrc);
  EXPECT_EQ(last[0].block->duration, std::chrono::minutes(10));
  EXPECT_FALSE(last[0].block->permanent);
  EXPECT_FALSE(last[0].block->defaulted);
  // ... and on every further match of that window.
  EXPECT_TRUE(send(milliseconds(4990)));
  EXPECT_EQ(last[0].count, 52u);
}

TEST_F(Counted, besip_rule_counts_each_source_separately) {
  load(kBesip);
  EXPECT_EQ(burst(50, {}, milliseconds(4000), "203.0.113.5"), 0);
  EXPECT_EQ(burst(50, {}, milliseconds(4000), "203.0.113.6"), 0);
  EXPECT_TRUE(send(milliseconds(4100), "203.0.113.5"));
  EXPECT_EQ(burst(3, milliseconds(4200), milliseconds(300), "2001:db8:1::5"), 0);
  EXPECT_TRUE(send(milliseconds(4500), "203.0.113.6"));
}

TEST_F(Counted, besip_rule_only_counts_what_matches_the_rule) {
  load(kBesip);
  Sip invite{kInvite};
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(set->evaluate(packet_of(invite), t0 + milliseconds(i)).empty());
  // From a home address to somewhere else than $SIP_PROXY: the header does not match.
  EXPECT_EQ(burst(60, {}, seconds(1), "203.0.113.5") , 10);
  for (int i = 0; i < 60; ++i) EXPECT_FALSE(send(milliseconds(1000 + i), "203.0.113.9", "192.0.2.99"));
}

TEST_F(Counted, after_the_window_the_count_starts_over) {
  load(kBesip);
  // 50 in the first window [0, 5 s): none fires.
  EXPECT_EQ(burst(50, {}, milliseconds(4900)), 0);
  // The first match at 5 s opens a new window; the previous one never exceeded 50, so
  // there is no carry-over: 50 more pass, the 51st of this window fires.
  EXPECT_EQ(burst(50, seconds(5), milliseconds(4900)), 0);
  EXPECT_TRUE(send(milliseconds(9950)));
  EXPECT_EQ(last[0].count, 51u);
}

TEST_F(Counted, a_source_that_keeps_flooding_keeps_firing_across_windows) {
  load(kBesip);
  EXPECT_EQ(burst(60, {}, milliseconds(4800)), 10);
  // A new window opens at 5 s, but the source was active less than 5 s ago and its
  // previous window had 60 > 50 matches: it fires from the first match (Snort's sfthd).
  EXPECT_TRUE(send(milliseconds(5100)));
  EXPECT_EQ(last[0].count, 1u);
  EXPECT_EQ(burst(20, milliseconds(5200), milliseconds(4000)), 20);
}

TEST_F(Counted, a_source_quiet_for_longer_than_the_window_starts_from_zero) {
  load(kBesip);
  EXPECT_EQ(burst(60, {}, milliseconds(4800)), 10);
  // Last match at about 4.7 s; the next comes more than 5 s later: no carry-over.
  EXPECT_EQ(burst(50, seconds(10), seconds(4)), 0);
  EXPECT_TRUE(send(seconds(14) + milliseconds(500)));
}

TEST_F(Counted, detection_filter_by_dst_counts_per_destination) {
  load("alert udp any any -> any any (content:\"REGISTER\"; detection_filter:track by_dst, count 2, seconds 10; sid:7;)");
  EXPECT_FALSE(send(seconds(0), "203.0.113.5", "192.0.2.10"));
  EXPECT_FALSE(send(seconds(1), "203.0.113.6", "192.0.2.10"));
  EXPECT_FALSE(send(seconds(1), "203.0.113.6", "192.0.2.11"));
  EXPECT_TRUE(send(seconds(2), "203.0.113.7", "192.0.2.10"));  // third for .10, from a third source
}

TEST_F(Counted, threshold_limit_fires_on_the_first_count_of_each_window) {
  load("alert udp any any -> any any (content:\"REGISTER\"; threshold:type limit, track by_src, count 2, seconds 10; sid:8;)");
  EXPECT_TRUE(send(seconds(0)));
  EXPECT_TRUE(send(seconds(1)));
  EXPECT_FALSE(send(seconds(2)));
  EXPECT_FALSE(send(milliseconds(9999)));
  EXPECT_TRUE(send(seconds(10)));  // a new window opens at 10 s
  EXPECT_EQ(last[0].count, 1u);
  EXPECT_TRUE(send(seconds(11)));
  EXPECT_FALSE(send(seconds(12)));
  EXPECT_TRUE(send(seconds(12), "203.0.113.6"));
}

TEST_F(Counted, threshold_threshold_fires_on_every_count_th_match) {
  load("alert udp any any -> any any (content:\"REGISTER\"; threshold:type threshold, track by_src, count 3, seconds 60; sid:9;)");
  std::vector<bool> fired;
  for (int i = 0; i < 7; ++i) fired.push_back(send(seconds(i)));
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, false, false, true, false}));
  EXPECT_EQ(last.size(), 0u);
  // Firing restarted the window at 5 s; at 66 s it has expired: the count restarts.
  EXPECT_FALSE(send(seconds(66)));
  EXPECT_FALSE(send(seconds(67)));
  EXPECT_TRUE(send(seconds(68)));
  EXPECT_EQ(last[0].count, 3u);
}

TEST_F(Counted, threshold_both_fires_once_per_window_on_the_count_th_match) {
  load("alert udp any any -> any any (content:\"REGISTER\"; threshold:type both, track by_src, count 3, seconds 60; sid:10;)");
  std::vector<bool> fired;
  for (int i = 0; i < 6; ++i) fired.push_back(send(seconds(i)));
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, false, false, false}));
  fired.clear();
  for (int i = 0; i < 4; ++i) fired.push_back(send(seconds(60 + i)));
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, false}));
}

TEST_F(Counted, threshold_applies_to_what_detection_filter_let_through) {
  load("alert udp any any -> any any (content:\"REGISTER\"; detection_filter:track by_src, count 2, seconds 60; "
       "threshold:type limit, track by_src, count 1, seconds 60; sid:11;)");
  std::vector<bool> fired;
  for (int i = 0; i < 6; ++i) fired.push_back(send(seconds(i)));
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, false, false, false}));
}

TEST_F(Counted, idle_counters_are_reclaimed) {
  load(kBesip);
  for (int i = 0; i < 100; ++i) send(milliseconds(i), "198.51.100." + std::to_string(i));
  EXPECT_EQ(set->counter_stats().entries, 100u);
  set->sweep(t0 + seconds(5));  // idle exactly as long as the window: kept
  EXPECT_EQ(set->counter_stats().entries, 100u);
  set->sweep(t0 + seconds(6));
  const auto stats = set->counter_stats();
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.expired, 100u);
  EXPECT_EQ(stats.evicted, 0u);
  // New counters also reclaim idle ones of their stripe on their way in (up to 8 each).
  for (int i = 0; i < 100; ++i) send(seconds(10) + milliseconds(i), "198.51.100." + std::to_string(i));
  for (int i = 0; i < 200; ++i) send(seconds(30), "203.0." + std::to_string(i / 100) + "." + std::to_string(i % 100));
  const auto after = set->counter_stats();
  EXPECT_GE(after.expired, 100u + 50u);
  EXPECT_EQ(after.entries, 300u - (after.expired - 100u));
  EXPECT_EQ(after.evicted, 0u);
}

TEST_F(Counted, the_counter_table_is_capped_and_counts_evictions) {
  load(kBesip, RuleSet::Limits{128});  // two per stripe
  for (int i = 0; i < 1000; ++i)
    send(milliseconds(i), "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1");
  const auto stats = set->counter_stats();
  EXPECT_LE(stats.entries, 128u);
  EXPECT_EQ(stats.entries + stats.evicted, 1000u);
  // The flooding source stays counted: it is touched on every packet, so never the least
  // recently used of its stripe.
  int fired = 0;
  for (int i = 0; i < 60; ++i) {
    fired += send(seconds(2) + milliseconds(i), "203.0.113.5") ? 1 : 0;
    send(seconds(2) + milliseconds(i), "10.9." + std::to_string(i) + ".1");
  }
  EXPECT_EQ(fired, 10);
}

TEST_F(Counted, concurrent_workers_count_exactly) {
  load("alert udp any any -> any any (content:\"REGISTER\"; detection_filter:track by_src, count 100, seconds 1000; sid:12;)");
  std::atomic<int> fired{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 1000; ++i) {
        const Packet p = packet_of(reg, i % 2 ? "203.0.113.5" : "2001:db8::5");
        fired += set->evaluate(p, t0 + milliseconds(w * 1000 + i)).empty() ? 0 : 1;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(fired.load(), 4000 - 2 * 100);
}

// ---- fwsam ----

RuleMatch::Block block_of(std::string_view fwsam) {
  Sip reg{kRegister};
  const auto m = run("alert udp any any -> any any (sid:1; fwsam:" + std::string(fwsam) + ";)", packet_of(reg));
  EXPECT_EQ(m.size(), 1u) << fwsam;
  if (m.empty() || !m[0].block) {
    ADD_FAILURE() << "no block for fwsam:" << fwsam;
    return {};
  }
  return *m[0].block;
}

TEST(Fwsam, who_and_duration) {
  auto b = block_of("src, 10min");
  EXPECT_EQ(b.whom, Track::BySrc);
  EXPECT_EQ(b.duration, seconds(600));
  b = block_of("dst, 1h");
  EXPECT_EQ(b.whom, Track::ByDst);
  EXPECT_EQ(b.duration, seconds(3600));
  EXPECT_EQ(block_of("src[either],15min").duration, seconds(900));
  EXPECT_EQ(block_of("destination{in}, 30 sec").whom, Track::ByDst);
  EXPECT_EQ(block_of("src, 2 days 4 hours").duration, seconds(2 * 86400 + 4 * 3600));
  EXPECT_EQ(block_of("src, 1 week").duration, seconds(7 * 86400));
  EXPECT_EQ(block_of("src, 1mon").duration, seconds(30 * 86400));
  EXPECT_EQ(block_of("src, 600").duration, seconds(600));
  // who may be left out (SnortSam's default is src).
  b = block_of("15 minutes");
  EXPECT_EQ(b.whom, Track::BySrc);
  EXPECT_EQ(b.duration, seconds(900));
}

TEST(Fwsam, no_duration_is_snortsams_five_minutes_marked_as_defaulted) {
  const auto b = block_of("src");
  EXPECT_EQ(b.duration, kFwsamDefaultDuration);
  EXPECT_EQ(b.duration, seconds(300));
  EXPECT_TRUE(b.defaulted);
  EXPECT_FALSE(b.permanent);
  EXPECT_EQ(block_of("dst").whom, Track::ByDst);
}

TEST(Fwsam, zero_and_permanent_keywords_block_for_ten_years) {
  for (std::string_view f : {"src, 0", "src, permanent", "src, PERManent", "src, infinite", "src, always", "perm"}) {
    const auto b = block_of(f);
    EXPECT_TRUE(b.permanent) << f;
    EXPECT_FALSE(b.defaulted) << f;
    EXPECT_EQ(b.duration, kPermanentBan) << f;
  }
  EXPECT_EQ(kPermanentBan, seconds(10LL * 365 * 86400));
}

}  // namespace
}  // namespace sipbox::security::test
