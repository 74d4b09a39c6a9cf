// Forking (RFC 3261 16.6 with q-values), the response context (16.7), CANCEL (16.10,
// 9.1) and the no-answer timer, through a real transaction table and a fake clock.
#include <algorithm>

#include "tests/unit/proxy/fixture.h"

namespace sipbox::proxy::test {
namespace {

const Out* sent_to(const std::vector<Out>& sent, const Destination& to, std::string_view method) {
  for (const Out& o : sent)
    if (o.to == to && o.m().is_request() && o.m().method() == method) return &o;
  return nullptr;
}

// Checks a CANCEL the proxy sent for the INVITE it sent before (RFC 3261 9.1).
void expect_cancel_of(const Out& cancel, const Out& invite) {
  EXPECT_EQ(cancel.to, invite.to);
  EXPECT_EQ(cancel.m().method(), "CANCEL");
  EXPECT_EQ(cancel.m().request_uri_text(), invite.m().request_uri_text());
  ASSERT_EQ(cancel.m().vias().size(), 1u);
  EXPECT_EQ(cancel.m().top_via().branch(), invite.m().top_via().branch());
  EXPECT_EQ(cancel.m().top_via().host, "192.0.2.1");
  EXPECT_EQ(cancel.field(sip::HeaderId::CSeq), std::to_string(invite.m().cseq().number) + " CANCEL");
  EXPECT_EQ(cancel.field(sip::HeaderId::From), invite.field(sip::HeaderId::From));
  EXPECT_EQ(cancel.field(sip::HeaderId::To), invite.field(sip::HeaderId::To));
  EXPECT_EQ(cancel.m().call_id(), invite.m().call_id());
  EXPECT_EQ(cancel.fields(sip::HeaderId::Route), invite.fields(sip::HeaderId::Route));
}

Request cancel_of(const Request& invite) {
  Request c = invite;
  c.method = "CANCEL";
  return c;
}

Request ack_of(const Request& invite, std::string_view to_tag) {
  Request a = invite;
  a.method = "ACK";
  a.to += ";tag=" + std::string(to_tag);
  return a;
}

// Two phones of Bob registered with the same q: one INVITE each, in parallel. Lookup
// order is the most recently registered first.
class Parallel : public ProxyTest {
 protected:
  void SetUp() override {
    bind("bob", "sip:bob@198.51.100.20:5062", bob_addr());
    bind("bob", "sip:bob@198.51.100.21", bob2_addr());
    sent = call();
    EXPECT_EQ(lines(sent), (std::vector<std::string>{"INVITE sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060",
                                                     "INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                     "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
    first = sent_to(sent, bob_addr(), "INVITE");
    second = sent_to(sent, bob2_addr(), "INVITE");
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
  }
  std::vector<Out> sent;
  const Out* first = nullptr;   // to 198.51.100.20:5062
  const Out* second = nullptr;  // to 198.51.100.21:5060
};

TEST_F(Parallel, rfc3261_16_6_each_branch_has_its_own_via_branch_and_record_route) {
  EXPECT_NE(first->m().top_via().branch(), second->m().top_via().branch());
  EXPECT_EQ(first->fields(sip::HeaderId::RecordRoute), std::vector<std::string>{std::string(kRecordRoute)});
  EXPECT_EQ(second->fields(sip::HeaderId::RecordRoute), std::vector<std::string>{std::string(kRecordRoute)});
  EXPECT_EQ(proxy().stats().requests_forwarded, 2u);
}

TEST_F(Parallel, rfc3261_16_7_busy_then_ok_sends_the_ok_upstream) {
  deliver(response_to(first->m(), 486, "Busy Here", "t1"), bob_addr());
  // The client transaction acknowledges the 486; nothing goes upstream yet.
  EXPECT_EQ(lines(take()), std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  deliver(response_to(second->m(), 200, "OK", "t2"), bob2_addr());
  const auto out = take();
  ASSERT_EQ(lines(out),
            std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});  // no CANCEL: nothing pending
  EXPECT_EQ(out[0].m().to().tag(), "t2");
  ASSERT_EQ(out[0].m().vias().size(), 1u);
  EXPECT_EQ(out[0].m().top_via().branch(), "z9hG4bKalice1");
}

TEST_F(Parallel, rfc3261_16_7_step_10_ok_cancels_the_ringing_branch) {
  deliver(response_to(second->m(), 180, "Ringing", "t2"), bob2_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 180 Ringing -> 198.51.100.10:5060"});
  deliver(response_to(first->m(), 200, "OK", "t1"), bob_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"CANCEL sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060",
                                                  "SIP/2.0 200 OK -> 198.51.100.10:5060"}));
  expect_cancel_of(out[0], *second);
  EXPECT_EQ(out[1].m().to().tag(), "t1");

  // The cancelled branch answers the CANCEL and the INVITE: both end at the proxy.
  deliver(response_to(out[0].m(), 200, "OK", "t2"), bob2_addr());
  EXPECT_TRUE(take().empty());
  deliver(response_to(second->m(), 487, "Request Terminated", "t2"), bob2_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"ACK sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060"});
}

TEST_F(Parallel, rfc3261_9_1_silent_branch_is_cancelled_only_once_it_sends_a_provisional) {
  deliver(response_to(first->m(), 200, "OK", "t1"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  deliver(response_to(second->m(), 180, "Ringing", "t2"), bob2_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"CANCEL sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060"});
  expect_cancel_of(out[0], *second);
}

TEST_F(Parallel, rfc3261_16_7_step_5_every_2xx_goes_upstream) {
  deliver(response_to(first->m(), 200, "OK", "t1"), bob_addr());
  deliver(response_to(second->m(), 200, "OK", "t2"), bob2_addr());
  const auto out = take();
  ASSERT_EQ(lines(out),
            (std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060", "SIP/2.0 200 OK -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[0].m().to().tag(), "t1");
  EXPECT_EQ(out[1].m().to().tag(), "t2");
  EXPECT_EQ(proxy().stats().dialogs_established, 1u);
}

TEST_F(Parallel, rfc3261_16_7_step_6_two_failures_send_one_best_response) {
  deliver(response_to(first->m(), 486, "Busy Here", "t1"), bob_addr());
  deliver(response_to(second->m(), 404, "Not Found", "t2"), bob2_addr());
  const auto out = take();
  // Both 4xx: the tie goes to the earliest branch (the INVITE sent first, to .21).
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "ACK sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060",
                                                  "SIP/2.0 404 Not Found -> 198.51.100.10:5060"}));
  ASSERT_EQ(out[2].m().vias().size(), 1u);
  EXPECT_EQ(out[2].m().to().tag(), "t2");
}

TEST_F(Parallel, rfc3261_16_7_step_6_lowest_class_wins) {
  deliver(response_to(second->m(), 486, "Busy Here", "t2"), bob2_addr());
  deliver(response_to(first->m(), 302, "Moved Temporarily", "t1", "Contact: <sip:bob@192.0.2.200>\r\n"), bob_addr());
  const auto out = take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].start_line(), "SIP/2.0 302 Moved Temporarily");
  EXPECT_EQ(out[2].to, alice_addr());
  EXPECT_EQ(out[2].field(sip::HeaderId::Contact), "<sip:bob@192.0.2.200>");
}

