// CallTracker fed datagrams directly: offer/answer variants, ends, timeouts, interval
// reports, RTCP multiplexing, re-INVITE and hold.
#include <gtest/gtest.h>

#include "scenario.h"

namespace sipbox::capture::test {
namespace {

using media::EndReason;
using media::Side;

void feed(CallTracker& tracker, const std::vector<Datagram>& datagrams) {
  for (const Datagram& d : datagrams) {
    UdpDatagram u{d.from, d.to, d.payload};
    tracker.on_datagram(u, d.time_ns);
  }
}

void send(CallTracker& tracker, const UdpEndpoint& from, const UdpEndpoint& to, const std::string& text,
          std::int64_t t) {
  feed(tracker, {{from, to, text_bytes(text), kT0 + t}});
}

void rtp_burst(CallTracker& tracker, const UdpEndpoint& from, const UdpEndpoint& to, int count, std::int64_t start,
               std::uint16_t first_seq = 1) {
  for (int i = 0; i < count; ++i)
    feed(tracker,
         {{from, to, rtp(0, static_cast<std::uint16_t>(first_seq + i), 160u * i, 1), kT0 + start + i * 20 * kMs}});
}

TEST(CallTracker, late_offer_in_200_makes_the_callee_the_offerer) {
  RecordingObserver observer;
  CallTracker tracker({}, observer);
  CallScript s;
  send(tracker, s.a.sip, s.b.sip, sip_message("INVITE", s.a, s.b, s.call_id, 1, "", 0, false), 0);
  send(tracker, s.b.sip, s.a.sip, sip_message("INVITE", s.a, s.b, s.call_id, 1, sdp_of(s.b), 200), 10 * kMs);
  send(tracker, s.a.sip, s.b.sip, sip_message("ACK", s.a, s.b, s.call_id, 1, sdp_of(s.a)), 20 * kMs);
  rtp_burst(tracker, s.a.rtp, s.b.rtp, 5, 30 * kMs);
  send(tracker, s.b.sip, s.a.sip, sip_message("BYE", s.a, s.b, s.call_id, 1, "", 0, true, true), 500 * kMs);
  ASSERT_EQ(observer.reports.size(), 1u);
  EXPECT_EQ(observer.reports[0].sender, Side::answerer);  // A answered B's offer
  EXPECT_EQ(observer.reports[0].stats.packets, 5u);
  ASSERT_EQ(observer.ended.size(), 1u);
  EXPECT_EQ(observer.ended[0].second, EndReason::hangup);
}

TEST(CallTracker, cancel_and_failure_end_the_call_with_their_reasons) {
  RecordingObserver observer;
  CallTracker tracker({}, observer);
  CallScript s;
  send(tracker, s.a.sip, s.b.sip, sip_message("INVITE", s.a, s.b, "c1", 1, sdp_of(s.a), 0, false), 0);
  send(tracker, s.a.sip, s.b.sip, sip_message("CANCEL", s.a, s.b, "c1", 1, "", 0, false), 10 * kMs);
  send(tracker, s.a.sip, s.b.sip, sip_message("INVITE", s.a, s.b, "c2", 1, sdp_of(s.a), 0, false), 20 * kMs);
  send(tracker, s.b.sip, s.a.sip, sip_message("INVITE", s.a, s.b, "c2", 1, sdp_of(s.b), 183), 30 * kMs);
  rtp_burst(tracker, s.b.rtp, s.a.rtp, 3, 40 * kMs);  // early media
  send(tracker, s.b.sip, s.a.sip, sip_message("INVITE", s.a, s.b, "c2", 1, "", 486), 200 * kMs);
  ASSERT_EQ(observer.ended.size(), 2u);
  EXPECT_EQ(observer.ended[0], (std::pair<std::string, EndReason>{"c1", EndReason::cancelled}));
  EXPECT_EQ(observer.ended[1], (std::pair<std::string, EndReason>{"c2", EndReason::failed}));
  ASSERT_EQ(observer.reports.size(), 1u);  // only directions that carried packets
  EXPECT_EQ(observer.reports[0].call_id, "c2");
  EXPECT_EQ(observer.reports[0].sender, Side::answerer);
  EXPECT_EQ(tracker.counters().calls_active, 0u);
  EXPECT_EQ(tracker.counters().streams_active, 0u);
}

TEST(CallTracker, silent_calls_time_out_and_interval_reports_come_while_media_flows) {
  RecordingObserver observer;
  TrackerOptions options;
  options.media_timeout = std::chrono::seconds(5);
  options.report_interval = std::chrono::seconds(1);
  CallTracker tracker(options, observer);
  CallScript s;
  s.bye = false;
  feed(tracker, call_datagrams(s));  // media from 0.1 s to 2.1 s
  std::size_t interim = 0;
  for (const auto& r : observer.reports) interim += r.final ? 0 : 1;
  EXPECT_GE(interim, 2u);
  EXPECT_TRUE(observer.ended.empty());
  tracker.tick(kT0 + 6 * 1000 * kMs);
  EXPECT_TRUE(observer.ended.empty());  // 5 s after the last packet (2.08 s) is 7.08 s
  tracker.tick(kT0 + 7100 * kMs);
  ASSERT_EQ(observer.ended.size(), 1u);
  EXPECT_EQ(observer.ended[0].second, EndReason::timeout);
  ASSERT_NE(observer.final_report(Side::offerer), nullptr);
  EXPECT_EQ(observer.final_report(Side::offerer)->stats.packets, 97u);
}

TEST(CallTracker, rtcp_mux_reinvite_and_hold) {
  RecordingObserver observer;
  CallTracker tracker({}, observer);
  CallScript s;
  send(tracker, s.a.sip, s.b.sip,
       sip_message("INVITE", s.a, s.b, s.call_id, 1, sdp_of(s.a, "a=rtcp-mux\r\n"), 0, false), 0);
  send(tracker, s.b.sip, s.a.sip, sip_message("INVITE", s.a, s.b, s.call_id, 1, sdp_of(s.b, "a=rtcp-mux\r\n"), 200),
       10 * kMs);
  rtp_burst(tracker, s.a.rtp, s.b.rtp, 10, 20 * kMs);
  // RTCP on the RTP port (RFC 5761): not counted as RTP.
  feed(tracker, {{s.a.rtp, s.b.rtp, rtcp_sr(1, 42, 0), kT0 + 300 * kMs}});
  EXPECT_EQ(tracker.counters().rtcp_packets, 1u);
  EXPECT_EQ(tracker.counters().rtp_packets, 10u);
  // B moves to another port (re-INVITE from B); packets to the old one are not the call's.
  Party b2 = party("192.0.2.20", 52000);
  send(tracker, s.b.sip, s.a.sip,
       sip_message("INVITE", s.a, s.b, s.call_id, 7, sdp_of(b2, "a=rtcp-mux\r\n"), 0, true, true), 400 * kMs);
  rtp_burst(tracker, s.a.rtp, s.b.rtp, 3, 420 * kMs, 11);
  rtp_burst(tracker, s.a.rtp, b2.rtp, 5, 500 * kMs, 11);
  EXPECT_EQ(tracker.counters().rtp_packets, 15u);
  // A puts the call on hold (c=0.0.0.0): nothing to A is tracked.
  Party held = s.a;
  held.address = "0.0.0.0";
  send(tracker, s.a.sip, s.b.sip, sip_message("INVITE", held, s.b, s.call_id, 2, sdp_of(held)), 700 * kMs);
  rtp_burst(tracker, s.b.rtp, s.a.rtp, 4, 720 * kMs);
  EXPECT_EQ(tracker.counters().rtp_packets, 15u);
  tracker.end_all(EndReason::shutdown);
  ASSERT_EQ(observer.ended.size(), 1u);
  EXPECT_EQ(observer.ended[0].second, EndReason::shutdown);
  ASSERT_NE(observer.final_report(Side::offerer), nullptr);
  EXPECT_EQ(observer.final_report(Side::offerer)->stats.packets, 15u);
  EXPECT_EQ(observer.final_report(Side::offerer)->to, (media::Endpoint{"192.0.2.20", 52000}));
}

TEST(CallTracker, unparsable_sip_and_bad_sdp_are_counted) {
  RecordingObserver observer;
  CallTracker tracker({}, observer);
  CallScript s;
  send(tracker, s.a.sip, s.b.sip, "INVITE nonsense\r\n\r\n", 0);
  send(tracker, s.a.sip, s.b.sip, sip_message("INVITE", s.a, s.b, "x", 1, "v=1\r\nbogus\r\n", 0, false), kMs);
  const auto c = tracker.counters();
  EXPECT_EQ(c.sip_errors, 1u);
  EXPECT_EQ(c.sdp_errors, 1u);
  EXPECT_EQ(c.sip_messages, 1u);
  EXPECT_EQ(c.calls_active, 0u);
}

}  // namespace
}  // namespace sipbox::capture::test
