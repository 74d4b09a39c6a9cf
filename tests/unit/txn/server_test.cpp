// Server transactions: RFC 3261 17.2.1 (Figure 7), 17.2.2 (Figure 8), 17.2.4, and
// RFC 6026 section 7.1 (INVITE server Accepted state, Timer L).
#include "tests/unit/txn/fixture.h"

namespace sipbox::txn::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kBranch = "z9hG4bK776asdhds";

struct Server : Harness {
  // Delivers a request from the peer; the Msg stays alive in `received`.
  Disposition receive(std::string text, const Destination& from = udp_peer()) {
    received.push_back(std::make_unique<Msg>(text));
    auto d = table.receive_request(*received.back(), from);
    EXPECT_TRUE(d);
    return d ? *d : Disposition::Stray;
  }
  TransactionId last_id() const { return user.requests.empty() ? TransactionId{} : user.requests.back().id; }
  Status respond(TransactionId id, int status, std::string_view method, std::string_view to_tag = "uas") {
    Msg response(response_text(status, method, kBranch, to_tag));
    return table.respond(id, response);
  }
  std::vector<std::unique_ptr<Msg>> received;
};

// ---- INVITE server (Figure 7 + RFC 6026) ----

TEST(InviteServer, rfc3261_17_2_1_new_invite_goes_to_tu) {
  Server s;
  EXPECT_EQ(s.receive(request_text("INVITE", kBranch)), Disposition::NewTransaction);
  ASSERT_EQ(s.user.requests.size(), 1u);
  EXPECT_EQ(s.user.requests[0].method, "INVITE");
  EXPECT_EQ(s.state(s.last_id()), State::Proceeding);
  EXPECT_EQ(s.table.counters().server_created, 1u);
}

TEST(InviteServer, rfc3261_17_2_1_trying_sent_when_tu_silent_for_200ms) {
  Server s;
  s.receive(request_text("INVITE", kBranch, "Timestamp: 54\n"));
  s.clock.advance(199ms);
  EXPECT_TRUE(s.sender.sent.empty());
  s.clock.advance(1ms);
  ASSERT_EQ(s.sender.sent.size(), 1u);
  EXPECT_EQ(s.sender.sent[0].to, udp_peer());
  Msg trying(std::string_view(s.sender.sent[0].bytes));
  const sip::Message& m = trying;
  EXPECT_EQ(m.status_code(), 100);
  EXPECT_EQ(m.top_via().branch(), kBranch);
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq().method, "INVITE");
  EXPECT_EQ(m.to().tag(), "");
  EXPECT_NE(m.header(sip::HeaderId::Timestamp), nullptr);  // 8.2.6.1
  EXPECT_EQ(s.table.counters().trying_sent, 1u);
  // A retransmitted INVITE now gets the 100 again.
  EXPECT_EQ(s.receive(request_text("INVITE", kBranch)), Disposition::Absorbed);
  EXPECT_EQ(s.sender.sent.size(), 2u);
  EXPECT_EQ(s.user.requests.size(), 1u);
}

TEST(InviteServer, rfc3261_17_2_1_no_trying_when_tu_answers_within_200ms) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  s.clock.advance(50ms);
  ASSERT_TRUE(s.respond(s.last_id(), 180, "INVITE"));
  s.clock.advance(10s);
  ASSERT_EQ(s.sender.sent.size(), 1u);
  EXPECT_EQ(s.sender.sent[0].start_line(), "SIP/2.0 180 Reason");
}

TEST(InviteServer, rfc3261_17_2_1_retransmitted_invite_gets_last_provisional) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  ASSERT_TRUE(s.respond(s.last_id(), 180, "INVITE"));
  EXPECT_EQ(s.receive(request_text("INVITE", kBranch)), Disposition::Absorbed);
  ASSERT_EQ(s.sender.sent.size(), 2u);
  EXPECT_EQ(s.sender.sent[1].bytes, s.sender.sent[0].bytes);
  EXPECT_EQ(s.user.requests.size(), 1u);
  EXPECT_EQ(s.table.counters().retransmissions_absorbed, 1u);
  EXPECT_EQ(s.table.counters().retransmissions_sent, 1u);
}

