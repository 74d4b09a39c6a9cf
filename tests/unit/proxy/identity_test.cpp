// "Is this URI me?" (RFC 3261 16.4) and where a URI leads without DNS (RFC 3263 for IP
// literals).
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "proxy/proxy.h"

namespace sipbox::txn {
// Readable failure messages for Destination comparisons.
static void PrintTo(const Destination& d, std::ostream* os) {
  *os << d.address << ":" << d.port << "/" << proxy::transport_name(d.transport);
}
}  // namespace sipbox::txn

namespace sipbox::proxy {
namespace {

// A parsed URI that owns its text.
struct UriText {
  explicit UriText(std::string t) : text(std::make_unique<std::string>(std::move(t))) {
    auto parsed = sip::parse_uri(*text);
    EXPECT_TRUE(parsed) << *text;
    if (parsed) uri = *parsed;
  }
  std::unique_ptr<std::string> text;
  sip::Uri uri;
};

bool self_uri(const LocalIdentity& self, std::string text) { return self.is_self(UriText(std::move(text)).uri); }

std::optional<Destination> destination(std::string text) { return destination_for(UriText(std::move(text)).uri); }

LocalIdentity udp_and_tls() {
  LocalIdentity self;
  self.add_interface(Interface{TransportKind::Udp, "192.0.2.1", 5060});
  self.add_interface(Interface{TransportKind::Tls, "192.0.2.1", 5061});
  self.add_interface(Interface{TransportKind::Udp, "[2001:db8::1]", 5060});
  return self;
}

TEST(LocalIdentity, rfc3261_16_4_address_and_port_must_both_match) {
  const LocalIdentity self = udp_and_tls();
  EXPECT_TRUE(self.is_self("192.0.2.1", 5060));
  EXPECT_TRUE(self.is_self("192.0.2.1", 5061));
  EXPECT_FALSE(self.is_self("192.0.2.1", 5070));
  EXPECT_FALSE(self.is_self("192.0.2.2", 5060));
  EXPECT_FALSE(self.is_self("example.com", 5060));
}

TEST(LocalIdentity, port_zero_means_5060) {
  LocalIdentity tls_only;
  tls_only.add_interface(Interface{TransportKind::Tls, "192.0.2.1", 5061});
  EXPECT_FALSE(tls_only.is_self("192.0.2.1", 0));
  EXPECT_TRUE(udp_and_tls().is_self("192.0.2.1", 0));
}

TEST(LocalIdentity, ipv6_with_or_without_brackets_any_case) {
  const LocalIdentity self = udp_and_tls();
  EXPECT_TRUE(self.is_self("[2001:db8::1]", 5060));
  EXPECT_TRUE(self.is_self("2001:db8::1", 5060));
  EXPECT_TRUE(self.is_self("[2001:DB8::1]", 5060));
  EXPECT_FALSE(self.is_self("[2001:db8::2]", 5060));
  EXPECT_TRUE(self_uri(self, "sip:[2001:db8::1]"));
  EXPECT_TRUE(self_uri(self, "sip:[2001:db8::1]:5060;lr"));
  EXPECT_FALSE(self_uri(self, "sip:[2001:db8::1]:5070;lr"));
}

TEST(LocalIdentity, added_addresses_count_as_self) {
  LocalIdentity self = udp_and_tls();
  EXPECT_FALSE(self.is_self("127.0.0.1", 5060));
  self.add_address("127.0.0.1");
  self.add_address("[::1]");
  EXPECT_TRUE(self.is_self("127.0.0.1", 5060));
  EXPECT_TRUE(self.is_self("::1", 5060));
  EXPECT_TRUE(self_uri(self, "sip:127.0.0.1;lr"));
}

TEST(LocalIdentity, rfc3263_default_port_of_a_uri_follows_scheme_and_transport) {
  LocalIdentity udp_only;
  udp_only.add_interface(Interface{TransportKind::Udp, "192.0.2.1", 5060});
  EXPECT_TRUE(self_uri(udp_only, "sip:192.0.2.1"));
  EXPECT_TRUE(self_uri(udp_only, "sip:192.0.2.1;transport=tcp"));
  EXPECT_FALSE(self_uri(udp_only, "sips:192.0.2.1"));                // 5061
  EXPECT_FALSE(self_uri(udp_only, "sip:192.0.2.1;transport=tls"));   // 5061
  EXPECT_FALSE(self_uri(udp_only, "sip:192.0.2.1;transport=TLS"));   // 5061
  EXPECT_TRUE(self_uri(udp_only, "sips:192.0.2.1:5060"));            // explicit port wins

  LocalIdentity tls_only;
  tls_only.add_interface(Interface{TransportKind::Tls, "192.0.2.1", 5061});
  EXPECT_TRUE(self_uri(tls_only, "sips:192.0.2.1"));
  EXPECT_TRUE(self_uri(tls_only, "sip:192.0.2.1;transport=tls;lr"));
  EXPECT_FALSE(self_uri(tls_only, "sip:192.0.2.1"));
  EXPECT_FALSE(self_uri(tls_only, "sip:192.0.2.1;transport=udp"));
}

TEST(LocalIdentity, non_sip_uris_are_never_self) {
  const LocalIdentity self = udp_and_tls();
  EXPECT_FALSE(self_uri(self, "tel:+4930123456"));
  EXPECT_FALSE(self_uri(self, "sip:bob@example.com"));
}

TEST(LocalIdentity, interface_for_picks_kind_and_family) {
  const LocalIdentity self = udp_and_tls();
  const Interface* v4 = self.interface_for(TransportKind::Udp, false);
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(v4->host, "192.0.2.1");
  const Interface* v6 = self.interface_for(TransportKind::Udp, true);
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->host, "[2001:db8::1]");
  const Interface* tls = self.interface_for(TransportKind::Tls, false);
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->port, 5061);
  EXPECT_EQ(self.interface_for(TransportKind::Tcp, false), nullptr);
  EXPECT_EQ(self.interface_for(TransportKind::Tls, true), nullptr);
}

