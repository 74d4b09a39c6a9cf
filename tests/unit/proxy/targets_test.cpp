// Where the proxy sends a request: bindings behind NAT and over connections (RFC 3581,
// RFC 5626), Path (RFC 3327), in-dialog requests along the route set (16.4, 16.6
// steps 6-7, loose and strict routing), and stray responses (16.7, 18.2.2).
#include "tests/unit/proxy/fixture.h"

namespace sipbox::proxy::test {
namespace {

using Targets = ProxyTest;

TEST_F(Targets, binding_behind_nat_is_reached_at_its_source_with_the_contact_as_request_uri) {
  bind("bob", "sip:bob@10.0.0.7:5060", Destination{"127.0.0.5", 5070, TransportKind::Udp});
  const auto out = call();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"INVITE sip:bob@10.0.0.7:5060 SIP/2.0 -> 127.0.0.5:5070",
                                                  "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[0].to.transport, TransportKind::Udp);
  EXPECT_EQ(out[0].m().top_via().host, "192.0.2.1");
}

TEST_F(Targets, rfc5626_binding_over_tcp_uses_the_connection_and_double_record_routes) {
  bind("bob", "sip:bob@198.51.100.40:5060;transport=tcp", Destination{"198.51.100.40", 50123, TransportKind::Tcp});
  const auto out = call();
  ASSERT_EQ(lines(out),
            (std::vector<std::string>{"INVITE sip:bob@198.51.100.40:5060;transport=tcp SIP/2.0 -> 198.51.100.40:50123",
                                                  "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[0].to.transport, TransportKind::Tcp);
  EXPECT_EQ(out[0].m().top_via().transport, "TCP");
  // 16.6 step 4 / RFC 5658: the request changes transport, so one Record-Route per side,
  // the one facing the callee on top.
  EXPECT_EQ(out[0].fields(sip::HeaderId::RecordRoute),
            (std::vector<std::string>{"<sip:192.0.2.1:5060;transport=tcp;lr>", "<sip:192.0.2.1:5060;lr>"}));
}

TEST_F(Targets, rfc3327_path_becomes_route_and_the_first_path_is_the_next_hop) {
  bind("bob", "sip:bob@198.51.100.20:5062", bob_addr(), 1000,
       {"<sip:192.0.2.50:5080;lr>", "<sip:192.0.2.51;lr;transport=tcp>"});
  const auto out = call();
  ASSERT_EQ(lines(out), (std::vector<std::string>{"INVITE sip:bob@198.51.100.20:5062 SIP/2.0 -> 192.0.2.50:5080",
                                                  "SIP/2.0 100 Trying -> 198.51.100.10:5060"}));
  EXPECT_EQ(out[0].fields(sip::HeaderId::Route),
            (std::vector<std::string>{"<sip:192.0.2.50:5080;lr>", "<sip:192.0.2.51;lr;transport=tcp>"}));
  EXPECT_EQ(out[0].fields(sip::HeaderId::RecordRoute), std::vector<std::string>{std::string(kRecordRoute)});
}

TEST_F(Targets, binding_whose_path_needs_dns_is_skipped) {
  bind("bob", "sip:bob@198.51.100.20:5062", bob_addr(), 1000, {"<sip:edge.example.net;lr>"});
  const auto out = call();
  EXPECT_EQ(lines(out),
            std::vector<std::string>{"SIP/2.0 480 Temporarily Unavailable (no reachable contact) -> 198.51.100.10:5060"});
}

// Alice's BYE inside the dialog Bob's 200 created: Route is our Record-Route.
Request bye() {
  Request r;
  r.method = "BYE";
  r.uri = "sip:bob@198.51.100.20:5062";
  r.to = "<sip:bob@example.com>;tag=b1";
  r.cseq = 2;
  r.via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKbye1";
  r.extra = "Route: <sip:192.0.2.1:5060;lr>\n";
  return r;
}

TEST_F(Targets, rfc3261_16_4_in_dialog_bye_pops_our_route_and_goes_to_the_request_uri) {
  deliver(bye().text(), alice_addr());
  auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"BYE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  const Out bye_out = std::move(out[0]);
  EXPECT_EQ(bye_out.m().header(sip::HeaderId::Route), nullptr);
  EXPECT_EQ(bye_out.m().header(sip::HeaderId::RecordRoute), nullptr);  // not dialog-creating
  EXPECT_EQ(bye_out.m().header(sip::HeaderId::ProxyAuthorization), nullptr);
  EXPECT_EQ(bye_out.m().max_forwards(), 69);
  ASSERT_EQ(bye_out.m().vias().size(), 2u);
  EXPECT_EQ(bye_out.m().vias()[0].host, "192.0.2.1");
  EXPECT_EQ(bye_out.m().vias()[1].branch(), "z9hG4bKbye1");
  EXPECT_EQ(bye_out.field(sip::HeaderId::CSeq), "2 BYE");

  deliver(response_to(bye_out.m(), 200, "OK"), bob_addr());
  out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"SIP/2.0 200 OK -> 198.51.100.10:5060"});
  ASSERT_EQ(out[0].m().vias().size(), 1u);
  EXPECT_EQ(out[0].m().top_via().branch(), "z9hG4bKbye1");
  EXPECT_EQ(proxy().stats().dialogs_ended, 1u);
}

TEST_F(Targets, rfc3261_16_6_in_dialog_request_follows_the_remaining_route) {
  Request r = bye();
  r.extra = "Route: <sip:192.0.2.1:5060;lr>, <sip:192.0.2.77;lr>\n";
  deliver(r.text(), alice_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"BYE sip:bob@198.51.100.20:5062 SIP/2.0 -> 192.0.2.77:5060"});
  EXPECT_EQ(out[0].fields(sip::HeaderId::Route), std::vector<std::string>{"<sip:192.0.2.77;lr>"});
}

TEST_F(Targets, rfc3261_16_4_both_of_a_double_record_route_are_popped) {
  Request r = bye();
  r.extra = "Route: <sip:192.0.2.1:5060;lr>\nRoute: <sip:192.0.2.1:5060;transport=tcp;lr>\n";
  deliver(r.text(), alice_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"BYE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  EXPECT_EQ(out[0].m().header(sip::HeaderId::Route), nullptr);
}

TEST_F(Targets, rfc3261_16_4_strict_router_request_uri_is_replaced_by_the_last_route) {
  Request r = bye();
  r.uri = "sip:192.0.2.1:5060;lr";
  r.extra = "Route: <sip:bob@198.51.100.20:5062>\n";
  deliver(r.text(), alice_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"BYE sip:bob@198.51.100.20:5062 SIP/2.0 -> 198.51.100.20:5062"});
  EXPECT_EQ(out[0].m().header(sip::HeaderId::Route), nullptr);
}

TEST_F(Targets, in_dialog_request_for_ourselves_gets_481) {
  Request r = bye();
  r.uri = "sip:192.0.2.1:5060";
  r.extra = "";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()),
            std::vector<std::string>{"SIP/2.0 481 Call/Transaction Does Not Exist -> 198.51.100.10:5060"});
}

