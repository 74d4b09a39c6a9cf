// Internal to src/proxy: the proxy's side of the media relay (issue 6). It decides which
// calls are relayed (media/relay-mode), rewrites the SDP of every message of such a call
// so that both parties send their media to the relay's port pairs (c=, m= port, a=rtcp;
// ICE candidates, which would bypass the relay, are removed), and tells the relay where
// each party receives and what codec it sends. One per Proxy (per worker): every message
// of a call reaches the same worker (Call-ID sharding), so the call table needs no lock.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "media/relay.h"
#include "proxy/proxy.h"

namespace sipbox::proxy {

class Proxy::MediaAnchor {
 public:
  MediaAnchor(media::MediaRelay& relay, MediaSettings settings, const LocalIdentity& self)
      : relay_(relay), settings_(std::move(settings)), self_(self) {}

  // An out-of-dialog INVITE about to be forwarded to `callee` (the first target): when the
  // call is to be relayed, its offer (if any) is rewritten in `request`.
  void on_invite(sip::Message& request, const Destination& caller, const Destination& callee, bool callee_nat);
  // A request within a relayed call (re-INVITE, UPDATE, ACK, PRACK with SDP) or a
  // response to any request of it: its SDP is rewritten; a BYE ends the call's media.
  void on_request(sip::Message& request);
  void on_response(sip::Message& response);
  void end(std::string_view call_id, media::EndReason reason);
  bool relayed(std::string_view call_id) const { return calls_.contains(std::string(call_id)); }

 private:
  struct Call {
    std::string caller_tag;
    std::string caller_address;  // signalling addresses: the family each side is served on
    std::string callee_address;
  };
  void rewrite(sip::Message& message, const Call& call, media::Side sender);
  std::string advertised(bool ipv6) const;
  void sweep();

  media::MediaRelay& relay_;
  MediaSettings settings_;
  const LocalIdentity& self_;
  std::unordered_map<std::string, Call> calls_;  // by Call-ID
  std::size_t inserts_since_sweep_ = 0;
};

}  // namespace sipbox::proxy