TEST_F(Parallel, rfc3261_16_7_step_6_only_503s_become_500) {
  deliver(response_to(first->m(), 503, "Service Unavailable", "t1"), bob_addr());
  deliver(response_to(second->m(), 503, "Service Unavailable", "t2"), bob2_addr());
  const auto out = take();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].start_line(), "SIP/2.0 500 Server Internal Error (next hop unavailable)");
  EXPECT_EQ(out[2].to, alice_addr());
}

TEST_F(Parallel, rfc3261_16_7_step_5_a_6xx_cancels_the_others_and_wins) {
  deliver(response_to(second->m(), 180, "Ringing", "t2"), bob2_addr());
  EXPECT_EQ(take().size(), 1u);
  deliver(response_to(first->m(), 603, "Decline", "t1"), bob_addr());
  auto out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "CANCEL sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060"}));
  deliver(response_to(second->m(), 487, "Request Terminated", "t2"), bob2_addr());
  out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060",
                                                  "SIP/2.0 603 Decline -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[1].m().to().tag(), "t1");
}

TEST_F(Parallel, rfc3261_16_7_step_7_challenges_of_all_branches_are_merged) {
  deliver(response_to(first->m(), 407, "Proxy Authentication Required", "t1",
                      "Proxy-Authenticate: Digest realm=\"one.example\", nonce=\"n1\"\r\n"),
          bob_addr());
  deliver(response_to(second->m(), 401, "Unauthorized", "t2",
                      "WWW-Authenticate: Digest realm=\"two.example\", nonce=\"n2\"\r\n"),
          bob2_addr());
  const auto out = take();
  ASSERT_EQ(out.size(), 3u);
  const Out& merged = out[2];
  EXPECT_EQ(merged.to, alice_addr());
  EXPECT_EQ(merged.start_line(), "SIP/2.0 401 Unauthorized");  // the earliest branch's
  EXPECT_EQ(merged.fields(sip::HeaderId::WwwAuthenticate),
            std::vector<std::string>{"Digest realm=\"two.example\", nonce=\"n2\""});
  EXPECT_EQ(merged.fields(sip::HeaderId::ProxyAuthenticate),
            std::vector<std::string>{"Digest realm=\"one.example\", nonce=\"n1\""});
}

