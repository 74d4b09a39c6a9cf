// SIP over UDP as the mirror port shows it: calls, their offer/answer exchanges and ends.
#include <charconv>
#include <string_view>

#include "capture/tracker_internal.h"

namespace sipbox::capture {
namespace {

using media::Side;
using sip::Method;

bool carries_sdp(const sip::Message& message) {
  if (message.body().empty()) return false;
  const sip::HeaderField* type = message.header(sip::HeaderId::ContentType);
  if (type == nullptr) return false;
  const auto media_type = sip::parse_media_type(type->value);
  // Multipart bodies (SDP beside ISUP or a session-info part) are not looked into.
  return media_type && media_type->is("application", "sdp");
}

// RFC 3264: offers and answers travel in these requests and in their 18x/2xx answers.
bool offer_answer_method(Method method) {
  return method == Method::Invite || method == Method::Update || method == Method::Prack || method == Method::Ack;
}

bool unspecified(const IpAddress& address) {
  for (std::uint8_t octet : address.octets)
    if (octet != 0) return false;
  return true;
}

// One party's description of one m= line; nullopt when the stream is disabled (port 0).
std::optional<PartyMedia> party_media(const sip::SessionDescription& sdp, const sip::SdpMedia& m) {
  if (m.port == 0) return std::nullopt;
  PartyMedia party;
  for (const std::string& format : m.formats) {
    unsigned pt = 0;
    const auto [end, ec] = std::from_chars(format.data(), format.data() + format.size(), pt);
    if (ec != std::errc() || end != format.data() + format.size() || pt > 127) continue;
    if (auto map = m.rtpmap(pt)) party.formats.push_back(std::move(*map));
  }
  party.ptime_ms = m.ptime().value_or(20);
  const sip::SdpConnection* connection = sdp.connection_for(m);
  const auto address = connection != nullptr ? IpAddress::parse(connection->address) : std::nullopt;
  // RFC 3264 8.4 (and RFC 2543's c=0.0.0.0): on hold, nothing is sent to this party.
  if (!address || unspecified(*address)) return party;
  party.receiving = true;
  party.rtp = {*address, m.port};
  party.rtcp = party.rtp;
  if (m.rtcp_mux()) return party;
  party.rtcp.port = static_cast<std::uint16_t>(m.port + 1);
  if (const auto rtcp = m.rtcp()) {  // RFC 3605
    party.rtcp.port = rtcp->port;
    if (!rtcp->address.empty()) {
      if (const auto a = IpAddress::parse(rtcp->address)) party.rtcp.address = *a;
    }
  }
  return party;
}

}  // namespace

bool CallTracker::Impl::on_sip(std::span<const std::uint8_t> payload, std::int64_t time_ns) {
  const std::string_view bytes(reinterpret_cast<const char*>(payload.data()), payload.size());
  sip::Message message;
  if (!sip::parse_message(bytes, sip::Framing::Datagram, message)) {
    ++counters.sip_errors;
    return true;
  }
  ++counters.sip_messages;
  const std::string call_id(message.call_id());
  const Method method = message.is_request() ? message.method_id() : sip::method_from_name(message.cseq().method);
  const int code = message.status_code();
  auto it = calls.find(call_id);

  if (message.is_request() && method == Method::Bye) {
    if (it != calls.end()) end_call(call_id, media::EndReason::hangup, time_ns);
    return true;
  }
  if (message.is_request() && method == Method::Cancel) {
    if (it != calls.end() && !it->second->established) end_call(call_id, media::EndReason::cancelled, time_ns);
    return true;
  }
  if (it != calls.end() && message.is_response() && method == Method::Invite) {
    Call& call = *it->second;
    if (code >= 200 && code < 300) call.established = true;
    // A failed initial INVITE ends the call; a failed re-INVITE leaves it as it was.
    if (code >= 300 && !call.established && message.cseq().number == call.invite_cseq) {
      end_call(call_id, media::EndReason::failed, time_ns);
      return true;
    }
  }
  if (it != calls.end()) it->second->last_activity_ns = std::max(it->second->last_activity_ns, time_ns);

  const bool answerable = message.is_request() || (code >= 180 && code < 300);
  if (!offer_answer_method(method) || !answerable || !carries_sdp(message)) {
    // A call starts with its INVITE even without SDP (the offer then comes in the 2xx).
    if (it == calls.end() && message.is_request() && method == Method::Invite && message.to().tag().empty() &&
        calls.size() < options.max_calls) {
      auto call = std::make_unique<Call>();
      call->call_id = call_id;
      call->caller_tag = std::string(message.from().tag());
      call->invite_cseq = message.cseq().number;
      call->last_activity_ns = time_ns;
      calls.emplace(call_id, std::move(call));
      ++counters.calls_active;
      ++counters.calls_seen;
    }
    return true;
  }
  auto sdp = sip::parse_sdp(message.body());
  if (!sdp) {
    ++counters.sdp_errors;
    return true;
  }
  if (it == calls.end()) {
    if (calls.size() >= options.max_calls) {
      ++counters.calls_not_tracked;
      return true;
    }
    // Also a dialog that began before the capture did: its next offer or answer starts it.
    auto call = std::make_unique<Call>();
    call->call_id = call_id;
    call->caller_tag = std::string(message.from().tag());
    call->invite_cseq = method == Method::Invite ? message.cseq().number : 0;
    call->established = !(method == Method::Invite && message.to().tag().empty());
    call->last_activity_ns = time_ns;
    it = calls.emplace(call_id, std::move(call)).first;
    ++counters.calls_active;
    ++counters.calls_seen;
  }
  Call& call = *it->second;
  // A request comes from the party of its From tag, a response from the other one.
  const bool from_is_caller = message.from().tag() == call.caller_tag;
  apply_sdp(call, message.is_request() == from_is_caller, *sdp);
  return true;
}

void CallTracker::Impl::apply_sdp(Call& call, bool party_is_caller, const sip::SessionDescription& sdp) {
  for (unsigned index = 0; index < sdp.media.size(); ++index) {
    const sip::SdpMedia& m = sdp.media[index];
    if (!m.is_rtp()) continue;  // T.38 (udptl), MSRP, BFCP: not RTP
    if (index >= call.streams.size()) call.streams.resize(index + 1);
    if (!call.streams[index]) {
      call.streams[index] = std::make_unique<Stream>();
      call.streams[index]->offerer_is_caller = party_is_caller;
      ++counters.streams_active;
    }
    Stream& stream = *call.streams[index];
    const Side side = party_is_caller == stream.offerer_is_caller ? Side::offerer : Side::answerer;
    auto party = party_media(sdp, m);
    if (!party) {  // RFC 3264 6: port 0 disables the stream for both parties
      set_party(call, index, Side::offerer, PartyMedia{});
      set_party(call, index, Side::answerer, PartyMedia{});
      continue;
    }
    // Before packets name it, the codec a party sends is the first of its m= line.
    Direction& d = stream.directions[side_index(side)];
    if (!d.codec_from_packets && !party->formats.empty()) {
      d.codec.payload_type = static_cast<std::uint8_t>(party->formats.front().payload_type);
      d.codec.encoding_name = party->formats.front().encoding;
      d.codec.clock_rate = party->formats.front().clock_rate != 0 ? party->formats.front().clock_rate : 8000;
    }
    d.codec.ptime_ms = party->ptime_ms;
    set_party(call, index, side, std::move(*party));
  }
}

void CallTracker::Impl::set_party(Call& call, unsigned index, Side side, PartyMedia media) {
  PartyMedia& current = call.streams[index]->parties[side_index(side)];
  if (current.receiving) {
    remove_endpoint(current.rtp, call, index, side);
    remove_endpoint(current.rtcp, call, index, side);
  }
  current = std::move(media);
  if (!current.receiving) return;
  add_endpoint(current.rtp, Target{&call, index, side, true, current.rtcp == current.rtp});
  if (!(current.rtcp == current.rtp)) add_endpoint(current.rtcp, Target{&call, index, side, false, true});
}

}  // namespace sipbox::capture
