// RTP header (RFC 3550 5.1) and RTCP SR/RR (6.4) parsing, malformed packets refused with
// their reason, and the LSR/DLSR round trip (6.4.1, A.8).
#include <gtest/gtest.h>

#include "media/media.h"
#include "packet_builder.h"

namespace sipbox::media {
namespace {

using test::Bytes;

TEST(RtpHeader, Rfc3550_5_1_FixedHeader) {
  Bytes b = test::rtp_packet(0xabcd, 0x01020304, 8, 160, 0xdeadbeef);
  b[1] |= 0x80;  // marker
  RtpHeader h;
  ASSERT_EQ(parse_rtp(b, h), PacketError::None);
  EXPECT_TRUE(h.marker);
  EXPECT_FALSE(h.padding);
  EXPECT_FALSE(h.extension);
  EXPECT_EQ(h.payload_type, 8);
  EXPECT_EQ(h.sequence, 0xabcd);
  EXPECT_EQ(h.timestamp, 0x01020304u);
  EXPECT_EQ(h.ssrc, 0xdeadbeefu);
  EXPECT_EQ(h.csrc_count, 0);
  EXPECT_EQ(h.payload.size(), 160u);
  EXPECT_EQ(h.payload.data(), b.data() + 12);
}

TEST(RtpHeader, Rfc3550_5_1_CsrcExtensionAndPadding) {
  Bytes b{0xb2, 0x00};  // V=2, P=1, X=1, CC=2
  test::put16(b, 7);
  test::put32(b, 160);
  test::put32(b, 1);
  test::put32(b, 0xaaaa0001);  // CSRC 1
  test::put32(b, 0xaaaa0002);  // CSRC 2
  test::put16(b, 0xbede);      // RFC 8285 one-byte header extension profile
  test::put16(b, 1);           // one 32-bit word
  test::put32(b, 0x10ff0000);
  b.insert(b.end(), {1, 2, 3, 4, 5});  // payload
  b.insert(b.end(), {0, 0, 3});        // 3 octets of padding, count last
  RtpHeader h;
  ASSERT_EQ(parse_rtp(b, h), PacketError::None);
  EXPECT_EQ(h.csrc_count, 2);
  EXPECT_EQ(h.csrc[0], 0xaaaa0001u);
  EXPECT_EQ(h.csrc[1], 0xaaaa0002u);
  EXPECT_EQ(h.extension_profile, 0xbede);
  EXPECT_EQ(h.extension_data.size(), 4u);
  EXPECT_EQ(h.padding_size, 3);
  ASSERT_EQ(h.payload.size(), 5u);
  EXPECT_EQ(h.payload[0], 1);
  EXPECT_EQ(h.payload[4], 5);
}

TEST(RtpHeader, MalformedPacketsAreRefusedWithAReason) {
  RtpHeader h;
  const Bytes good = test::rtp_packet(1, 160);
  EXPECT_EQ(parse_rtp(std::span(good).first(11), h), PacketError::TooShort);

  Bytes v1 = good;
  v1[0] = 0x40;
  EXPECT_EQ(parse_rtp(v1, h), PacketError::BadVersion);

  Bytes csrc = test::rtp_packet(1, 160, 0, 8);
  csrc[0] = 0x83;  // three CSRCs need 12 octets, 8 remain
  EXPECT_EQ(parse_rtp(csrc, h), PacketError::CsrcTruncated);

  Bytes ext = test::rtp_packet(1, 160, 0, 0);
  ext[0] |= 0x10;
  EXPECT_EQ(parse_rtp(ext, h), PacketError::ExtensionTruncated);  // no room for its header
  test::put16(ext, 0xbede);
  test::put16(ext, 2);  // claims 8 octets, 4 follow
  test::put32(ext, 0);
  EXPECT_EQ(parse_rtp(ext, h), PacketError::ExtensionTruncated);

  Bytes pad = test::rtp_packet(1, 160, 0, 4);
  pad[0] |= 0x20;
  pad.back() = 0;
  EXPECT_EQ(parse_rtp(pad, h), PacketError::BadPadding);
  pad.back() = 5;  // more than the 4 payload octets
  EXPECT_EQ(parse_rtp(pad, h), PacketError::BadPadding);
  pad.back() = 4;  // padding may take the whole payload
  EXPECT_EQ(parse_rtp(pad, h), PacketError::None);
  EXPECT_TRUE(h.payload.empty());

  Bytes rtcp = test::rtp_packet(1, 160, 72);
  rtcp[1] |= 0x80;  // 0xc8 = 200, an SR on a muxed port
  EXPECT_EQ(parse_rtp(rtcp, h), PacketError::RtcpPacketType);
  EXPECT_TRUE(looks_like_rtcp(rtcp));
  EXPECT_FALSE(looks_like_rtcp(good));
  EXPECT_EQ(describe(PacketError::BadPadding), "padding count is 0 or larger than the payload");
}

TEST(Rtcp, Rfc3550_6_4_1_SenderReportWithSdes) {
  const std::uint64_t ntp = 0x83aa7e80'80000000ull;
  const Bytes b = test::concat(
      test::rtcp_sr(0x5555, ntp, 8000, 50, 8000, {{0x11223344, 12, 34, 0x1'0005, 77, 0x7e808000, 65536}}),
      test::rtcp_sdes(0x5555));
  RtcpReport r;
  ASSERT_EQ(parse_rtcp(b, r), PacketError::None);
  EXPECT_EQ(r.packet_count, 2u);
  EXPECT_TRUE(r.has_sender_info);
  EXPECT_EQ(r.sender_ssrc, 0x5555u);
  EXPECT_EQ(r.ntp_timestamp, ntp);
  EXPECT_EQ(r.rtp_timestamp, 8000u);
  EXPECT_EQ(r.sender_packet_count, 50u);
  EXPECT_EQ(r.sender_octet_count, 8000u);
  ASSERT_EQ(r.block_count, 1u);
  EXPECT_EQ(r.blocks[0].ssrc, 0x11223344u);
  EXPECT_EQ(r.blocks[0].fraction_lost, 12);
  EXPECT_EQ(r.blocks[0].cumulative_lost, 34);
  EXPECT_EQ(r.blocks[0].extended_highest_sequence, 0x10005u);
  EXPECT_EQ(r.blocks[0].jitter, 77u);
  EXPECT_EQ(r.blocks[0].lsr, 0x7e808000u);
  EXPECT_EQ(r.blocks[0].dlsr, 65536u);
  EXPECT_EQ(ntp_middle32(ntp), 0x7e808000u);
}

TEST(Rtcp, ReceiverReportBlocksAndNegativeCumulativeLoss) {
  const Bytes b = test::rtcp_rr(0x77, {{1, 0, -3, 100, 5, 0, 0}, {2, 255, 0x7fffff, 200, 6, 9, 10}});
  RtcpReport r;
  ASSERT_EQ(parse_rtcp(b, r), PacketError::None);
  EXPECT_FALSE(r.has_sender_info);
  EXPECT_EQ(r.sender_ssrc, 0x77u);
  ASSERT_EQ(r.block_count, 2u);
  EXPECT_EQ(r.blocks[0].cumulative_lost, -3);  // duplicates make it negative (6.4.1)
  EXPECT_EQ(r.blocks[1].cumulative_lost, 0x7fffff);
  EXPECT_EQ(r.blocks[1].fraction_lost, 255);
}

TEST(Rtcp, MalformedCompoundsAreRefused) {
  RtcpReport r;
  const Bytes rr = test::rtcp_rr(1, {{}});
  EXPECT_EQ(parse_rtcp(std::span(rr).first(3), r), PacketError::TooShort);
  EXPECT_EQ(parse_rtcp(std::span(rr).first(rr.size() - 4), r), PacketError::RtcpLengthOverrun);

  Bytes v = rr;
  v[0] = (v[0] & 0x3f) | 0x40;
  EXPECT_EQ(parse_rtcp(v, r), PacketError::BadVersion);

  Bytes type = rr;
  type[1] = 100;
  EXPECT_EQ(parse_rtcp(type, r), PacketError::NotRtcp);

  Bytes count = rr;
  count[0] = 0x82;  // two blocks claimed, one present (length still consistent)
  EXPECT_EQ(parse_rtcp(count, r), PacketError::ReportsTruncated);

  Bytes padded_first = test::concat(rr, test::rtcp_sdes(1));
  padded_first[0] |= 0x20;
  EXPECT_EQ(parse_rtcp(padded_first, r), PacketError::RtcpPaddingNotLast);

  Bytes trailing = test::concat(rr, Bytes{0x80, 0xc9});  // 2 stray octets
  EXPECT_EQ(parse_rtcp(trailing, r), PacketError::TooShort);

  Bytes short_sr = test::rtcp_rr(1, {});
  short_sr[1] = 200;  // an SR with no room for sender info
  EXPECT_EQ(parse_rtcp(short_sr, r), PacketError::TooShort);
}

TEST(Rtcp, Rfc3550_6_4_1_RoundTripFromLsrAndDlsr) {
  // The sender's SR leaves at t0; the receiver holds it 0.5 s, its RR comes back at
  // t0 + 0.6 s: 100 ms of network round trip.
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  const std::uint32_t lsr = ntp_middle32(ntp_from_unix_ns(t0));
  const std::uint32_t dlsr = 65536 / 2;
  const Bytes b = test::rtcp_rr(0x99, {{0x11223344, 0, 0, 0, 0, lsr, dlsr}});
  RtcpReport r;
  ASSERT_EQ(parse_rtcp(b, r), PacketError::None);
  const std::uint32_t arrival = ntp_middle32(ntp_from_unix_ns(t0 + 600'000'000));
  const auto rtt = round_trip_ms(arrival, r.blocks[0].lsr, r.blocks[0].dlsr);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_NEAR(*rtt, 100, 0.05);  // 1/65536 s resolution

  // RFC 3550 6.4.1's own example: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000
  // give 0x0006:2000 = 6.125 s.
  EXPECT_NEAR(*round_trip_ms(0xb7108000, 0xb7052000, 0x00054000), 6125, 1e-9);
  EXPECT_FALSE(round_trip_ms(arrival, 0, 0).has_value());          // no SR seen yet
  EXPECT_FALSE(round_trip_ms(lsr + 10, lsr, 20).has_value());      // DLSR beyond arrival
  EXPECT_NEAR(*round_trip_ms(5, 0xfffffff0, 0), 21 * 1000.0 / 65536, 1e-9);  // wraps
}

}  // namespace
}  // namespace sipbox::media
