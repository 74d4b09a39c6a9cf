// RFC 4475 torture messages: the verdict for every file in index.csv, and for the
// valid-but-strange ones the values the RFC says a parser must extract.
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "sip/sip.h"
#include "tests/unit/sip/corpus.h"

namespace sipbox::sip {
namespace {

using test::read_corpus;

struct Expectation {
  std::string file;
  bool valid;
  std::string section;
};

std::vector<Expectation> load_index() {
  std::istringstream in(read_corpus("rfc4475/index.csv"));
  std::vector<Expectation> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto a = line.find(',');
    const auto b = line.find(',', a + 1);
    rows.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1) == "valid", line.substr(b + 1)});
  }
  return rows;
}

TEST(Rfc4475, EveryVerdictMatchesTheIndex) {
  const auto rows = load_index();
  ASSERT_EQ(rows.size(), 49u);
  for (const auto& row : rows) {
    const std::string bytes = read_corpus("rfc4475/" + row.file);
    Message m;
    const Status s = parse_message(bytes, Framing::Datagram, m);
    EXPECT_EQ(s.has_value(), row.valid) << row.file << " (" << row.section << ")"
                                        << (s ? "" : ": " + s.error().message);
  }
}

// Parses a corpus file that must be valid; the bytes stay alive in the fixture.
class Torture : public ::testing::Test {
 protected:
  const Message& parse(const std::string& file) {
    bytes_ = read_corpus("rfc4475/" + file);
    const Status s = parse_message(bytes_, Framing::Datagram, message_);
    EXPECT_TRUE(s) << file << ": " << (s ? "" : s.error().message);
    return message_;
  }
  std::vector<std::string_view> values(HeaderId id) const {
    std::vector<std::string_view> out;
    for (auto v : message_.values(id)) out.push_back(v);
    return out;
  }
  std::string bytes_;
  Message message_;
};