TEST(InviteServer, rfc3261_17_2_1_timer_g_doubles_caps_at_t2_until_timer_h) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 486, "INVITE"));
  EXPECT_EQ(s.state(id), State::Completed);
  s.clock.advance(31999ms);
  EXPECT_EQ(s.send_times("SIP/2.0 486"),
            (std::vector<long>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
  EXPECT_TRUE(s.user.timeouts.empty());
  s.clock.advance(1ms);  // Timer H = 64*T1: the ACK never came
  EXPECT_EQ(s.user.timeouts, std::vector<TransactionId>{id});
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_EQ(s.clock.pending(), 0u);
}

TEST(InviteServer, rfc3261_17_2_1_retransmitted_invite_in_completed_gets_final) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  ASSERT_TRUE(s.respond(s.last_id(), 404, "INVITE"));
  EXPECT_EQ(s.receive(request_text("INVITE", kBranch)), Disposition::Absorbed);
  EXPECT_EQ(s.send_times("SIP/2.0 404").size(), 2u);
}

TEST(InviteServer, rfc3261_17_2_1_ack_stops_timer_g_and_timer_i_absorbs_acks) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 486, "INVITE"));
  s.clock.advance(600ms);  // one retransmission by G
  EXPECT_EQ(s.receive(request_text("ACK", kBranch, "", "uas")), Disposition::Absorbed);
  EXPECT_EQ(s.state(id), State::Confirmed);
  EXPECT_EQ(s.user.requests.size(), 1u);  // the ACK for a non-2xx stays in the layer
  EXPECT_EQ(s.receive(request_text("ACK", kBranch, "", "uas")), Disposition::Absorbed);
  s.clock.advance(4999ms);  // Timer I = T4 from the ACK
  EXPECT_EQ(s.state(id), State::Confirmed);
  EXPECT_EQ(s.send_times("SIP/2.0 486"), (std::vector<long>{0, 500}));
  s.clock.advance(1ms);
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_TRUE(s.user.timeouts.empty());
}

TEST(InviteServer, rfc3261_17_2_1_reliable_transport_no_timer_g_and_zero_timer_i) {
  Server s;
  s.receive(request_text("INVITE", kBranch), tcp_peer());
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 486, "INVITE"));
  s.clock.advance(10s);
  EXPECT_EQ(s.send_times("SIP/2.0 486"), std::vector<long>{0});
  s.receive(request_text("ACK", kBranch, "", "uas"), tcp_peer());
  EXPECT_EQ(s.state(id), State::Terminated);  // Timer I = 0
  EXPECT_EQ(s.clock.pending(), 0u);
}

TEST(InviteServer, rfc3261_17_2_1_reliable_transport_timer_h_still_runs) {
  Server s;
  s.receive(request_text("INVITE", kBranch), tcp_peer());
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 603, "INVITE"));
  s.clock.advance(32s);
  EXPECT_EQ(s.user.timeouts, std::vector<TransactionId>{id});
}

TEST(InviteServer, rfc6026_7_1_accepted_state_until_timer_l) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 200, "INVITE"));
  EXPECT_EQ(s.state(id), State::Accepted);
  // INVITE retransmission: absorbed, no response from the layer (the TU retransmits 2xx).
  EXPECT_EQ(s.receive(request_text("INVITE", kBranch)), Disposition::Absorbed);
  EXPECT_EQ(s.sender.sent.size(), 1u);
  // The TU's own 2xx retransmission passes through.
  ASSERT_TRUE(s.respond(id, 200, "INVITE"));
  EXPECT_EQ(s.send_times("SIP/2.0 200").size(), 2u);
  // A matching ACK goes to the TU.
  EXPECT_EQ(s.receive(request_text("ACK", kBranch, "", "uas")), Disposition::PassedToTu);
  EXPECT_EQ(s.user.requests.back().method, "ACK");
  EXPECT_EQ(s.user.requests.back().id, id);
  // An ACK with its own branch (the usual 2xx ACK) is not part of the transaction.
  EXPECT_EQ(s.receive(request_text("ACK", "z9hG4bKnewack", "", "uas")), Disposition::Stray);
  EXPECT_EQ(s.table.counters().stray_acks, 1u);
  EXPECT_FALSE(s.respond(id, 486, "INVITE"));  // no arrow for a non-2xx in Accepted
  s.clock.advance(31999ms);
  EXPECT_EQ(s.state(id), State::Accepted);
  EXPECT_EQ(s.send_times("SIP/2.0 200").size(), 2u);  // no Timer G for 2xx
  s.clock.advance(1ms);                               // Timer L = 64*T1
  EXPECT_EQ(s.state(id), State::Terminated);
}

