// One relayed stream (one m= line of a call) as its relay thread sees it (internal to
// src/media): the two sides' sockets and remotes, symmetric latching, the forwarding
// decision per datagram, and the statistics per direction. Touched only by the thread
// that owns it; control calls reach it as commands on that thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "media/relay.h"
#include "media/relay_net.h"
#include "media/rtp_stats.h"

namespace sipbox::media::detail {

class Stream;

// What epoll hands back for a readable socket.
struct SocketRef {
  Stream* stream = nullptr;
  Side side = Side::offerer;
  bool rtcp = false;  // the RTCP port (RTP + 1)
  int fd = -1;
};

// Per-datagram outcome counters, summed by the thread into the relay's counters.
struct Tally {
  std::uint64_t dropped = 0;
};

// Where a datagram goes: from socket `fd` to `to`.
struct Route {
  int fd = -1;
  const SockAddr* to = nullptr;
};

class Stream {
 public:
  Stream(std::string call_id, unsigned index, std::uint64_t id, BoundPair offerer, BoundPair answerer,
         std::int64_t now_ns);
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  const std::string& call_id() const { return call_id_; }
  unsigned index() const { return index_; }
  std::uint64_t id() const { return id_; }
  SocketRef& socket(Side side, bool rtcp) { return rtcp ? sides_[at(side)].rtcp_ref : sides_[at(side)].rtp_ref; }

  // The packet path: accepts (latching) or drops a datagram received on `ref`, feeds the
  // statistics, and says where to forward it (nullopt: nowhere).
  std::optional<Route> on_datagram(const SocketRef& ref, std::span<const std::uint8_t> bytes, const SockAddr& from,
                                   std::int64_t now_ns, Tally& tally);

  // Control (from commands). Hold: rtp unspecified or port 0.
  void set_remote(Side side, const SockAddr& rtp, const SockAddr& rtcp, bool rtcp_mux, std::int64_t now_ns);
  void set_codec(Side sender, const CodecInfo& codec);
  void set_held(Side side, bool held, std::int64_t now_ns);  // hold by SDP direction
  // The side's new sockets (another family); returns the old ones to be closed.
  BoundPair replace_side(Side side, BoundPair pair);
  BoundPair release_side(Side side);

  // Media is expected: both sides have a remote and neither is on hold (by address or
  // by direction).
  bool expects_media() const;
  // The last packet accepted on either side, or the last set_remote.
  std::int64_t last_activity_ns() const { return last_activity_ns_; }
  bool has_packets(Side sender) const { return directions_[at(sender)].packets > 0; }
  // Packets since the last interval report (and marks them reported).
  bool take_new_packets(Side sender);
  // `reason` only with `final`.
  StreamReport report(Side sender, bool final, EndReason reason = EndReason::hangup) const;

 private:
  static constexpr std::size_t kSrMemory = 4;  // SRs remembered for LSR matching

  static constexpr std::size_t at(Side side) { return side == Side::offerer ? 0 : 1; }

  struct SideState {
    BoundPair pair;
    SocketRef rtp_ref;
    SocketRef rtcp_ref;
    SockAddr remote_rtp;   // from SDP, replaced by the latched source
    SockAddr remote_rtcp;  // idem (= remote_rtp with rtcp-mux)
    bool rtcp_mux = false;
    bool has_remote = false;  // set_remote was called
    bool hold = false;  // by address: nothing is sent to this side
    bool held = false;  // by direction: media may stop (no media timeout)
    bool latched_rtp = false;
    bool latched_rtcp = false;
  };

  // An SR that the relay forwarded: its NTP middle 32 bits and when it arrived.
  struct SrRecord {
    std::uint32_t ssrc = 0;
    std::uint32_t ntp_middle = 0;
    std::int64_t arrival_ns = 0;
  };

  struct Direction {  // the packets one side sends
    RtpStreamStats stats;
    std::uint64_t packets = 0;
    std::uint64_t reported_packets = 0;
    std::optional<CodecInfo> declared;  // set_codec
    CodecInfo codec;
    bool codec_known = false;
    std::optional<double> round_trip_ms;
    std::array<SrRecord, kSrMemory> srs{};
    std::size_t next_sr = 0;
  };

  void bind_refs(Side side);
  bool accept_source(SideState& side, bool rtcp_path, const SockAddr& from);
  void on_rtp(Side sender, std::span<const std::uint8_t> bytes, std::int64_t now_ns);
  void on_rtcp(Side sender, std::span<const std::uint8_t> bytes, std::int64_t now_ns);
  void use_payload_type(Direction& direction, std::uint8_t payload_type);

  std::string call_id_;
  unsigned index_;
  std::uint64_t id_;
  std::array<SideState, 2> sides_;
  std::array<Direction, 2> directions_;
  std::int64_t last_activity_ns_;
};

// RFC 3551 6 static payload types that name a codec (not CN, not unassigned).
std::optional<CodecInfo> static_codec(std::uint8_t payload_type);

}  // namespace sipbox::media::detail
