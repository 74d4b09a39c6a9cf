// CallTracker's state, shared by tracker.cpp (media, reports, timeouts) and
// tracker_sip.cpp (SIP and SDP). Internal to the capture module.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/tracker.h"
#include "media/rtp_packet.h"
#include "media/rtp_stats.h"
#include "sip/sip.h"

namespace sipbox::capture {

constexpr std::size_t side_index(media::Side side) { return side == media::Side::offerer ? 0 : 1; }

// What one party's SDP says about one stream.
struct PartyMedia {
  bool receiving = false;  // false on hold (0.0.0.0), before its SDP, or a disabled stream
  UdpEndpoint rtp;
  UdpEndpoint rtcp;
  std::vector<sip::SdpRtpmap> formats;  // in m= line order
  double ptime_ms = 20;
};

// One direction of a stream: what `sender` sends.
struct Direction {
  std::optional<media::RtpStreamStats> stats;  // from the first packet
  media::CodecInfo codec;
  bool codec_from_packets = false;
  media::Endpoint from;
  media::Endpoint to;
  std::uint64_t packets_reported = 0;
  std::int64_t last_report_ns = 0;
  std::optional<double> round_trip_ms;
  // The last sender reports this sender sent: NTP middle 32 bits and capture time, for
  // the LSR of the other party's report blocks.
  std::array<std::pair<std::uint32_t, std::int64_t>, 8> sender_reports{};
  std::size_t next_sender_report = 0;
};

struct Stream {
  bool offerer_is_caller = true;        // which party first described it
  std::array<PartyMedia, 2> parties;    // by Side
  std::array<Direction, 2> directions;  // by sending Side
};

struct Call {
  std::string call_id;
  std::string caller_tag;  // From tag of the first message seen: tells the parties apart
  bool established = false;
  std::uint32_t invite_cseq = 0;
  std::int64_t last_activity_ns = 0;
  std::vector<std::unique_ptr<Stream>> streams;  // by m= index; null for non-RTP lines
};

// Where a tracked endpoint belongs: the party that receives there.
struct Target {
  Call* call = nullptr;
  unsigned index = 0;
  media::Side receiver = media::Side::offerer;
  bool rtp = false;
  bool rtcp = false;
};

struct CallTracker::Impl {
  Impl(const TrackerOptions& o, media::RelayObserver& obs) : options(o), observer(obs) {}

  // tracker_sip.cpp
  bool on_sip(std::span<const std::uint8_t> payload, std::int64_t time_ns);
  void apply_sdp(Call& call, bool party_is_caller, const sip::SessionDescription& sdp);
  void set_party(Call& call, unsigned index, media::Side side, PartyMedia media);

  // tracker.cpp
  void on_media(const Target& target, const UdpDatagram& datagram, std::int64_t time_ns);
  void on_rtp(Stream& stream, media::Side sender, const UdpDatagram& datagram, std::int64_t time_ns);
  void on_rtcp(Stream& stream, media::Side sender, std::span<const std::uint8_t> payload, std::int64_t time_ns);
  void report(const Call& call, unsigned index, Stream& stream, media::Side sender, bool final, std::int64_t now_ns);
  void end_call(const std::string& call_id, media::EndReason reason, std::int64_t now_ns);
  void tick(std::int64_t now_ns);
  void add_endpoint(const UdpEndpoint& endpoint, const Target& target);
  void remove_endpoint(const UdpEndpoint& endpoint, const Call& call, unsigned index, media::Side side);

  TrackerOptions options;
  media::RelayObserver& observer;
  TrackerCounters counters;
  std::unordered_map<std::string, std::unique_ptr<Call>> calls;
  std::unordered_map<UdpEndpoint, Target, UdpEndpointHash> endpoints;
  std::int64_t last_tick_ns = 0;
  std::int64_t last_time_ns = 0;
};

media::Endpoint to_endpoint(const UdpEndpoint& endpoint);

}  // namespace sipbox::capture
