// The media relay on real loopback sockets (media/relay.h): port pairs, forwarding both
// ways, symmetric latching (NAT), foreign sources, re-INVITE, hold, RTCP on RTP + 1 and
// with rtcp-mux (RFC 5761), control errors and counters. Every wait is bounded.
#include <gtest/gtest.h>

#include "relay_fixture.h"

namespace sipbox::media {
namespace {

using namespace test;

TEST(RelayStart, RefusesBadOptions) {
  Recorder recorder;
  RelayOptions options = loopback_options(40000, 40001);
  options.bind_ipv4 = "not-an-address";
  EXPECT_FALSE(MediaRelay::start(options, recorder));
  options = loopback_options(40001, 40002);  // no even port with its + 1 in range
  EXPECT_FALSE(MediaRelay::start(options, recorder));
  options = loopback_options(40010, 40000);
  EXPECT_FALSE(MediaRelay::start(options, recorder));
  options = loopback_options(40000, 40001);
  options.bind_ipv6 = "127.0.0.1";
  EXPECT_FALSE(MediaRelay::start(options, recorder));
}

TEST(RelayAllocate, EvenRtpPortsIdempotentExhaustionAndReuse) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42001, 42009), recorder);  // pairs 42002, 42004, 42006, 42008
  ASSERT_TRUE(relay);
  auto a = relay->allocate("c1", 0, Side::offerer, "127.0.0.2");
  auto b = relay->allocate("c1", 0, Side::answerer, "127.0.0.3");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a % 2, 0);
  EXPECT_EQ(*b % 2, 0);
  EXPECT_NE(*a, *b);
  EXPECT_GE(*a, 42002);
  EXPECT_LE(*a + 1, 42009);
  // RTP and RTCP are both bound by the relay.
  Party rtp_taken("127.0.0.1", *a);
  Party rtcp_taken("127.0.0.1", static_cast<std::uint16_t>(*a + 1));
  EXPECT_FALSE(rtp_taken.ok());
  EXPECT_FALSE(rtcp_taken.ok());
  // A re-INVITE gets the same ports.
  EXPECT_EQ(*relay->allocate("c1", 0, Side::offerer, "127.0.0.2"), *a);
  EXPECT_EQ(*relay->allocate("c1", 0, Side::answerer, "127.0.0.3"), *b);
  ASSERT_TRUE(relay->allocate("c2", 0, Side::offerer, "127.0.0.2"));
  EXPECT_EQ(relay->counters().ports_free, 0u);
  EXPECT_EQ(relay->counters().ports_in_use, 8u);
  // Four pairs are two streams: a third stream finds none.
  auto exhausted = relay->allocate("c3", 0, Side::offerer, "127.0.0.2");
  EXPECT_FALSE(exhausted);
  EXPECT_FALSE(relay->allocate("c1", 1, Side::offerer, "127.0.0.2"));
  EXPECT_EQ(relay->counters().allocation_failures, 2u);
  relay->end("c1", EndReason::hangup);
  EXPECT_FALSE(relay->has_call("c1"));
  EXPECT_EQ(relay->counters().ports_free, 4u);
  auto again = relay->allocate("c3", 0, Side::offerer, "127.0.0.2");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(relay->has_call("c3"));
}

TEST(RelayAllocate, SkipsPortsInUseByOthers) {
  Recorder recorder;
  Party squatter("127.0.0.1", 42102);  // someone else holds the first pair's RTP port
  ASSERT_TRUE(squatter.ok());
  auto relay = start_relay(loopback_options(42102, 42109), recorder);
  ASSERT_TRUE(relay);
  auto a = relay->allocate("c", 0, Side::offerer, "127.0.0.2");
  auto b = relay->allocate("c", 0, Side::answerer, "127.0.0.2");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, 42102);
  EXPECT_NE(*b, 42102);
}