TEST(DestinationFor, rfc3263_ip_literal_defaults_to_udp_5060) {
  EXPECT_EQ(destination("sip:bob@192.0.2.5"), (Destination{"192.0.2.5", 5060, TransportKind::Udp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5:5070"), (Destination{"192.0.2.5", 5070, TransportKind::Udp}));
}

TEST(DestinationFor, transport_parameter_picks_the_transport_and_its_default_port) {
  EXPECT_EQ(destination("sip:bob@192.0.2.5;transport=tcp"), (Destination{"192.0.2.5", 5060, TransportKind::Tcp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5:5070;transport=TCP"), (Destination{"192.0.2.5", 5070, TransportKind::Tcp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5;transport=tls"), (Destination{"192.0.2.5", 5061, TransportKind::Tls}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5;transport=ws"), (Destination{"192.0.2.5", 5060, TransportKind::Ws}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5;transport=udp"), (Destination{"192.0.2.5", 5060, TransportKind::Udp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5;transport=carrier-pigeon"), std::nullopt);
}

TEST(DestinationFor, sips_means_tls_on_5061) {
  EXPECT_EQ(destination("sips:bob@192.0.2.5"), (Destination{"192.0.2.5", 5061, TransportKind::Tls}));
  EXPECT_EQ(destination("sips:bob@192.0.2.5:6000"), (Destination{"192.0.2.5", 6000, TransportKind::Tls}));
}

// RFC 3261 26.2.2 (and RFC 5630 3.1.3): transport=tls is deprecated; a sips URI with
// transport=tcp means TLS over TCP, never plain TCP.
TEST(DestinationFor, rfc3261_26_2_2_sips_with_transport_tcp_is_tls) {
  EXPECT_EQ(destination("sips:bob@192.0.2.5;transport=tcp"), (Destination{"192.0.2.5", 5061, TransportKind::Tls}));
  EXPECT_EQ(destination("sips:bob@192.0.2.5:5071;transport=TCP"), (Destination{"192.0.2.5", 5071, TransportKind::Tls}));
  EXPECT_EQ(destination("sips:bob@192.0.2.5:8443;transport=ws"), (Destination{"192.0.2.5", 8443, TransportKind::Wss}));
}

TEST(DestinationFor, maddr_overrides_the_host) {
  EXPECT_EQ(destination("sip:bob@example.com;maddr=192.0.2.9"), (Destination{"192.0.2.9", 5060, TransportKind::Udp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5:5080;maddr=192.0.2.9;transport=tcp"),
            (Destination{"192.0.2.9", 5080, TransportKind::Tcp}));
  EXPECT_EQ(destination("sip:bob@192.0.2.5;maddr=proxy.example.com"), std::nullopt);
}

TEST(DestinationFor, ipv6_literal_loses_brackets_and_case) {
  EXPECT_EQ(destination("sip:bob@[2001:DB8::5]:5062"), (Destination{"2001:db8::5", 5062, TransportKind::Udp}));
}

TEST(DestinationFor, host_names_and_other_schemes_need_the_routing_module) {
  EXPECT_EQ(destination("sip:bob@example.com"), std::nullopt);
  EXPECT_EQ(destination("sips:bob@example.com:5061"), std::nullopt);
  EXPECT_EQ(destination("tel:+4930123456"), std::nullopt);
}

TEST(TransportNames, round_trip_case_insensitively) {
  EXPECT_EQ(transport_from_name("udp"), TransportKind::Udp);
  EXPECT_EQ(transport_from_name("TLS"), TransportKind::Tls);
  EXPECT_EQ(transport_from_name("Wss"), TransportKind::Wss);
  EXPECT_EQ(transport_from_name(""), std::nullopt);
  EXPECT_EQ(transport_name(TransportKind::Tcp), "TCP");
  EXPECT_EQ(transport_name(TransportKind::Sctp), "SCTP");
}

}  // namespace
}  // namespace sipbox::proxy