TEST(InviteServer, rfc6026_7_1_transport_error_in_accepted_keeps_the_transaction) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  s.sender.fail_next = 1;
  ASSERT_TRUE(s.respond(id, 200, "INVITE"));
  EXPECT_EQ(s.user.transport_errors.size(), 1u);
  EXPECT_EQ(s.state(id), State::Accepted);
}

TEST(InviteServer, rfc3261_17_2_4_transport_error_in_proceeding_terminates) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  s.sender.fail_next = 1;
  ASSERT_TRUE(s.respond(id, 180, "INVITE"));
  ASSERT_EQ(s.user.transport_errors.size(), 1u);
  EXPECT_EQ(s.user.transport_errors[0].first, id);
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_FALSE(s.respond(id, 200, "INVITE"));  // the id is gone
}

TEST(InviteServer, rfc3261_17_2_4_transport_error_on_timer_g_terminates) {
  Server s;
  s.receive(request_text("INVITE", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 500, "INVITE"));
  s.sender.fail_next = 1;
  s.clock.advance(500ms);
  EXPECT_EQ(s.user.transport_errors.size(), 1u);
  EXPECT_EQ(s.state(id), State::Terminated);
}

TEST(InviteServer, tu_may_respond_from_inside_on_request) {
  Server s;
  s.user.respond_with = [&](TransactionId id, const sip::Message& request) {
    if (request.method_id() != sip::Method::Invite) return;
    EXPECT_TRUE(s.respond(id, 180, "INVITE"));
    EXPECT_TRUE(s.respond(id, 486, "INVITE"));
  };
  s.receive(request_text("INVITE", kBranch));
  EXPECT_EQ(s.state(s.last_id()), State::Completed);
  ASSERT_EQ(s.sender.sent.size(), 2u);
  s.clock.advance(300ms);
  EXPECT_EQ(s.table.counters().trying_sent, 0u);  // the Trying timer was stopped
}

// A response given from inside on_request is sent after that row has run; the table
// must not keep a pointer to the caller's message, which may be gone by then.
TEST(InviteServer, tu_response_from_inside_on_request_may_be_freed_at_once) {
  Server s;
  s.user.respond_with = [&](TransactionId id, const sip::Message&) {
    auto response = std::make_unique<Msg>(response_text(486, "INVITE", kBranch, "uas"));
    EXPECT_TRUE(s.table.respond(id, *response));
  };
  s.receive(request_text("INVITE", kBranch));
  EXPECT_EQ(s.state(s.last_id()), State::Completed);
  ASSERT_EQ(s.sender.sent.size(), 1u);
  EXPECT_EQ(s.sender.sent[0].start_line(), "SIP/2.0 486 Reason");
}

// ---- non-INVITE server (Figure 8) ----

TEST(NonInviteServer, rfc3261_17_2_2_trying_absorbs_retransmissions_silently) {
  Server s;
  s.receive(request_text("OPTIONS", kBranch));
  const TransactionId id = s.last_id();
  EXPECT_EQ(s.state(id), State::Trying);
  EXPECT_EQ(s.receive(request_text("OPTIONS", kBranch)), Disposition::Absorbed);
  s.clock.advance(1s);
  EXPECT_TRUE(s.sender.sent.empty());  // no 100 Trying for non-INVITE
  EXPECT_EQ(s.user.requests.size(), 1u);
}

TEST(NonInviteServer, rfc3261_17_2_2_proceeding_resends_provisional) {
  Server s;
  s.receive(request_text("REGISTER", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 100, "REGISTER"));
  EXPECT_EQ(s.state(id), State::Proceeding);
  s.receive(request_text("REGISTER", kBranch));
  EXPECT_EQ(s.send_times("SIP/2.0 100").size(), 2u);
}

TEST(NonInviteServer, rfc3261_17_2_2_timer_j_keeps_final_for_retransmissions) {
  Server s;
  s.receive(request_text("BYE", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 200, "BYE"));
  EXPECT_EQ(s.state(id), State::Completed);
  s.clock.advance(20s);
  EXPECT_EQ(s.receive(request_text("BYE", kBranch)), Disposition::Absorbed);
  EXPECT_EQ(s.send_times("SIP/2.0 200"), (std::vector<long>{0, 20000}));
  EXPECT_FALSE(s.respond(id, 500, "BYE"));  // one final response only
  s.clock.advance(11999ms);
  EXPECT_EQ(s.state(id), State::Completed);
  s.clock.advance(1ms);  // Timer J = 64*T1
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_EQ(s.user.terminated, std::vector<TransactionId>{id});
}

