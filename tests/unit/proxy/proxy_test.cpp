// The request path of the stateful proxy through a real transaction table: 407 for local
// callers (RFC 3261 22.3), forwarding (16.6), responses upstream (16.7), the stateless
// ACK for 2xx (16.11), Max-Forwards and loops (16.3), location lookup (16.5).
#include "tests/unit/proxy/fixture.h"

namespace sipbox::proxy::test {
namespace {

std::string param_of(std::string_view value, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto at = value.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  return std::string(value.substr(start, value.find('"', start) - start));
}

// Replaces the Request-URI of a request's bytes.
std::string with_request_uri(const std::string& bytes, std::string_view uri) {
  const auto first_space = bytes.find(' ');
  const auto second_space = bytes.find(' ', first_space + 1);
  return bytes.substr(0, first_space + 1) + std::string(uri) + bytes.substr(second_space);
}

class Forwarding : public ProxyTest {
 protected:
  void SetUp() override { bind("bob", "sip:bob@198.51.100.20:5062", bob_addr()); }

  // Alice's INVITE to Bob with valid credentials; returns the INVITE sent to Bob (and
  // checks that a 100 Trying went upstream too: the proxy answers it from inside
  // on_request, so the table sends it when that row has run, after the INVITE).
  Out invite_bob(Request r = {}) {
    auto sent = call(r);
    EXPECT_EQ(lines(sent), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                     "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
    if (sent.size() != 2) return Out{{}, std::make_unique<Msg>(Request{}.text())};
    return std::move(sent[0]);
  }
};

TEST_F(Forwarding, rfc3261_22_3_local_caller_without_credentials_gets_407) {
  deliver(Request{}.text(), alice_addr());
  const auto sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"SIP/2.0 407 Proxy Authentication Required -> 198.51.100.10:5060"});
  const Out& r = sent[0];
  const auto challenges = r.fields(sip::HeaderId::ProxyAuthenticate);
  ASSERT_EQ(challenges.size(), 1u);
  EXPECT_TRUE(challenges[0].starts_with("Digest realm=\"example.com\", nonce=\"")) << challenges[0];
  EXPECT_TRUE(challenges[0].ends_with("\", algorithm=MD5, qop=\"auth\"")) << challenges[0];
  EXPECT_EQ(r.m().header(sip::HeaderId::WwwAuthenticate), nullptr);
  EXPECT_EQ(r.m().top_via().branch(), "z9hG4bKalice1");
  EXPECT_FALSE(r.m().to().tag().empty());
  EXPECT_EQ(r.field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(proxy().stats().challenges, 1u);
  EXPECT_EQ(proxy().stats().requests_forwarded, 0u);

  // The ACK for the 407 ends in the server transaction (17.2.1): nothing is forwarded.
  Request ack;
  ack.method = "ACK";
  ack.to = "<sip:bob@example.com>;tag=" + std::string(r.m().to().tag());
  deliver(ack.text(), alice_addr());
  EXPECT_TRUE(take().empty());
}

TEST_F(Forwarding, rfc3261_16_6_authenticated_invite_goes_to_the_bound_contact) {
  // The full handshake: the nonce comes from the 407.
  deliver(Request{}.text(), alice_addr());
  auto challenge = take();
  ASSERT_EQ(challenge.size(), 1u);
  const std::string nonce = param_of(challenge[0].field(sip::HeaderId::ProxyAuthenticate), "nonce");
  ASSERT_FALSE(nonce.empty());
  const auto a = sip::DigestAlgorithm::Md5;
  const std::string response = sip::digest_response(a, sip::digest_ha1(a, "alice", kDomain, "secret"), nonce,
                                                    "00000001", "0a4f113b", "auth", "INVITE", "sip:bob@example.com");
  Request r;
  r.cseq = 2;
  r.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKalice2";
  r.extra = "Contact: <sip:alice@198.51.100.10:5060>\n"
            "Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"" + nonce +
            "\", uri=\"sip:bob@example.com\", response=\"" + response +
            "\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\n"
            "Proxy-Authorization: Digest username=\"alice\", realm=\"other.example.net\", nonce=\"x\", "
            "uri=\"sip:bob@example.com\", response=\"0123\"\n";
  deliver(r.text(), alice_addr());
  const auto sent = take();
  ASSERT_EQ(lines(sent), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062",
                                                   "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  // 16.2: 100 Trying, hop by hop, with the caller's Via and no To tag.
  const Out& trying = sent[1];
  ASSERT_EQ(trying.m().vias().size(), 1u);
  EXPECT_EQ(trying.m().top_via().branch(), "z9hG4bKalice2");
  EXPECT_EQ(trying.m().to().tag(), "");
  EXPECT_EQ(trying.field(sip::HeaderId::CSeq), "2 INVITE");

  const Out& invite = sent[0];
  EXPECT_EQ(invite.to, bob_addr());
  const auto vias = invite.m().vias();
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(vias[0].transport, "UDP");
  EXPECT_EQ(vias[0].host, "192.0.2.1");
  EXPECT_EQ(vias[0].port, 5060);
  EXPECT_TRUE(vias[0].branch().starts_with("z9hG4bK")) << vias[0].branch();
  EXPECT_NE(vias[0].branch(), "z9hG4bKalice2");
  EXPECT_EQ(vias[1].branch(), "z9hG4bKalice2");
  EXPECT_EQ(invite.fields(sip::HeaderId::RecordRoute), std::vector<std::string>{std::string(kRecordRoute)});
  EXPECT_EQ(invite.m().max_forwards(), 69);
  // Only the credentials for this proxy's realm are consumed.
  const auto credentials = invite.fields(sip::HeaderId::ProxyAuthorization);
  ASSERT_EQ(credentials.size(), 1u);
  EXPECT_NE(credentials[0].find("realm=\"other.example.net\""), std::string::npos);
  EXPECT_EQ(invite.field(sip::HeaderId::From), "<sip:alice@example.com>;tag=a1");
  EXPECT_EQ(invite.field(sip::HeaderId::To), "<sip:bob@example.com>");
  EXPECT_EQ(invite.m().call_id(), "call-1@198.51.100.10");
  EXPECT_EQ(invite.field(sip::HeaderId::CSeq), "2 INVITE");
  EXPECT_EQ(invite.field(sip::HeaderId::Contact), "<sip:alice@198.51.100.10:5060>");
  EXPECT_EQ(proxy().stats().requests_forwarded, 1u);
  EXPECT_EQ(proxy().stats().contexts, 1u);
}

TEST_F(Forwarding, wrong_password_gets_407_and_reports_the_failure) {
  Request r;
  r.extra = "Proxy-Authorization: " + credentials("alice", "guess", "INVITE", r.uri) + "\n";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 407 Proxy Authentication Required -> 198.51.100.10:5060"});
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].user, "alice");
  EXPECT_EQ(failures[0].realm, "example.com");
  EXPECT_EQ(failures[0].reason, "wrong password");
  EXPECT_EQ(failures[0].source.address, "198.51.100.10");
  EXPECT_EQ(failures[0].source.port, 5060);
  EXPECT_EQ(failures[0].source.transport, "udp");
  EXPECT_EQ(proxy().stats().auth_failures, 1u);
  EXPECT_EQ(proxy().stats().challenges, 0u);
}

TEST_F(Forwarding, credentials_of_another_user_than_from_get_403) {
  Request r;
  r.extra = "Proxy-Authorization: " + credentials("bob", "hunter2", "INVITE", r.uri) + "\n";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()),
            std::vector<std::string>{"SIP/2.0 403 Forbidden (From is not the authenticated user) -> 198.51.100.10:5060"});
}