// ---- serial forking: one q group after the other ----

class Serial : public ProxyTest {
 protected:
  void SetUp() override {
    bind("bob", "sip:bob@198.51.100.20:5062", bob_addr(), 1000);
    bind("bob", "sip:bob@198.51.100.21", bob2_addr(), 500);
  }
};

TEST_F(Serial, rfc3261_16_6_lower_q_is_tried_only_after_the_higher_failed) {
  auto out = call();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  const Out high = std::move(out[0]);
  deliver(response_to(high.m(), 180, "Ringing", "t1"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 180 Ringing -> 198.51.100.10:5060"});
  deliver(response_to(high.m(), 486, "Busy Here", "t1"), bob_addr());
  out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "INVITE sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060"}));
  const Out low = std::move(out[1]);
  EXPECT_NE(low.m().top_via().branch(), high.m().top_via().branch());
  EXPECT_EQ(low.field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(low.m().max_forwards(), 69);
  deliver(response_to(low.m(), 200, "OK", "t2"), bob2_addr());
  out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  EXPECT_EQ(out[0].m().to().tag(), "t2");
}

TEST_F(Serial, rfc3261_16_8_timer_b_on_the_first_contact_moves_on_to_the_next) {
  auto out = call();
  ASSERT_EQ(out.size(), 2u);
  clock.advance(32s);  // Timer B = 64*T1 (17.1.1.2)
  out = take();
  ASSERT_FALSE(out.empty());
  const auto to_high = std::count_if(out.begin(), out.end(), [](const Out& o) { return o.to == bob_addr(); });
  EXPECT_EQ(to_high, 6);  // Timer A retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s
  EXPECT_EQ(lines(out).back(), "INVITE sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060");
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const Out& o) { return o.to == alice_addr(); }), 0);
}

TEST_F(Serial, last_group_failing_sends_the_best_of_all_groups) {
  auto out = call();
  ASSERT_EQ(out.size(), 2u);
  const Out high = std::move(out[0]);
  deliver(response_to(high.m(), 486, "Busy Here", "t1"), bob_addr());
  out = take();
  ASSERT_EQ(out.size(), 2u);
  const Out low = std::move(out[1]);
  deliver(response_to(low.m(), 503, "Service Unavailable", "t2"), bob2_addr());
  out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.21 SIP/2.0 -> 198.51.100.21:5060",
                                                  "SIP/2.0 486 Busy Here -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[1].m().to().tag(), "t1");
}

// ---- branches that end without a response (16.7 step 6, 16.8) ----

class Silent : public ProxyTest {
 protected:
  void SetUp() override { bind("bob", "sip:bob@198.51.100.20:5062", bob_addr()); }
};