// 3.1.1.1: whitespace, folding, compact forms and case everywhere.
TEST_F(Torture, rfc4475_3_1_1_1_short_tortuous_invite) {
  const Message& m = parse("wsinv.dat");
  EXPECT_EQ(m.method_id(), Method::Invite);
  EXPECT_TRUE(m.request_uri().params.has("unknownparam"));
  EXPECT_EQ(m.to().uri.text, "sip:vivekg@chair-dnrc.example.com");
  EXPECT_EQ(m.to().tag(), "1918181833n");
  EXPECT_EQ(m.from().display_name_text(), "J Rosenberg \\\"");
  EXPECT_EQ(m.from().tag(), "98asjd8");
  EXPECT_EQ(m.max_forwards(), 68);
  EXPECT_EQ(m.call_id(), "wsinv.ndaksdj@192.0.2.1");
  EXPECT_EQ(m.cseq().number, 9u);
  EXPECT_EQ(m.cseq().method, "INVITE");
  const auto vias = values(HeaderId::Via);
  ASSERT_EQ(vias.size(), 3u);
  const Via v0 = *parse_via(vias[0]);
  EXPECT_EQ(v0.transport, "UDP");
  EXPECT_EQ(v0.host, "192.0.2.2");
  EXPECT_EQ(v0.branch(), "390skdjuw");
  const Via v1 = *parse_via(vias[1]);
  EXPECT_EQ(v1.transport, "TCP");
  EXPECT_EQ(v1.host, "spindle.example.com");
  EXPECT_EQ(v1.branch(), "z9hG4bK9ikj8");
  const Via v2 = *parse_via(vias[2]);
  EXPECT_EQ(v2.host, "192.168.255.111");
  EXPECT_EQ(v2.branch(), "z9hG4bK30239");
  const NameAddr contact = *parse_name_addr(*m.values(HeaderId::Contact).begin());
  EXPECT_EQ(contact.display_name_text(), "Quoted string \"\"");
  EXPECT_EQ(contact.params.get("newparam"), "newvalue");
  EXPECT_TRUE(contact.params.has("secondparam"));
  EXPECT_EQ(contact_q(contact), 330);
  const HeaderField* subject = m.header(HeaderId::Subject);
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject->value, "");
  const HeaderField* fangled = m.header("NewFangledHeader");
  ASSERT_NE(fangled, nullptr);
  EXPECT_EQ(fangled->value, "newfangled value\r\n continued newfangled value");
  EXPECT_EQ(m.header("UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
  const NameAddr route = *parse_name_addr(*m.values(HeaderId::Route).begin(), AddrForm::NameAddrOnly);
  EXPECT_TRUE(route.uri.params.has("lr"));
  EXPECT_EQ(route.uri.param("unknownwith"), "value");
  EXPECT_EQ(m.body().size(), 150u);
  EXPECT_TRUE(m.body().starts_with("v=0\r\n"));
}

// 3.1.1.2: the full token and word character sets.
TEST_F(Torture, rfc4475_3_1_1_2_wide_range_of_valid_characters) {
  const Message& m = parse("intmeth.dat");
  EXPECT_EQ(m.method(), "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(m.method_id(), Method::Other);
  EXPECT_EQ(m.request_uri().user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(m.request_uri().password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_EQ(m.request_uri().host, "example.com");
  EXPECT_EQ(m.top_via().branch(), "z9hG4bK-.!%66*_+`'~");
  EXPECT_EQ(m.to().display_name_text(), std::string("BEL:\x07 NUL:\0 DEL:\x7f", 17));
  EXPECT_EQ(m.to().uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(m.from().display_name, "token1~` token2'+_ token3*%!.-");
  EXPECT_EQ(m.from().params.get("fromParam''~+*_!.-%"), "работающий");
  EXPECT_EQ(m.from().tag(), "_token~1'+`*%!-.");
  EXPECT_EQ(m.call_id(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(m.max_forwards(), 255);
  const HeaderField* ext = m.header("extensionHeader-!.%*+_`'~");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->value, "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
}

// 3.1.1.3: escapes resolve to the same URI as their unescaped form.
TEST_F(Torture, rfc4475_3_1_1_3_valid_use_of_percent_escaping) {
  const Message& m = parse("esc01.dat");
  EXPECT_EQ(unescape(m.request_uri().user), "sips:user@example.com");
  EXPECT_EQ(m.request_uri().host, "example.net");
  EXPECT_EQ(unescape(m.to().uri.user), "user");
  EXPECT_EQ(unescape(m.from().uri.user), "I have spaces");
  const NameAddr contact = *parse_name_addr(m.header(HeaderId::Contact)->value);
  EXPECT_EQ(unescape(contact.uri.user), "caller");
  EXPECT_TRUE(contact.uri.params.has("lr"));
  EXPECT_EQ(unescape(contact.uri.param("name")), "value%41");
  EXPECT_TRUE(uri_equivalent(contact.uri, *parse_uri("sip:caller@host5.example.net;lr;name=value%25%34%31")));
}

// 3.1.1.4: %00 is a valid escape.
TEST_F(Torture, rfc4475_3_1_1_4_escaped_nulls_in_uris) {
  const Message& m = parse("escnull.dat");
  EXPECT_EQ(unescape(m.to().uri.user), std::string("null-\0-null", 11));
  std::vector<std::string> users;
  for (auto v : m.values(HeaderId::Contact)) users.push_back(unescape(parse_name_addr(v)->uri.user));
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0], std::string(1, '\0'));
  EXPECT_EQ(users[1], std::string(2, '\0'));
  EXPECT_EQ(m.body().size(), 0u);
}

// 3.1.1.5: % is a token character; "C%6Fntact" is not Contact.
TEST_F(Torture, rfc4475_3_1_1_5_percent_when_not_an_escape) {
  const Message& m = parse("esc02.dat");
  EXPECT_EQ(m.method(), "RE%47IST%45R");
  EXPECT_EQ(m.method_id(), Method::Other);
  EXPECT_EQ(m.to().display_name_text(), "%Z%45");
  EXPECT_EQ(m.top_via().branch(), "z9hG4bK209%fzsnel234");
  EXPECT_EQ(values(HeaderId::Contact).size(), 2u);
  ASSERT_NE(m.header("C%6Fntact"), nullptr);
  EXPECT_EQ(m.header("C%6Fntact")->id, HeaderId::Other);
}

// 3.1.1.6: a display name token directly followed by <.
TEST_F(Torture, rfc4475_3_1_1_6_no_lws_between_display_name_and_laquot) {
  const Message& m = parse("lwsdisp.dat");
  EXPECT_EQ(m.from().display_name, "caller");
  EXPECT_EQ(m.from().uri.user, "caller");
}

// 3.1.1.7: long values; 34 Via values written in every case and spacing.
TEST_F(Torture, rfc4475_3_1_1_7_long_values_in_header_fields) {
  const Message& m = parse("longreq.dat");
  EXPECT_EQ(m.to().display_name_text().size(), 103u);
  EXPECT_TRUE(m.to().uri.params.has(
      "longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename"));
  EXPECT_EQ(m.to().uri.port, 6000);
  EXPECT_EQ(m.from().tag().size(), 155u);
  EXPECT_TRUE(m.from().params.has("unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname"));
  EXPECT_EQ(values(HeaderId::Via).size(), 34u);
  EXPECT_EQ(m.top_via().host, "sip33.example.com");
  EXPECT_EQ(m.count(HeaderId::Via), 34u);
  EXPECT_EQ(m.body().size(), 150u);
  EXPECT_GT(m.header_count(), Message::kInlineHeaders - 10);
}

// 3.1.1.8: a datagram's trailing octets after Content-Length are not part of it.
TEST_F(Torture, rfc4475_3_1_1_8_extra_trailing_octets_in_udp_datagram) {
  const Message& m = parse("dblreq.dat");
  EXPECT_EQ(m.method_id(), Method::Register);
  EXPECT_EQ(m.body(), "");
  EXPECT_LT(m.bytes().size(), bytes_.size());
  EXPECT_TRUE(m.bytes().ends_with("Content-Length: 0\r\n\r\n"));
  EXPECT_EQ(m.serialize(), m.bytes());
}

// 3.1.1.9: ';' belongs to the user part when it comes before '@'.
TEST_F(Torture, rfc4475_3_1_1_9_semicolon_separated_parameters_in_uri_user_part) {
  const Message& m = parse("semiuri.dat");
  EXPECT_EQ(m.request_uri().user, "user;par=u%40example.net");
  EXPECT_EQ(m.request_uri().host, "example.com");
  EXPECT_TRUE(m.request_uri().params.empty());
  EXPECT_EQ(values(HeaderId::Accept).size(), 6u);
}

// 3.1.1.10: unknown transports are carried.
TEST_F(Torture, rfc4475_3_1_1_10_varied_and_unknown_transport_types) {
  const Message& m = parse("transports.dat");
  std::vector<std::string_view> transports;
  for (auto v : m.values(HeaderId::Via)) transports.push_back(parse_via(v)->transport);
  EXPECT_EQ(transports, (std::vector<std::string_view>{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"}));
}

// 3.1.1.11: binary multipart body framed by Content-Length.
TEST_F(Torture, rfc4475_3_1_1_11_multipart_mime_message) {
  const Message& m = parse("mpart01.dat");
  EXPECT_EQ(m.method_id(), Method::Message);
  EXPECT_EQ(m.body().size(), 553u);
  const MediaType ct = *parse_media_type(m.header(HeaderId::ContentType)->value);
  EXPECT_TRUE(ct.is("multipart", "mixed"));
  EXPECT_EQ(ct.params.get("boundary"), "7a9cbec02ceef655");
  EXPECT_EQ(*parse_date(m.header(HeaderId::Date)->value), 1129351496);
}

TEST_F(Torture, rfc4475_3_1_1_12_unusual_reason_phrase) {
  const Message& m = parse("unreason.dat");
  EXPECT_EQ(m.status_code(), 200);
  EXPECT_TRUE(m.reason_phrase().starts_with("= 2**3 * 5**2 "));
  EXPECT_EQ(m.method_id(), Method::Invite);
}

TEST_F(Torture, rfc4475_3_1_1_13_empty_reason_phrase) {
  const Message& m = parse("noreason.dat");
  EXPECT_EQ(m.status_code(), 100);
  EXPECT_EQ(m.reason_phrase(), "");
}

// 3.2.1: a branch of just the magic cookie: RFC 2543 matching applies.
TEST_F(Torture, rfc4475_3_2_1_missing_transaction_identifier) {
  const Message& m = parse("badbranch.dat");
  EXPECT_EQ(m.top_via().branch(), "z9hG4bK");
  EXPECT_FALSE(m.top_via().rfc3261_branch());
}

TEST_F(Torture, rfc4475_3_3_2_request_uri_with_unknown_scheme) {
  const Message& m = parse("unkscm.dat");
  EXPECT_EQ(m.request_uri().kind, UriScheme::Other);
  EXPECT_EQ(m.request_uri().scheme, "nobodyKnowsThisScheme");
  EXPECT_EQ(m.request_uri().opaque, "totallyopaquecontent");
}

TEST_F(Torture, rfc4475_3_3_3_request_uri_with_known_but_atypical_scheme) {
  const Message& m = parse("novelsc.dat");
  EXPECT_EQ(m.request_uri().scheme, "soap.beep");
  EXPECT_EQ(m.request_uri().opaque, "//192.0.2.103:3002");
}

TEST_F(Torture, rfc4475_3_3_4_unknown_uri_schemes_in_header_fields) {
  const Message& m = parse("unksm2.dat");
  EXPECT_EQ(m.to().uri.scheme, "isbn");
  EXPECT_FALSE(m.to().bracketed);
  EXPECT_EQ(m.from().uri.scheme, "http");
  EXPECT_EQ(m.from().tag(), "3234233");
  EXPECT_EQ(parse_name_addr(m.header(HeaderId::Contact)->value)->uri.opaque, "John_Smith");
}

TEST_F(Torture, rfc4475_3_3_5_proxy_require_and_require) {
  const Message& m = parse("bext01.dat");
  EXPECT_EQ(values(HeaderId::Require), (std::vector<std::string_view>{"nothingSupportsThis", "nothingSupportsThisEither"}));
  EXPECT_EQ(values(HeaderId::ProxyRequire).size(), 2u);
  EXPECT_EQ(m.top_via().transport, "TLS");
}

TEST_F(Torture, rfc4475_3_3_6_unknown_content_type) {
  const Message& m = parse("invut.dat");
  EXPECT_TRUE(parse_media_type(m.header(HeaderId::ContentType)->value)->is("application", "unknownformat"));
  EXPECT_EQ(m.body().size(), 40u);
}

TEST_F(Torture, rfc4475_3_3_7_unknown_authorization_scheme) {
  const Message& m = parse("regaut01.dat");
  const AuthHeader auth = *parse_auth(m.header(HeaderId::Authorization)->value);
  EXPECT_EQ(auth.scheme, "NoOneKnowsThisScheme");
  EXPECT_EQ(auth.param("opaque-data"), "here");
}

TEST_F(Torture, rfc4475_3_3_10_200_ok_with_broadcast_via) {
  EXPECT_EQ(parse("bcast.dat").status_code(), 200);
  const auto vias = values(HeaderId::Via);
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_EQ(parse_via(vias[1])->host, "255.255.255.255");
  EXPECT_EQ(parse_via(vias[1])->host_kind, HostKind::IPv4);
}

TEST_F(Torture, rfc4475_3_3_11_max_forwards_of_zero) {
  EXPECT_EQ(parse("zeromf.dat").max_forwards(), 0);
}

// 3.3.12 and 3.3.13: without <> a parameter belongs to the header, with <> to the URI.
TEST_F(Torture, rfc4475_3_3_12_register_with_a_contact_header_parameter) {
  const Message& m = parse("cparam01.dat");
  const NameAddr c = *parse_name_addr(m.header(HeaderId::Contact)->value);
  EXPECT_TRUE(c.params.has("unknownparam"));
  EXPECT_FALSE(c.uri.params.has("unknownparam"));
  EXPECT_EQ(c.uri.user, "+19725552222");
}

TEST_F(Torture, rfc4475_3_3_13_register_with_a_url_parameter) {
  const Message& m = parse("cparam02.dat");
  const NameAddr c = *parse_name_addr(m.header(HeaderId::Contact)->value);
  EXPECT_FALSE(c.params.has("unknownparam"));
  EXPECT_TRUE(c.uri.params.has("unknownparam"));
}

TEST_F(Torture, rfc4475_3_3_14_register_with_a_url_escaped_header) {
  const Message& m = parse("regescrt.dat");
  const NameAddr c = *parse_name_addr(m.header(HeaderId::Contact)->value);
  EXPECT_EQ(c.uri.headers, "Route=%3Csip:sip.example.com%3E");
  EXPECT_EQ(unescape(c.uri.headers), "Route=<sip:sip.example.com>");
}

TEST_F(Torture, rfc4475_3_3_15_unacceptable_accept_offering) {
  EXPECT_EQ(parse("sdp01.dat").method_id(), Method::Invite);
  EXPECT_EQ(values(HeaderId::Accept), (std::vector<std::string_view>{"text/nobodyKnowsThis"}));
}

// 3.4.1: RFC 2543 syntax: no branch, no Max-Forwards, no Content-Length on UDP.
TEST_F(Torture, rfc4475_3_4_1_invite_with_rfc2543_syntax) {
  const Message& m = parse("inv2543.dat");
  EXPECT_TRUE(m.top_via().branch().empty());
  EXPECT_FALSE(m.top_via().rfc3261_branch());
  EXPECT_EQ(m.max_forwards(), -1);
  EXPECT_EQ(m.to().params.get("user"), "phone");
  EXPECT_FALSE(m.to().uri.params.has("user"));
  EXPECT_EQ(m.from().uri.param("user"), "phone");
  const NameAddr rr = *parse_name_addr(m.header(HeaderId::RecordRoute)->value, AddrForm::NameAddrOnly);
  EXPECT_EQ(rr.uri.param("maddr"), "ss1.example.com");
  EXPECT_TRUE(m.body().starts_with("v=0"));
  EXPECT_TRUE(m.body().ends_with("m=audio 49217 RTP/AVP 0\r\n"));
}

// Invalid messages: the reason names what is wrong.
TEST(Rfc4475Reasons, InvalidMessagesSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"badinv01.dat", "Via"},
      {"clerr.dat", "Content-Length larger"},
      {"ncl.dat", "Content-Length"},
      {"scalar02.dat", "CSeq"},
      {"scalarlg.dat", "CSeq"},
      {"quotbal.dat", "unterminated quoted string"},
      {"ltgtruri.dat", "Request-URI"},
      {"lwsruri.dat", "request line"},
      {"lwsstart.dat", "request line"},
      {"trws.dat", "request line"},
      {"escruri.dat", "headers are not allowed"},
      {"baddate.dat", "Date"},
      {"regbadct.dat", "enclosed in <>"},
      {"badaspec.dat", "whitespace inside <>"},
      {"baddn.dat", "display name"},
      {"badvers.dat", "SIP/7.0"},
      {"mismatch01.dat", "CSeq method"},
      {"mismatch02.dat", "CSeq method"},
      {"bigcode.dat", "status code"},
      {"insuf.dat", "missing mandatory header: To, From, Call-ID"},
      {"multi01.dat", "more than one"},
      {"mcl01.dat", "more than one Content-Length"},
  };
  for (const auto& [file, reason] : cases) {
    const std::string bytes = read_corpus(std::string("rfc4475/") + file);
    Message m;
    const Status s = parse_message(bytes, Framing::Datagram, m);
    ASSERT_FALSE(s) << file;
    EXPECT_NE(s.error().message.find(reason), std::string::npos) << file << ": " << s.error().message;
  }
}

// Every valid torture message serializes back byte for byte when unmodified.
TEST(Rfc4475RoundTrip, UnmodifiedMessagesSerializeByteForByte) {
  for (const auto& row : load_index()) {
    if (!row.valid) continue;
    const std::string bytes = read_corpus("rfc4475/" + row.file);
    Message m;
    ASSERT_TRUE(parse_message(bytes, Framing::Datagram, m)) << row.file;
    EXPECT_EQ(m.serialize(), m.bytes()) << row.file;
    if (row.file != "dblreq.dat") {
      EXPECT_EQ(m.bytes(), bytes) << row.file;
    }
  }
}

}  // namespace
}  // namespace sipbox::sip