TEST_F(Forwarding, rfc3261_16_7_provisional_and_2xx_go_upstream_without_our_via) {
  const Out invite = invite_bob();
  const std::string extra = "Contact: <sip:bob@198.51.100.20:5062>\r\nRecord-Route: <sip:192.0.2.1:5060;lr>\r\n";

  deliver(response_to(invite.m(), 100, "Trying"), bob_addr());
  EXPECT_TRUE(take().empty());  // 16.7 step 5: a 100 is not forwarded

  deliver(response_to(invite.m(), 180, "Ringing", "b1", extra), bob_addr());
  auto sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"SIP/2.0 180 Ringing -> 198.51.100.10:5060"});
  ASSERT_EQ(sent[0].m().vias().size(), 1u);
  EXPECT_EQ(sent[0].m().top_via().branch(), "z9hG4bKalice1");
  EXPECT_EQ(sent[0].m().to().tag(), "b1");
  EXPECT_EQ(sent[0].field(sip::HeaderId::RecordRoute), kRecordRoute);
  EXPECT_EQ(sent[0].field(sip::HeaderId::Contact), "<sip:bob@198.51.100.20:5062>");

  deliver(response_to(invite.m(), 200, "OK", "b1", extra), bob_addr());
  sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  ASSERT_EQ(sent[0].m().vias().size(), 1u);
  EXPECT_EQ(sent[0].m().top_via().branch(), "z9hG4bKalice1");
  EXPECT_EQ(sent[0].field(sip::HeaderId::CSeq), "1 INVITE");
  EXPECT_EQ(proxy().stats().dialogs_established, 1u);
  EXPECT_EQ(proxy().stats().responses_forwarded, 2u);

  // A retransmitted 2xx (the UAS has no ACK yet) goes upstream too (16.7 step 5, RFC 6026).
  deliver(response_to(invite.m(), 200, "OK", "b1", extra), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().dialogs_established, 1u);
}

