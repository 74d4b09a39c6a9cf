// MediaAnchor: SDP rewriting for the media relay (media_anchor.h).
#include "proxy/media_anchor.h"

#include <algorithm>
#include <array>

namespace sipbox::proxy {
namespace {

bool is_ipv6(std::string_view address) { return address.find(':') != std::string_view::npos; }

std::string unbracket(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return std::string(host);
}

bool has_sdp(const sip::Message& message) {
  if (message.body().empty()) return false;
  const sip::HeaderField* type = message.header(sip::HeaderId::ContentType);
  return type && sip::ascii_lower(type->value).starts_with("application/sdp");
}

// RFC 1918, RFC 6598 (carrier-grade NAT) and IPv6 unique-local addresses.
bool is_private(std::string_view address) {
  unsigned a = 0, b = 0;
  if (std::sscanf(std::string(address).c_str(), "%u.%u.", &a, &b) == 2)
    return a == 10 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) || (a == 100 && b >= 64 && b <= 127);
  return address.size() >= 2 && (address[0] == 'f' || address[0] == 'F') &&
         (address[1] == 'c' || address[1] == 'd' || address[1] == 'C' || address[1] == 'D');
}

// The codec a party sends: the first payload type of its m= line (RFC 3264 5.1: the
// preferred one), with its rtpmap.
media::CodecInfo codec_of(const sip::SdpMedia& m) {
  media::CodecInfo codec;
  if (m.formats.empty()) return codec;
  unsigned pt = 0;
  if (std::sscanf(m.formats.front().c_str(), "%u", &pt) != 1 || pt > 127) return codec;
  codec.payload_type = static_cast<std::uint8_t>(pt);
  if (auto map = m.rtpmap(pt)) {
    codec.encoding_name = map->encoding;
    if (map->clock_rate) codec.clock_rate = map->clock_rate;
  }
  if (auto ptime = m.ptime()) codec.ptime_ms = *ptime;
  return codec;
}

constexpr std::array<std::string_view, 6> kIceAttributes = {"candidate",   "ice-ufrag",         "ice-pwd",
                                                            "ice-options", "remote-candidates", "end-of-candidates"};

}  // namespace

void Proxy::MediaAnchor::on_invite(sip::Message& request, const Destination& caller, const Destination& callee,
                                   bool callee_nat) {
  if (settings_.mode == MediaSettings::Mode::never) return;
  const std::string call_id(request.call_id());
  auto existing = calls_.find(call_id);
  if (existing == calls_.end()) {
    bool relay = settings_.mode == MediaSettings::Mode::always || callee_nat;
    if (!relay && has_sdp(request)) {
      // nat-only: the caller is behind NAT when its SDP names another address than the
      // one its request came from (or a private one).
      if (auto sdp = sip::parse_sdp(request.body())) {
        for (sip::SdpMedia& m : sdp->media) {
          const sip::SdpConnection* c = sdp->connection_for(m);
          if (m.port != 0 && c && (c->address != caller.address || is_private(c->address))) relay = true;
        }
      }
    }
    if (!relay) return;
    if (++inserts_since_sweep_ >= 1024) sweep();
    existing = calls_.emplace(call_id, Call{std::string(request.from().tag()), caller.address, callee.address}).first;
  }
  rewrite(request, existing->second, media::Side::offerer);
}

void Proxy::MediaAnchor::on_request(sip::Message& request) {
  auto found = calls_.find(std::string(request.call_id()));
  if (found == calls_.end()) return;
  if (request.method_id() == sip::Method::Bye) {
    end(request.call_id(), media::EndReason::hangup);
    return;
  }
  const bool from_caller = request.from().tag() == found->second.caller_tag;
  rewrite(request, found->second, from_caller ? media::Side::offerer : media::Side::answerer);
}

void Proxy::MediaAnchor::on_response(sip::Message& response) {
  auto found = calls_.find(std::string(response.call_id()));
  if (found == calls_.end()) return;
  // A response comes from the party the request went to: the one that is not From.
  const bool to_caller = response.from().tag() == found->second.caller_tag;
  rewrite(response, found->second, to_caller ? media::Side::answerer : media::Side::offerer);
}

