#include <gtest/gtest.h>

#include "sip/sip.h"

namespace sipbox::sip {
namespace {

Uri parse_ok(std::string_view text) {
  auto uri = parse_uri(text);
  EXPECT_TRUE(uri) << text << ": " << (uri ? "" : uri.error().message);
  return uri ? *uri : Uri{};
}

TEST(Uri, rfc3261_19_1_1_all_components) {
  const Uri u = parse_ok("sips:alice:secret@atlanta.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent");
  EXPECT_EQ(u.kind, UriScheme::Sips);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "secret");
  EXPECT_TRUE(u.has_password);
  EXPECT_EQ(u.host, "atlanta.com");
  EXPECT_EQ(u.host_kind, HostKind::Name);
  EXPECT_EQ(u.port, 5061);
  EXPECT_EQ(u.param("transport"), "tcp");
  EXPECT_TRUE(u.params.has("lr"));
  EXPECT_EQ(u.headers, "subject=project%20x&priority=urgent");
}

TEST(Uri, HostForms) {
  EXPECT_EQ(parse_ok("sip:192.0.2.4").host_kind, HostKind::IPv4);
  const Uri v6 = parse_ok("sip:bob@[2001:db8::10]:5070;transport=udp");
  EXPECT_EQ(v6.host_kind, HostKind::IPv6);
  EXPECT_EQ(v6.host, "[2001:db8::10]");
  EXPECT_EQ(v6.host_address(), "2001:db8::10");
  EXPECT_EQ(v6.port, 5070);
  EXPECT_FALSE(parse_uri("sip:bob@[2001:db8::zz]"));
  EXPECT_FALSE(parse_uri("sip:bob@[::1"));
  EXPECT_FALSE(parse_uri("sip:bob@300.1.1.1"));
  EXPECT_FALSE(parse_uri("sip:bob@host:70000"));
  EXPECT_FALSE(parse_uri("sip:bob@"));
  EXPECT_FALSE(parse_uri("sip:bob@host name"));
}

TEST(Uri, RejectsMalformedText) {
  for (const char* bad : {"", "sip", "sip:", "1sip:x", "<sip:a@b>", "sip:a b@c", "sip:a@b;=x", "sip:a@b?x",
                          "sip:a%zz@b", "sip:a@b>", "tel:", "tel:abc;", "http://a b"}) {
    EXPECT_FALSE(parse_uri(bad)) << bad;
  }
}

TEST(Uri, TelUri) {
  const Uri u = parse_ok("tel:+1-201-555-0123;phone-context=example.com");
  EXPECT_EQ(u.kind, UriScheme::Tel);
  EXPECT_EQ(u.user, "+1-201-555-0123");
  EXPECT_EQ(u.param("phone-context"), "example.com");
  EXPECT_TRUE(uri_equivalent(u, parse_ok("tel:+1(201)5550123;PHONE-CONTEXT=example.com")));
  EXPECT_FALSE(uri_equivalent(u, parse_ok("tel:+1-201-555-0124;phone-context=example.com")));
}

TEST(Uri, OtherSchemesAreOpaque) {
  const Uri u = parse_ok("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  EXPECT_EQ(u.kind, UriScheme::Other);
  EXPECT_EQ(u.opaque, "uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
}

TEST(Uri, rfc3261_25_1_escaping) {
  EXPECT_EQ(unescape("%61lice%20b"), "alice b");
  EXPECT_EQ(unescape("100%"), "100%");
  EXPECT_EQ(unescape("%zz"), "%zz");
  EXPECT_EQ(escape_user("a b@c"), "a%20b%40c");
  EXPECT_EQ(escape_user("+1;x=y?z"), "+1;x=y?z");
  EXPECT_EQ(unescape(escape_user(std::string("\0<>\"", 4))), std::string("\0<>\"", 4));
}

// The examples of RFC 3261 19.1.4.
TEST(Uri, rfc3261_19_1_4_equivalent_uris) {
  const std::pair<const char*, const char*> same[] = {
      {"sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com;security=on"},
      {"sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"},
      {"sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
       "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"},
      {"sip:alice@atlanta.com?subject=project%20x&priority=urgent",
       "sip:alice@atlanta.com?priority=urgent&subject=project%20x"},
      {"sip:bob@[2001:db8:0::10]", "sip:bob@[2001:DB8::10]"},
  };
  for (const auto& [a, b] : same) {
    EXPECT_TRUE(uri_equivalent(parse_ok(a), parse_ok(b))) << a << " vs " << b;
    EXPECT_TRUE(uri_equivalent(parse_ok(b), parse_ok(a))) << b << " vs " << a;
  }
}

TEST(Uri, rfc3261_19_1_4_different_uris) {
  const std::pair<const char*, const char*> different[] = {
      {"SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"},
      {"sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"},
      {"sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"},
      {"sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"},
      {"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"},
      {"sip:alice@atlanta.com", "sips:alice@atlanta.com"},
      {"sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"},
  };
  for (const auto& [a, b] : different) {
    EXPECT_FALSE(uri_equivalent(parse_ok(a), parse_ok(b))) << a << " vs " << b;
    EXPECT_FALSE(uri_equivalent(parse_ok(b), parse_ok(a))) << b << " vs " << a;
  }
}

// Found by fuzzing: a URI with a repeated parameter must equal itself.
TEST(Uri, RepeatedParametersCompareByTheirFirstOccurrence) {
  const Uri u = parse_ok("sip:b@example.com;maddr=a.example.com;maddr=b.example.com");
  EXPECT_TRUE(uri_equivalent(u, u));
  EXPECT_EQ(u.param("maddr"), "a.example.com");
}

TEST(Params, IterationLookupAndQuotes) {
  const Params p(";a=1 ; B = \"x;y\" ;flag;c=\"q\\\"d\"");
  std::vector<std::string_view> names;
  for (const Param& param : p) names.push_back(param.name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"a", "B", "flag", "c"}));
  EXPECT_EQ(p.get("b"), "x;y");
  EXPECT_TRUE(p.has("FLAG"));
  EXPECT_FALSE(p.find("flag")->has_value);
  EXPECT_EQ(p.get("missing"), "");
  EXPECT_EQ(unquote_unescape(p.find("c")->value), "q\"d");
}

}  // namespace
}  // namespace sipbox::sip