TEST(NonInviteServer, rfc3261_17_2_2_reliable_transport_zero_timer_j) {
  Server s;
  s.receive(request_text("OPTIONS", kBranch), tcp_peer());
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.respond(id, 200, "OPTIONS"));
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_EQ(s.table.size(), 0u);
}

TEST(NonInviteServer, rfc3261_17_2_4_transport_error_reported_to_tu) {
  Server s;
  s.receive(request_text("MESSAGE", kBranch));
  const TransactionId id = s.last_id();
  s.sender.fail_next = 1;
  ASSERT_TRUE(s.respond(id, 202, "MESSAGE"));
  EXPECT_EQ(s.user.transport_errors.size(), 1u);
  EXPECT_EQ(s.state(id), State::Terminated);
  EXPECT_EQ(s.table.counters().transport_errors, 1u);
}

TEST(NonInviteServer, respond_with_bytes_runs_the_figure_like_a_parsed_response) {
  Server s;
  s.receive(request_text("REGISTER", kBranch));
  const TransactionId id = s.last_id();
  ASSERT_TRUE(s.table.respond(id, response_text(401, "REGISTER", kBranch, "uas")));
  EXPECT_EQ(s.state(id), State::Completed);
  EXPECT_EQ(s.table.info(id)->last_status, 401);
  EXPECT_EQ(s.receive(request_text("REGISTER", kBranch)), Disposition::Absorbed);
  EXPECT_EQ(s.send_times("SIP/2.0 401").size(), 2u);                                  // the same bytes again
  EXPECT_FALSE(s.table.respond(id, response_text(200, "REGISTER", kBranch, "uas")));  // one final only
}

TEST(NonInviteServer, respond_with_bytes_refuses_what_is_not_a_status_line) {
  Server s;
  s.receive(request_text("OPTIONS", kBranch));
  const TransactionId id = s.last_id();
  EXPECT_FALSE(s.table.respond(id, std::string("OPTIONS sip:a@b SIP/2.0\r\n\r\n")));
  EXPECT_FALSE(s.table.respond(id, std::string("SIP/2.0 2x0 OK\r\n\r\n")));
  EXPECT_FALSE(s.table.respond(id, std::string("SIP/2.0 099 Low\r\n\r\n")));
  EXPECT_FALSE(s.table.respond(id, std::string("SIP/2.0 200")));
  EXPECT_FALSE(s.table.respond(TransactionId{999}, response_text(200, "OPTIONS", kBranch, "uas")));
  EXPECT_EQ(s.state(id), State::Trying);
  ASSERT_TRUE(s.table.respond(id, response_text(200, "OPTIONS", kBranch, "uas")));
  EXPECT_EQ(s.state(id), State::Completed);
}

TEST(NonInviteServer, respond_refuses_requests_and_unknown_ids) {
  Server s;
  s.receive(request_text("OPTIONS", kBranch));
  Msg request(request_text("OPTIONS", kBranch));
  EXPECT_FALSE(s.table.respond(s.last_id(), request));
  EXPECT_FALSE(s.respond(TransactionId{999}, 200, "OPTIONS"));
}

TEST(Timers, configurable_t1_t2_t4_drive_every_timer) {
  FakeClock clock;
  FakeSender sender(clock);
  Recorder user;
  TransactionTable table(clock, sender, user, TimerSettings{Millis{100}, Millis{400}, Millis{1000}});
  Msg request(request_text("OPTIONS", "z9hG4bKcfg"));
  auto id = table.send_request(request, udp_peer());
  ASSERT_TRUE(id);
  clock.advance(Millis{6400});  // Timer F = 64*T1 = 6.4 s
  EXPECT_EQ(user.timeouts.size(), 1u);
  std::vector<long> at;
  for (const Sent& sent : sender.sent) at.push_back(static_cast<long>(sent.at.count()));
  EXPECT_EQ(at, (std::vector<long>{0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100,
                                   5500, 5900, 6300}));
}

}  // namespace
}  // namespace sipbox::txn::test
