// Internal to src/core: one SIP worker (its thread, loop, transport, transactions, proxy)
// and the shared parts every worker uses.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/core.h"

namespace sipbox::core {

class Worker;

// What the workers share (all thread-safe or immutable once started).
struct Shared {
  CoreSettings settings;
  const registrar::Directory* directory = nullptr;
  registrar::Location* location = nullptr;
  std::unique_ptr<registrar::NonceManager> nonces;
  std::unique_ptr<registrar::DigestAuthenticator> auth;
  std::unique_ptr<registrar::Registrar> registrar;
  security::Guard* guard = nullptr;
  proxy::ActiveCalls active_calls;  // max-concurrent-calls across the workers
  proxy::LocalIdentity self;
  std::vector<std::unique_ptr<Worker>> workers;
};

// TimerService over the worker's io_context: one steady_timer armed for the earliest
// entry of a binary heap, callbacks in reusable slots. A transaction starts and cancels
// several timers; an asio timer object per entry cost an allocation and a reactor
// queue operation each. Timers fire up to kCoalesce late, together with every other
// timer due by then (RFC 3261's timers count in hundreds of milliseconds; Kamailio's tm
// ticks at 1/16 s).
class LoopTimers final : public txn::TimerService {
 public:
  explicit LoopTimers(boost::asio::io_context& io) : alarm_(io) {}
  ~LoopTimers() override;
  Handle schedule(txn::Millis delay, std::function<void()> callback) override;
  void cancel(Handle handle) override;
  std::size_t pending() const { return slots_.size() - free_.size(); }
  std::uint64_t alarms() const { return alarms_; }  // times the loop woke up for timers

  using Clock = std::chrono::steady_clock;
  // When a timer scheduled at `now` is due (see kLongGrain).
  static Clock::time_point due_at(Clock::time_point now, txn::Millis delay);

 private:
  static constexpr std::chrono::milliseconds kCoalesce{4};
  // A timer of a second or more (RFC 3261's timeouts and waits B, D, F, H, I, J, K, L, M
  // and the later retransmissions) is due at the next multiple of kLongGrain: the
  // transactions of a steady stream then end in one wake-up per grain instead of one per
  // 4 ms. Kamailio's timer ticks every 62.5 ms.
  static constexpr std::chrono::seconds kLong{1};
  static constexpr std::chrono::milliseconds kLongGrain{64};
  struct Due {
    Clock::time_point at;
    Handle handle;
    bool operator>(const Due& other) const { return at > other.at; }
  };
  struct Slot {
    std::function<void()> callback;
    std::uint32_t generation = 0;
  };
  // Generation in the high word, slot + 1 in the low one (no handle is 0).
  static Handle handle_of(std::uint32_t slot, std::uint32_t generation) {
    return (static_cast<Handle>(generation) << 32) | (slot + 1u);
  }
  static std::uint32_t index_of(Handle handle) { return static_cast<std::uint32_t>(handle & 0xffffffffu) - 1u; }
  Slot* live_slot(Handle handle);
  void release(Slot& slot, std::uint32_t index);
  void drop_cancelled_front();
  void arm();
  void on_alarm();

  boost::asio::steady_timer alarm_;
  Clock::time_point armed_for_ = Clock::time_point::max();  // when the alarm goes off
  std::vector<Due> heap_;                                   // min-heap by `at`; cancelled entries are skipped when due
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::uint64_t alarms_ = 0;
};

// Per-worker counters that are not some other module's.
struct WorkerCounters {
  std::array<std::uint64_t, CoreStats::kMethods> requests_received{};
  std::array<std::uint64_t, CoreStats::kMethods> requests_sent{};
  std::array<std::uint64_t, 700> responses_received{};
  std::array<std::uint64_t, 700> responses_sent{};
  std::uint64_t banned_dropped = 0;
  std::uint64_t security_dropped = 0;
  std::uint64_t malformed_dropped = 0;
  std::uint64_t malformed_answered = 0;
  std::uint64_t handoffs = 0;
  std::uint64_t keepalives_sent = 0;
  std::uint64_t options_answered = 0;
};

class Worker final : public txn::TransactionUser, public txn::Sender {
 public:
  Worker(Shared& shared, unsigned index);
  ~Worker() override;

  Status listen(const ListenerSpec& spec, BoundListener& bound);
  // Worker 0, once every worker has bound its UDP listeners: asks the kernel to deliver
  // each datagram to the worker owning its Call-ID (transport::Transport::steer_by_call_id).
  // Where it cannot, on_bytes() still hands datagrams over; the log says so. Returns how
  // many UDP listeners are steered (the rest are not).
  unsigned steer_udp_by_call_id();
  void start();  // runs the loop on a thread of its own
  void stop();   // from another thread: closes everything, joins

  // From other workers.
  void post_message(std::string bytes, transport::Source source);
  void post_send(txn::Destination to, std::string bytes);
  // Adds this worker's counters (runs on the worker's thread).
  void collect(CoreStats& into);
  boost::asio::io_context& io() { return io_; }

  // txn::Sender: UDP from this worker's socket, streams through worker 0.
  Status send(const txn::Destination& to, std::string_view bytes) override;

  // txn::TransactionUser
  void on_request(txn::TransactionId server, const sip::Message& request) override;
  void on_response(txn::TransactionId client, const sip::Message& response) override;
  void on_timeout(txn::TransactionId id) override;
  void on_transport_error(txn::TransactionId id, const Error& error) override;
  void on_terminated(txn::TransactionId id) override;

 private:
  void on_bytes(std::string_view bytes, const transport::Source& source);
  // The security gate; false when the message must go no further.
  bool answered_here(const sip::Message& message) const;
  bool admit_before_parse(std::string_view bytes, const transport::Source& source);
  bool admit_after_parse(std::string_view bytes, const sip::Message* message, const transport::Source& source);
  void process(sip::Message& message, const transport::Source& source);
  void answer_unparsable(std::string_view bytes, const transport::Source& source, const Error& error);
  void handle_register(txn::TransactionId server, const sip::Message& request);
  bool answer_options(txn::TransactionId server, const sip::Message& request);
  Status respond(txn::TransactionId server, std::string text);
  void count_sent(std::string_view bytes);
  void schedule_keepalive();
  void send_keepalives();

  Shared& shared_;
  unsigned index_;
  boost::asio::io_context io_;
  std::thread thread_;
  transport::Transport transport_;
  LoopTimers timers_;
  txn::TransactionTable table_;
  proxy::Proxy proxy_;
  WorkerCounters counters_;
  transport::Source current_;                                             // the source of the message being processed
  std::unordered_map<transport::ListenerId, transport::Endpoint> local_;  // for the rules' destination
  std::vector<transport::ListenerId> udp_listeners_;
  boost::asio::steady_timer keepalive_timer_;
  bool stopped_ = false;
};

// An IP address as a URI or Via host: IPv6 in brackets.
std::string host_text(std::string_view address);

// RFC 3581 and NAT handling on a received message, before the transaction layer.
// Adds received (and rport when asked for) to the top Via of a request.
void add_received(sip::Message& request, const transport::Source& source);
// A Contact with a private address (RFC 1918, RFC 6598) different from where the message
// came from is rewritten to that source (Kamailio's fix_nated_contact).
void fix_nated_contact(sip::Message& message, const transport::Source& source);
// A 400 for bytes the parser refused, when the request line and the headers a response
// needs (Via, From, To, Call-ID, CSeq) can still be found; empty otherwise.
std::string bad_request_for(std::string_view bytes, std::string_view reason);

}  // namespace sipbox::core
