// What the core does to a message before the transaction layer sees it: RFC 3581 Via
// parameters, NAT'ed Contacts (Kamailio's fix_nated_contact), and a 400 for what the
// parser refused (RFC 3261 8.2 / DESIGN.md 3: bad input gets a clear answer).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/worker.h"

namespace sipbox::core {
namespace {

std::string crlf(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n' && (out.empty() || out.back() != '\r')) out.push_back('\r');
    out.push_back(ch);
  }
  return out;
}

struct Msg {
  explicit Msg(std::string_view text) : bytes(std::make_unique<std::string>(crlf(text))) {
    const Status parsed = sip::parse_message(*bytes, sip::Framing::Datagram, message);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message) << "\n" << *bytes;
  }
  std::string field(sip::HeaderId id) const {
    const sip::HeaderField* f = message.header(id);
    return f ? std::string(f->value) : std::string("<absent>");
  }
  std::unique_ptr<std::string> bytes;
  sip::Message message;
};

transport::Source from(std::string_view address, std::uint16_t port,
                       txn::TransportKind kind = txn::TransportKind::Udp) {
  transport::Source s;
  s.kind = kind;
  s.remote.address = boost::asio::ip::make_address(std::string(address));
  s.remote.port = port;
  return s;
}

std::string request(std::string_view via, std::string_view contact = "", std::string_view method = "INVITE") {
  std::string t = std::string(method) + " sip:bob@example.com SIP/2.0\n";
  t += "Via: " + std::string(via) + "\n";
  t += "Max-Forwards: 70\nFrom: <sip:alice@example.com>;tag=a1\nTo: <sip:bob@example.com>\n";
  t += "Call-ID: c1\nCSeq: 1 " + std::string(method) + "\n";
  if (!contact.empty()) t += "Contact: " + std::string(contact) + "\n";
  return t + "Content-Length: 0\n\n";
}

// ---- add_received (RFC 3261 18.2.1, RFC 3581 4) ----

