#include <gtest/gtest.h>

#include <vector>

#include "sip/sip.h"

namespace sipbox::sip {
namespace {

// Messages are written with \n here and sent with \r\n. A parsed Message holds views
// into its bytes, so tests keep the bytes in a named string.
std::string crlf(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n') out.push_back('\r');
    out.push_back(ch);
  }
  return out;
}

const std::string kInvite = crlf(
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\n"
    "Via: SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bK1;received=192.0.2.1;rport=4711;maddr=224.2.0.1;ttl=16\n"
    "Max-Forwards: 70\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n"
    "CSeq: 314159 INVITE\n"
    "Contact: "
    "<sip:alice@pc33.atlanta.example.com>;expires=60;q=0.7;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-"
    "000A95A0E128>\";reg-id=1\n"
    "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
    "Supported: replaces, 100rel\n"
    "Allow: INVITE, ACK, CANCEL, BYE\n"
    "User-Agent: softphone/1.0 (Linux)\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 5\n"
    "\n"
    "v=0\n");

Message parse_ok(const std::string& bytes, Framing framing = Framing::Datagram) {
  Message m;
  const Status s = parse_message(bytes, framing, m);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return m;
}

Status parse_status(const std::string& bytes, Framing framing = Framing::Datagram) {
  Message m;
  return parse_message(bytes, framing, m);
}

TEST(Message, RequestLineAndCoreHeaders) {
  const Message m = parse_ok(kInvite);
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method_id(), Method::Invite);
  EXPECT_EQ(m.request_uri().user, "bob");
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.cseq().number, 314159u);
  EXPECT_EQ(m.from().display_name_text(), "Alice A.");
  EXPECT_EQ(m.from().tag(), "1928301774");
  EXPECT_EQ(m.to().display_name, "Bob");
  EXPECT_TRUE(m.to().tag().empty());
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.body(), "v=0\r\n");
  EXPECT_EQ(m.header_count(), 14u);
}

TEST(Message, rfc3581_via_views) {
  const Message m = parse_ok(kInvite);
  EXPECT_EQ(m.top_via().host, "pc33.atlanta.example.com");
  EXPECT_EQ(m.top_via().port, 5060);
  EXPECT_TRUE(m.top_via().has_rport());
  EXPECT_EQ(m.top_via().rport(), "");
  EXPECT_TRUE(m.top_via().rfc3261_branch());
  std::vector<Via> vias;
  for (auto v : m.values(HeaderId::Via)) vias.push_back(*parse_via(v));
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(vias[1].host_kind, HostKind::IPv6);
  EXPECT_EQ(vias[1].port, 5070);
  EXPECT_EQ(vias[1].received(), "192.0.2.1");
  EXPECT_EQ(vias[1].rport(), "4711");
  EXPECT_EQ(vias[1].maddr(), "224.2.0.1");
  EXPECT_EQ(vias[1].ttl(), "16");
}

