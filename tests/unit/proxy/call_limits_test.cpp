// max-concurrent-calls (yang sipbox-users): ActiveCalls and the proxy's 403/486, with the
// toll-fraud signal for a caller at its limit.
#include "tests/unit/proxy/fixture.h"

namespace sipbox::proxy::test {
namespace {

using Party = ActiveCalls::Party;

TEST(ActiveCallsTest, counts_both_parties_and_refuses_at_the_limit) {
  ActiveCalls calls;
  const auto now = ActiveCalls::Clock::now();
  EXPECT_EQ(calls.begin("c1", {"alice@x", 2}, {"bob@x", 0}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.begin("c2", {"alice@x", 2}, {"carol@x", 1}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.active("alice@x"), 2u);
  const auto third = calls.begin("c3", {"alice@x", 2}, {"bob@x", 0}, now);
  EXPECT_EQ(third.refusal, ActiveCalls::Refusal::caller_limit);
  EXPECT_EQ(third.active, 2u);
  EXPECT_EQ(third.limit, 2);
  const auto busy = calls.begin("c4", {"", 0}, {"carol@x", 1}, now);
  EXPECT_EQ(busy.refusal, ActiveCalls::Refusal::callee_limit);
  // The same Call-ID again (a spiral, the INVITE after a 407) is not counted twice.
  EXPECT_EQ(calls.begin("c1", {"alice@x", 2}, {"bob@x", 0}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.active("alice@x"), 2u);
  calls.end("c1");
  calls.end("c1");  // twice: no harm
  EXPECT_EQ(calls.active("alice@x"), 1u);
  EXPECT_EQ(calls.active("bob@x"), 0u);
  EXPECT_EQ(calls.calls(), 1u);
  EXPECT_EQ(calls.begin("c3", {"alice@x", 2}, {"bob@x", 0}, now).refusal, ActiveCalls::Refusal::none);
}

TEST(ActiveCallsTest, a_call_to_oneself_counts_once_and_zero_means_no_limit) {
  ActiveCalls calls;
  const auto now = ActiveCalls::Clock::now();
  EXPECT_EQ(calls.begin("c1", {"alice@x", 1}, {"alice@x", 1}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.active("alice@x"), 1u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(calls.begin("u" + std::to_string(i), {"dave@x", 0}, {"", 0}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.active("dave@x"), 100u);
}

TEST(ActiveCallsTest, calls_whose_bye_never_came_expire_at_their_deadline) {
  ActiveCalls calls{std::chrono::seconds(60), std::chrono::seconds(3600)};
  auto now = ActiveCalls::Clock::now();
  calls.begin("early", {"alice@x", 2}, {"", 0}, now);
  calls.begin("answered", {"alice@x", 2}, {"", 0}, now);
  calls.confirmed("answered", now);
  now += std::chrono::minutes(2);  // the early call is overdue, the answered one not
  EXPECT_EQ(calls.begin("next", {"alice@x", 2}, {"", 0}, now).refusal, ActiveCalls::Refusal::none);
  EXPECT_EQ(calls.active("alice@x"), 2u);
  now += std::chrono::hours(2);
  calls.begin("later", {"bob@x", 1}, {"", 0}, now);
  EXPECT_EQ(calls.active("alice@x"), 0u);
}

class CallLimits : public ProxyTest {
 protected:
  void SetUp() override {
    directory.add("alice", "secret", 1);
    directory.add("bob", "hunter2", 1);
    bind("bob", "sip:bob@198.51.100.20:5062", bob_addr());
    bind("carol", "sip:carol@198.51.100.30:5060", carol_addr());
  }
  static Request invite(std::string_view call_id, std::string_view to_user) {
    Request r;
    r.call_id = call_id;
    r.uri = "sip:" + std::string(to_user) + "@example.com";
    r.to = "<" + r.uri + ">";
    r.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK" + std::string(call_id);
    return r;
  }
};

TEST_F(CallLimits, caller_at_its_limit_gets_403_and_a_toll_fraud_signal_until_the_first_call_ends) {
  auto sent = call(invite("c1", "bob"));
  ASSERT_EQ(sent.size(), 2u);
  const Out to_bob = std::move(sent[0]);
  deliver(response_to(to_bob.m(), 200, "OK", "b1", "Contact: <sip:bob@198.51.100.20:5062>\r\n"), bob_addr());
  take();
  EXPECT_EQ(active_calls.active("alice@example.com"), 1u);

  EXPECT_EQ(lines(call(invite("c2", "carol"))),
            std::vector<std::string>{"SIP/2.0 403 Forbidden (too many concurrent calls) -> 198.51.100.10:5060"});
  EXPECT_EQ(limit_signals, std::vector<std::string>{"alice@example.com 1"});
  EXPECT_EQ(proxy().stats().call_limit_refusals, 1u);

  // The BYE of the first call frees the slot.
  Request bye = invite("c1", "bob");
  bye.method = "BYE";
  bye.uri = "sip:bob@198.51.100.20:5062";
  bye.to = "<sip:bob@example.com>;tag=b1";
  bye.cseq = 2;
  bye.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKbye-c1";
  bye.extra = "Route: <sip:192.0.2.1:5060;lr>\n";
  deliver(bye.text(), alice_addr());
  take();
  EXPECT_EQ(active_calls.active("alice@example.com"), 0u);
  EXPECT_EQ(lines(call(invite("c3", "carol"))),
            (std::vector<std::string>{"INVITE sip:carol@198.51.100.30:5060 SIP/2.0 -> 198.51.100.30:5060",
                                      "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
}

TEST_F(CallLimits, callee_at_its_limit_gets_486_and_a_failed_call_frees_its_slot) {
  Request first = from_foreign();
  first.call_id = "f1";
  deliver(first.text(), foreign_addr());
  auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  const Out to_bob = std::move(sent[0]);
  EXPECT_EQ(active_calls.active("bob@example.com"), 1u);

  Request second = from_foreign();
  second.call_id = "f2";
  second.via = "SIP/2.0/UDP 203.0.113.80:5060;branch=z9hG4bKzed2";
  deliver(second.text(), foreign_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 486 Busy Here -> 203.0.113.80:5060"});
  EXPECT_TRUE(limit_signals.empty());  // a busy callee is no fraud signal

  deliver(response_to(to_bob.m(), 603, "Decline"), bob_addr());
  take();
  EXPECT_EQ(active_calls.active("bob@example.com"), 0u);
  second.via = "SIP/2.0/UDP 203.0.113.80:5060;branch=z9hG4bKzed3";
  deliver(second.text(), foreign_addr());
  EXPECT_EQ(take().size(), 2u);  // INVITE to Bob and 100 Trying
}

}  // namespace
}  // namespace sipbox::proxy::test
