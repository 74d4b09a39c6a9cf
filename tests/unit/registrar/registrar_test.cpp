// REGISTER handling (RFC 3261 10.3 steps 1-8, RFC 3327, RFC 5626) end to end through
// Registrar::handle: text in, response text out, bindings in the Location.
#include "registrar_fixture.h"

namespace sipbox::registrar::test {
namespace {

TEST_F(RegistrarTest, rfc3261_10_3_step3_challenge_then_success) {
  Req r;
  const Response challenge = send(r);
  EXPECT_EQ(challenge.status, 401);
  EXPECT_EQ(header_values(challenge.text, "WWW-Authenticate").size(), 2u);  // MD5 and SHA-256
  EXPECT_TRUE(location.lookup("sip:alice@example.com", now).empty());
  ++r.cseq;
  const Response ok = send(r, credentials(r, nonce_of(challenge)));
  ASSERT_EQ(ok.status, 200) << ok.text;
  // RFC 3261 8.2.6.2: Via, From, To with a tag, Call-ID, CSeq copied; Date (10.3 step 8).
  EXPECT_EQ(header_values(ok.text, "Via").front(), "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKcall-12");
  EXPECT_NE(header_values(ok.text, "To").front().find(";tag="), std::string::npos);
  EXPECT_EQ(header_values(ok.text, "Call-ID").front(), "call-1");
  EXPECT_EQ(header_values(ok.text, "CSeq").front(), "2 REGISTER");
  EXPECT_EQ(header_values(ok.text, "Date").front(), "Fri, 15 Jan 2027 08:00:00 GMT");
  EXPECT_EQ(header_values(ok.text, "Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=3600"});
  // The response is a well-formed SIP message.
  sip::Message parsed;
  EXPECT_TRUE(sip::parse_message(ok.text, sip::Framing::Stream, parsed));
  const auto bindings = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].binding.contact, "sip:alice@192.0.2.10:5060");
  EXPECT_EQ(bindings[0].binding.call_id, "call-1");
  EXPECT_EQ(bindings[0].binding.cseq, 2u);
  EXPECT_EQ(bindings[0].binding.received, source);
  EXPECT_EQ(registrar.stats().accepted, 1u);
  EXPECT_EQ(registrar.stats().challenges, 1u);
}

TEST_F(RegistrarTest, rfc3261_10_3_step7_refresh_updates_expiry) {
  Req r;
  ASSERT_EQ(registered(r).status, 200);
  now += 1000s;
  ++r.cseq;
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200) << ok.text;
  const auto bindings = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].binding.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 3600s);
  EXPECT_EQ(registrar.stats().bindings_refreshed, 1u);
}

TEST_F(RegistrarTest, rfc3261_10_3_step7_expires_zero_removes_one_contact) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>", "<sip:alice@192.0.2.11:5060>"};
  ASSERT_EQ(registered(r).status, 200);
  ++r.cseq;
  r.contacts = {"<sip:alice@192.0.2.11:5060>;expires=0"};
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(header_values(ok.text, "Contact"), std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=3600"});
  EXPECT_EQ(location.lookup("sip:alice@example.com", now).size(), 1u);
}

TEST_F(RegistrarTest, rfc3261_10_3_step6_star_removes_all_and_only_with_expires_zero) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>", "<sip:alice@192.0.2.11:5060>"};
  ASSERT_EQ(registered(r).status, 200);
  ++r.cseq;
  r.contacts = {"*"};
  r.extra = "Expires: 60\r\n";
  EXPECT_EQ(registered(r).status, 400);
  ++r.cseq;
  r.extra = "";
  EXPECT_EQ(registered(r).status, 400);  // no Expires at all
  ++r.cseq;
  r.extra = "Expires: 0\r\n";
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_TRUE(header_values(ok.text, "Contact").empty());
  EXPECT_TRUE(location.lookup("sip:alice@example.com", now).empty());
}

TEST_F(RegistrarTest, WrongPasswordIsChallengedAgainAndReported) {
  Req r;
  r.password = "wrong";
  const Response again = registered(r);
  EXPECT_EQ(again.status, 401);
  EXPECT_FALSE(header_values(again.text, "WWW-Authenticate").empty());
  EXPECT_EQ(registrar.stats().auth_failures, 1u);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].user, "alice");
  EXPECT_EQ(failures[0].reason, "wrong password");
  EXPECT_EQ(failures[0].source, source);
  EXPECT_TRUE(location.lookup("sip:alice@example.com", now).empty());
}

