// The media relay's reports (media/relay.h): RFC 3550 statistics per direction in the
// final reports, the codec from set_codec and from the packets, interval reports, the
// round trip from SR/RR through the relay, media timeout, shutdown, and IPv6 with
// IPv4/IPv6 interworking. Real loopback sockets; every wait is bounded.
#include <gtest/gtest.h>

#include <set>

#include "relay_fixture.h"

namespace sipbox::media {
namespace {

using namespace test;

const StreamReport* find_report(const std::vector<StreamReport>& reports, Side sender) {
  for (const auto& r : reports) {
    if (r.sender == sender) return &r;
  }
  return nullptr;
}

// end_later (the SIP workers' way): the call is gone at once; the final report, the
// call's end and the ports' return follow on the relay thread.
TEST(RelayReport, EndLaterReturnsAtOnceAndTheRestFollows) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(43200, 43203), recorder);  // one stream's worth
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "later"));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(7, 0, 0));
  ASSERT_TRUE(p.b_rtp.receive());
  relay->end_later("later", EndReason::hangup);
  EXPECT_FALSE(relay->has_call("later"));
  ASSERT_TRUE(recorder.wait([](const auto&, const auto& ended) { return !ended.empty(); }));
  const auto finals = recorder.finals("later");
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].stats.packets, 1u);
  // The range holds one stream: a new call gets its ports once they are back.
  bool allocated = false;
  for (int i = 0; i < 100 && !allocated; ++i) {
    allocated = static_cast<bool>(relay->allocate("next", 0, Side::offerer, "127.0.0.1"));
    if (!allocated) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(allocated);
}

TEST(RelayReport, FinalStatisticsCountKnownLoss) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(43000, 43099), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "loss"));
  ASSERT_TRUE(relay->set_codec("loss", 0, Side::offerer, CodecInfo{8, "PCMA", 8000, 20}));
  const std::set<std::uint16_t> missing{1010, 1020, 1021, 1050, 1077};
  unsigned sent = 0;
  for (std::uint16_t i = 0; i < 100; ++i) {
    const auto seq = static_cast<std::uint16_t>(1000 + i);
    if (missing.count(seq)) continue;
    p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(seq, 160u * i, 8));
    ++sent;
    if (i % 10 == 9) std::this_thread::sleep_for(2ms);  // stay clear of the socket buffers
  }
  for (unsigned i = 0; i < sent; ++i) ASSERT_TRUE(p.b_rtp.receive()) << "packet " << i;
  relay->end("loss", EndReason::hangup);
  const auto finals = recorder.finals("loss");
  ASSERT_EQ(finals.size(), 1u);  // B sent nothing: no report for its direction
  const StreamReport& r = finals[0];
  EXPECT_EQ(r.sender, Side::offerer);
  EXPECT_EQ(r.index, 0u);
  EXPECT_TRUE(r.final);
  EXPECT_EQ(r.end_reason, EndReason::hangup);
  EXPECT_EQ(r.from, p.a_rtp.endpoint());
  EXPECT_EQ(r.to, p.b_rtp.endpoint());
  EXPECT_EQ(r.codec.encoding_name, "PCMA");
  EXPECT_EQ(r.codec.payload_type, 8);
  EXPECT_EQ(r.stats.packets, 95u);
  EXPECT_EQ(r.stats.expected, 100u);
  EXPECT_EQ(r.stats.cumulative_lost, 5);
  EXPECT_EQ(r.stats.octets, 95u * 160);
  EXPECT_EQ(r.stats.clock_rate, 8000u);
  EXPECT_NEAR(r.stats.loss_percent(), 5.0, 1e-9);
  EXPECT_FALSE(r.round_trip_ms);
  const auto ended = recorder.ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0], (std::pair<std::string, EndReason>{"loss", EndReason::hangup}));
}

TEST(RelayReport, CodecFollowsTheStaticPayloadTypeSeen) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(43100, 43199), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "codec"));
  ASSERT_TRUE(relay->set_codec("codec", 0, Side::offerer, CodecInfo{0, "PCMU", 8000, 20}));
  ASSERT_TRUE(relay->set_codec("codec", 0, Side::answerer, CodecInfo{111, "opus", 48000, 20}));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(1, 0, 9));         // G.722 instead
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(2, 160, 101, 4));  // telephone-event: not a codec change
  p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(1, 0, 111, 80, 0xb));
  ASSERT_TRUE(p.b_rtp.receive() && p.b_rtp.receive() && p.a_rtp.receive());
  relay->end("codec", EndReason::hangup);
  const auto finals = recorder.finals("codec");
  ASSERT_EQ(finals.size(), 2u);
  const StreamReport* a = find_report(finals, Side::offerer);
  const StreamReport* b = find_report(finals, Side::answerer);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->codec.encoding_name, "G722");
  EXPECT_EQ(a->codec.payload_type, 9);
  EXPECT_EQ(b->codec.encoding_name, "opus");
  EXPECT_EQ(b->stats.clock_rate, 48000u);
}

