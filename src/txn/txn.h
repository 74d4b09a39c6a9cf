// Public interface of the txn module: the RFC 3261 section 17 transaction layer
// (client and server, INVITE and non-INVITE, with RFC 6026's Accepted state).
//
// The layer knows neither sockets nor the event loop: it sends through a `Sender`,
// waits through a `TimerService` and reports to a `TransactionUser`, all passed in.
// One `TransactionTable` per SIP worker thread; the core shards by Call-ID hash
// (DESIGN.md 1), so the table is deliberately NOT thread-safe: no locks, no globals.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "sip/sip.h"

namespace sipbox::txn {

using Millis = std::chrono::milliseconds;

enum class TransportKind : std::uint8_t { Udp, Tcp, Tls, Ws, Wss, Sctp };
// RFC 3261 17.1.1.2, 17.1.2.2, 17.2.1: only unreliable transports (UDP) retransmit.
constexpr bool is_reliable_kind(TransportKind kind) { return kind != TransportKind::Udp; }

// Where bytes go (or came from): filled by the transport (RFC 3261 18.2.2 / RFC 3581
// decide the address a response goes to; that is the transport's business).
struct Destination {
  std::string address;  // IP literal
  std::uint16_t port = 5060;
  TransportKind transport = TransportKind::Udp;
  bool operator==(const Destination&) const = default;
};

// /sipbox-routing:proxy/timers (t1-ms, t2-ms, t4-ms); the others derive from these
// as in RFC 3261 Table 4 and RFC 6026 (Timer L, M = 64*T1).
struct TimerSettings {
  Millis t1{500};
  Millis t2{4000};
  Millis t4{5000};
  Millis d{32000};     // Timer D on unreliable transports: "> 32 s" (17.1.1.2)
  Millis trying{200};  // 17.2.1: send 100 Trying when the TU is silent this long
};

// The timers of Figures 5-8 and RFC 6026; `Trying` is the 17.2.1 200 ms rule.
enum class TimerId : std::uint8_t { A, B, D, E, F, G, H, I, J, K, L, M, Trying, Count };
std::string_view timer_name(TimerId id);

// Scheduling callbacks; the core implements it over its event loop, tests over a fake clock.
class TimerService {
 public:
  using Handle = std::uint64_t;
  virtual ~TimerService() = default;
  virtual Handle schedule(Millis delay, std::function<void()> callback) = 0;
  // Cancelling a fired or unknown handle is a no-op.
  virtual void cancel(Handle handle) = 0;
};

// Hands bytes to the transport layer (RFC 3261 18).
class Sender {
 public:
  virtual ~Sender() = default;
  // A failure is a transport error (17.1.4, 17.2.4).
  virtual Status send(const Destination& to, std::string_view bytes) = 0;
  virtual bool is_reliable(const Destination& to) const { return is_reliable_kind(to.transport); }
};

struct TransactionId {
  std::uint64_t value = 0;
  bool operator==(const TransactionId&) const = default;
  explicit operator bool() const { return value != 0; }
};

enum class Role : std::uint8_t { Client, Server };
enum class Kind : std::uint8_t { Invite, NonInvite };
enum class State : std::uint8_t { Calling, Trying, Proceeding, Completed, Confirmed, Accepted, Terminated };
std::string_view state_name(State state);

// The TU (core, proxy, UA). Callbacks run synchronously inside TransactionTable
// calls; the TU may call back into the table (e.g. respond() from on_request()).
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;
  // A request that created a server transaction, or (RFC 6026 7.1) an ACK matching
  // an INVITE server transaction in the Accepted state.
  virtual void on_request(TransactionId server, const sip::Message& request) = 0;
  // A response a client transaction passes up: 1xx, the first final response, and
  // every 2xx to an INVITE (RFC 6026 Accepted state: the TU acknowledges them).
  virtual void on_response(TransactionId client, const sip::Message& response) = 0;
  // Timer B or F (the TU acts as on a 408, 8.1.3.1), or Timer H (no ACK, 17.2.1).
  virtual void on_timeout(TransactionId id) = 0;
  virtual void on_transport_error(TransactionId id, const Error& error) = 0;
  // The transaction left the table; its id is no longer valid.
  virtual void on_terminated(TransactionId) {}
};

// For /metrics; asserted by the tests.
struct Counters {
  std::uint64_t client_created = 0;
  std::uint64_t server_created = 0;
  std::uint64_t terminated = 0;
  std::uint64_t retransmissions_sent = 0;      // requests (A, E), responses (G, on a repeat), ACKs
  std::uint64_t retransmissions_absorbed = 0;  // repeated requests/responses/ACKs that matched
  std::uint64_t trying_sent = 0;               // 100 Trying on the 200 ms timer
  std::uint64_t timeouts = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t stray_responses = 0;  // no client transaction (the core forwards them, 16.7/18.1.2)
  std::uint64_t stray_acks = 0;       // ACK matching nothing: for a 2xx, the core's business
  std::uint64_t ignored = 0;          // matched, but the figure has no arrow for it
  Counters& operator+=(const Counters& o) {
    client_created += o.client_created;
    server_created += o.server_created;
    terminated += o.terminated;
    retransmissions_sent += o.retransmissions_sent;
    retransmissions_absorbed += o.retransmissions_absorbed;
    trying_sent += o.trying_sent;
    timeouts += o.timeouts;
    transport_errors += o.transport_errors;
    stray_responses += o.stray_responses;
    stray_acks += o.stray_acks;
    ignored += o.ignored;
    return *this;
  }
};