TEST(Message, rfc5626_contact_parameters) {
  const Message m = parse_ok(kInvite);
  const NameAddr c = *parse_name_addr(m.header(HeaderId::Contact)->value);
  EXPECT_EQ(contact_expires(c), 60u);
  EXPECT_EQ(contact_q(c), 700);
  EXPECT_EQ(c.params.get("+sip.instance"), "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
  EXPECT_EQ(c.params.get("reg-id"), "1");
}

TEST(Message, ListHeadersSplitOutsideQuotesAndBrackets) {
  const Message m = parse_ok(kInvite);
  std::vector<std::string_view> rr;
  for (auto v : m.values(HeaderId::RecordRoute)) rr.push_back(v);
  EXPECT_EQ(rr, (std::vector<std::string_view>{"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"}));
  std::vector<std::string_view> allow;
  for (auto v : m.values("allow")) allow.push_back(v);
  EXPECT_EQ(allow.size(), 4u);
  // User-Agent is not a list: commas or not, one value.
  std::vector<std::string_view> ua;
  for (auto v : m.values(HeaderId::UserAgent)) ua.push_back(v);
  EXPECT_EQ(ua, (std::vector<std::string_view>{"softphone/1.0 (Linux)"}));

  const std::string quoted = crlf(
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nTo: <sip:a@example.com>\n"
      "From: <sip:a@example.com>;tag=1\nCall-ID: c1\nCSeq: 1 REGISTER\n"
      "Contact: \"A, the first\" <sip:a@h1>, <sip:a,b@h2>;q=0.5, sip:a@h3\nContent-Length: 0\n\n");
  const Message r = parse_ok(quoted);
  std::vector<std::string_view> contacts;
  for (auto v : r.values(HeaderId::Contact)) contacts.push_back(v);
  EXPECT_EQ(contacts, (std::vector<std::string_view>{"\"A, the first\" <sip:a@h1>", "<sip:a,b@h2>;q=0.5", "sip:a@h3"}));
}

TEST(Message, HeaderLookupByAnyName) {
  const Message m = parse_ok(kInvite);
  EXPECT_EQ(m.header("v"), m.header(HeaderId::Via));
  EXPECT_EQ(m.header("CALL-ID"), m.header("i"));
  EXPECT_EQ(m.header("X-Missing"), nullptr);
  EXPECT_EQ(m.count(HeaderId::Via), 2u);
}

TEST(Message, ResponsesTakeTheirMethodFromCSeq) {
  const std::string bytes = crlf(
      "SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nTo: <sip:b@x>;tag=9\nFrom: <sip:a@x>;tag=1\n"
      "Call-ID: c\nCSeq: 2 INVITE\nContent-Length: 0\n\n");
  const Message m = parse_ok(bytes);
  EXPECT_TRUE(m.is_response());
  EXPECT_EQ(m.status_code(), 180);
  EXPECT_EQ(m.reason_phrase(), "Ringing");
  EXPECT_EQ(m.method_id(), Method::Invite);
}

// RFC 3261 18.3: streams need Content-Length; datagrams default the body to the rest.
TEST(Message, rfc3261_18_3_framing) {
  std::string no_length = kInvite;
  no_length.erase(no_length.find("Content-Length: 5\r\n"), 19);
  EXPECT_TRUE(parse_status(no_length, Framing::Datagram));
  const Status s = parse_status(no_length, Framing::Stream);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Content-Length missing"), std::string::npos);
}

TEST(Message, rfc3261_18_3_stream_message_size) {
  const std::string two = "\r\n" + kInvite + kInvite;
  auto first = stream_message_size(two);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 2 + kInvite.size());
  EXPECT_EQ(*stream_message_size(two.substr(0, 40)), 0u);                      // headers incomplete
  EXPECT_EQ(*stream_message_size(kInvite.substr(0, kInvite.size() - 1)), 0u);  // body incomplete
  std::string no_length = kInvite;
  no_length.erase(no_length.find("Content-Length: 5\r\n"), 19);
  EXPECT_FALSE(stream_message_size(no_length));
  EXPECT_FALSE(stream_message_size(std::string(70000, 'a'), 65536));
  // A Content-Length beyond the limit: the size comes back before the body does.
  const std::string huge = crlf("OPTIONS sip:a SIP/2.0\nContent-Length: 100000\n\nabc");
  EXPECT_EQ(*stream_message_size(huge, 65536), huge.size() - 3 + 100000);
  auto compact = stream_message_size(crlf("OPTIONS sip:a SIP/2.0\nl: 3\n\nabc"));
  ASSERT_TRUE(compact);
  EXPECT_EQ(*compact, crlf("OPTIONS sip:a SIP/2.0\nl: 3\n\nabc").size());
}

TEST(Message, LeadingCrlfAndBareLineFeedsAreTolerated) {
  std::string lf = "\r\n\r\n" + kInvite;
  std::erase(lf, '\r');
  lf.replace(lf.find("Content-Length: 5"), 17, "Content-Length: 4");
  const Message m = parse_ok(lf);
  EXPECT_EQ(m.call_id(), "a84b4c76e66710@pc33.atlanta.example.com");
  EXPECT_EQ(m.body(), "v=0\n");
  EXPECT_TRUE(m.bytes().starts_with("INVITE"));
}