TEST(AddReceived, rfc3581_received_and_rport_when_host_differs_and_rport_asked) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx;rport"));
  add_received(m.message, from("203.0.113.9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Via), "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx;received=203.0.113.9;rport=41000");
  EXPECT_EQ(m.message.top_via().received(), "203.0.113.9");
  EXPECT_EQ(m.message.top_via().rport(), "41000");
}

TEST(AddReceived, rfc3261_18_2_1_received_only_when_rport_not_asked) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx"));
  add_received(m.message, from("203.0.113.9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Via), "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx;received=203.0.113.9");
}

TEST(AddReceived, rfc3581_rport_alone_when_host_matches) {
  Msg m(request("SIP/2.0/UDP 203.0.113.9;rport;branch=z9hG4bKx"));
  add_received(m.message, from("203.0.113.9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Via), "SIP/2.0/UDP 203.0.113.9;branch=z9hG4bKx;rport=41000");
}

TEST(AddReceived, nothing_changes_when_host_matches_and_no_rport) {
  const std::string text = request("SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bKx");
  Msg m(text);
  add_received(m.message, from("203.0.113.9", 5060));
  EXPECT_FALSE(m.message.modified());
  EXPECT_EQ(m.message.serialize(), crlf(text));
}

TEST(AddReceived, ipv6_host_in_brackets_matches_the_source) {
  Msg m(request("SIP/2.0/UDP [2001:db8::7]:5060;branch=z9hG4bKx"));
  add_received(m.message, from("2001:db8::7", 5060));
  EXPECT_FALSE(m.message.modified());
  Msg other(request("SIP/2.0/UDP [2001:db8::7]:5060;branch=z9hG4bKx"));
  add_received(other.message, from("2001:db8::8", 5060));
  EXPECT_EQ(other.field(sip::HeaderId::Via), "SIP/2.0/UDP [2001:db8::7]:5060;branch=z9hG4bKx;received=2001:db8::8");
}

TEST(AddReceived, old_received_is_replaced_and_a_given_rport_kept) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7:5060;received=192.0.2.200;branch=z9hG4bKx;rport=5999"));
  add_received(m.message, from("203.0.113.9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Via), "SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx;rport=5999;received=203.0.113.9");
}

TEST(AddReceived, only_the_top_via_of_a_list_changes) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKa;rport, SIP/2.0/UDP 192.0.2.200;branch=z9hG4bKb;rport"));
  add_received(m.message, from("203.0.113.9", 41000));
  const auto vias = m.message.vias();
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(vias[0].received(), "203.0.113.9");
  EXPECT_EQ(vias[0].rport(), "41000");
  EXPECT_EQ(vias[1].received(), "");
  EXPECT_TRUE(vias[1].has_rport());
  EXPECT_EQ(vias[1].rport(), "");
  EXPECT_EQ(vias[1].host, "192.0.2.200");
}

// ---- fix_nated_contact ----

TEST(FixNatedContact, private_contact_is_rewritten_to_the_source) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bKx", "\"Alice\" <sip:alice@10.0.0.7:5060;transport=udp>;expires=60"));
  fix_nated_contact(m.message, from("203.0.113.9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Contact), "\"Alice\" <sip:alice@203.0.113.9:41000;transport=udp>;expires=60");
  ASSERT_EQ(m.message.contacts().size(), 1u);
  EXPECT_EQ(m.message.contacts()[0].uri.host, "203.0.113.9");
  EXPECT_EQ(m.message.contacts()[0].uri.port, 41000);
}

TEST(FixNatedContact, every_private_range_counts) {
  for (const char* host : {"10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "100.127.255.1"}) {
    Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@" + std::string(host) + ">"));
    fix_nated_contact(m.message, from("203.0.113.9", 41000));
    EXPECT_EQ(m.field(sip::HeaderId::Contact), "<sip:alice@203.0.113.9:41000>") << host;
  }
  for (const char* host : {"172.32.0.1", "172.15.0.1", "100.128.0.1", "192.169.0.1", "198.51.100.10", "example.com"}) {
    const std::string contact = "<sip:alice@" + std::string(host) + ">";
    Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", contact));
    fix_nated_contact(m.message, from("203.0.113.9", 41000));
    EXPECT_EQ(m.field(sip::HeaderId::Contact), contact) << host;
  }
}

TEST(FixNatedContact, contact_equal_to_the_source_stays) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@10.0.0.7>"));
  fix_nated_contact(m.message, from("10.0.0.7", 5060));
  EXPECT_FALSE(m.message.modified());
  Msg other_port(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@10.0.0.7>"));
  fix_nated_contact(other_port.message, from("10.0.0.7", 5070));
  EXPECT_EQ(other_port.field(sip::HeaderId::Contact), "<sip:alice@10.0.0.7:5070>");
}

TEST(FixNatedContact, ipv6_source_is_bracketed) {
  Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@192.168.0.5:5062>"));
  fix_nated_contact(m.message, from("2001:db8::9", 41000));
  EXPECT_EQ(m.field(sip::HeaderId::Contact), "<sip:alice@[2001:db8::9]:41000>");
}

TEST(FixNatedContact, register_and_non_dialog_methods_are_left_to_the_registrar) {
  for (const char* method : {"REGISTER", "OPTIONS", "MESSAGE"}) {
    Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@10.0.0.7>", method));
    fix_nated_contact(m.message, from("203.0.113.9", 41000));
    EXPECT_FALSE(m.message.modified()) << method;
  }
  for (const char* method : {"SUBSCRIBE", "NOTIFY", "REFER", "UPDATE"}) {
    Msg m(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:alice@10.0.0.7>", method));
    fix_nated_contact(m.message, from("203.0.113.9", 41000));
    EXPECT_EQ(m.field(sip::HeaderId::Contact), "<sip:alice@203.0.113.9:41000>") << method;
  }
}

std::string response(int status, std::string_view contact) {
  return "SIP/2.0 " + std::to_string(status) +
         " Reason\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\nFrom: <sip:alice@example.com>;tag=a1\n"
         "To: <sip:bob@example.com>;tag=b1\nCall-ID: c1\nCSeq: 1 INVITE\nContact: " +
         std::string(contact) + "\nContent-Length: 0\n\n";
}

TEST(FixNatedContact, responses_below_300_are_rewritten_others_not) {
  Msg ok(response(200, "<sip:bob@192.168.1.20:5062>"));
  fix_nated_contact(ok.message, from("203.0.113.20", 5062));
  EXPECT_EQ(ok.field(sip::HeaderId::Contact), "<sip:bob@203.0.113.20:5062>");
  Msg ringing(response(180, "<sip:bob@192.168.1.20:5062>"));
  fix_nated_contact(ringing.message, from("203.0.113.20", 5062));
  EXPECT_EQ(ringing.field(sip::HeaderId::Contact), "<sip:bob@203.0.113.20:5062>");
  Msg redirect(response(302, "<sip:bob@192.168.1.20:5062>"));
  fix_nated_contact(redirect.message, from("203.0.113.20", 5062));
  EXPECT_FALSE(redirect.message.modified());
}

TEST(FixNatedContact, several_contacts_are_left_alone) {
  Msg two(request("SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx", "<sip:a@10.0.0.7>, <sip:b@10.0.0.8>"));
  fix_nated_contact(two.message, from("203.0.113.9", 41000));
  EXPECT_FALSE(two.message.modified());
}

// ---- bad_request_for ----

constexpr std::string_view kBroken =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKbad\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: broken-1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Max-Forwards: banana\r\n"
    "Content-Length: 0\r\n\r\n";

TEST(BadRequestFor, rfc3261_8_2_400_echoes_via_from_to_call_id_cseq_and_adds_a_to_tag) {
  EXPECT_EQ(bad_request_for(kBroken, "Max-Forwards is not a number"),
            "SIP/2.0 400 Bad Request (Max-Forwards is not a number)\r\n"
            "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKbad\r\n"
            "From: <sip:alice@example.com>;tag=a1\r\n"
            "To: <sip:bob@example.com>;tag=400\r\n"
            "Call-ID: broken-1\r\n"
            "CSeq: 1 INVITE\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(BadRequestFor, the_answer_parses_as_a_response) {
  const std::string answer = bad_request_for(kBroken, "x");
  sip::Message m;
  ASSERT_TRUE(sip::parse_message(answer, sip::Framing::Datagram, m));
  EXPECT_EQ(m.status_code(), 400);
  EXPECT_EQ(m.top_via().branch(), "z9hG4bKbad");
  EXPECT_EQ(m.to().tag(), "400");
}

TEST(BadRequestFor, compact_names_and_an_existing_to_tag) {
  const std::string bytes =
      "BYE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bKc\r\nf: <sip:a@example.com>;tag=1\r\n"
      "t: <sip:b@example.com>;tag=2\r\ni: compact-1\r\nCSeq: 7 BYE\r\nl: nonsense\r\n\r\n";
  EXPECT_EQ(bad_request_for(bytes, "bad Content-Length"),
            "SIP/2.0 400 Bad Request (bad Content-Length)\r\n"
            "Via: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bKc\r\n"
            "From: <sip:a@example.com>;tag=1\r\n"
            "To: <sip:b@example.com>;tag=2\r\n"
            "Call-ID: compact-1\r\n"
            "CSeq: 7 BYE\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(BadRequestFor, nothing_without_any_of_the_five_headers) {
  for (std::string_view drop : {"Via:", "From:", "To:", "Call-ID:", "CSeq:"}) {
    std::string bytes(kBroken);
    const auto at = bytes.find(drop);
    ASSERT_NE(at, std::string::npos);
    bytes.erase(at, bytes.find("\r\n", at) + 2 - at);
    EXPECT_EQ(bad_request_for(bytes, "x"), "") << "without " << drop;
  }
}

TEST(BadRequestFor, never_for_ack_or_responses_or_garbage) {
  std::string ack(kBroken);
  ack.replace(0, 6, "ACK");
  ack.replace(ack.find("CSeq: 1 INVITE"), 14, "CSeq: 1 ACK");
  EXPECT_EQ(bad_request_for(ack, "x"), "");
  const std::string response =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.51.100.10;branch=z9hG4bKr\r\nFrom: <sip:a@example.com>;tag=1\r\n"
      "To: <sip:b@example.com>;tag=2\r\nCall-ID: r\r\nCSeq: 1 INVITE\r\nContent-Length: x\r\n\r\n";
  EXPECT_EQ(bad_request_for(response, "x"), "");
  EXPECT_EQ(bad_request_for("", "x"), "");
  EXPECT_EQ(bad_request_for("\x16\x03\x01\x02\x00garbage", "x"), "");
  EXPECT_EQ(bad_request_for("INVITE sip:bob@example.com HTTP/1.1\r\nVia: x\r\n\r\n", "x"), "");
}

TEST(BadRequestFor, control_characters_never_reach_the_reason_phrase) {
  const std::string answer = bad_request_for(kBroken, std::string("bad\r\nX-Injected: 1\x01\x7f\t!"));
  EXPECT_EQ(answer.substr(0, answer.find("\r\n")), "SIP/2.0 400 Bad Request (badX-Injected: 1!)");
  EXPECT_EQ(answer.find("\r\nX-Injected"), std::string::npos);
}

TEST(BadRequestFor, header_values_with_control_characters_get_no_answer) {
  std::string bytes(kBroken);
  bytes.replace(bytes.find("broken-1"), 8, std::string("bro\x01ken", 7));
  EXPECT_EQ(bad_request_for(bytes, "x"), "");
}

}  // namespace
}  // namespace sipbox::core