TEST_F(Forwarding, rfc3261_16_11_ack_for_2xx_is_forwarded_statelessly_along_the_route) {
  const Out invite = invite_bob();
  deliver(response_to(invite.m(), 200, "OK", "b1", "Contact: <sip:bob@198.51.100.20:5062>\r\n"), bob_addr());
  ASSERT_EQ(take().size(), 1u);

  Request ack;
  ack.method = "ACK";
  ack.uri = "sip:bob@198.51.100.20:5062";
  ack.to = "<sip:bob@example.com>;tag=b1";
  ack.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKack1";
  ack.extra = "Route: <sip:192.0.2.1:5060;lr>\n";
  deliver(ack.text(), alice_addr());
  auto sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"ACK sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  const sip::Message& m = sent[0].m();
  EXPECT_EQ(m.header(sip::HeaderId::Route), nullptr);
  EXPECT_EQ(m.max_forwards(), 69);
  ASSERT_EQ(m.vias().size(), 2u);
  EXPECT_EQ(m.vias()[0].host, "192.0.2.1");
  EXPECT_EQ(m.vias()[0].port, 5060);
  EXPECT_TRUE(m.vias()[0].branch().starts_with("z9hG4bK")) << m.vias()[0].branch();
  EXPECT_EQ(m.vias()[1].branch(), "z9hG4bKack1");
  EXPECT_EQ(m.to().tag(), "b1");
  const std::string branch(m.vias()[0].branch());
  EXPECT_EQ(proxy().stats().stateless_forwarded, 1u);

  // A retransmitted ACK gets the same branch: stateless forwarding is deterministic.
  deliver(ack.text(), alice_addr());
  sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].m().vias()[0].branch(), branch);
}

TEST_F(Forwarding, rfc3261_16_6_max_forwards_one_is_forwarded_as_zero_and_absent_becomes_70) {
  Request r;
  r.max_forwards = 1;
  EXPECT_EQ(invite_bob(r).m().max_forwards(), 0);
  Request none;
  none.call_id = "call-2";
  none.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKalice2";
  none.max_forwards = -1;
  const Out out = invite_bob(none);
  EXPECT_EQ(out.m().max_forwards(), 70);
  EXPECT_EQ(out.fields(sip::HeaderId::MaxForwards), std::vector<std::string>{"70"});
}

TEST_F(Forwarding, rfc3261_16_3_max_forwards_zero_gets_483) {
  Request r;
  r.max_forwards = 0;
  r.extra = "Proxy-Authorization: " + credentials("alice", "secret", "INVITE", r.uri) + "\n";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 483 Too Many Hops -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().too_many_hops, 1u);
}