TEST(Message, MalformedInputGetsAReason) {
  const std::pair<std::string, const char*> cases[] = {
      {"", "incomplete start line"},
      {"INVITE sip:a@b SIP/2.0", "incomplete start line"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n"), "not terminated"},
      {crlf("INVITE sip:a@b SIP/2.0\n folded\n\n"), "continuation line"},
      {crlf("INVITE sip:a@b SIP/2.0\nNoColon\n\n"), "without a colon"},
      {crlf("INVITE sip:a@b SIP/2.0\nBad Name: x\n\n"), "header name"},
      {crlf("SIP/2.0 99 Low\n\n"), "status code"},
      {crlf("SIP/2.0 200\n\n"), "reason phrase"},
      {crlf("INV<TE sip:a@b SIP/2.0\n\n"), "method"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c\n"
            "CSeq: 1 INVITE\nMax-Forwards: 256\n\n"),
       "Max-Forwards"},
      // Found by fuzzing: an empty Via field must not count as a Via.
      {crlf("INVITE sip:a@b SIP/2.0\nVia: \nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c\n"
            "CSeq: 1 INVITE\n\n"),
       "Via: empty value"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c c\n"
            "CSeq: 1 INVITE\n\n"),
       "Call-ID"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c\n"
            "CSeq: 1 INVITE\nRoute: sip:p.example.com\n\n"),
       "enclosed in <>"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c\n"
            "CSeq: 1 INVITE\nContent-Type: sdp\n\n"),
       "Content-Type"},
      {crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: c\n"
            "CSeq: 1 INVITE\nAuthorization: Digest realm=\"x\n\n"),
       "Authorization"},
  };
  for (const auto& [bytes, reason] : cases) {
    const Status s = parse_status(bytes);
    ASSERT_FALSE(s) << bytes;
    EXPECT_NE(s.error().message.find(reason), std::string::npos) << bytes << " -> " << s.error().message;
  }
}

TEST(Message, ManyHeadersSpillPastTheInlineCapacity) {
  std::string bytes = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n";
  for (int i = 0; i < 100; ++i) bytes += "X-H" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  bytes += "To: <sip:b@x>\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n";
  const Message m = parse_ok(bytes);
  EXPECT_EQ(m.header_count(), 105u);
  EXPECT_EQ(m.header("X-H99")->value, "99");
  EXPECT_EQ(m.serialize(), bytes);
}

// Edits: a proxy's typical changes; the result is canonical and re-parses.
TEST(Message, EditsSerializeCanonically) {
  Message m = parse_ok(kInvite);
  EXPECT_FALSE(m.modified());
  EXPECT_EQ(m.serialize(), kInvite);

  m.insert_header(0, HeaderId::Via, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKproxy1");
  EXPECT_EQ(m.top_via().host, "proxy.example.com");
  m.set_header_value(3, "69");  // Max-Forwards moved down by one
  EXPECT_EQ(m.max_forwards(), 69);
  m.set_request_uri("sip:bob@192.0.2.4:5062");
  m.append_header(HeaderId::RecordRoute, "<sip:proxy.example.com;lr>");
  m.insert_header(1, "X-Trace", "on");
  m.set_body("v=0\r\ns=-\r\n");
  EXPECT_TRUE(m.modified());

  const std::string out = m.serialize();
  EXPECT_TRUE(out.starts_with("INVITE sip:bob@192.0.2.4:5062 SIP/2.0\r\nVia: SIP/2.0/UDP proxy.example.com;"));
  EXPECT_NE(out.find("\r\nX-Trace: on\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Length: 10\r\n"), std::string::npos);
  Message again;
  ASSERT_TRUE(parse_message(out, Framing::Stream, again));
  EXPECT_EQ(again.max_forwards(), 69);
  EXPECT_EQ(again.count(HeaderId::Via), 3u);
  EXPECT_EQ(again.count(HeaderId::RecordRoute), 2u);
  EXPECT_EQ(again.body(), "v=0\r\ns=-\r\n");
  EXPECT_EQ(again.serialize(), out);  // canonical output is a fixed point

  // Removing the added Via restores the original top Via.
  m.remove_header(0);
  EXPECT_EQ(m.top_via().host, "pc33.atlanta.example.com");
  EXPECT_THROW(m.set_header_value(99, "x"), std::out_of_range);
  EXPECT_THROW(m.set_request_uri("not a uri"), std::invalid_argument);
}

TEST(Message, CanonicalFormUnfoldsAndUsesFullNames) {
  const std::string bytes = crlf(
      "OPTIONS sip:a@b SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\nt: <sip:b@x>\nf: <sip:a@x>;tag=1\ni: c\n"
      "CSeq: 1 OPTIONS\nSubject: a\n  folded\n\tsubject\nl: 0\n\n");
  Message m = parse_ok(bytes);
  m.set_header_value(1, "<sip:b@x>;tag=2");
  EXPECT_EQ(m.to().tag(), "2");
  EXPECT_EQ(m.serialize(), crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:b@x>;tag=2\n"
                                "From: <sip:a@x>;tag=1\nCall-ID: c\nCSeq: 1 OPTIONS\nSubject: a folded subject\n"
                                "Content-Length: 0\n\n"));
}

