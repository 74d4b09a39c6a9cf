// address_text writes what boost's to_string() writes, for every IPv4 digit count and for
// IPv6 (scoped and IPv4-mapped too).
#include <gtest/gtest.h>

#include "transport/transport.h"

namespace sipbox::transport::test {
namespace {

TEST(AddressText, IsWhatToStringWrites) {
  for (const char* text : {"0.0.0.0", "255.255.255.255", "127.0.0.1", "10.20.30.40", "192.168.100.200", "1.22.133.4",
                           "::", "::1", "2001:db8::10", "fe80::1%1", "::ffff:192.0.2.1"}) {
    const auto address = boost::asio::ip::make_address(text);
    EXPECT_EQ(address_text(address), address.to_string()) << text;
  }
}

TEST(AddressText, EveryOctetValue) {
  for (unsigned v = 0; v < 256; ++v) {
    const auto b = static_cast<unsigned char>(v);
    const boost::asio::ip::address address(boost::asio::ip::address_v4({b, 0, b, 9}));
    ASSERT_EQ(address_text(address), address.to_string());
  }
}

}  // namespace
}  // namespace sipbox::transport::test
