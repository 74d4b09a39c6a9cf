// Client transactions: RFC 3261 17.1.1 (Figure 5), 17.1.2 (Figure 6), 17.1.3, 17.1.4,
// and RFC 6026 section 7.2 (INVITE client Accepted state, Timer M).
#include "tests/unit/txn/fixture.h"

namespace sipbox::txn::test {
namespace {

using namespace std::chrono_literals;

struct Client : Harness {
  // Starts a client transaction for `method` over `to`; keeps the request alive.
  TransactionId start(std::string_view method, const Destination& to = udp_peer(), std::string_view extra = "") {
    branch = table.new_branch();
    request = std::make_unique<Msg>(request_text(method, branch, extra));
    auto id = table.send_request(*request, to);
    EXPECT_TRUE(id) << (id ? "" : id.error().message);
    return id ? *id : TransactionId{};
  }
  Disposition reply(int status, std::string_view method, std::string_view to_tag = "") {
    Msg response(response_text(status, method, branch, to_tag));
    return table.receive_response(response);
  }
  std::string branch;
  std::unique_ptr<Msg> request;
};

// ---- INVITE client (Figure 5) ----

TEST(InviteClient, rfc3261_17_1_1_2_timer_a_doubles_without_cap_until_timer_b) {
  Client c;
  c.start("INVITE");
  c.clock.advance(32s);
  // T1, 2*T1, 4*T1, ... (no T2 cap for INVITE requests) until Timer B = 64*T1.
  EXPECT_EQ(c.send_times("INVITE"), (std::vector<long>{0, 500, 1500, 3500, 7500, 15500, 31500}));
  EXPECT_EQ(c.table.counters().retransmissions_sent, 6u);
}

TEST(InviteClient, rfc3261_17_1_1_2_timer_b_timeout_reported_to_tu) {
  Client c;
  const TransactionId id = c.start("INVITE");
  c.clock.advance(31999ms);
  EXPECT_TRUE(c.user.timeouts.empty());
  EXPECT_EQ(c.state(id), State::Calling);
  c.clock.advance(1ms);
  ASSERT_EQ(c.user.timeouts.size(), 1u);
  EXPECT_EQ(c.user.timeouts[0], id);
  EXPECT_EQ(c.user.terminated, std::vector<TransactionId>{id});
  EXPECT_EQ(c.table.size(), 0u);
  EXPECT_EQ(c.table.counters().timeouts, 1u);
  EXPECT_EQ(c.clock.pending(), 0u);  // every timer cancelled
}

TEST(InviteClient, rfc3261_17_1_1_2_provisional_stops_retransmissions_and_timer_b) {
  Client c;
  const TransactionId id = c.start("INVITE");
  c.clock.advance(100ms);
  EXPECT_EQ(c.reply(180, "INVITE", "t1"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Proceeding);
  c.clock.advance(60s);
  EXPECT_EQ(c.send_times("INVITE"), std::vector<long>{0});
  EXPECT_TRUE(c.user.timeouts.empty());  // Proceeding has no Timer B (the TU's Timer C rules)
  EXPECT_EQ(c.reply(183, "INVITE", "t1"), Disposition::PassedToTu);
  EXPECT_EQ(c.user.responses, (std::vector<std::pair<TransactionId, int>>{{id, 180}, {id, 183}}));
}

TEST(InviteClient, rfc3261_17_1_1_2_non_2xx_acked_and_timer_d_absorbs_retransmissions) {
  Client c;
  const TransactionId id = c.start("INVITE");
  EXPECT_EQ(c.reply(486, "INVITE", "callee"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Completed);
  EXPECT_EQ(c.send_times("ACK").size(), 1u);
  c.clock.advance(10s);
  EXPECT_EQ(c.reply(486, "INVITE", "callee"), Disposition::Absorbed);  // retransmission: ACK again, TU not told
  EXPECT_EQ(c.send_times("ACK").size(), 2u);
  EXPECT_EQ(c.user.responses.size(), 1u);
  EXPECT_EQ(c.send_times("INVITE"), std::vector<long>{0});  // A stopped
  c.clock.advance(21999ms);
  EXPECT_EQ(c.state(id), State::Completed);
  c.clock.advance(1ms);  // Timer D: 32 s after the response
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.table.counters().retransmissions_absorbed, 1u);
  EXPECT_TRUE(c.user.timeouts.empty());
}

TEST(InviteClient, rfc3261_17_1_1_3_ack_for_non_2xx_copies_request_fields) {
  Client c;
  c.start("INVITE", udp_peer(),
          "Route: <sip:p1.example.com;lr>\nRoute: <sip:p2.example.com;lr>, <sip:p3.example.com;lr>\n"
          "Via: SIP/2.0/UDP second.example.com;branch=z9hG4bKlower\nContact: <sip:alice@pc33.atlanta.example.com>\n");
  c.reply(404, "INVITE", "404tag");
  const auto acks = c.send_times("ACK");
  ASSERT_EQ(acks.size(), 1u);
  const Sent& sent = c.sender.sent.back();
  EXPECT_EQ(sent.to, udp_peer());  // to where the request went
  Msg ack(std::string_view(sent.bytes));
  const sip::Message& m = ack;
  EXPECT_EQ(m.method_id(), sip::Method::Ack);
  EXPECT_EQ(m.request_uri_text(), "sip:bob@biloxi.example.com");
  ASSERT_EQ(m.vias().size(), 1u);  // only the top Via
  EXPECT_EQ(m.top_via().branch(), c.branch);
  EXPECT_EQ(m.from().tag(), "1928301774");
  EXPECT_EQ(m.to().tag(), "404tag");  // the response's To
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq().number, 1u);
  EXPECT_EQ(m.cseq().method, "ACK");
  ASSERT_EQ(m.routes().size(), 3u);
  EXPECT_EQ(m.routes()[0].uri.host, "p1.example.com");
  EXPECT_EQ(m.routes()[2].uri.host, "p3.example.com");
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_TRUE(m.body().empty());
  EXPECT_EQ(m.contacts().size(), 0u);
}

TEST(InviteClient, rfc6026_7_2_accepted_passes_every_2xx_until_timer_m) {
  Client c;
  const TransactionId id = c.start("INVITE");
  EXPECT_EQ(c.reply(200, "INVITE", "fork1"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Accepted);
  EXPECT_EQ(c.reply(200, "INVITE", "fork1"), Disposition::PassedToTu);  // retransmission: the TU ACKs it
  EXPECT_EQ(c.reply(200, "INVITE", "fork2"), Disposition::PassedToTu);  // another fork
  EXPECT_EQ(c.user.responses.size(), 3u);
  EXPECT_TRUE(c.send_times("ACK").empty());  // the ACK for a 2xx is the TU's (13.2.2.4)
  EXPECT_EQ(c.reply(180, "INVITE", "fork3"), Disposition::Absorbed);  // no arrow: dropped
  EXPECT_EQ(c.user.responses.size(), 3u);
  c.clock.advance(31999ms);
  EXPECT_EQ(c.state(id), State::Accepted);
  c.clock.advance(1ms);  // Timer M = 64*T1
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.send_times("INVITE"), std::vector<long>{0});
}

TEST(InviteClient, rfc3261_17_1_1_2_reliable_transport_no_timer_a_and_zero_timer_d) {
  Client c;
  const TransactionId id = c.start("INVITE", tcp_peer());
  c.clock.advance(31s);
  EXPECT_EQ(c.send_times("INVITE"), std::vector<long>{0});
  c.reply(503, "INVITE", "x");
  EXPECT_EQ(c.send_times("ACK").size(), 1u);
  EXPECT_EQ(c.state(id), State::Terminated);  // Timer D = 0
  EXPECT_EQ(c.clock.pending(), 0u);
}

TEST(InviteClient, rfc3261_17_1_1_2_reliable_transport_still_times_out_with_timer_b) {
  Client c;
  const TransactionId id = c.start("INVITE", tcp_peer());
  c.clock.advance(32s);
  EXPECT_EQ(c.user.timeouts, std::vector<TransactionId>{id});
}

TEST(InviteClient, rfc3261_17_1_4_transport_error_reported_to_tu) {
  Client c;
  c.sender.fail_next = 1;
  const TransactionId id = c.start("INVITE");
  ASSERT_EQ(c.user.transport_errors.size(), 1u);
  EXPECT_EQ(c.user.transport_errors[0].first, id);
  EXPECT_EQ(c.user.transport_errors[0].second, "connection refused");
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.table.counters().transport_errors, 1u);
  EXPECT_EQ(c.clock.pending(), 0u);
}

TEST(InviteClient, rfc3261_17_1_4_transport_error_on_retransmission) {
  Client c;
  const TransactionId id = c.start("INVITE");
  c.sender.fail_next = 1;
  c.clock.advance(500ms);
  EXPECT_EQ(c.user.transport_errors.size(), 1u);
  EXPECT_EQ(c.state(id), State::Terminated);
}

// ---- non-INVITE client (Figure 6) ----

TEST(NonInviteClient, rfc3261_17_1_2_2_timer_e_caps_at_t2) {
  Client c;
  c.start("OPTIONS");
  c.clock.advance(32s);
  EXPECT_EQ(c.send_times("OPTIONS"),
            (std::vector<long>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
}

TEST(NonInviteClient, rfc3261_17_1_2_2_timer_f_timeout_reported_to_tu) {
  Client c;
  const TransactionId id = c.start("BYE");
  c.clock.advance(31999ms);
  EXPECT_TRUE(c.user.timeouts.empty());
  c.clock.advance(1ms);
  EXPECT_EQ(c.user.timeouts, std::vector<TransactionId>{id});
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.clock.pending(), 0u);
}

TEST(NonInviteClient, rfc3261_17_1_2_2_proceeding_retransmits_every_t2) {
  Client c;
  const TransactionId id = c.start("REGISTER");
  c.clock.advance(100ms);
  EXPECT_EQ(c.reply(100, "REGISTER"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Proceeding);
  c.clock.advance(10s);
  EXPECT_EQ(c.send_times("REGISTER"), (std::vector<long>{0, 500, 4500, 8500}));
  c.clock.advance(22s);  // Timer F still runs in Proceeding
  EXPECT_EQ(c.user.timeouts, std::vector<TransactionId>{id});
}

TEST(NonInviteClient, rfc3261_17_1_2_2_timer_k_absorbs_response_retransmissions) {
  Client c;
  const TransactionId id = c.start("OPTIONS");
  EXPECT_EQ(c.reply(200, "OPTIONS"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Completed);
  EXPECT_EQ(c.reply(200, "OPTIONS"), Disposition::Absorbed);
  EXPECT_EQ(c.user.responses.size(), 1u);
  c.clock.advance(4999ms);
  EXPECT_EQ(c.state(id), State::Completed);
  EXPECT_EQ(c.send_times("OPTIONS"), std::vector<long>{0});  // E stopped
  c.clock.advance(1ms);  // Timer K = T4
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.table.counters().retransmissions_absorbed, 1u);
}

TEST(NonInviteClient, rfc3261_17_1_2_2_non_2xx_final_completes_too) {
  Client c;
  const TransactionId id = c.start("MESSAGE");
  EXPECT_EQ(c.reply(404, "MESSAGE"), Disposition::PassedToTu);
  EXPECT_EQ(c.state(id), State::Completed);
  EXPECT_TRUE(c.send_times("ACK").empty());  // only INVITE transactions ACK
}

TEST(NonInviteClient, rfc3261_17_1_2_2_reliable_transport_no_timer_e_and_zero_timer_k) {
  Client c;
  const TransactionId id = c.start("OPTIONS", tcp_peer());
  c.clock.advance(10s);
  EXPECT_EQ(c.send_times("OPTIONS"), std::vector<long>{0});
  c.reply(200, "OPTIONS");
  EXPECT_EQ(c.state(id), State::Terminated);
  EXPECT_EQ(c.clock.pending(), 0u);
}

// ---- matching and the API (17.1.3) ----

TEST(ClientMatching, rfc3261_17_1_3_branch_and_cseq_method_select_the_transaction) {
  Client c;
  const TransactionId invite = c.start("INVITE");
  const std::string branch = c.branch;
  // The CANCEL for it reuses the branch (9.1); CSeq method tells the two apart.
  Msg cancel(request_text("CANCEL", branch));
  auto cancel_id = c.table.send_request(cancel, udp_peer());
  ASSERT_TRUE(cancel_id);
  EXPECT_EQ(c.reply(200, "CANCEL"), Disposition::PassedToTu);
  EXPECT_EQ(c.reply(487, "INVITE", "t"), Disposition::PassedToTu);
  EXPECT_EQ(c.user.responses,
            (std::vector<std::pair<TransactionId, int>>{{*cancel_id, 200}, {invite, 487}}));
  Msg other(response_text(200, "INVITE", "z9hG4bKnotours"));
  EXPECT_EQ(c.table.receive_response(other), Disposition::Stray);
  Msg wrong_method(response_text(200, "BYE", branch));
  EXPECT_EQ(c.table.receive_response(wrong_method), Disposition::Stray);
  EXPECT_EQ(c.table.counters().stray_responses, 2u);
}

TEST(ClientMatching, send_request_refuses_ack_and_non_rfc3261_branches) {
  Client c;
  Msg ack(request_text("ACK", c.table.new_branch()));
  EXPECT_FALSE(c.table.send_request(ack, udp_peer()));
  Msg bare(request_text("OPTIONS", "z9hG4bK"));
  EXPECT_FALSE(c.table.send_request(bare, udp_peer()));
  Msg old(request_text("OPTIONS", "1234"));
  EXPECT_FALSE(c.table.send_request(old, udp_peer()));
  Msg dup(request_text("OPTIONS", "z9hG4bKsame"));
  EXPECT_TRUE(c.table.send_request(dup, udp_peer()));
  EXPECT_FALSE(c.table.send_request(dup, udp_peer()));
  EXPECT_EQ(c.table.size(), 1u);
}

TEST(ClientMatching, rfc3261_8_1_1_7_new_branch_is_unique_and_compliant) {
  Client c;
  const std::string a = c.table.new_branch();
  const std::string b = c.table.new_branch();
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("z9hG4bK"));
  EXPECT_GT(a.size(), 7u);
}

TEST(ClientMatching, request_bytes_are_copied_for_retransmission) {
  Client c;
  c.start("OPTIONS");
  const std::string original = *c.request->bytes;
  c.request.reset();  // the caller's bytes are gone
  c.clock.advance(500ms);
  ASSERT_EQ(c.sender.sent.size(), 2u);
  EXPECT_EQ(c.sender.sent[1].bytes, original);
}

}  // namespace
}  // namespace sipbox::txn::test