TEST(RelayForward, BothWaysWithLatchingBehindNat) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42200, 42299), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "nat"));
  // A's NAT: its SDP named a_rtp, but it sends from another port.
  Party a_nat("127.0.0.2");
  a_nat.send_to("127.0.0.1", p.a_port, rtp_packet(1, 160));
  auto at_b = p.b_rtp.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->bytes, rtp_packet(1, 160));
  EXPECT_EQ(at_b->from, (Endpoint{"127.0.0.1", p.b_port}));  // B sees one peer: the relay's B side
  // B answers: the relay sends to where A's packets came from, not to A's SDP port.
  p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(7, 999, 0, 100, 0xbbbb));
  auto at_a = a_nat.receive();
  ASSERT_TRUE(at_a);
  EXPECT_EQ(at_a->bytes, rtp_packet(7, 999, 0, 100, 0xbbbb));
  EXPECT_EQ(at_a->from, (Endpoint{"127.0.0.1", p.a_port}));
  EXPECT_TRUE(p.a_rtp.silent());
  // Later packets keep flowing both ways.
  for (std::uint16_t i = 2; i < 6; ++i) a_nat.send_to("127.0.0.1", p.a_port, rtp_packet(i, 160 * i));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p.b_rtp.receive());
}

TEST(RelayForward, ForeignSourceDroppedAndReInviteRelatches) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42300, 42399), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "latch"));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(1, 0));
  ASSERT_TRUE(p.b_rtp.receive());
  // A third address on A's port is not A: dropped.
  const auto dropped_before = relay->counters().packets_dropped;
  Party intruder("127.0.0.4");
  intruder.send_to("127.0.0.1", p.a_port, rtp_packet(2, 160, 0, 160, 0xbad));
  EXPECT_TRUE(p.b_rtp.silent());
  EXPECT_GT(relay->counters().packets_dropped, dropped_before);
  // A re-INVITE moves A: latching starts again, the new source is taken.
  Party a_moved("127.0.0.5");
  ASSERT_TRUE(relay->set_remote("latch", 0, Side::offerer, a_moved.endpoint(), {"127.0.0.5", 0}, false));
  a_moved.send_to("127.0.0.1", p.a_port, rtp_packet(3, 320));
  auto at_b = p.b_rtp.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->bytes, rtp_packet(3, 320));
  p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(9, 0));
  EXPECT_TRUE(a_moved.receive());
  EXPECT_TRUE(p.a_rtp.silent(100ms));
  // The old address is now the foreign one.
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(4, 480));
  EXPECT_TRUE(p.b_rtp.silent());
}

TEST(RelayForward, HoldStopsSendingUntilResumed) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42400, 42499), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "hold"));
  // B puts the call on hold the RFC 2543 way (c=0.0.0.0), then with port 0.
  ASSERT_TRUE(relay->set_remote("hold", 0, Side::answerer, {"0.0.0.0", p.b_rtp.port()}, {}, false));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(1, 0));
  EXPECT_TRUE(p.b_rtp.silent());
  ASSERT_TRUE(relay->set_remote("hold", 0, Side::answerer, {"127.0.0.3", 0}, {}, false));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(2, 160));
  EXPECT_TRUE(p.b_rtp.silent());
  // Resumed.
  ASSERT_TRUE(relay->set_remote("hold", 0, Side::answerer, p.b_rtp.endpoint(), p.b_rtcp.endpoint(), false));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(3, 320));
  auto at_b = p.b_rtp.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->bytes, rtp_packet(3, 320));
}

TEST(RelayForward, Rfc3550RtcpOnRtpPlusOne) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42500, 42599), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "rtcp"));
  const Bytes sr = concat(rtcp_sr(0x1111, 0x0102030405060708ull, 160, 1, 160), rtcp_sdes(0x1111));
  p.a_rtcp.send_to("127.0.0.1", static_cast<std::uint16_t>(p.a_port + 1), sr);
  auto at_b = p.b_rtcp.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->bytes, sr);
  EXPECT_EQ(at_b->from, (Endpoint{"127.0.0.1", static_cast<std::uint16_t>(p.b_port + 1)}));
  const Bytes rr = rtcp_rr(0x2222, {Block{0x1111}});
  p.b_rtcp.send_to("127.0.0.1", static_cast<std::uint16_t>(p.b_port + 1), rr);
  auto at_a = p.a_rtcp.receive();
  ASSERT_TRUE(at_a);
  EXPECT_EQ(at_a->bytes, rr);
  EXPECT_TRUE(p.a_rtp.silent(100ms));
}

