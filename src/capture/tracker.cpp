#include <algorithm>
#include <cmath>

#include "capture/tracker_internal.h"

namespace sipbox::capture {
namespace {

using media::Side;

constexpr std::int64_t kSecondNs = 1'000'000'000;

// Payload types that share the stream's sequence space but say nothing of the voice codec.
bool is_auxiliary(std::string_view encoding) {
  const auto equals = [&](std::string_view name) {
    return encoding.size() == name.size() && std::equal(encoding.begin(), encoding.end(), name.begin(),
                                                        [](char a, char b) { return (a | 0x20) == (b | 0x20); });
  };
  return equals("telephone-event") || equals("CN") || equals("red") || equals("ulpfec");
}

const sip::SdpRtpmap* find_format(const PartyMedia& party, unsigned payload_type) {
  for (const auto& f : party.formats)
    if (f.payload_type == payload_type) return &f;
  return nullptr;
}

}  // namespace

media::Endpoint to_endpoint(const UdpEndpoint& endpoint) { return {endpoint.address.text(), endpoint.port}; }

CallTracker::CallTracker(const TrackerOptions& options, media::RelayObserver& observer)
    : impl_(std::make_unique<Impl>(options, observer)) {}

CallTracker::~CallTracker() = default;

TrackerCounters CallTracker::counters() const { return impl_->counters; }

void CallTracker::on_datagram(const UdpDatagram& datagram, std::int64_t time_ns) {
  Impl& s = *impl_;
  s.last_time_ns = std::max(s.last_time_ns, time_ns);
  if (s.last_tick_ns == 0) s.last_tick_ns = time_ns;
  if (const auto it = s.endpoints.find(datagram.destination); it != s.endpoints.end()) {
    s.on_media(it->second, datagram, time_ns);
  } else if (!datagram.payload.empty() && datagram.payload[0] >= 'A' && datagram.payload[0] <= 'Z') {
    // A SIP start line begins with a method or "SIP/2.0"; anything else is not SIP.
    if (!s.on_sip(datagram.payload, time_ns)) ++s.counters.other_datagrams;
  } else {
    ++s.counters.other_datagrams;
  }
  if (time_ns - s.last_tick_ns >= kSecondNs) s.tick(time_ns);
}

void CallTracker::tick(std::int64_t now_ns) { impl_->tick(now_ns); }

void CallTracker::end_all(media::EndReason reason) {
  std::vector<std::string> ids;
  for (const auto& [id, call] : impl_->calls) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) impl_->end_call(id, reason, impl_->last_time_ns);
}

void CallTracker::Impl::on_media(const Target& target, const UdpDatagram& datagram, std::int64_t time_ns) {
  Call& call = *target.call;
  Stream& stream = *call.streams[target.index];
  const Side sender = media::other(target.receiver);
  call.last_activity_ns = std::max(call.last_activity_ns, time_ns);
  // RFC 5761 4: on a shared port the second octet tells RTCP from RTP.
  const bool rtcp = target.rtcp && (!target.rtp || media::looks_like_rtcp(datagram.payload));
  if (rtcp) {
    on_rtcp(stream, sender, datagram.payload, time_ns);
  } else {
    on_rtp(stream, sender, datagram, time_ns);
  }
}

void CallTracker::Impl::on_rtp(Stream& stream, Side sender, const UdpDatagram& datagram, std::int64_t time_ns) {
  media::RtpHeader header;
  if (media::parse_rtp(datagram.payload, header) != media::PacketError::None) {
    ++counters.media_errors;
    return;
  }
  ++counters.rtp_packets;
  Direction& d = stream.directions[side_index(sender)];
  // The codec of the payload type, as the sender's SDP maps it, else the receiver's.
  if (!d.codec_from_packets || header.payload_type != d.codec.payload_type) {
    const sip::SdpRtpmap* format = find_format(stream.parties[side_index(sender)], header.payload_type);
    if (format == nullptr) format = find_format(stream.parties[side_index(media::other(sender))], header.payload_type);
    if (format == nullptr || !is_auxiliary(format->encoding)) {
      d.codec.payload_type = header.payload_type;
      d.codec.encoding_name = format != nullptr ? format->encoding : std::string();
      d.codec.clock_rate = format != nullptr && format->clock_rate != 0 ? format->clock_rate : 8000;
      d.codec_from_packets = true;
      if (d.stats) d.stats->set_clock_rate(d.codec.clock_rate);
    }
  }
  if (!d.stats) d.stats.emplace(d.codec.clock_rate);
  media::RtpPacketInfo info;
  info.sequence = header.sequence;
  info.timestamp = header.timestamp;
  info.arrival_ns = time_ns;
  info.payload_type = header.payload_type;
  info.size = static_cast<std::uint32_t>(header.payload.size());
  d.stats->on_packet(info);
  d.from = to_endpoint(datagram.source);
  d.to = to_endpoint(datagram.destination);
  if (d.last_report_ns == 0) d.last_report_ns = time_ns;
}

