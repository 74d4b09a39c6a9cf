// PacketDecoder: every link layer, VLAN tags, IPv6 extension headers, fragments, TCP,
// and every truncation of a valid frame.
#include <gtest/gtest.h>

#include "frames.h"

namespace sipbox::capture::test {
namespace {

const UdpEndpoint kA{*IpAddress::parse("192.0.2.1"), 5060};
const UdpEndpoint kB{*IpAddress::parse("198.51.100.2"), 5080};
const UdpEndpoint kA6{*IpAddress::parse("2001:db8::1"), 4000};
const UdpEndpoint kB6{*IpAddress::parse("[2001:db8::2]"), 4002};

LinkType link_type(Link link) {
  switch (link) {
    case Link::sll:
      return LinkType::linux_sll;
    case Link::sll2:
      return LinkType::linux_sll2;
    case Link::raw:
      return LinkType::raw;
    case Link::null:
      return LinkType::null;
    default:
      return LinkType::ethernet;
  }
}

TEST(IpAddress, parses_and_prints_both_families) {
  EXPECT_EQ(kA.address.text(), "192.0.2.1");
  EXPECT_EQ(kB6.address.text(), "2001:db8::2");
  EXPECT_TRUE(kB6.address.v6);
  EXPECT_FALSE(IpAddress::parse("example.com"));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1')));
}

TEST(PacketDecoder, every_link_layer_gives_the_datagram) {
  const Bytes payload = text_bytes("hello");
  for (Link link : {Link::ethernet, Link::vlan, Link::qinq, Link::sll, Link::sll2, Link::raw, Link::null}) {
    for (bool v6 : {false, true}) {
      PacketDecoder decoder(link_type(link));
      UdpDatagram out;
      const Bytes f = frame(link, v6 ? udp_packet(kA6, kB6, payload) : udp_packet(kA, kB, payload));
      ASSERT_EQ(decoder.decode(f, out), Decoded::udp) << static_cast<int>(link) << " v6 " << v6;
      EXPECT_EQ(out.source, v6 ? kA6 : kA);
      EXPECT_EQ(out.destination, v6 ? kB6 : kB);
      EXPECT_EQ(Bytes(out.payload.begin(), out.payload.end()), payload);  // Ethernet padding dropped
      // Every cut of the frame is refused without reading past it.
      for (std::size_t size = 0; size < f.size(); ++size) {
        Bytes cut(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(size));
        const Decoded d = decoder.decode(cut, out);
        if (d == Decoded::udp) {
          // Only Ethernet padding may go.
          EXPECT_TRUE(link == Link::ethernet || link == Link::vlan) << size;
        }
      }
    }
  }
}

TEST(PacketDecoder, ipv6_extension_headers_are_skipped_and_fragments_counted) {
  Bytes ip = udp_packet(kA6, kB6, text_bytes("x"));
  // Insert a hop-by-hop header (8 octets) and a destination options header before UDP.
  Bytes ext{60, 0, 1, 4, 0, 0, 0, 0,   // hop-by-hop: next = destination options, PadN
            17, 0, 1, 4, 0, 0, 0, 0};  // destination options: next = UDP
  ip[6] = 0;
  ip.insert(ip.begin() + 40, ext.begin(), ext.end());
  ip[5] = static_cast<std::uint8_t>(ip[5] + 16);
  PacketDecoder decoder(LinkType::raw);
  UdpDatagram out;
  ASSERT_EQ(decoder.decode(ip, out), Decoded::udp);
  EXPECT_EQ(out.destination, kB6);

  Bytes fragment = udp_packet(kA6, kB6, text_bytes("x"));
  Bytes frag{17, 0, 0, 1, 0, 0, 0, 9};  // offset 0, more fragments
  fragment[6] = 44;
  fragment.insert(fragment.begin() + 40, frag.begin(), frag.end());
  fragment[5] = static_cast<std::uint8_t>(fragment[5] + 8);
  EXPECT_EQ(decoder.decode(fragment, out), Decoded::fragment);
  fragment[43] = 0;  // atomic fragment: a whole datagram
  EXPECT_EQ(decoder.decode(fragment, out), Decoded::udp);

  Bytes v4 = udp_packet(kA, kB, text_bytes("x"));
  v4[6] = 0x20;  // more fragments
  EXPECT_EQ(decoder.decode(v4, out), Decoded::fragment);
  v4[6] = 0x40;  // don't fragment: whole
  EXPECT_EQ(decoder.decode(v4, out), Decoded::udp);
  v4[9] = 6;  // TCP
  EXPECT_EQ(decoder.decode(v4, out), Decoded::not_udp);
  EXPECT_EQ(decoder.counters().fragments, 2u);
  EXPECT_EQ(decoder.counters().not_udp, 1u);
  EXPECT_EQ(decoder.counters().udp, 3u);
  EXPECT_EQ(decoder.counters().frames, 6u);
}

TEST(PacketDecoder, odd_frames_are_classified) {
  PacketDecoder ethernet(LinkType::ethernet);
  UdpDatagram out;
  Bytes arp = frame(Link::ethernet, udp_packet(kA, kB, {}));
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(ethernet.decode(arp, out), Decoded::not_udp);
  Bytes tags(14, 0);
  for (int i = 0; i < 12; ++i) tags.insert(tags.end(), {0x81, 0, 0, 1});  // endless VLAN tags
  tags[12] = 0x81;
  tags[13] = 0;
  EXPECT_NE(ethernet.decode(tags, out), Decoded::udp);
  PacketDecoder raw(LinkType::raw);
  EXPECT_EQ(raw.decode(Bytes{0x50, 0, 0}, out), Decoded::unsupported);
  EXPECT_EQ(raw.decode(Bytes{}, out), Decoded::truncated);
  Bytes short_udp = udp_packet(kA, kB, text_bytes("abc"));
  short_udp[25] = 4;  // UDP length below its header
  EXPECT_EQ(raw.decode(short_udp, out), Decoded::unsupported);
  PacketDecoder null(LinkType::null);
  EXPECT_EQ(null.decode(Bytes{0, 0, 0, 99, 0x45}, out), Decoded::unsupported);
  Bytes loop = frame(Link::null, udp_packet(kA, kB, text_bytes("x")));
  loop[0] = 0;
  loop[3] = 2;  // DLT_LOOP: network byte order
  EXPECT_EQ(null.decode(loop, out), Decoded::udp);
}

}  // namespace
}  // namespace sipbox::capture::test