TEST(RelayReport, IntervalReportsWhilePacketsFlow) {
  Recorder recorder;
  RelayOptions options = loopback_options(43200, 43299);
  options.report_interval = std::chrono::seconds(1);
  auto relay = start_relay(options, recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "interval"));
  for (std::uint16_t i = 0; i < 5; ++i) p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(i, 160u * i));
  EXPECT_TRUE(recorder.wait([](const auto& reports, const auto&) {
    for (const auto& r : reports) {
      if (!r.final && r.call_id == "interval" && r.sender == Side::offerer && r.stats.packets == 5) return true;
    }
    return false;
  }));
  const auto reports = recorder.reports();
  for (const auto& r : reports) EXPECT_EQ(r.sender, Side::offerer);  // B sent nothing
}

TEST(RelayReport, RoundTripFromSenderReportAndReceiverReport) {
  Recorder recorder;
  auto relay = start_relay(loopback_options(43300, 43399), recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "rtt"));
  p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(1, 0, 0, 160, 0xa));
  p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(1, 0, 0, 160, 0xb));
  ASSERT_TRUE(p.b_rtp.receive() && p.a_rtp.receive());
  // A's SR goes to B; B answers 50 ms later saying it held it 20 ms (DLSR): the round
  // trip relay ↔ B is about 30 ms plus what the loopback and the threads add.
  const std::uint64_t ntp = 0x12345678'9abc0000ull;
  p.a_rtcp.send_to("127.0.0.1", static_cast<std::uint16_t>(p.a_port + 1), rtcp_sr(0xa, ntp, 0, 1, 160));
  ASSERT_TRUE(p.b_rtcp.receive());
  std::this_thread::sleep_for(50ms);
  Block block;
  block.ssrc = 0xa;
  block.lsr = ntp_middle32(ntp);
  block.dlsr = 65536 * 20 / 1000;
  p.b_rtcp.send_to("127.0.0.1", static_cast<std::uint16_t>(p.b_port + 1), rtcp_rr(0xb, {block}));
  ASSERT_TRUE(p.a_rtcp.receive());
  relay->end("rtt", EndReason::hangup);
  const auto finals = recorder.finals("rtt");
  const StreamReport* from_b = find_report(finals, Side::answerer);
  const StreamReport* from_a = find_report(finals, Side::offerer);
  ASSERT_TRUE(from_b && from_a);
  ASSERT_TRUE(from_b->round_trip_ms);
  EXPECT_GE(*from_b->round_trip_ms, 29.0);
  EXPECT_LT(*from_b->round_trip_ms, 2000.0);  // generous: a loaded machine
  EXPECT_FALSE(from_a->round_trip_ms);        // A reported nothing
}

TEST(RelayReport, MediaTimeoutEndsTheCall) {
  Recorder recorder;
  RelayOptions options = loopback_options(43400, 43499);
  options.media_timeout = std::chrono::seconds(1);
  auto relay = start_relay(options, recorder);
  ASSERT_TRUE(relay);
  TwoParties p;
  ASSERT_TRUE(p.connect(*relay, "quiet"));
  // Not expecting media yet (no answer): no timeout for a ringing call.
  ASSERT_TRUE(relay->allocate("ringing", 0, Side::offerer, "127.0.0.2"));
  ASSERT_TRUE(relay->set_remote("ringing", 0, Side::offerer, {"127.0.0.2", 5000}, {}, false));
  // Nor for a call on hold by SDP direction (a=sendonly, no music on hold: silence).
  TwoParties on_hold;
  ASSERT_TRUE(on_hold.connect(*relay, "held"));
  ASSERT_TRUE(relay->set_held("held", 0, Side::answerer, true));
  for (std::uint16_t i = 0; i < 3; ++i) p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(i, 160u * i));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.b_rtp.receive());
  EXPECT_TRUE(recorder.wait([](const auto&, const auto& ended) { return !ended.empty(); }, 6000ms));
  const auto ended = recorder.ended();
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0], (std::pair<std::string, EndReason>{"quiet", EndReason::timeout}));
  EXPECT_FALSE(relay->has_call("quiet"));
  EXPECT_TRUE(relay->has_call("ringing"));
  EXPECT_TRUE(relay->has_call("held"));
  const auto finals = recorder.finals("quiet");
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].end_reason, EndReason::timeout);
  EXPECT_EQ(finals[0].stats.packets, 3u);
  EXPECT_EQ(relay->counters().timeouts, 1u);
  EXPECT_EQ(relay->counters().calls, 2u);
  relay->end("quiet", EndReason::hangup);  // already gone: ignored
  EXPECT_EQ(recorder.ended().size(), 1u);
}

