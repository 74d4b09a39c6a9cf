// Public interface of the core module: the SIP request pipeline of sipboxd (DESIGN.md 1).
//
// packets -> transport -> security gate (bans) -> parser -> security rules and detectors
// -> shard by Call-ID -> transaction layer -> registrar, the server's own OPTIONS answer,
// or the stateful proxy.
//
// The core runs one SIP worker per core, each with its own io_context, Transport,
// TransactionTable and Proxy. UDP listens on every worker (SO_REUSEPORT, the kernel
// spreads the datagrams); stream transports (TCP, TLS, WebSocket) live on worker 0. A
// message whose Call-ID belongs to another worker is handed over (copied), so every
// transaction and proxy context of a call lives on one thread and none needs a lock;
// sends to a stream peer go through worker 0. Shared and thread-safe: the location
// service, the directory, the nonce manager.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "proxy/proxy.h"
#include "registrar/registrar.h"
#include "security/security.h"
#include "transport/transport.h"
#include "txn/txn.h"

namespace sipbox::core {

struct ListenerSpec {
  txn::TransportKind kind = txn::TransportKind::Udp;
  std::string address;  // IP literal; 0.0.0.0 or :: for every address
  std::uint16_t port = 5060;
};

struct CoreSettings {
  unsigned workers = 0;  // 0: one per core
  std::vector<ListenerSpec> listeners;
  // Written into Via and Record-Route instead of the bound address (static NAT, or a
  // listener on 0.0.0.0); "" for the bound address or, on 0.0.0.0, this host's first.
  std::string advertised_address;
  transport::Settings transport;
  txn::TimerSettings timers;
  proxy::ProxySettings proxy;
  registrar::RegistrarSettings registrar;
  std::chrono::seconds nonce_lifetime{300};
  std::vector<sip::DigestAlgorithm> algorithms{sip::DigestAlgorithm::Md5};
  // OPTIONS pings to contacts registered from behind a NAT over UDP, so the NAT keeps the
  // mapping open; 0 disables them.
  std::chrono::seconds nat_keepalive{30};
  std::string server_name = "sipbox";
  // The media relay the proxy anchors calls on (null: SDP passes untouched) and when.
  media::MediaRelay* relay = nullptr;
  proxy::MediaSettings media;
};

// Counters summed over the workers, for /metrics and `sipbox status`.
struct CoreStats {
  static constexpr std::size_t kMethods = 15;  // sip::Method values
  std::array<std::uint64_t, kMethods> requests_received{};
  std::array<std::uint64_t, kMethods> requests_sent{};
  std::array<std::uint64_t, 700> responses_received{};  // by status code
  std::array<std::uint64_t, 700> responses_sent{};
  std::uint64_t banned_dropped = 0;      // from banned sources, before parsing (or answered 403/503)
  std::uint64_t security_dropped = 0;    // dropped by a rule or a detector after parsing
  std::uint64_t malformed_dropped = 0;   // could not be parsed and could not be answered
  std::uint64_t malformed_answered = 0;  // could not be parsed, answered 400
  std::uint64_t handoffs = 0;            // messages passed to the worker owning the Call-ID
  std::uint64_t keepalives_sent = 0;
  std::uint64_t options_answered = 0;
  std::uint64_t transactions = 0;  // gauge: live transactions
  txn::Counters txn;
  transport::Counters transport;
  proxy::ProxyStats proxy;
  registrar::RegistrarStats registrar;
  std::size_t aors = 0;
  std::size_t bindings = 0;
  unsigned workers = 0;
  // With several workers, UDP listeners whose datagrams the kernel steers to their
  // Call-ID's worker, and those where the workers pass on each other's (no CAP_BPF).
  unsigned udp_steered = 0;
  unsigned udp_handed_over = 0;
};

// A listener as bound (port 0 in the settings becomes the kernel's choice).
struct BoundListener {
  txn::TransportKind kind;
  std::string address;
  std::uint16_t port;
};

class Core {
 public:
  // Binds every listener and starts the workers. `directory`, `location` and `guard`
  // (nullptr: no intrusion prevention) are shared with the rest of the daemon and must
  // outlive the Core.
  static Result<std::unique_ptr<Core>> start(CoreSettings settings, const registrar::Directory& directory,
                                             registrar::Location& location, security::Guard* guard = nullptr);
  ~Core();  // stop()
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Closes the listeners and joins the workers. Idempotent.
  void stop();
  // A consistent snapshot per worker (collected on each worker's thread).
  CoreStats stats() const;
  const std::vector<BoundListener>& listeners() const;

  struct Impl;

 private:
  explicit Core(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::core
