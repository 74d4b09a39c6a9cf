// Public interface of the proxy module: the transaction-stateful proxy of RFC 3261
// section 16 (request validation, loop detection, Record-Route, loose routing, location
// lookup, parallel and serial forking by q, CANCEL, best-response selection) with digest
// authentication of local callers (407) and NAT-aware targets.
//
// One Proxy per SIP worker, next to that worker's TransactionTable: it is the
// transaction user for every request the core does not answer itself, and like the table
// it is NOT thread-safe. The shared parts (location, directory, authenticator) are.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "media/relay.h"
#include "registrar/registrar.h"
#include "sip/sip.h"
#include "txn/txn.h"

namespace sipbox::proxy {

using txn::Destination;
using txn::TransportKind;

// An address this server listens on, as it writes it into Via and Record-Route.
struct Interface {
  TransportKind kind = TransportKind::Udp;
  std::string host;  // IP literal; IPv6 with brackets
  std::uint16_t port = 5060;
};

// "Is this URI me?" (RFC 3261 16.4) and "which of my addresses faces that peer?".
class LocalIdentity {
 public:
  void add_interface(Interface interface);
  // Further addresses that reach this server (every local address when bound to 0.0.0.0).
  void add_address(std::string address);

  bool is_self(std::string_view host, std::uint16_t port) const;  // port 0: the default 5060
  bool is_self(const sip::Uri& uri) const;
  // The interface for sending over `kind` to an address of this family; nullptr if none.
  const Interface* interface_for(TransportKind kind, bool ipv6) const;
  const std::vector<Interface>& interfaces() const { return interfaces_; }

 private:
  std::vector<Interface> interfaces_;
  std::vector<std::string> addresses_;  // lower case, IPv6 without brackets
};

// Where a URI leads without DNS (RFC 3263 for IP literals): maddr or host, port (5060,
// 5061 for TLS), transport from the transport parameter or the scheme. nullopt for host
// names (DNS resolution belongs to the routing module) and non-SIP URIs.
std::optional<Destination> destination_for(const sip::Uri& uri);
std::optional<TransportKind> transport_from_name(std::string_view name);  // "udp", "TCP", ...
std::string_view transport_name(TransportKind kind);                      // "UDP", "TCP", ...

// Mirrors `container proxy` in yang/sipbox-routing.yang.
struct ProxySettings {
  bool record_route = true;
  std::uint8_t max_forwards = 70;
  std::chrono::seconds no_answer_timeout{60};
  std::string server_name = "sipbox";  // Server header of local responses
};

// Counters for /metrics; plain integers owned by the worker thread.
struct ProxyStats {
  std::uint64_t requests_forwarded = 0;   // client transactions started (every branch)
  std::uint64_t responses_forwarded = 0;  // through a server transaction
  std::uint64_t stateless_forwarded = 0;  // ACKs for 2xx and stray responses (16.11, 16.7)
  std::uint64_t challenges = 0;           // 407 sent for missing or stale credentials
  std::uint64_t auth_failures = 0;        // 407 after wrong credentials
  std::uint64_t loops = 0;                // 482
  std::uint64_t too_many_hops = 0;        // 483
  std::uint64_t not_found = 0;            // 404
  std::uint64_t unavailable = 0;          // 480 (not registered, no answer)
  std::uint64_t cancels = 0;              // CANCELs that found a pending call
  std::uint64_t no_answer_timeouts = 0;
  std::uint64_t dialogs_established = 0;  // first 2xx of an INVITE context
  std::uint64_t dialogs_ended = 0;        // 2xx to BYE
  std::uint64_t call_limit_refusals = 0;  // 403/486 for max-concurrent-calls
  std::uint64_t contexts = 0;             // gauge: live response contexts
  ProxyStats& operator+=(const ProxyStats& o) {
    requests_forwarded += o.requests_forwarded;
    responses_forwarded += o.responses_forwarded;
    stateless_forwarded += o.stateless_forwarded;
    challenges += o.challenges;
    auth_failures += o.auth_failures;
    loops += o.loops;
    too_many_hops += o.too_many_hops;
    not_found += o.not_found;
    unavailable += o.unavailable;
    cancels += o.cancels;
    no_answer_timeouts += o.no_answer_timeouts;
    dialogs_established += o.dialogs_established;
    dialogs_ended += o.dialogs_ended;
    call_limit_refusals += o.call_limit_refusals;
    contexts += o.contexts;
    return *this;
  }
};

// The calls in progress per account (user@domain), shared by every worker's Proxy so
// that the users' max-concurrent-calls holds across workers. A call counts from its
// INVITE (after authentication) until a final failure, a CANCEL's 487, a BYE, or a
// deadline that stands in for a BYE that never came through us (as Kamailio's dialog
// timeout). Thread-safe; one mutex, taken once per call event (not per message).
class ActiveCalls {
 public:
  using Clock = std::chrono::steady_clock;
  struct Party {
    std::string account;      // "alice@example.com"; "" for none (a foreign caller)
    std::uint16_t limit = 0;  // 0: no limit
  };
  enum class Refusal : std::uint8_t { none, caller_limit, callee_limit };
  struct Admission {
    Refusal refusal = Refusal::none;
    std::size_t active = 0;  // the refused party's calls already in progress
    std::uint16_t limit = 0;
  };

