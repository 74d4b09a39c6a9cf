// evaluate() is on the path of every packet: it must not allocate when no rule fires,
// and only the returned vector when one does (once its counter exists). Counted with a
// replacement of the global operator new, per thread.
#include <cstdlib>
#include <new>

#include "rule_test_util.h"

namespace {
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sipbox::security::test {
namespace {

const Clock::time_point t0 = Clock::time_point{} + std::chrono::hours(24);

RuleSet hot_path_rules() {
  return RuleSet({
      compile_ok("alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:\"SIP DoS attempt(registerflood)\"; "
                 "content:\"REGISTER sip\"; detection_filter:track by_src, count 50, seconds 5; "
                 "classtype:misc-attack; sid:1000001; rev:1; fwsam:src, 10min;)"),
      compile_ok("drop udp any any -> any any (msg:\"scanner\"; sip_header; content:\"user-agent\"; nocase; "
                 "pcre:\"/^User-Agent:\\s*(friendly-scanner|sipcli)/mi\"; sid:2; fwsam:src;)"),
      compile_ok("alert udp !$HOME_NET any -> any any (sip_method:OPTIONS; threshold:type limit, track by_src, "
                 "count 1, seconds 60; sid:3;)"),
      compile_ok("alert udp any any -> any any (content:\"sip:\"; content:\"mallory\"; distance:0; within:8; "
                 "pcre:\"/Call-ID:\\s*\\S+@evil/i\"; sid:4;)"),
      compile_ok("alert tcp any any -> any any (sid:5;)"),
      compile_ok("alert udp any any -> any any (pcre:\"/^BYE /\"; sid:6;)"),  // runs PCRE2 on every packet
  });
}

TEST(RuleAllocation, nothing_fires_nothing_is_allocated) {
  RuleSet set = hot_path_rules();
  Sip invite{kInvite};
  const Packet p = packet_of(invite);
  EXPECT_TRUE(set.evaluate(p, t0).empty());  // warm-up: the thread's pcre match block
  const std::size_t before = allocations;
  for (int i = 0; i < 1000; ++i) {
    const auto m = set.evaluate(p, t0 + std::chrono::milliseconds(i));
    EXPECT_TRUE(m.empty());
  }
  EXPECT_EQ(allocations - before, 0u);
}

TEST(RuleAllocation, counted_matches_allocate_only_the_result) {
  RuleSet set = hot_path_rules();
  // The BESIP rule fires from the 51st REGISTER; no User-Agent, so rule 2 stays quiet.
  Sip reg{"REGISTER sip:example.com SIP/2.0\n"
          "Via: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bK776asdhds\n"
          "Max-Forwards: 70\n"
          "From: <sip:alice@example.com>;tag=1928301774\n"
          "To: <sip:alice@example.com>\n"
          "Call-ID: a84b4c76e66710@203.0.113.5\n"
          "CSeq: 1 REGISTER\n"
          "Content-Length: 0\n\n"};
  const Packet p = packet_of(reg);
  EXPECT_TRUE(set.evaluate(p, t0).empty());  // creates the counter
  std::size_t before = allocations;
  for (int i = 1; i < 50; ++i) EXPECT_TRUE(set.evaluate(p, t0 + std::chrono::milliseconds(i)).empty());
  EXPECT_EQ(allocations - before, 0u);
  before = allocations;
  for (int i = 50; i < 60; ++i) EXPECT_EQ(set.evaluate(p, t0 + std::chrono::milliseconds(i)).size(), 1u);
  EXPECT_EQ(allocations - before, 10u);
}

}  // namespace
}  // namespace sipbox::security::test