TEST_F(Targets, in_dialog_request_not_routed_through_us_is_not_relayed) {
  Request r = bye();
  r.uri = "sip:bob@203.0.113.77:5060";
  r.extra = "";
  deliver(r.text(), alice_addr());
  EXPECT_EQ(lines(take()), std::vector<std::string>{"SIP/2.0 404 Not Here -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().requests_forwarded, 0u);
}

TEST_F(Targets, initial_request_with_a_preloaded_route_beyond_us_is_refused) {
  deliver("INVITE sip:bob@203.0.113.77 SIP/2.0\n"
          "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKpre1\n"
          "Route: <sip:192.0.2.1:5060;lr>, <sip:203.0.113.99;lr>\n"
          "From: <sip:mallory@elsewhere.example>;tag=m1\nTo: <sip:bob@203.0.113.77>\n"
          "Call-ID: preload\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n",
          alice_addr());
  EXPECT_EQ(lines(take()),
            std::vector<std::string>{"SIP/2.0 403 Forbidden (Preload Route denied) -> 198.51.100.10:5060"});
  EXPECT_EQ(proxy().stats().requests_forwarded, 0u);
}

TEST_F(Targets, rfc3261_16_7_stray_response_goes_to_the_next_via_received_and_rport) {
  deliver("SIP/2.0 200 OK\n"
          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgone\n"
          "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKx;received=203.0.113.9;rport=41000\n"
          "From: <sip:alice@example.com>;tag=a1\nTo: <sip:bob@example.com>;tag=b1\n"
          "Call-ID: gone\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
          bob_addr());
  const auto out = take();
  ASSERT_EQ(lines(out), std::vector<std::string>{"SIP/2.0 200 OK -> 203.0.113.9:41000"});
  ASSERT_EQ(out[0].m().vias().size(), 1u);
  EXPECT_EQ(out[0].m().top_via().branch(), "z9hG4bKx");
  EXPECT_EQ(proxy().stats().stateless_forwarded, 1u);
}

TEST_F(Targets, stray_response_not_via_us_is_dropped) {
  deliver("SIP/2.0 200 OK\n"
          "Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bKgone\n"
          "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKx\n"
          "From: <sip:alice@example.com>;tag=a1\nTo: <sip:bob@example.com>;tag=b1\n"
          "Call-ID: gone\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
          bob_addr());
  EXPECT_TRUE(take().empty());
}

}  // namespace
}  // namespace sipbox::proxy::test