TEST_F(Forwarding, rfc3261_16_3_request_coming_back_unchanged_is_a_loop) {
  deliver(from_foreign().text(), foreign_addr());
  auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  // Bob's phone sends it back to us with the Request-URI it arrived with at the proxy.
  deliver(with_request_uri(*sent[0].msg->bytes, "sip:bob@example.com"), bob_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 482 Loop Detected -> 198.51.100.20:5062"});
  EXPECT_EQ(proxy().stats().loops, 1u);
}

TEST_F(Forwarding, rfc3261_16_3_spiral_with_a_new_request_uri_is_not_a_loop) {
  bind("carol", "sip:carol@198.51.100.30", carol_addr());
  deliver(from_foreign().text(), foreign_addr());
  auto sent = take();
  ASSERT_EQ(sent.size(), 2u);
  // Bob's phone forwards the call to Carol through us: same Call-ID, tags and CSeq.
  deliver(with_request_uri(*sent[0].msg->bytes, "sip:carol@example.com"), bob_addr());
  sent = take();
  ASSERT_EQ(lines(sent), (std::vector<std::string>{"INVITE sip:carol@198.51.100.30 SIP/2.0 -> 198.51.100.30:5060",
                                                   "SIP/2.0 100 Trying -> 198.51.100.20:5062"}));
  const auto vias = sent[0].m().vias();
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[0].host, "192.0.2.1");
  EXPECT_EQ(vias[1].host, "192.0.2.1");
  EXPECT_NE(vias[0].branch(), vias[1].branch());
  EXPECT_EQ(vias[2].branch(), "z9hG4bKzed1");
  EXPECT_EQ(sent[0].m().max_forwards(), 68);
  EXPECT_EQ(proxy().stats().loops, 0u);
}

TEST_F(Forwarding, rfc3261_16_5_unknown_user_gets_404) {
  Request r = from_foreign();
  r.uri = "sip:nobody@example.com";
  r.to = "<sip:nobody@example.com>";
  deliver(r.text(), foreign_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 404 Not Found -> 203.0.113.80:5060"});
  EXPECT_EQ(proxy().stats().not_found, 1u);
}

TEST_F(Forwarding, rfc3261_16_5_known_user_without_binding_gets_480) {
  Request r = from_foreign();
  r.uri = "sip:dave@example.com";
  r.to = "<sip:dave@example.com>";
  deliver(r.text(), foreign_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 480 Temporarily Unavailable -> 203.0.113.80:5060"});
  EXPECT_EQ(proxy().stats().unavailable, 1u);
  EXPECT_EQ(proxy().stats().not_found, 0u);
}

TEST_F(Forwarding, local_caller_to_unknown_user_is_authenticated_first_then_gets_404) {
  Request r;
  r.uri = "sip:nobody@example.com";
  r.to = "<sip:nobody@example.com>";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 407 Proxy Authentication Required -> 198.51.100.10:5060"});
  r.cseq = 2;
  r.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKalice2";
  r.extra = "Proxy-Authorization: " + credentials("alice", "secret", "INVITE", r.uri) + "\n";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 404 Not Found -> 198.51.100.10:5060"});
}

TEST_F(Forwarding, foreign_caller_to_foreign_domain_is_not_relayed) {
  Request r = from_foreign();
  r.uri = "sip:someone@192.0.2.99";
  r.to = "<sip:someone@192.0.2.99>";
  deliver(r.text(), foreign_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 403 Forbidden (relaying denied) -> 203.0.113.80:5060"});
}

TEST_F(Forwarding, rfc3261_16_3_proxy_require_gets_420_with_unsupported) {
  Request r = from_foreign();
  r.extra = "Proxy-Require: foo, bar\n";
  deliver(r.text(), foreign_addr());
  const auto sent = take();
  ASSERT_EQ(lines(sent), std::vector<std::string>{"SIP/2.0 420 Bad Extension -> 203.0.113.80:5060"});
  EXPECT_EQ(sent[0].field(sip::HeaderId::Unsupported), "foo, bar");
}

TEST_F(Forwarding, rfc3261_16_3_non_sip_request_uri_gets_416) {
  Request r = from_foreign();
  r.uri = "mailto:bob@example.com";
  deliver(r.text(), foreign_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 416 Unsupported URI Scheme -> 203.0.113.80:5060"});
}

}  // namespace
}  // namespace sipbox::proxy::test