TEST(Headers, AuthorizationParameters) {
  auto auth = parse_auth(
      "Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"84a4cc6f3082121f32b42a2187831a9e\", "
      "uri=\"sip:atlanta.example.com\", response=\"7587245234b3434cc3412213e5f113a5\", algorithm=SHA-256, "
      "cnonce=\"0a4f113b\", qop=auth, nc=00000001, opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->scheme, "Digest");
  EXPECT_EQ(auth->param("username"), "alice");
  EXPECT_EQ(auth->param("realm"), "atlanta.example.com");
  EXPECT_EQ(auth->param("uri"), "sip:atlanta.example.com");
  EXPECT_EQ(auth->param("algorithm"), "SHA-256");
  EXPECT_EQ(auth->param("qop"), "auth");
  EXPECT_EQ(auth->param("nc"), "00000001");
  EXPECT_EQ(auth->param("opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
  auto challenge = parse_auth("Digest realm=\"x\", qop=\"auth,auth-int\", stale=true, nonce=\"n\"");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->param("qop"), "auth,auth-int");
  EXPECT_EQ(challenge->param("stale"), "true");
  EXPECT_FALSE(parse_auth("Digest realm"));
  EXPECT_FALSE(parse_auth("Digest a=1,,b=2"));
  EXPECT_FALSE(parse_auth(""));
}

TEST(Headers, EventSubscriptionStateContentTypeAndNumbers) {
  auto ev = parse_event("presence.winfo;id=7");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->package, "presence.winfo");
  EXPECT_EQ(ev->id(), "7");
  auto st = parse_subscription_state("terminated;reason=timeout;retry-after=30");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, "terminated");
  EXPECT_EQ(st->params.get("reason"), "timeout");
  auto ct = parse_media_type("application/sdp ; charset=utf-8");
  ASSERT_TRUE(ct);
  EXPECT_TRUE(ct->is("APPLICATION", "SDP"));
  EXPECT_EQ(ct->params.get("charset"), "utf-8");
  EXPECT_EQ(*parse_number("3600", 0xffffffffU), 3600u);
  EXPECT_FALSE(parse_number("-1", 100));
  EXPECT_FALSE(parse_number("101", 100));
  EXPECT_FALSE(parse_number("99999999999", 0xffffffffU));
  EXPECT_FALSE(parse_cseq("1"));
  EXPECT_FALSE(parse_cseq("2147483648 INVITE"));
  EXPECT_EQ(parse_cseq("2147483647 INVITE")->number, 2147483647u);
  EXPECT_TRUE(check_token("100rel"));
  EXPECT_FALSE(check_token("a b"));
  EXPECT_EQ(*parse_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(*parse_date("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600);
  EXPECT_FALSE(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"));
  EXPECT_FALSE(parse_date("Thu, 01 Foo 1970 00:00:00 GMT"));
}

TEST(Headers, NameAddrForms) {
  auto star_like = parse_name_addr("<sip:a@b>;expires=0");
  ASSERT_TRUE(star_like);
  EXPECT_EQ(contact_expires(*star_like), 0u);
  EXPECT_EQ(contact_q(*star_like), 1000);
  EXPECT_FALSE(parse_name_addr("<sip:a@b"));
  EXPECT_FALSE(parse_name_addr("\"unterminated <sip:a@b>"));
  EXPECT_FALSE(parse_name_addr("\"name\" sip:a@b"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b>;"));
  EXPECT_FALSE(parse_name_addr("<sip:a@b> junk"));
  EXPECT_FALSE(parse_name_addr("sip:a@b", AddrForm::NameAddrOnly));
  auto v6 = parse_name_addr("<sip:[::1]:5070>;received=::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->uri.host_address(), "::1");
  EXPECT_EQ(v6->params.get("received"), "::1");
}

TEST(Message, ParsedViewsOfListAndAuthorizationHeaders) {
  const std::string bytes = crlf(
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2\n"
      "v: SIP/2.0/UDP c;branch=z9hG4bK3\nTo: <sip:a@example.com>\nFrom: <sip:a@example.com>;tag=1\nCall-ID: c1\n"
      "CSeq: 2 REGISTER\nContact: <sip:a@h1>;q=0.1, <sip:a@h2>\nm: <sip:a@h3>;expires=30\n"
      "Route: <sip:r1;lr>, <sip:r2;lr>\nRecord-Route: <sip:rr1;lr>\nPath: <sip:edge.example.com;lr>\n"
      "Authorization: Digest username=\"a\", realm=\"one\", nonce=\"n1\"\n"
      "Proxy-Authorization: Digest username=\"a\", realm=\"two\", nonce=\"n2\"\n"
      "Authorization: Digest username=\"a\", realm=\"two\", nonce=\"n3\"\nContent-Length: 0\n\n");
  Message m = parse_ok(bytes);
  ASSERT_EQ(m.vias().size(), 3u);
  EXPECT_EQ(m.vias()[1].branch(), "z9hG4bK2");
  EXPECT_EQ(m.vias()[2].host, "c");
  ASSERT_EQ(m.contacts().size(), 3u);
  EXPECT_EQ(m.contacts()[2].uri.host, "h3");
  EXPECT_EQ(contact_expires(m.contacts()[2]), 30u);
  EXPECT_FALSE(m.contact_star());
  ASSERT_EQ(m.routes().size(), 2u);
  EXPECT_EQ(m.routes()[1].uri.host, "r2");
  EXPECT_EQ(m.record_routes().size(), 1u);
  EXPECT_EQ(m.paths()[0].uri.host, "edge.example.com");
  ASSERT_EQ(m.auth().size(), 3u);
  EXPECT_EQ(m.find_auth(HeaderId::Authorization)->param("nonce"), "n1");
  EXPECT_EQ(m.find_auth(HeaderId::Authorization, "two")->param("nonce"), "n3");
  EXPECT_EQ(m.find_auth(HeaderId::ProxyAuthorization)->param("realm"), "two");
  EXPECT_EQ(m.find_auth(HeaderId::WwwAuthenticate), nullptr);

  // Edits keep the parsed views true.
  m.remove_header(0);
  ASSERT_EQ(m.vias().size(), 1u);
  EXPECT_EQ(m.top_via().host, "c");
  m.append_header(HeaderId::Contact, "<sip:a@h4>");
  EXPECT_EQ(m.contacts().size(), 4u);
  m.remove_header(m.headers().size() - 3);  // the second Authorization
  EXPECT_EQ(m.find_auth(HeaderId::Authorization, "two"), nullptr);
  EXPECT_THROW(m.append_header(HeaderId::Route, "sip:not-bracketed"), std::invalid_argument);
}

TEST(Headers, ContactStarIsAccepted) {
  const std::string bytes = crlf(
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nTo: <sip:a@example.com>\n"
      "From: <sip:a@example.com>;tag=1\nCall-ID: c1\nCSeq: 2 REGISTER\nContact: *\nExpires: 0\nContent-Length: 0\n\n");
  const Message m = parse_ok(bytes);
  EXPECT_EQ(*m.values(HeaderId::Contact).begin(), "*");
  EXPECT_TRUE(m.contact_star());
  EXPECT_TRUE(m.contacts().empty());
  const std::string mixed = crlf(
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nTo: <sip:a@example.com>\n"
      "From: <sip:a@example.com>;tag=1\nCall-ID: c1\nCSeq: 2 REGISTER\nContact: *\nContact: <sip:a@h>\n\n");
  Message bad;
  const Status s = parse_message(mixed, Framing::Datagram, bad);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("* mixed with addresses"), std::string::npos);
}

// A 200/180 whose header starts with `vias` (lines ending in \n).
std::string response_with_vias(std::string_view status_line, std::string_view vias) {
  return crlf(std::string(status_line) + "\n" + std::string(vias) +
              "From: <sip:a@example>;tag=1\nTo: <sip:b@example>;tag=2\nCall-ID: c1\nCSeq: 1 INVITE\n"
              "Content-Length: 0\n\n");
}

TEST(Edits, ResponseStatusReadsOnlyAStatusLine) {
  EXPECT_EQ(response_status("SIP/2.0 180 Ringing\r\n"), 180);
  EXPECT_EQ(response_status("SIP/2.0 699 x"), 699);
  EXPECT_EQ(response_status("SIP/2.0 099 Low\r\n"), 0);
  EXPECT_EQ(response_status("SIP/2.0 700 High\r\n"), 0);
  EXPECT_EQ(response_status("SIP/2.0 2x0 OK\r\n"), 0);
  EXPECT_EQ(response_status("SIP/2.0 200"), 0);
  EXPECT_EQ(response_status("OPTIONS sip:a@b SIP/2.0\r\n"), 0);
}

TEST(Edits, WithoutFirstViaCutsTheLineOfASingleValue) {
  const std::string response =
      response_with_vias("SIP/2.0 180 Ringing",
                         "Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKp1\n"
                         "v: SIP/2.0/UDP pc33.example:5060;branch=z9hG4bKa;received=192.0.2.1\n");
  const std::string out = without_first_via(parse_ok(response));
  EXPECT_EQ(out, response_with_vias("SIP/2.0 180 Ringing",
                                    "v: SIP/2.0/UDP pc33.example:5060;branch=z9hG4bKa;received=192.0.2.1\n"));
  const Message again = parse_ok(out);
  ASSERT_EQ(again.vias().size(), 1u);
  EXPECT_EQ(again.top_via().host, "pc33.example");
}

TEST(Edits, WithoutFirstViaCutsTheFirstValueOfAList) {
  // SIPp's [last_Via:] writes every Via into one field.
  const std::string combined =
      response_with_vias("SIP/2.0 200 OK",
                         "Via: SIP/2.0/UDP p.example;branch=z9hG4bKp , SIP/2.0/UDP a.example;branch=z9hG4bKa,\n"
                         " SIP/2.0/UDP b.example;branch=z9hG4bKb\n");
  const std::string out = without_first_via(parse_ok(combined));
  EXPECT_EQ(
      out, response_with_vias("SIP/2.0 200 OK",
                              "Via: SIP/2.0/UDP a.example;branch=z9hG4bKa,\n SIP/2.0/UDP b.example;branch=z9hG4bKb\n"));
  const Message again = parse_ok(out);
  ASSERT_EQ(again.vias().size(), 2u);
  EXPECT_EQ(again.top_via().host, "a.example");
  // The same as a parsed copy with the value removed.
  Message edited = parse_ok(combined);
  ASSERT_TRUE(remove_first_value(edited, HeaderId::Via));
  EXPECT_EQ(parse_ok(edited.serialize()).vias().size(), 2u);
}

TEST(Edits, WithoutFirstViaLeavesLastViasAndEditedMessagesToTheCaller) {
  const std::string single = response_with_vias("SIP/2.0 200 OK", "Via: SIP/2.0/UDP p.example;branch=z9hG4bKp\n");
  EXPECT_EQ(without_first_via(parse_ok(single)), "");
  const std::string two = response_with_vias(
      "SIP/2.0 200 OK", "Via: SIP/2.0/UDP p.example;branch=z9hG4bKp\nVia: SIP/2.0/UDP a.example;branch=z9hG4bKa\n");
  Message edited = parse_ok(two);
  EXPECT_NE(without_first_via(edited), "");
  edited.append_header(HeaderId::Supported, "path");
  EXPECT_EQ(without_first_via(edited), "");
}

}  // namespace
}  // namespace sipbox::sip
