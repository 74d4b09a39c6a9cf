// PassiveMonitor::run_file over capture files the test writes with libpcap: the known
// call under every link layer, over IPv4 and IPv6, gives the expected reports.
#include <gtest/gtest.h>
#include <unistd.h>

#include "../temp_dir.h"
#include "scenario.h"

namespace sipbox::capture::test {
namespace {

using media::Side;
using test_support::TempDir;

struct Variant {
  Link link;
  bool v6;
};

std::string name_of(const testing::TestParamInfo<Variant>& info) {
  static const char* const names[] = {"ethernet", "vlan", "qinq", "sll", "sll2", "raw", "null"};
  return std::string(names[static_cast<int>(info.param.link)]) + (info.param.v6 ? "_ipv6" : "_ipv4");
}

// What the same packets give fed straight into RtpStreamStats.
media::RtpStreamSnapshot expected_stats(const std::vector<Datagram>& datagrams, const UdpEndpoint& to) {
  media::RtpStreamStats stats(8000);
  for (const Datagram& d : datagrams) {
    if (!(d.to == to)) continue;
    media::RtpHeader h;
    if (media::parse_rtp(d.payload, h) != media::PacketError::None) continue;
    stats.on_packet({h.sequence, h.timestamp, d.time_ns, h.payload_type, static_cast<std::uint32_t>(h.payload.size())});
  }
  return stats.snapshot();
}

class CaptureFileTest : public testing::TestWithParam<Variant> {};

TEST_P(CaptureFileTest, known_call_gives_loss_jitter_codec_sides_and_round_trip) {
  const Variant v = GetParam();
  CallScript script;
  if (v.v6) {
    script.a = party("2001:db8::10", 40000);
    script.b = party("2001:db8::20", 50000);
  }
  const auto datagrams = call_datagrams(script);
  TempDir dir;
  const auto path = dir.path() / "call.pcap";
  {
    PcapWriter writer(path, dlt_of(v.link));
    ASSERT_TRUE(writer.ok());
    for (const Datagram& d : datagrams) writer.add(frame(v.link, udp_packet(d.from, d.to, d.payload)), d.time_ns);
  }
  RecordingObserver observer;
  auto stats = PassiveMonitor::run_file(path.string(), {}, observer);
  ASSERT_TRUE(stats) << stats.error().message;

  EXPECT_EQ(stats->decoder.frames, datagrams.size());
  EXPECT_EQ(stats->decoder.udp, datagrams.size());
  EXPECT_EQ(stats->tracker.sip_messages, 6u);
  EXPECT_EQ(stats->tracker.rtp_packets, 97u + 99u);
  EXPECT_EQ(stats->tracker.rtcp_packets, 2u);
  EXPECT_EQ(stats->tracker.other_datagrams, 1u);
  EXPECT_EQ(stats->tracker.calls_ended, 1u);
  EXPECT_EQ(stats->tracker.calls_active, 0u);
  ASSERT_EQ(observer.ended.size(), 1u);
  EXPECT_EQ(observer.ended[0].first, script.call_id);
  EXPECT_EQ(observer.ended[0].second, media::EndReason::hangup);
  ASSERT_EQ(observer.reports.size(), 2u);

  const media::StreamReport* ab = observer.final_report(Side::offerer);
  ASSERT_NE(ab, nullptr);
  EXPECT_EQ(ab->call_id, script.call_id);
  EXPECT_EQ(ab->from, (media::Endpoint{script.a.address, 40000}));
  EXPECT_EQ(ab->to, (media::Endpoint{script.b.address, 50000}));
  EXPECT_EQ(ab->codec.encoding_name, "PCMU");  // the telephone-event packet does not change it
  EXPECT_EQ(ab->codec.payload_type, 0);
  EXPECT_EQ(ab->codec.clock_rate, 8000u);
  EXPECT_EQ(ab->codec.ptime_ms, 20);
  EXPECT_EQ(ab->stats.packets, 97u);
  EXPECT_EQ(ab->stats.expected, 100u);
  EXPECT_EQ(ab->stats.cumulative_lost, 3);
  EXPECT_EQ(ab->stats.pattern.burst_count, 2u);  // {10, 11} and {50}
  EXPECT_EQ(ab->stats.pattern.max_burst, 2u);
  EXPECT_DOUBLE_EQ(ab->stats.jitter_ms, 0);
  EXPECT_FALSE(ab->round_trip_ms.has_value());  // A sent no receiver report

  const media::StreamReport* ba = observer.final_report(Side::answerer);
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->from, (media::Endpoint{script.b.address, 50000}));
  EXPECT_EQ(ba->to, (media::Endpoint{script.a.address, 40000}));
  EXPECT_EQ(ba->stats.packets, 99u);
  EXPECT_EQ(ba->stats.cumulative_lost, 1);
  const auto expected = expected_stats(datagrams, script.a.rtp);
  EXPECT_GT(expected.jitter_ms, 1.0);  // every other packet 4 ms late
  EXPECT_DOUBLE_EQ(ba->stats.jitter_ms, expected.jitter_ms);
  EXPECT_DOUBLE_EQ(ba->stats.max_jitter_ms, expected.max_jitter_ms);
  ASSERT_TRUE(ba->round_trip_ms.has_value());
  EXPECT_NEAR(*ba->round_trip_ms, 100.0, 0.1);
  EXPECT_TRUE(ba->final);
}

INSTANTIATE_TEST_SUITE_P(Links, CaptureFileTest,
                         testing::Values(Variant{Link::ethernet, false}, Variant{Link::vlan, false},
                                         Variant{Link::qinq, false}, Variant{Link::sll, false},
                                         Variant{Link::sll2, false}, Variant{Link::raw, false},
                                         Variant{Link::null, false}, Variant{Link::ethernet, true},
                                         Variant{Link::vlan, true}, Variant{Link::sll, true}, Variant{Link::sll2, true},
                                         Variant{Link::raw, true}, Variant{Link::null, true}),
                         name_of);

TEST(CaptureFile, garbage_frames_and_cut_packets_are_counted_not_fatal) {
  TempDir dir;
  const auto path = dir.path() / "garbage.pcap";
  CallScript script;
  script.packets = 10;
  script.a_missing = {};
  script.b_missing = {};
  const auto datagrams = call_datagrams(script);
  std::size_t frames = 0;
  {
    PcapWriter writer(path, DLT_EN10MB);
    std::uint32_t seed = 7;
    for (int i = 0; i < 500; ++i) {  // random octets of random lengths
      Bytes junk(seed % 200);
      for (auto& octet : junk) octet = static_cast<std::uint8_t>((seed = seed * 1103515245 + 12345) >> 16);
      writer.add(junk, kT0 + i);
      ++frames;
    }
    for (const Datagram& d : datagrams) {  // every datagram twice: cut short, then whole
      const Bytes f = frame(Link::ethernet, udp_packet(d.from, d.to, d.payload));
      writer.add(f, d.time_ns, f.size() / 2);
      writer.add(f, d.time_ns);
      frames += 2;
    }
  }
  RecordingObserver observer;
  auto stats = PassiveMonitor::run_file(path.string(), {}, observer);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->decoder.frames, frames);
  EXPECT_GE(stats->decoder.truncated, datagrams.size());
  EXPECT_EQ(stats->tracker.calls_ended, 1u);
  const media::StreamReport* ab = observer.final_report(Side::offerer);
  ASSERT_NE(ab, nullptr);
  EXPECT_EQ(ab->stats.packets, 10u);
  EXPECT_EQ(ab->stats.cumulative_lost, 0);
}

TEST(CaptureFile, missing_file_and_unsupported_link_are_errors) {
  RecordingObserver observer;
  auto missing = PassiveMonitor::run_file("/nonexistent/x.pcap", {}, observer);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/x.pcap"), std::string::npos);
  TempDir dir;
  const auto path = dir.path() / "ppp.pcap";
  { PcapWriter writer(path, DLT_PPP); }
  auto unsupported = PassiveMonitor::run_file(path.string(), {}, observer);
  ASSERT_FALSE(unsupported);
  EXPECT_NE(unsupported.error().message.find("unsupported link type"), std::string::npos);
}

TEST(PassiveMonitor, live_capture_on_a_missing_interface_is_an_error) {
  RecordingObserver observer;
  auto monitor = PassiveMonitor::start("nosuchif0", {}, observer);
  ASSERT_FALSE(monitor);
  EXPECT_NE(monitor.error().message.find("nosuchif0"), std::string::npos);
}

}  // namespace
}  // namespace sipbox::capture::test