TEST_F(RegistrarTest, rfc7616_3_3_expired_nonce_gets_stale_true) {
  Req r;
  const std::string nonce = nonce_of(send(r));
  now += 301s;
  ++r.cseq;
  const Response stale = send(r, credentials(r, nonce));
  EXPECT_EQ(stale.status, 401);
  EXPECT_EQ(param_of(header_values(stale.text, "WWW-Authenticate").front(), "stale"), "true");
  EXPECT_TRUE(failures.empty());  // the right password with an old nonce is no attack
}

TEST_F(RegistrarTest, ReplayedNonceCountIsRefused) {
  Req r;
  const std::string nonce = nonce_of(send(r));
  ++r.cseq;
  ASSERT_EQ(send(r, credentials(r, nonce)).status, 200);
  ++r.cseq;
  const Response replay = send(r, credentials(r, nonce));  // the same nc again
  EXPECT_EQ(replay.status, 401);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].reason, "nonce count replayed");
  ++r.cseq;
  EXPECT_EQ(send(r, credentials(r, nonce, "00000002")).status, 200);  // the next nc is fine
}

TEST_F(RegistrarTest, rfc3261_10_3_step7_too_brief_gets_423_with_min_expires) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>;expires=30"};
  const Response brief = registered(r);
  EXPECT_EQ(brief.status, 423);
  EXPECT_EQ(header_values(brief.text, "Min-Expires"), std::vector<std::string>{"60"});
  ++r.cseq;
  r.contacts = {"<sip:alice@192.0.2.10:5060>"};
  r.extra = "Expires: 59\r\n";  // the Expires header counts too
  EXPECT_EQ(registered(r).status, 423);
  EXPECT_TRUE(location.lookup("sip:alice@example.com", now).empty());
}

TEST_F(RegistrarTest, rfc3261_10_3_step7_long_expiry_is_lowered_to_max) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>;expires=100000"};
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(param_of(header_values(ok.text, "Contact").front(), "expires"), "3600");
  ++r.cseq;
  r.contacts = {"<sip:alice@192.0.2.10:5060>"};
  r.extra = "Expires: 120\r\n";
  EXPECT_EQ(param_of(header_values(registered(r).text, "Contact").front(), "expires"), "120");
}

TEST_F(RegistrarTest, rfc3261_10_3_step8_lists_all_bindings_ordered_by_q) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>;q=0.5", "<sip:alice@192.0.2.11:5060>",
                "<sip:alice@192.0.2.12:5060>;q=0.8;expires=600"};
  ASSERT_EQ(registered(r).status, 200);
  Req other;  // a second phone with its own Call-ID
  other.call_id = "call-2";
  other.contacts = {"<sip:alice@192.0.2.13:5060>;q=0.5"};
  now += 10s;
  const Response ok = registered(other);
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(header_values(ok.text, "Contact"),
            (std::vector<std::string>{"<sip:alice@192.0.2.11:5060>;expires=3590",
                                      "<sip:alice@192.0.2.12:5060>;expires=590;q=0.8",
                                      "<sip:alice@192.0.2.13:5060>;expires=3600;q=0.5",  // newer first at equal q
                                      "<sip:alice@192.0.2.10:5060>;expires=3590;q=0.5"}));
  EXPECT_EQ(location.lookup("sip:alice@example.com", now).size(), 4u);
}

TEST_F(RegistrarTest, rfc3261_10_2_3_register_without_contact_queries) {
  Req r;
  ASSERT_EQ(registered(r).status, 200);
  ++r.cseq;
  r.contacts = {};
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(header_values(ok.text, "Contact").size(), 1u);
}

TEST_F(RegistrarTest, rfc3327_5_3_path_is_stored_and_echoed) {
  Req r;
  r.extra = "Path: <sip:edge1.example.net;lr>\r\nPath: <sip:edge2.example.net;lr>\r\nSupported: path\r\n";
  const Response ok = registered(r);
  ASSERT_EQ(ok.status, 200) << ok.text;
  EXPECT_EQ(header_values(ok.text, "Path"),
            (std::vector<std::string>{"<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr>"}));
  const auto bindings = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].binding.path,
            (std::vector<std::string>{"<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr>"}));
}

