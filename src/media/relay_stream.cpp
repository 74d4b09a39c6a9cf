// One relayed stream: latching, forwarding decisions and statistics (relay_stream.h).
#include "media/relay_stream.h"

#include <utility>

#include "media/rtp_packet.h"

namespace sipbox::media::detail {

std::optional<CodecInfo> static_codec(std::uint8_t payload_type) {
  // RFC 3551 6, the audio and video types that name a codec; CN (13) is left out: comfort
  // noise between talk spurts does not change the codec of a stream.
  struct Entry {
    std::uint8_t payload_type;
    const char* name;
    std::uint32_t clock_rate;
  };
  static constexpr Entry kTable[] = {
      {0, "PCMU", 8000},   {3, "GSM", 8000},    {4, "G723", 8000},   {5, "DVI4", 8000},   {6, "DVI4", 16000},
      {7, "LPC", 8000},    {8, "PCMA", 8000},   {9, "G722", 8000},   {10, "L16", 44100},  {11, "L16", 44100},
      {12, "QCELP", 8000}, {14, "MPA", 90000},  {15, "G728", 8000},  {16, "DVI4", 11025}, {17, "DVI4", 22050},
      {18, "G729", 8000},  {25, "CelB", 90000}, {26, "JPEG", 90000}, {28, "nv", 90000},   {31, "H261", 90000},
      {32, "MPV", 90000},  {33, "MP2T", 90000}, {34, "H263", 90000},
  };
  for (const Entry& entry : kTable) {
    if (entry.payload_type == payload_type) {
      CodecInfo codec;
      codec.payload_type = payload_type;
      codec.encoding_name = entry.name;
      codec.clock_rate = entry.clock_rate;
      return codec;
    }
  }
  return std::nullopt;
}

Stream::Stream(std::string call_id, unsigned index, std::uint64_t id, BoundPair offerer, BoundPair answerer,
               std::int64_t now_ns)
    : call_id_(std::move(call_id)), index_(index), id_(id), last_activity_ns_(now_ns) {
  sides_[0].pair = std::move(offerer);
  sides_[1].pair = std::move(answerer);
  bind_refs(Side::offerer);
  bind_refs(Side::answerer);
}

void Stream::bind_refs(Side side) {
  SideState& state = sides_[at(side)];
  state.rtp_ref = {this, side, false, state.pair.rtp.get()};
  state.rtcp_ref = {this, side, true, state.pair.rtcp.get()};
}

bool Stream::accept_source(SideState& side, bool rtcp_socket, const SockAddr& from) {
  bool& latched = rtcp_socket ? side.latched_rtcp : side.latched_rtp;
  SockAddr& remote = rtcp_socket ? side.remote_rtcp : side.remote_rtp;
  if (latched) return remote == from;
  // Symmetric latching: the party's real address is where its first packet came from
  // (it may be behind a NAT that rewrote the address its SDP named).
  remote = from;
  latched = true;
  return true;
}

std::optional<Route> Stream::on_datagram(const SocketRef& ref, std::span<const std::uint8_t> bytes,
                                         const SockAddr& from, std::int64_t now_ns, Tally& tally) {
  SideState& in = sides_[at(ref.side)];
  if (!accept_source(in, ref.rtcp, from)) {
    ++tally.dropped;
    return std::nullopt;
  }
  last_activity_ns_ = now_ns;
  // RFC 5761 4: RTCP may arrive on the RTP port (rtcp-mux, or a party that muxes anyway).
  const bool is_rtcp = ref.rtcp || looks_like_rtcp(bytes);
  if (is_rtcp) {
    on_rtcp(ref.side, bytes, now_ns);
  } else {
    on_rtp(ref.side, bytes, now_ns);
  }

  const SideState& out = sides_[at(other(ref.side))];
  Route route;
  if (!is_rtcp || out.rtcp_mux) {
    route = {out.pair.rtp.get(), &out.remote_rtp};
  } else {
    route = {out.pair.rtcp.get(), &out.remote_rtcp};
  }
  if (out.hold || route.to->empty() || route.to->unspecified() || route.to->port() == 0 ||
      route.to->family() != out.pair.family) {
    ++tally.dropped;
    return std::nullopt;
  }
  return route;
}

void Stream::on_rtp(Side sender, std::span<const std::uint8_t> bytes, std::int64_t now_ns) {
  RtpHeader header;
  if (parse_rtp(bytes, header) != PacketError::None) return;  // STUN, DTLS, garbage: forwarded, not counted
  Direction& direction = directions_[at(sender)];
  if (!direction.codec_known || header.payload_type != direction.codec.payload_type) {
    use_payload_type(direction, header.payload_type);
  }
  RtpPacketInfo info;
  info.sequence = header.sequence;
  info.timestamp = header.timestamp;
  info.arrival_ns = now_ns;
  info.payload_type = header.payload_type;
  info.size = static_cast<std::uint32_t>(header.payload.size());
  direction.stats.on_packet(info);
  ++direction.packets;
}

void Stream::use_payload_type(Direction& direction, std::uint8_t payload_type) {
  std::optional<CodecInfo> codec;
  if (direction.declared && direction.declared->payload_type == payload_type) {
    codec = direction.declared;
  } else if (auto known = static_codec(payload_type)) {
    codec = std::move(known);
  } else if (!direction.codec_known) {
    codec = CodecInfo{};
    codec->payload_type = payload_type;
  } else {
    return;  // a dynamic type SDP did not name first (telephone-event, ...): same codec
  }
  if (codec->clock_rate != direction.codec.clock_rate || !direction.codec_known) {
    direction.stats.set_clock_rate(codec->clock_rate);
  }
  direction.codec = std::move(*codec);
  direction.codec_known = true;
}

void Stream::on_rtcp(Side sender, std::span<const std::uint8_t> bytes, std::int64_t now_ns) {
  RtcpReport report;
  if (parse_rtcp(bytes, report) != PacketError::None) return;
  Direction& direction = directions_[at(sender)];
  if (report.has_sender_info) {
    direction.srs[direction.next_sr] = {report.sender_ssrc, ntp_middle32(report.ntp_timestamp), now_ns};
    direction.next_sr = (direction.next_sr + 1) % kSrMemory;
  }
  // The relay sends no SR of its own, so RFC 3550 6.4.1's arrival - LSR - DLSR is taken
  // with the relay's clock at both ends: the SR of the other party, forwarded to this
  // one, arrived at `arrival_ns`; this party's block answers it after DLSR. What remains
  // is the round trip relay → this party → relay (see relay.h).
  const Direction& forwarded = directions_[at(other(sender))];
  for (std::size_t i = 0; i < report.block_count; ++i) {
    const ReportBlock& block = report.blocks[i];
    if (block.lsr == 0) continue;
    for (const SrRecord& sr : forwarded.srs) {
      if (sr.arrival_ns == 0 || sr.ssrc != block.ssrc || sr.ntp_middle != block.lsr) continue;
      const std::int64_t elapsed_ns = now_ns - sr.arrival_ns;
      if (elapsed_ns < 0) continue;
      const auto elapsed = static_cast<std::uint32_t>(static_cast<double>(elapsed_ns) * 65536.0 / 1e9);
      if (auto rtt = round_trip_ms(block.lsr + elapsed, block.lsr, block.dlsr)) direction.round_trip_ms = rtt;
    }
  }
}

void Stream::set_remote(Side side, const SockAddr& rtp, const SockAddr& rtcp, bool rtcp_mux, std::int64_t now_ns) {
  SideState& state = sides_[at(side)];
  state.remote_rtp = rtp;
  state.remote_rtcp = rtcp_mux ? rtp : rtcp;
  state.rtcp_mux = rtcp_mux;
  state.has_remote = true;
  state.hold = rtp.unspecified() || rtp.port() == 0;
  state.latched_rtp = false;  // a re-INVITE restarts latching
  state.latched_rtcp = false;
  last_activity_ns_ = now_ns;
}

void Stream::set_codec(Side sender, const CodecInfo& codec) {
  Direction& direction = directions_[at(sender)];
  if (!direction.codec_known || codec.clock_rate != direction.codec.clock_rate) {
    direction.stats.set_clock_rate(codec.clock_rate);
  }
  direction.declared = codec;
  direction.codec = codec;
  direction.codec_known = true;
}

BoundPair Stream::replace_side(Side side, BoundPair pair) {
  SideState& state = sides_[at(side)];
  BoundPair old = std::exchange(state.pair, std::move(pair));
  // An address of the old family is no use on the new sockets.
  state.remote_rtp = {};
  state.remote_rtcp = {};
  state.has_remote = false;
  state.hold = false;
  state.latched_rtp = false;
  state.latched_rtcp = false;
  bind_refs(side);
  return old;
}

BoundPair Stream::release_side(Side side) {
  SideState& state = sides_[at(side)];
  BoundPair old = std::exchange(state.pair, BoundPair{});
  bind_refs(side);
  return old;
}

void Stream::set_held(Side side, bool held, std::int64_t now_ns) {
  sides_[at(side)].held = held;
  last_activity_ns_ = now_ns;
}

bool Stream::expects_media() const {
  for (const SideState& side : sides_) {
    if (!side.has_remote || side.hold || side.held) return false;
  }
  return true;
}

bool Stream::take_new_packets(Side sender) {
  Direction& direction = directions_[at(sender)];
  if (direction.packets == direction.reported_packets) return false;
  direction.reported_packets = direction.packets;
  return true;
}

StreamReport Stream::report(Side sender, bool final, EndReason reason) const {
  const Direction& direction = directions_[at(sender)];
  StreamReport report;
  report.call_id = call_id_;
  report.index = index_;
  report.sender = sender;
  report.from = to_endpoint(sides_[at(sender)].remote_rtp);
  report.to = to_endpoint(sides_[at(other(sender))].remote_rtp);
  report.codec = direction.codec;
  report.stats = direction.stats.snapshot();
  report.round_trip_ms = direction.round_trip_ms;
  report.final = final;
  report.end_reason = reason;
  return report;
}

}  // namespace sipbox::media::detail