// What receive_request()/receive_response() did with a message.
enum class Disposition : std::uint8_t {
  NewTransaction,  // a server transaction was created and the TU got the request
  PassedToTu,      // matched a transaction that passed it to the TU
  Absorbed,        // matched a transaction that handled it (retransmission, ACK for non-2xx)
  Stray,           // no transaction matched: the core handles it (ACK for 2xx, stray response)
};

struct TransactionInfo {
  Role role = Role::Client;
  Kind kind = Kind::NonInvite;
  State state = State::Trying;
  int last_status = 0;  // the last response sent (server) or received (client); 0 if none
  Destination peer;
};

namespace detail {
struct Transaction;
struct Event;
}  // namespace detail

class TransactionTable {
 public:
  TransactionTable(TimerService& timers, Sender& sender, TransactionUser& user, TimerSettings settings = {});
  ~TransactionTable();  // cancels every pending timer
  TransactionTable(const TransactionTable&) = delete;
  TransactionTable& operator=(const TransactionTable&) = delete;

  // From the transport. `reply_to` is where this request's responses go.
  // Fails only for a message that is not a request.
  Result<Disposition> receive_request(const sip::Message& request, const Destination& reply_to);
  // Matched by top Via branch + CSeq method (17.1.3).
  Disposition receive_response(const sip::Message& response);

  // From the TU: starts a client transaction. The top Via must carry an RFC 3261
  // branch unique to this table (new_branch()); ACK is not a transaction (17.1.1.3:
  // the TU sends the ACK for 2xx itself). Transport errors arrive through the TU,
  // possibly before this returns.
  Result<TransactionId> send_request(const sip::Message& request, const Destination& to);
  // From the TU: a response within a server transaction. Fails when the transaction is
  // gone or its figure has no arrow for it (e.g. a second final response).
  Status respond(TransactionId server, const sip::Message& response);
  // The same for a response the TU holds as bytes already (its own answer, built as
  // text): no parse unless RFC 2543 matching needs the To tag.
  Status respond(TransactionId server, std::string response_bytes);

  // RFC 3261 9.2: the INVITE server transaction a CANCEL refers to (17.2.3 matching
  // with the method taken as INVITE); nullopt when none.
  std::optional<TransactionId> cancel_target(const sip::Message& cancel) const;
  std::optional<TransactionInfo> info(TransactionId id) const;
  // The request a client transaction sends, while it keeps it (for retransmissions and
  // the ACK of a non-2xx: until Completed or Accepted); empty otherwise. A proxy builds
  // its CANCEL from it (9.1) instead of holding a copy of its own.
  std::string_view sent_request(TransactionId client) const;

  // A fresh RFC 3261 branch (magic cookie + per-table random prefix + counter).
  std::string new_branch();
  std::size_t size() const { return by_id_.size(); }  // live transactions
  const Counters& counters() const { return counters_; }
  const TimerSettings& settings() const { return settings_; }

 private:
  using Txn = detail::Transaction;
  Txn& create(Role role, const sip::Message& request, std::string key, const Destination& peer);
  std::optional<TransactionId> find_server(const sip::Message& request, bool as_invite) const;
  // Runs an event through the transaction's figure; returns the actions of the row
  // (0 when none matched, or when queued behind an event already running).
  unsigned dispatch(Txn& txn, detail::Event event);
  unsigned run(Txn& txn, detail::Event& event);
  Txn* server_transaction(TransactionId id);
  // The figure's check, then the response's status, To tag (RFC 2543 matching) and bytes.
  Status respond_with(Txn& txn, int status, std::string_view to_tag, std::string&& bytes);
  void start_timer(Txn& txn, TimerId timer, bool rearm);
  void on_timer(std::uint64_t id, TimerId timer);
  void transmit(Txn& txn, const std::string& bytes);
  void retire(Txn& txn);

  TimerService& timers_;
  Sender& sender_;
  TransactionUser& user_;
  TimerSettings settings_;
  Counters counters_;
  // Views of each transaction's own key (a Txn lives on the heap, its key with it).
  std::unordered_map<std::string_view, std::uint64_t> by_key_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Txn>> by_id_;
  std::uint64_t next_id_ = 1;
  std::uint64_t branch_counter_ = 0;
  std::string branch_prefix_;
};

}  // namespace sipbox::txn
