// Internal to src/proxy: the response context of RFC 3261 16.7 and the helpers shared by
// the request path (proxy.cpp) and the response path (responses.cpp).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/proxy.h"

namespace sipbox::proxy {

// One place to send a request (16.5): a new Request-URI (empty: unchanged), the next
// hop, and Route values to push in front (a Path, RFC 3327).
struct Proxy::Target {
  std::string request_uri;
  Destination next_hop;
  std::vector<std::string> routes;
  bool behind_nat = false;  // a binding reached at its NAT source (media relay nat-only)
};

struct Branch {
  txn::TransactionId client;
  Destination destination;
  int last_status = 0;
  bool final = false;
  bool cancel_pending = false;  // CANCEL as soon as a provisional arrives (9.1)
  bool cancel_sent = false;
  int final_status = 0;
  std::string final_reason;    // for a locally generated final (408, 503)
  std::string final_response;  // a received final response, as bytes (empty: none)
};

struct Proxy::Context {
  std::uint64_t server = 0;
  // The request as received (with the core's RFC 3581 Via edits and the media anchor's
  // SDP), kept as bytes: a context lives until its final response and every branch have
  // ended (minutes, for a phone left ringing), and a parsed copy would hold kilobytes
  // that only the rare paths read.
  std::string request;
  std::string call_id;
  sip::Method method = sip::Method::Other;
  Destination source;
  bool invite = false;
  // What forward() applies to the copy for every target.
  bool strict_route = false;      // 16.4: Request-URI was ours, the last Route is the target
  std::size_t routes_to_pop = 0;  // our own Route values at the top
  std::string consumed_realm;     // Proxy-Authorization of this realm is removed
  bool record_route = false;
  std::string loop_hash;
  std::vector<Branch> branches;
  std::vector<std::vector<Target>> groups;  // serial forking: q groups, highest first
  std::size_t next_group = 0;
  bool final_sent = false;
  bool cancelled = false;
  bool answered = false;        // a 2xx went upstream
  bool ringing = false;         // a provisional > 100 arrived: the no-answer timer runs
  bool counted = false;         // in ActiveCalls until a failure or the BYE
  bool initial_invite = false;  // out of dialog: its failure ends the call's media
  txn::TimerService::Handle no_answer = 0;

  bool all_branches_final() const {
    return std::all_of(branches.begin(), branches.end(), [](const Branch& b) { return b.final; });
  }
  // The request parsed again; `into` views `request`.
  Status parse_request(sip::Message& into) const { return sip::parse_message(request, sip::Framing::Datagram, into); }
};

// 16.6 step 8 / 16.3 step 4: a hash of what identifies the request at this hop (not the
// top Via, which changes when the request comes back), put into our branch; a request
// that carries our Via with its own hash has looped.
std::string loop_hash(const sip::Message& request);

// The response that 16.7 step 6 picks among the branches' finals: 6xx first, then the
// lowest class; 503 counts last among 5xx; ties go to the earliest.
std::size_t best_branch(const std::vector<Branch>& branches);

}  // namespace sipbox::proxy