void Proxy::MediaAnchor::end(std::string_view call_id, media::EndReason reason) {
  auto found = calls_.find(std::string(call_id));
  if (found == calls_.end()) return;
  calls_.erase(found);
  relay_.end_later(call_id, reason);  // a SIP worker does not wait for a relay thread
}

void Proxy::MediaAnchor::rewrite(sip::Message& message, const Call& call, media::Side sender) {
  if (!has_sdp(message)) return;
  auto sdp = sip::parse_sdp(message.body());
  if (!sdp) return;  // not ours to repair: it goes on as it came
  const media::Side receiver = media::other(sender);
  const std::string& receiver_address = receiver == media::Side::offerer ? call.caller_address : call.callee_address;
  const bool ipv6 = is_ipv6(receiver_address);
  const std::string address = advertised(ipv6);
  if (address.empty()) return;
  const std::string call_id(message.call_id());
  bool rewritten = false;
  bool all_held = true;
  for (unsigned i = 0; i < sdp->media.size(); ++i) {
    sip::SdpMedia& m = sdp->media[i];
    if (m.port == 0 || !m.is_rtp()) continue;
    sip::SdpConnection* c = sdp->connection_for(m);
    if (!c) continue;
    media::Endpoint rtp{c->address, m.port};
    media::Endpoint rtcp{c->address, static_cast<std::uint16_t>(m.port + 1)};
    if (auto attribute = m.rtcp()) {
      rtcp.port = attribute->port;
      if (!attribute->address.empty()) rtcp.address = attribute->address;
    }
    // The stream's ports first (both sides), then what the sender said about itself.
    auto port = relay_.allocate(call_id, i, receiver, receiver_address);
    if (!port) continue;  // range exhausted: this stream stays direct
    // Already ours (a spiral brings our own rewritten offer back): the relay must not
    // learn itself as the party.
    if (*port == m.port && c->address == address) continue;
    if (!relay_.set_remote(call_id, i, sender, rtp, rtcp, m.rtcp_mux())) continue;
    (void)relay_.set_codec(call_id, i, sender, codec_of(m));
    (void)relay_.set_held(call_id, i, sender, sdp->direction(m) != sip::SdpDirection::SendRecv);
    m.port = *port;
    // Hold the old way (RFC 3264 8.4, RFC 2543: c= 0.0.0.0) stays visible to the other
    // party: it gets the unspecified address too, not ours (the relay stops sending to
    // the holder meanwhile, set_remote above).
    const bool held = c->address == "0.0.0.0" || c->address == "::";
    all_held = all_held && held;
    sip::SdpConnection ours;
    ours.addr_type = ipv6 ? "IP6" : "IP4";
    ours.address = held ? (ipv6 ? "::" : "0.0.0.0") : address;
    m.connections = {ours};
    if (m.rtcp()) m.set_rtcp(sip::SdpRtcp{static_cast<std::uint16_t>(*port + 1), "IN", ours.addr_type, ours.address});
    for (std::string_view name : kIceAttributes) m.remove_attributes(name);
    rewritten = true;
  }
  if (!rewritten) return;
  if (sdp->connection) {
    sdp->connection->addr_type = ipv6 ? "IP6" : "IP4";
    sdp->connection->address = all_held ? (ipv6 ? "::" : "0.0.0.0") : address;
  }
  for (std::string_view name : kIceAttributes) sdp->remove_attributes(name);
  message.set_body(sip::serialize_sdp(*sdp));
}

std::string Proxy::MediaAnchor::advertised(bool ipv6) const {
  const std::string& configured = ipv6 ? settings_.advertised_ipv6 : settings_.advertised_ipv4;
  if (!configured.empty()) return configured;
  const Interface* interface = self_.interface_for(TransportKind::Udp, ipv6);
  return interface ? unbracket(interface->host) : std::string();
}

// Calls the relay ended on its own (media timeout) leave their entry here; dropped now
// and then, so the table stays as large as the calls in progress.
void Proxy::MediaAnchor::sweep() {
  inserts_since_sweep_ = 0;
  std::erase_if(calls_, [this](const auto& entry) { return !relay_.has_call(entry.first); });
}

}  // namespace sipbox::proxy