TEST_F(RegistrarTest, rfc5626_6_same_instance_and_reg_id_replaces_the_flow) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060;transport=tcp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1"};
  r.extra = "Supported: outbound, path\r\n";
  const Response first = registered(r);
  ASSERT_EQ(first.status, 200) << first.text;
  EXPECT_EQ(header_values(first.text, "Require"), std::vector<std::string>{"outbound"});
  // The phone reboots: new Call-ID, new contact address, same instance and reg-id.
  Req again = r;
  again.call_id = "call-after-reboot";
  again.cseq = 1;
  again.contacts = {"<sip:alice@192.0.2.99:5060;transport=tcp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1"};
  const Response second = registered(again);
  ASSERT_EQ(second.status, 200) << second.text;
  const auto bindings = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].binding.contact, "sip:alice@192.0.2.99:5060;transport=tcp");
  EXPECT_EQ(bindings[0].binding.instance, "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
  EXPECT_EQ(bindings[0].binding.reg_id, 1u);
  EXPECT_EQ(header_values(second.text, "Contact").front(),
            "<sip:alice@192.0.2.99:5060;transport=tcp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
            "000A95A0E128>\";reg-id=1");
}

TEST_F(RegistrarTest, rfc3261_10_3_step7_same_call_id_with_old_cseq_fails) {
  Req r;
  ASSERT_EQ(registered(r).status, 200);  // binding at CSeq 2
  Req late = r;
  late.contacts = {"<sip:alice@192.0.2.10:5060>;expires=0"};
  late.cseq = 2;  // not higher: must not remove
  const std::string nonce = nonce_of(send(late));
  const Response refused = send(late, credentials(late, nonce));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(location.lookup("sip:alice@example.com", now).size(), 1u);
}

TEST_F(RegistrarTest, rfc3261_10_3_step5_unknown_or_disabled_user_gets_404) {
  Req r;
  r.to_user = "nobody";
  EXPECT_EQ(registered(r).status, 404);
  Req disabled;
  disabled.to_user = "carol";
  EXPECT_EQ(registered(disabled).status, 404);
}

TEST_F(RegistrarTest, rfc3261_10_3_step5_non_local_to_domain_gets_404) {
  Req r;
  r.to_domain = "elsewhere.org";
  EXPECT_EQ(registered(r).status, 404);
}

TEST_F(RegistrarTest, rfc3261_10_3_step4_credentials_of_another_user_get_403) {
  Req r;
  r.to_user = "bob";  // alice's credentials for bob's AOR
  EXPECT_EQ(registered(r).status, 403);
  EXPECT_TRUE(location.lookup("sip:bob@example.com", now).empty());
}

TEST_F(RegistrarTest, MaxContactsPerAorGets403AndChangesNothing) {
  Req r;
  r.contacts.clear();
  for (int i = 0; i < 11; ++i) r.contacts.push_back("<sip:alice@192.0.2." + std::to_string(20 + i) + ">");
  EXPECT_EQ(registered(r).status, 403);
  EXPECT_TRUE(location.lookup("sip:alice@example.com", now).empty());
  r.contacts.pop_back();
  ++r.cseq;
  EXPECT_EQ(registered(r).status, 200);
  EXPECT_EQ(location.lookup("sip:alice@example.com", now).size(), 10u);
}

TEST_F(RegistrarTest, NatSourceIsRecordedAndPreferred) {
  Req r;
  r.contacts = {"<sip:alice@192.168.1.10:5060>"};
  const Source nat{"udp", "203.0.113.5", 40000, "udp:0.0.0.0:5060"};
  ASSERT_EQ(registered(r, nat).status, 200);
  const auto bindings = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_TRUE(bindings[0].behind_nat);
  EXPECT_TRUE(bindings[0].send_to_source);
  EXPECT_EQ(bindings[0].binding.received, nat);
}

TEST_F(RegistrarTest, rfc3261_10_3_step2_unknown_required_extension_gets_420) {
  Req r;
  r.extra = "Require: foo\r\n";
  const Response bad = send(r);
  EXPECT_EQ(bad.status, 420);
  EXPECT_EQ(header_values(bad.text, "Unsupported"), std::vector<std::string>{"foo"});
}

TEST_F(RegistrarTest, BindingsExpireAndArePurged) {
  Req r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>;expires=60", "<sip:alice@192.0.2.11:5060>;expires=120"};
  ASSERT_EQ(registered(r).status, 200);
  now += 60s;
  EXPECT_EQ(location.lookup("sip:alice@example.com", now).size(), 1u);  // expired ones are not returned
  EXPECT_EQ(location.purge(now), 1u);
  EXPECT_EQ(location.binding_count(), 1u);
  now += 60s;
  EXPECT_EQ(location.purge(now), 1u);
  EXPECT_EQ(location.aor_count(), 0u);
}

}  // namespace
}  // namespace sipbox::registrar::test
