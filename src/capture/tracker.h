// The calls a mirror port shows: SIP over UDP tells which media endpoints belong to
// which call, stream and side; RTP and RTCP sent to those endpoints feed the same
// per-direction statistics the relay keeps, and the same StreamReports come out
// (media/relay.h), so sipboxd records passive and relayed streams alike.
//
// Offer/answer (RFC 3264): an SDP in an INVITE, re-INVITE, UPDATE, PRACK or ACK, or in a
// 18x/2xx response, says where its sender receives each m= line's RTP (c=/m=) and RTCP
// (a=rtcp, RTP + 1, or the RTP port with rtcp-mux). A packet sent to one party's
// endpoint was sent by the other party. Sides: the party whose SDP first described a
// stream is its `offerer` (the caller, unless the INVITE had no SDP); the party a
// message comes from is told by the From tag of the call's first INVITE.
//
// Time is the capture's (packet timestamps, Unix ns), so a capture file replays the way
// it was recorded. Not thread-safe: one capture thread owns a tracker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "capture/decoder.h"
#include "media/relay.h"

namespace sipbox::capture {

struct TrackerOptions {
  // A call with no packet (SIP or media) this long ends with reason `timeout`; so does
  // one whose streams all fell silent this long.
  std::chrono::seconds media_timeout{60};
  std::chrono::seconds report_interval{0};  // 0: final reports only
  std::size_t max_calls = 100000;           // more are not tracked (counted)
};

struct TrackerCounters {
  std::uint64_t sip_messages = 0;  // parsed SIP messages
  std::uint64_t sip_errors = 0;    // datagrams that looked like SIP but did not parse
  std::uint64_t sdp_errors = 0;    // SIP bodies that were not valid SDP
  std::uint64_t calls_seen = 0;    // calls with at least one SDP
  std::uint64_t calls_active = 0;
  std::uint64_t calls_ended = 0;
  std::uint64_t calls_not_tracked = 0;  // over max_calls
  std::uint64_t streams_active = 0;
  std::uint64_t rtp_packets = 0;      // RTP packets matched to a tracked endpoint
  std::uint64_t rtcp_packets = 0;     // RTCP packets matched to a tracked endpoint
  std::uint64_t media_errors = 0;     // matched datagrams that were not valid RTP/RTCP
  std::uint64_t other_datagrams = 0;  // neither SIP nor tracked media
  std::uint64_t reports = 0;          // StreamReports delivered (interim and final)
};

class CallTracker {
 public:
  CallTracker(const TrackerOptions& options, media::RelayObserver& observer);
  ~CallTracker();
  CallTracker(const CallTracker&) = delete;
  CallTracker& operator=(const CallTracker&) = delete;

  // One UDP datagram captured at `time_ns` (Unix ns).
  void on_datagram(const UdpDatagram& datagram, std::int64_t time_ns);
  // Time passing without packets: interval reports and timeouts (also done from
  // on_datagram, at most once a second).
  void tick(std::int64_t now_ns);
  // Ends every call with `reason`: final reports, then on_call_ended.
  void end_all(media::EndReason reason);

  TrackerCounters counters() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::capture