TEST(RelayForward, Rfc5761RtcpMuxOnOneSide) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42600, 42699), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "mux", /*a_mux=*/false, /*b_mux=*/true));
  // A (no mux) sends RTCP on + 1: B gets it on its one port, from the relay's RTP port.
  const Bytes sr = rtcp_sr(0x1111, 0x0102030405060708ull, 160, 1, 160);
  p.a_rtcp.send_to("127.0.0.1", static_cast<std::uint16_t>(p.a_port + 1), sr);
  auto at_b = p.b_rtp.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->bytes, sr);
  EXPECT_EQ(at_b->from, (Endpoint{"127.0.0.1", p.b_port}));
  // B muxes RTP and RTCP on its RTP port; the relay splits them for A.
  const Bytes rr = rtcp_rr(0x2222, {Block{0x1111}});
  p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(1, 0, 0, 160, 0x2222));
  p.b_rtp.send_to("127.0.0.1", p.b_port, rr);
  auto rtp_at_a = p.a_rtp.receive();
  auto rtcp_at_a = p.a_rtcp.receive();
  ASSERT_TRUE(rtp_at_a && rtcp_at_a);
  EXPECT_EQ(rtp_at_a->bytes, rtp_packet(1, 0, 0, 160, 0x2222));
  EXPECT_EQ(rtcp_at_a->bytes, rr);
  EXPECT_EQ(rtcp_at_a->from, (Endpoint{"127.0.0.1", static_cast<std::uint16_t>(p.a_port + 1)}));
}

TEST(RelayControl, ErrorsForUnknownStreamsAndForeignFamilies) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42700, 42799), recorder);
  ASSERT_TRUE(relay);
  EXPECT_FALSE(relay->set_remote("none", 0, Side::offerer, {"127.0.0.2", 4000}, {}, false));
  EXPECT_FALSE(relay->set_codec("none", 0, Side::offerer, CodecInfo{}));
  relay->end("none", EndReason::hangup);  // ignored
  EXPECT_TRUE(recorder.ended().empty());
  EXPECT_FALSE(relay->allocate("v6", 0, Side::offerer, "::1"));  // no bind_ipv6
  ASSERT_TRUE(relay->allocate("c", 0, Side::offerer, "127.0.0.2"));
  EXPECT_FALSE(relay->set_remote("c", 0, Side::offerer, {"::1", 4000}, {}, false));
  EXPECT_FALSE(relay->set_remote("c", 0, Side::offerer, {"host.example", 4000}, {}, false));
  EXPECT_FALSE(relay->set_remote("c", 1, Side::offerer, {"127.0.0.2", 4000}, {}, false));
  EXPECT_TRUE(relay->set_remote("c", 0, Side::offerer, {"127.0.0.2", 4000}, {}, false));
  relay->end("c", EndReason::cancelled);
  ASSERT_EQ(recorder.ended().size(), 1u);
  EXPECT_EQ(recorder.ended()[0], (std::pair<std::string, EndReason>{"c", EndReason::cancelled}));
}

TEST(RelayCounters, CallsStreamsPortsAndPackets) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(42800, 42899), recorder);
  ASSERT_TRUE(relay);
  EXPECT_EQ(relay->counters().ports_free, 100u);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "k1"));
  ASSERT_TRUE(relay->allocate("k1", 1, Side::offerer, "127.0.0.2"));  // a video stream
  ASSERT_TRUE(relay->allocate("k2", 0, Side::offerer, "127.0.0.2"));
  RelayCounters counters = relay->counters();
  EXPECT_EQ(counters.calls, 2u);
  EXPECT_EQ(counters.streams, 3u);
  EXPECT_EQ(counters.ports_in_use, 12u);
  EXPECT_EQ(counters.ports_free, 88u);
  for (std::uint16_t i = 0; i < 10; ++i) p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(i, 160u * i));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.b_rtp.receive());
  // The relay thread adds to its counters after sendmmsg returns: allow it a moment.
  for (int i = 0; i < 200 && relay->counters().packets_relayed < 10; ++i) std::this_thread::sleep_for(5ms);
  counters = relay->counters();
  EXPECT_EQ(counters.packets_relayed, 10u);
  EXPECT_EQ(counters.octets_relayed, 10u * 172);
  EXPECT_EQ(counters.packets_dropped, 0u);
  relay->end("k1", EndReason::hangup);
  relay->end("k2", EndReason::hangup);
  counters = relay->counters();
  EXPECT_EQ(counters.calls, 0u);
  EXPECT_EQ(counters.streams, 0u);
  EXPECT_EQ(counters.ports_in_use, 0u);
  EXPECT_EQ(counters.ports_free, 100u);
}

}  // namespace
}  // namespace sipbox::media