void CallTracker::Impl::on_rtcp(Stream& stream, Side sender, std::span<const std::uint8_t> payload,
                                std::int64_t time_ns) {
  media::RtcpReport rtcp;
  if (media::parse_rtcp(payload, rtcp) != media::PacketError::None) {
    ++counters.media_errors;
    return;
  }
  ++counters.rtcp_packets;
  Direction& own = stream.directions[side_index(sender)];
  if (rtcp.has_sender_info) {
    own.sender_reports[own.next_sender_report++ % own.sender_reports.size()] = {media::ntp_middle32(rtcp.ntp_timestamp),
                                                                                time_ns};
  }
  // RFC 3550 6.4.1: a block's LSR names an SR of the other party. The time between that
  // SR and this report passing the probe, less DLSR, is the round trip between the
  // probe and the sender of this report; both times are the probe's own clock, so the
  // parties' clocks need not agree.
  const Direction& other = stream.directions[side_index(media::other(sender))];
  for (std::size_t i = 0; i < rtcp.block_count; ++i) {
    const media::ReportBlock& block = rtcp.blocks[i];
    if (block.lsr == 0) continue;
    for (const auto& [lsr, seen_ns] : other.sender_reports) {
      if (seen_ns == 0 || lsr != block.lsr || seen_ns > time_ns) continue;
      const auto elapsed = static_cast<double>(time_ns - seen_ns) * 65536.0 / 1e9;
      const auto arrival = block.lsr + static_cast<std::uint32_t>(std::llround(elapsed));
      if (auto rtt = media::round_trip_ms(arrival, block.lsr, block.dlsr)) own.round_trip_ms = rtt;
      break;
    }
  }
}

void CallTracker::Impl::report(const Call& call, unsigned index, Stream& stream, Side sender, bool final,
                               std::int64_t now_ns) {
  Direction& d = stream.directions[side_index(sender)];
  if (!d.stats) return;
  media::StreamReport r;
  r.call_id = call.call_id;
  r.index = index;
  r.sender = sender;
  r.from = d.from;
  r.to = d.to;
  r.codec = d.codec;
  r.stats = d.stats->snapshot();
  r.round_trip_ms = d.round_trip_ms;
  r.final = final;
  d.packets_reported = r.stats.packets;
  d.last_report_ns = now_ns;
  ++counters.reports;
  observer.on_report(r);
}

void CallTracker::Impl::tick(std::int64_t now_ns) {
  last_tick_ns = now_ns;
  last_time_ns = std::max(last_time_ns, now_ns);
  const std::int64_t timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(options.media_timeout).count();
  const std::int64_t interval = std::chrono::duration_cast<std::chrono::nanoseconds>(options.report_interval).count();
  std::vector<std::string> idle;
  for (auto& [id, call] : calls) {
    if (timeout > 0 && now_ns - call->last_activity_ns >= timeout) {
      idle.push_back(id);
      continue;
    }
    if (interval <= 0) continue;
    for (unsigned i = 0; i < call->streams.size(); ++i) {
      Stream* stream = call->streams[i].get();
      if (stream == nullptr) continue;
      for (Side side : {Side::offerer, Side::answerer}) {
        const Direction& d = stream->directions[side_index(side)];
        if (d.stats && d.stats->snapshot().packets > d.packets_reported && now_ns - d.last_report_ns >= interval)
          report(*call, i, *stream, side, false, now_ns);
      }
    }
  }
  std::sort(idle.begin(), idle.end());
  for (const std::string& id : idle) end_call(id, media::EndReason::timeout, now_ns);
}

void CallTracker::Impl::end_call(const std::string& call_id, media::EndReason reason, std::int64_t now_ns) {
  const auto it = calls.find(call_id);
  if (it == calls.end()) return;
  std::unique_ptr<Call> call = std::move(it->second);
  calls.erase(it);
  for (unsigned i = 0; i < call->streams.size(); ++i) {
    Stream* stream = call->streams[i].get();
    if (stream == nullptr) continue;
    for (Side side : {Side::offerer, Side::answerer}) {
      const PartyMedia& party = stream->parties[side_index(side)];
      if (party.receiving) {
        remove_endpoint(party.rtp, *call, i, side);
        remove_endpoint(party.rtcp, *call, i, side);
      }
      report(*call, i, *stream, side, true, now_ns);
    }
    --counters.streams_active;
  }
  --counters.calls_active;
  ++counters.calls_ended;
  observer.on_call_ended(call->call_id, reason);
}

void CallTracker::Impl::add_endpoint(const UdpEndpoint& endpoint, const Target& target) {
  Target& slot = endpoints[endpoint];
  const bool same = slot.call == target.call && slot.index == target.index && slot.receiver == target.receiver;
  if (!same) slot = Target{target.call, target.index, target.receiver, false, false};
  slot.rtp = slot.rtp || target.rtp;
  slot.rtcp = slot.rtcp || target.rtcp;
}

void CallTracker::Impl::remove_endpoint(const UdpEndpoint& endpoint, const Call& call, unsigned index, Side side) {
  const auto it = endpoints.find(endpoint);
  // Another call may have taken the endpoint since (a port reused): leave it to that one.
  if (it != endpoints.end() && it->second.call == &call && it->second.index == index && it->second.receiver == side)
    endpoints.erase(it);
}

}  // namespace sipbox::capture
