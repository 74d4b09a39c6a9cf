// Request matching for server transactions: RFC 3261 17.2.3 (branch + sent-by +
// method, ACK to the INVITE, RFC 2543 fallback), 9.2 (CANCEL), RFC 4475 3.2.1.
#include "tests/unit/txn/fixture.h"

namespace sipbox::txn::test {
namespace {

struct Matching : Harness {
  Disposition receive(std::string text, const Destination& from = udp_peer()) {
    received.push_back(std::make_unique<Msg>(text));
    auto d = table.receive_request(*received.back(), from);
    EXPECT_TRUE(d);
    return d ? *d : Disposition::Stray;
  }
  std::vector<std::unique_ptr<Msg>> received;
};

TEST(ServerMatching, rfc3261_17_2_3_branch_sent_by_and_method) {
  Matching m;
  EXPECT_EQ(m.receive(request_text("OPTIONS", "z9hG4bKa")), Disposition::NewTransaction);
  EXPECT_EQ(m.receive(request_text("OPTIONS", "z9hG4bKa")), Disposition::Absorbed);
  // Same branch from another sent-by: another client's transaction.
  EXPECT_EQ(m.receive(request_text("OPTIONS", "z9hG4bKa", "", "", 1, "other.example.com")),
            Disposition::NewTransaction);
  // sent-by hosts compare case-insensitively; an absent port is 5060.
  EXPECT_EQ(m.receive(request_text("OPTIONS", "z9hG4bKa", "", "", 1, "PC33.atlanta.example.com:5060")),
            Disposition::Absorbed);
  // Same branch, another method: another transaction.
  EXPECT_EQ(m.receive(request_text("INFO", "z9hG4bKa")), Disposition::NewTransaction);
  EXPECT_EQ(m.table.size(), 3u);
  EXPECT_EQ(m.user.requests.size(), 3u);
}

TEST(ServerMatching, rfc3261_17_2_3_ack_matches_the_invite_transaction) {
  Matching m;
  m.receive(request_text("INVITE", "z9hG4bKinv"));
  const TransactionId id = m.user.requests.back().id;
  Msg busy(response_text(486, "INVITE", "z9hG4bKinv", "uas"));
  ASSERT_TRUE(m.table.respond(id, busy));
  EXPECT_EQ(m.receive(request_text("ACK", "z9hG4bKinv", "", "uas")), Disposition::Absorbed);
  EXPECT_EQ(m.state(id), State::Confirmed);
  EXPECT_EQ(m.table.size(), 1u);  // the ACK created nothing
}

TEST(ServerMatching, rfc3261_17_2_3_ack_without_transaction_is_stray) {
  Matching m;
  EXPECT_EQ(m.receive(request_text("ACK", "z9hG4bKlonely", "", "x")), Disposition::Stray);
  EXPECT_EQ(m.table.size(), 0u);
  EXPECT_TRUE(m.user.requests.empty());
  EXPECT_EQ(m.table.counters().stray_acks, 1u);
}

TEST(ServerMatching, rfc3261_9_2_cancel_is_its_own_transaction_and_finds_the_invite) {
  Matching m;
  m.receive(request_text("INVITE", "z9hG4bKcall"));
  const TransactionId invite = m.user.requests.back().id;
  EXPECT_EQ(m.receive(request_text("CANCEL", "z9hG4bKcall")), Disposition::NewTransaction);
  const TransactionId cancel = m.user.requests.back().id;
  EXPECT_NE(cancel, invite);
  EXPECT_EQ(m.table.info(cancel)->kind, Kind::NonInvite);
  EXPECT_EQ(m.table.cancel_target(*m.received.back()), invite);
  // A CANCEL for an unknown INVITE (another branch or sent-by) finds nothing: 481 (9.2).
  Msg other(request_text("CANCEL", "z9hG4bKother"));
  EXPECT_FALSE(m.table.cancel_target(other));
  Msg elsewhere(request_text("CANCEL", "z9hG4bKcall", "", "", 1, "evil.example.com"));
  EXPECT_FALSE(m.table.cancel_target(elsewhere));
  // Only a CANCEL asks this question.
  EXPECT_FALSE(m.table.cancel_target(*m.received.front()));
  // The TU answers both: 200 to the CANCEL, 487 to the INVITE.
  Msg ok(response_text(200, "CANCEL", "z9hG4bKcall"));
  Msg terminated(response_text(487, "INVITE", "z9hG4bKcall", "uas"));
  EXPECT_TRUE(m.table.respond(cancel, ok));
  EXPECT_TRUE(m.table.respond(invite, terminated));
  EXPECT_EQ(m.state(invite), State::Completed);
}

TEST(ServerMatching, rfc3261_17_2_3_rfc2543_fallback_without_magic_cookie) {
  Matching m;
  EXPECT_EQ(m.receive(request_text("INVITE", "1234")), Disposition::NewTransaction);
  const TransactionId id = m.user.requests.back().id;
  EXPECT_EQ(m.receive(request_text("INVITE", "1234")), Disposition::Absorbed);
  // Another CSeq number: another transaction.
  EXPECT_EQ(m.receive(request_text("INVITE", "1234", "", "", 2)), Disposition::NewTransaction);
  const TransactionId second = m.user.requests.back().id;
  Msg busy(response_text(486, "INVITE", "1234", "resp-tag"));
  ASSERT_TRUE(m.table.respond(id, busy));
  // The ACK matches only with the To tag of the response sent.
  EXPECT_EQ(m.receive(request_text("ACK", "1234", "", "wrong")), Disposition::Stray);
  EXPECT_EQ(m.state(id), State::Completed);
  EXPECT_EQ(m.receive(request_text("ACK", "1234", "", "resp-tag")), Disposition::Absorbed);
  EXPECT_EQ(m.state(id), State::Confirmed);
  EXPECT_EQ(m.state(second), State::Proceeding);
}

TEST(ServerMatching, rfc2543_fallback_takes_the_to_tag_from_a_response_given_as_bytes) {
  Matching m;
  EXPECT_EQ(m.receive(request_text("INVITE", "1234")), Disposition::NewTransaction);
  const TransactionId id = m.user.requests.back().id;
  ASSERT_TRUE(m.table.respond(id, response_text(486, "INVITE", "1234", "resp-tag")));
  // A second final response is refused, and its To tag does not replace the first's.
  EXPECT_FALSE(m.table.respond(id, response_text(500, "INVITE", "1234", "wrong")));
  EXPECT_EQ(m.receive(request_text("ACK", "1234", "", "wrong")), Disposition::Stray);
  EXPECT_EQ(m.receive(request_text("ACK", "1234", "", "resp-tag")), Disposition::Absorbed);
  EXPECT_EQ(m.state(id), State::Confirmed);
}

TEST(ServerMatching, rfc3261_17_2_3_rfc2543_fallback_without_branch_parameter) {
  Matching m;
  std::string text = crlf(request_text("OPTIONS", "x"));
  const std::string no_branch = [] {
    std::string t = request_text("OPTIONS", "x");
    t.replace(t.find(";branch=x"), 9, "");
    return t;
  }();
  EXPECT_EQ(m.receive(no_branch), Disposition::NewTransaction);
  EXPECT_EQ(m.receive(no_branch), Disposition::Absorbed);
  // Another Call-ID: another transaction.
  std::string other = no_branch;
  other.replace(other.find("a84b4c76"), 8, "deadbeef");
  EXPECT_EQ(m.receive(other), Disposition::NewTransaction);
  EXPECT_EQ(m.table.size(), 2u);
}

TEST(ServerMatching, rfc4475_3_2_1_bare_magic_cookie_branch_uses_rfc2543_matching) {
  // "z9hG4bK" alone is not an RFC 3261 branch (Via::rfc3261_branch()): two requests
  // that share it but differ in Call-ID are different transactions.
  Matching m;
  const std::string first = request_text("OPTIONS", "z9hG4bK");
  std::string second = first;
  second.replace(second.find("a84b4c76"), 8, "0badcafe");
  EXPECT_EQ(m.receive(first), Disposition::NewTransaction);
  EXPECT_EQ(m.receive(second), Disposition::NewTransaction);
  EXPECT_EQ(m.receive(first), Disposition::Absorbed);
  EXPECT_EQ(m.table.size(), 2u);
}

TEST(ServerMatching, rfc3261_9_2_cancel_target_with_rfc2543_peer) {
  Matching m;
  m.receive(request_text("INVITE", "old"));
  const TransactionId invite = m.user.requests.back().id;
  m.receive(request_text("CANCEL", "old"));
  EXPECT_EQ(m.table.cancel_target(*m.received.back()), invite);
}

TEST(ServerMatching, client_and_server_transactions_share_a_table_without_clashing) {
  Matching m;
  // A proxy forwards with its own branch; a request arriving with our branch value
  // is still a server transaction (keys are role-qualified).
  Msg out(request_text("OPTIONS", "z9hG4bKshared"));
  ASSERT_TRUE(m.table.send_request(out, udp_peer()));
  EXPECT_EQ(m.receive(request_text("OPTIONS", "z9hG4bKshared")), Disposition::NewTransaction);
  EXPECT_EQ(m.table.size(), 2u);
  EXPECT_EQ(m.table.counters().client_created, 1u);
  EXPECT_EQ(m.table.counters().server_created, 1u);
}

TEST(ServerMatching, receive_request_refuses_a_response) {
  Matching m;
  Msg response(response_text(200, "OPTIONS", "z9hG4bKa"));
  EXPECT_FALSE(m.table.receive_request(response, udp_peer()));
}

}  // namespace
}  // namespace sipbox::txn::test