TEST(RelayReport, ShutdownGivesFinalReports) {
  Recorder recorder;
  {
    auto relay = start_relay(loopback_options(43500, 43599), recorder);
    ASSERT_TRUE(relay);
    TwoParties p;
    ASSERT_TRUE(p.connect(*relay, "open"));
    p.a_rtp.send_to("127.0.0.1", p.a_port, rtp_packet(1, 0));
    p.b_rtp.send_to("127.0.0.1", p.b_port, rtp_packet(1, 0, 0, 160, 0xb));
    ASSERT_TRUE(p.b_rtp.receive() && p.a_rtp.receive());
  }
  const auto finals = recorder.finals("open");
  ASSERT_EQ(finals.size(), 2u);
  for (const auto& r : finals) {
    EXPECT_EQ(r.end_reason, EndReason::shutdown);
    EXPECT_EQ(r.stats.packets, 1u);
  }
  EXPECT_TRUE(recorder.ended().empty());  // the owner stopped the relay: no on_call_ended
}

TEST(RelayIpv6, ForwardsOnLoopback) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1";
  Recorder recorder;
  RelayOptions options = loopback_options(43600, 43699);
  options.bind_ipv6 = "::1";
  auto relay = start_relay(options, recorder);
  ASSERT_TRUE(relay);
  Party a("::1");
  Party b("::1");
  auto a_port = relay->allocate("v6", 0, Side::offerer, "::1");
  auto b_port = relay->allocate("v6", 0, Side::answerer, "[::1]");
  ASSERT_TRUE(a_port && b_port);
  ASSERT_TRUE(relay->set_remote("v6", 0, Side::offerer, a.endpoint(), {}, false));
  ASSERT_TRUE(relay->set_remote("v6", 0, Side::answerer, b.endpoint(), {}, false));
  a.send_to("::1", *a_port, rtp_packet(1, 0));
  auto at_b = b.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->from, (Endpoint{"::1", *b_port}));
  b.send_to("::1", *b_port, rtp_packet(2, 0));
  EXPECT_TRUE(a.receive());
  relay->end("v6", EndReason::hangup);
  const auto finals = recorder.finals("v6");
  ASSERT_EQ(finals.size(), 2u);
  EXPECT_EQ(find_report(finals, Side::offerer)->from, a.endpoint());
}

TEST(RelayIpv6, InterworksWithIpv4) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no ::1";
  Recorder recorder;
  RelayOptions options = loopback_options(43700, 43799);
  options.bind_ipv6 = "::1";
  auto relay = start_relay(options, recorder);
  ASSERT_TRUE(relay);
  Party a("127.0.0.2");  // the offerer on IPv4
  Party b("::1");        // the answerer on IPv6
  // The proxy asks for the answerer's port first (it goes in the offer to B): both sides
  // are bound on IPv6; asking for the offerer with an IPv4 address moves that side.
  auto b_port = relay->allocate("mixed", 0, Side::answerer, "::1");
  ASSERT_TRUE(b_port);
  auto a_port = relay->allocate("mixed", 0, Side::offerer, "127.0.0.2");
  ASSERT_TRUE(a_port);
  EXPECT_EQ(*relay->allocate("mixed", 0, Side::offerer, "127.0.0.2"), *a_port);
  EXPECT_EQ(*relay->allocate("mixed", 0, Side::answerer, "::1"), *b_port);
  EXPECT_FALSE(relay->set_remote("mixed", 0, Side::offerer, b.endpoint(), {}, false));  // wrong family for this side
  ASSERT_TRUE(relay->set_remote("mixed", 0, Side::offerer, a.endpoint(), {}, false));
  ASSERT_TRUE(relay->set_remote("mixed", 0, Side::answerer, b.endpoint(), {}, false));
  a.send_to("127.0.0.1", *a_port, rtp_packet(1, 0));
  auto at_b = b.receive();
  ASSERT_TRUE(at_b);
  EXPECT_EQ(at_b->from, (Endpoint{"::1", *b_port}));
  b.send_to("::1", *b_port, rtp_packet(2, 0, 0, 160, 0xb));
  auto at_a = a.receive();
  ASSERT_TRUE(at_a);
  EXPECT_EQ(at_a->from, (Endpoint{"127.0.0.1", *a_port}));
  relay->end("mixed", EndReason::hangup);
  EXPECT_EQ(relay->counters().ports_in_use, 0u);
  EXPECT_EQ(relay->counters().ports_free, 100u);
}

}  // namespace
}  // namespace sipbox::media