TEST_F(Silent, rfc3261_16_8_timer_b_sends_408_upstream) {
  ASSERT_EQ(call().size(), 2u);
  clock.advance(32s);
  const auto out = take();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(lines(out).back(), "SIP/2.0 408 Request Timeout -> 198.51.100.10:5060");
  EXPECT_EQ(out.back().field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(out.size(), 7u);  // 6 retransmissions before it
}

TEST_F(Silent, rfc3261_16_7_step_6_transport_error_on_the_only_branch_gives_500) {
  sender.fail_next = 1;  // the INVITE to Bob
  const auto out = call();
  ASSERT_EQ(lines(out), (std::vector<std::string>{
                            "SIP/2.0 100 Trying -> 198.51.100.10:5060",
                            "SIP/2.0 500 Server Internal Error (next hop unavailable) -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[1].field(sip::HeaderId::CSeq), "1 INVITE");
  // The final went upstream and no branch is left: the context is released, while the
  // server transaction still repeats the 500 until the ACK.
  EXPECT_EQ(proxy().stats().contexts, 0u);
  EXPECT_EQ(table.info(txn::TransactionId{1})->state, txn::State::Completed);
}

TEST_F(Silent, transport_error_on_one_branch_leaves_the_other_to_answer) {
  bind("bob", "sip:bob@198.51.100.21", bob2_addr());
  sender.fail_next = 1;  // the INVITE to .21 (most recently registered, sent first)
  auto out = call();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  const Out invite = std::move(out[0]);
  deliver(response_to(invite.m(), 486, "Busy Here", "t1"), bob_addr());
  out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 486 Busy Here -> 198.51.100.10:5060"}));
}

// ---- CANCEL from upstream (16.10) ----

class Cancel : public ProxyTest {
 protected:
  void SetUp() override {
    bind("bob", "sip:bob@198.51.100.20:5062", bob_addr());
    auto out = call(invite);
    ASSERT_EQ(lines(out), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                    "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
    forwarded = std::move(out[0]);
  }
  Request invite;
  Out forwarded;
};

TEST_F(Cancel, rfc3261_16_10_after_180_cancel_goes_downstream_and_487_comes_back) {
  deliver(response_to(forwarded.m(), 180, "Ringing", "t1"), bob_addr());
  EXPECT_EQ(take().size(), 1u);
  deliver(cancel_of(invite).text(), alice_addr());
  auto out = take();
  // The 200 for the CANCEL is sent when the row that passed the CANCEL up has run.
  ASSERT_EQ(lines(out), (std::vector<std::string>{"CANCEL sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 200 OK -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[1].field(sip::HeaderId::CSeq), "1 CANCEL");
  EXPECT_EQ(out[1].m().top_via().branch(), "z9hG4bKalice1");
  expect_cancel_of(out[0], forwarded);
  EXPECT_EQ(out[0].m().max_forwards(), 70);
  EXPECT_EQ(proxy().stats().cancels, 1u);

  deliver(response_to(out[0].m(), 200, "OK", "t1"), bob_addr());
  EXPECT_TRUE(take().empty());  // the 200 to our CANCEL ends here
  deliver(response_to(forwarded.m(), 487, "Request Terminated", "t1"), bob_addr());
  out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 487 Request Terminated -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[1].field(sip::HeaderId::CSeq), "1 INVITE");
  ASSERT_EQ(out[1].m().vias().size(), 1u);
  EXPECT_EQ(out[1].m().top_via().branch(), "z9hG4bKalice1");

  // Alice's ACK for the 487 ends in the server transaction.
  deliver(ack_of(invite, out[1].m().to().tag()).text(), alice_addr());
  EXPECT_TRUE(take().empty());
}

TEST_F(Cancel, rfc3261_9_1_before_any_provisional_487_goes_upstream_at_once) {
  deliver(cancel_of(invite).text(), alice_addr());
  auto out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"SIP/2.0 487 Request Terminated -> 198.51.100.10:5060",
                                                  "SIP/2.0 200 OK -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[0].field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(out[1].field(sip::HeaderId::CSeq), "1 CANCEL");
  // The branch is cancelled when it speaks; its 180 does not go upstream any more.
  deliver(response_to(forwarded.m(), 180, "Ringing", "t1"), bob_addr());
  out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"CANCEL sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  expect_cancel_of(out[0], forwarded);
  deliver(response_to(forwarded.m(), 487, "Request Terminated", "t1"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
}

TEST_F(Cancel, rfc3261_9_1_a_100_from_downstream_lets_the_cancel_go_at_once) {
  deliver(response_to(forwarded.m(), 100, "Trying"), bob_addr());
  EXPECT_TRUE(take().empty());
  deliver(cancel_of(invite).text(), alice_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"CANCEL sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                  "SIP/2.0 200 OK -> 198.51.100.10:5060"}));
  expect_cancel_of(out[0], forwarded);
}

// RFC 3261 16.10 / 16.7 step 5: a 2xx that races the CANCEL still goes upstream (the
// caller ACKs and hangs up), even though the caller already has its 487.
TEST_F(Cancel, rfc3261_16_10_2xx_racing_the_cancel_still_goes_upstream) {
  deliver(cancel_of(invite).text(), alice_addr());
  EXPECT_EQ(take().size(), 2u);  // 487 and the 200 for the CANCEL
  deliver(response_to(forwarded.m(), 200, "OK", "t1", "Contact: <sip:bob@198.51.100.20:5062>\r\n"), bob_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  ASSERT_EQ(out[0].m().vias().size(), 1u);
  EXPECT_EQ(out[0].m().top_via().branch(), "z9hG4bKalice1");
  EXPECT_EQ(out[0].m().to().tag(), "t1");
}

TEST_F(Cancel, no_answer_race_2xx_after_480_still_goes_upstream) {
  deliver(response_to(forwarded.m(), 180, "Ringing", "t1"), bob_addr());
  clock.advance(30s);
  EXPECT_EQ(take().size(), 3u);  // 180, CANCEL, 480
  deliver(response_to(forwarded.m(), 200, "OK", "t1"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
}

TEST_F(Cancel, rfc3261_16_10_cancel_for_nothing_gets_481) {
  Request other = cancel_of(invite);
  other.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKunknown";
  deliver(other.text(), alice_addr());
  EXPECT_EQ(lines(take()),
            std::vector<std::string>{"SIP/2.0 481 Call/Transaction Does Not Exist -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().cancels, 0u);
}

TEST_F(Cancel, cancel_after_the_2xx_changes_nothing) {
  deliver(response_to(forwarded.m(), 200, "OK", "t1"), bob_addr());
  EXPECT_EQ(take().size(), 1u);
  EXPECT_EQ(proxy().stats().contexts, 0u);  // answered, no branch left
  deliver(cancel_of(invite).text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().cancels, 0u);
}

// ---- the no-answer timer ----

TEST_F(Cancel, no_answer_timer_after_180_cancels_and_sends_480) {
  deliver(response_to(forwarded.m(), 180, "Ringing", "t1"), bob_addr());
  EXPECT_EQ(take().size(), 1u);
  clock.advance(29s);
  EXPECT_TRUE(take().empty());
  clock.advance(1s);  // settings.no_answer_timeout = 30 s, counted from the first 180
  auto out = take();
  ASSERT_EQ(lines(out),
            (std::vector<std::string>{"CANCEL sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                      "SIP/2.0 480 Temporarily Unavailable (no answer) -> 198.51.100.10:5060"}));
  expect_cancel_of(out[0], forwarded);
  EXPECT_EQ(out[1].field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(proxy().stats().no_answer_timeouts, 1u);
  // The 487 that answers our CANCEL stays here.
  deliver(response_to(forwarded.m(), 487, "Request Terminated", "t1"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
}

TEST_F(Cancel, no_answer_timer_stops_when_the_call_is_answered_and_the_context_goes) {
  deliver(response_to(forwarded.m(), 180, "Ringing", "t1"), bob_addr());
  deliver(response_to(forwarded.m(), 200, "OK", "t1"), bob_addr());
  EXPECT_EQ(take().size(), 2u);
  clock.advance(120s);
  EXPECT_TRUE(take().empty());
  EXPECT_EQ(proxy().stats().no_answer_timeouts, 0u);
  EXPECT_EQ(proxy().stats().contexts, 0u);  // Timers L and M ended both transactions
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(Cancel, without_provisional_no_answer_timer_does_not_run) {
  clock.advance(31s);
  auto out = take();
  for (const Out& o : out) EXPECT_EQ(o.to, bob_addr()) << o.start_line();  // only Timer A retransmissions
  EXPECT_EQ(proxy().stats().no_answer_timeouts, 0u);
}

}  // namespace
}  // namespace sipbox::proxy::test