  explicit ActiveCalls(std::chrono::seconds early_lifetime = std::chrono::hours(1),
                       std::chrono::seconds confirmed_lifetime = std::chrono::hours(12));
  // Counts the call against both parties unless one is at its limit. A Call-ID already
  // counted (a spiral, an INVITE after 407) is admitted again without counting twice.
  Admission begin(std::string_view call_id, const Party& caller, const Party& callee, Clock::time_point now);
  void confirmed(std::string_view call_id, Clock::time_point now);  // a 2xx: the dialog lifetime starts
  void end(std::string_view call_id);                               // unknown Call-IDs are ignored
  std::size_t active(std::string_view account) const;
  std::size_t calls() const;

 private:
  struct Call {
    std::string caller;
    std::string callee;
    Clock::time_point deadline;
  };
  void release(const Call& call);
  void expire(Clock::time_point now);

  std::chrono::seconds early_lifetime_;
  std::chrono::seconds confirmed_lifetime_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Call> calls_;
  std::unordered_map<std::string, std::size_t> per_account_;
  Clock::time_point next_sweep_{};
};

// Mirrors `container media` in yang/sipbox-media.yang (the proxy's part of it).
struct MediaSettings {
  enum class Mode : std::uint8_t { always, nat_only, never };
  Mode mode = Mode::nat_only;
  // The relay address written into SDP; "" = the SIP interface address of that family.
  std::string advertised_ipv4;
  std::string advertised_ipv6;
};

// What the proxy uses; everything must outlive it.
struct Environment {
  txn::TransactionTable* table = nullptr;
  txn::Sender* sender = nullptr;  // stateless forwarding
  txn::TimerService* timers = nullptr;
  registrar::Location* location = nullptr;
  const registrar::Directory* directory = nullptr;
  registrar::DigestAuthenticator* auth = nullptr;
  const LocalIdentity* self = nullptr;
  std::function<void(const registrar::AuthFailure&)> on_auth_failure;  // may be empty
  // A request for a user that does not exist (404): extension enumeration (may be empty).
  std::function<void(const Destination& source, std::string_view user)> on_unknown_user;
  // An authenticated out-of-dialog INVITE: who calls what, from where (toll fraud).
  // false refuses the call (403).
  std::function<bool(const Destination& source, std::string_view account, std::string_view target)> on_call_attempt;
  // Calls per account (may be null: no limits).
  ActiveCalls* active_calls = nullptr;
  // A caller refused for having `active` calls at its limit (toll-fraud signal).
  std::function<void(const Destination& source, std::string_view account, std::size_t active, std::uint16_t limit)>
      on_call_limit;
  // The media relay (may be null: SDP passes untouched) and when to use it.
  media::MediaRelay* relay = nullptr;
  MediaSettings media;
};

class Proxy {
 public:
  Proxy(Environment env, ProxySettings settings);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // A request that created server transaction `server` (not CANCEL), from `source`.
  void on_request(txn::TransactionId server, const sip::Message& request, const Destination& source);
  // A CANCEL that created server transaction `server` (RFC 3261 16.10).
  void on_cancel(txn::TransactionId server, const sip::Message& cancel);
  // An ACK that matched no transaction: the ACK for a 2xx, routed statelessly (16.11).
  void on_stray_ack(const sip::Message& ack);
  // A response of one of the proxy's client transactions.
  void on_response(txn::TransactionId client, const sip::Message& response);
  // A response that matched no client transaction (a retransmitted 2xx): 16.7 / 18.1.2.
  void on_stray_response(const sip::Message& response);
  void on_timeout(txn::TransactionId id);
  void on_transport_error(txn::TransactionId id);
  void on_terminated(txn::TransactionId id);

  const ProxyStats& stats() const { return stats_; }

  struct Context;
  struct Target;
  class MediaAnchor;

 private:
  Status respond(txn::TransactionId server, const sip::Message& request, int status, std::string_view reason,
                 std::string_view extra_headers = {});
  bool authenticate(txn::TransactionId server, const sip::Message& request, const Destination& source, bool& consumed);
  void start_group(Context& context);
  void forward(Context& context, const Target& target);
  void branch_final(Context& context, std::size_t branch, int status, std::string_view reason,
                    const sip::Message* response);
  void finish_if_done(Context& context);
  void release_if_finished(Context& context);
  void send_best(Context& context);
  void cancel_branches(Context& context);
  void send_cancel(Context& context, std::size_t branch);
  std::string upstream_response(const sip::Message& response);
  void forward_response(Context& context, const sip::Message& response);
  void stop_no_answer_timer(Context& context);
  void on_no_answer(std::uint64_t server);
  Context* context_of_client(txn::TransactionId client, std::size_t& branch);
  void drop_context(std::uint64_t server);
  // max-concurrent-calls of both parties (486 for the callee, 403 for the caller).
  bool admit_call(txn::TransactionId server, const sip::Message& request, const Destination& source,
                  const ActiveCalls::Party& caller, const ActiveCalls::Party& callee);

  Environment env_;
  ProxySettings settings_;
  std::unique_ptr<MediaAnchor> media_;  // when env_.relay is set
  ProxyStats stats_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Context>> contexts_;  // by server transaction
  std::unordered_map<std::uint64_t, std::uint64_t> client_to_server_;
};

}  // namespace sipbox::proxy
