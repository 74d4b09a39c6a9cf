// TransactionTable: matching, storage and the engine that runs the figures of fsm.cpp.
#include <random>

#include "txn/build.h"
#include "txn/fsm.h"
#include "txn/txn.h"

namespace sipbox::txn {

using detail::Event;
using detail::EventKind;

std::string_view timer_name(TimerId id) {
  static constexpr std::string_view kNames[] = {"A", "B", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "Trying"};
  const auto index = static_cast<std::size_t>(id);
  return index < std::size(kNames) ? kNames[index] : "?";
}

std::string_view state_name(State state) {
  static constexpr std::string_view kNames[] = {"Calling",   "Trying",   "Proceeding", "Completed",
                                                "Confirmed", "Accepted", "Terminated"};
  return kNames[static_cast<std::size_t>(state)];
}

TransactionTable::TransactionTable(TimerService& timers, Sender& sender, TransactionUser& user, TimerSettings settings)
    : timers_(timers), sender_(sender), user_(user), settings_(settings) {
  // Branches must be unique in space and time (8.1.1.7): a random prefix per table
  // keeps two tables (workers, restarts) apart, the counter keeps this one unique.
  std::random_device random;
  const std::uint64_t seed = (static_cast<std::uint64_t>(random()) << 32) ^ random();
  static constexpr char kHex[] = "0123456789abcdef";
  branch_prefix_ = "z9hG4bK";
  for (int shift = 60; shift >= 0; shift -= 4) branch_prefix_.push_back(kHex[(seed >> shift) & 0xf]);
  branch_prefix_.push_back('.');
}

TransactionTable::~TransactionTable() {
  for (auto& [id, txn] : by_id_)
    for (std::size_t t = 0; t < txn->timers.size(); ++t)
      if (txn->running & (1u << t)) timers_.cancel(txn->timers[t]);
}

std::string TransactionTable::new_branch() { return branch_prefix_ + std::to_string(++branch_counter_); }

TransactionTable::Txn& TransactionTable::create(Role role, const sip::Message& request, std::string key,
                                                const Destination& peer) {
  auto txn = std::make_unique<Txn>();
  txn->id = next_id_++;
  txn->role = role;
  txn->kind = request.method_id() == sip::Method::Invite ? Kind::Invite : Kind::NonInvite;
  txn->figure = &detail::figure_for(role, txn->kind);
  txn->state = txn->figure->initial;
  txn->key = std::move(key);
  // A non-INVITE server transaction never sends the request or builds from it (no 100
  // of its own, no ACK): it keeps only its last response for the 64*T1 it lives on.
  if (role == Role::Client || txn->kind == Kind::Invite) txn->request = request.serialize();
  txn->peer = peer;
  txn->reliable = sender_.is_reliable(peer);
  Txn& ref = *txn;
  by_key_.emplace(ref.key, ref.id);
  by_id_.emplace(ref.id, std::move(txn));
  (role == Role::Client ? counters_.client_created : counters_.server_created)++;
  return ref;
}

Result<Disposition> TransactionTable::receive_request(const sip::Message& request, const Destination& reply_to) {
  if (!request.is_request()) return fail("receive_request: not a request");
  const bool is_ack = request.method_id() == sip::Method::Ack;
  std::string key = detail::server_key(request);
  if (auto found = by_key_.find(key); found != by_key_.end()) {
    Txn& txn = *by_id_.at(found->second);
    // RFC 2543 fallback (17.2.3): the To tag must match the request's, or for an ACK
    // the tag of the response this transaction sent.
    const std::string_view tag = request.to().tag();
    const bool tag_ok = !txn.rfc2543 || (is_ack ? tag == txn.response_to_tag : tag == txn.request_to_tag);
    if (tag_ok && (!is_ack || txn.kind == Kind::Invite)) {
      const unsigned actions =
          dispatch(txn, Event{is_ack ? EventKind::RecvAck : EventKind::RecvRequest, &request, {}, {}});
      return (actions & detail::kPassToTu) ? Disposition::PassedToTu : Disposition::Absorbed;
    }
    if (!is_ack) return Disposition::Stray;  // an RFC 2543 peer reusing a key with another To tag
  }
  if (is_ack) {
    // An ACK for a 2xx is its own end-to-end request (17): the core routes it.
    ++counters_.stray_acks;
    return Disposition::Stray;
  }
  Txn& txn = create(Role::Server, request, std::move(key), reply_to);
  txn.rfc2543 = detail::uses_rfc2543_matching(request);
  if (txn.rfc2543) {  // only the RFC 2543 fallback matches by To tag
    txn.request_to_tag = std::string(request.to().tag());
    txn.response_to_tag = txn.request_to_tag;
  }
  dispatch(txn, Event{EventKind::Start, &request, {}, {}});
  return Disposition::NewTransaction;
}

Disposition TransactionTable::receive_response(const sip::Message& response) {
  if (!response.is_response() || response.vias().empty()) return Disposition::Stray;
  auto found = by_key_.find(detail::client_key(response));
  if (found == by_key_.end()) {
    ++counters_.stray_responses;
    return Disposition::Stray;
  }
  Txn& txn = *by_id_.at(found->second);
  const unsigned actions =
      dispatch(txn, Event{detail::response_event(response.status_code(), false), &response, {}, {}});
  return (actions & detail::kPassToTu) ? Disposition::PassedToTu : Disposition::Absorbed;
}

Result<TransactionId> TransactionTable::send_request(const sip::Message& request, const Destination& to) {
  if (!request.is_request()) return fail("send_request: not a request");
  if (request.method_id() == sip::Method::Ack)
    return fail("an ACK is not a transaction (RFC 3261 17.1.1.3): send it through the transport");
  if (request.vias().empty() || !request.top_via().rfc3261_branch())
    return fail("send_request: the top Via needs an RFC 3261 branch (z9hG4bK...) from new_branch()");
  std::string key = detail::client_key(request.top_via().branch(), request.method());
  if (by_key_.contains(key)) return fail("send_request: a transaction with this branch and method exists");
  Txn& txn = create(Role::Client, request, std::move(key), to);
  const TransactionId id{txn.id};
  dispatch(txn, Event{EventKind::Start, &request, {}, {}});
  return id;
}

TransactionTable::Txn* TransactionTable::server_transaction(TransactionId id) {
  auto found = by_id_.find(id.value);
  return found == by_id_.end() || found->second->role != Role::Server ? nullptr : found->second.get();
}

Status TransactionTable::respond(TransactionId server, const sip::Message& response) {
  Txn* txn = server_transaction(server);
  if (txn == nullptr) return fail("respond: no such server transaction (terminated?)");
  if (!response.is_response() || response.status_code() < 100 || response.status_code() > 699)
    return fail("respond: not a response with a status 100-699");
  return respond_with(*txn, response.status_code(), response.to().tag(), response.serialize());
}

Status TransactionTable::respond(TransactionId server, std::string response_bytes) {
  Txn* txn = server_transaction(server);
  if (txn == nullptr) return fail("respond: no such server transaction (terminated?)");
  const int status = sip::response_status(response_bytes);  // all the figure needs
  if (status == 0) return fail("respond: not a response with a status 100-699");
  sip::Message parsed;
  std::string_view to_tag;
  if (status >= 200 && txn->rfc2543) {
    // Only the RFC 2543 fallback matches the ACK by the To tag this response carries.
    if (Status ok = sip::parse_message(response_bytes, sip::Framing::Datagram, parsed); !ok)
      return fail("respond: " + ok.error().message);
    to_tag = parsed.to().tag();
  }
  return respond_with(*txn, status, to_tag, std::move(response_bytes));
}

Status TransactionTable::respond_with(Txn& txn, int status, std::string_view to_tag, std::string&& bytes) {
  const EventKind kind = detail::response_event(status, true);
  if (detail::find_row(*txn.figure, txn.state, kind) == nullptr)
    return fail("respond: a " + std::to_string(status) + " is not allowed in state " +
                std::string(state_name(txn.state)) + " (" + txn.figure->name + ")");
  txn.last_status = status;
  // Copied before `bytes` moves: `to_tag` may view them.
  if (status >= 200 && txn.rfc2543) txn.response_to_tag = std::string(to_tag);
  // The event carries the bytes only: it may run after the caller's message is gone (queued
  // behind a row that called the TU, e.g. respond() from inside on_request()).
  dispatch(txn, Event{kind, nullptr, std::move(bytes), {}});
  return {};
}

std::optional<TransactionId> TransactionTable::find_server(const sip::Message& request, bool as_invite) const {
  auto found = by_key_.find(detail::server_key(request, as_invite ? "INVITE" : std::string_view{}));
  if (found == by_key_.end()) return std::nullopt;
  const Txn& txn = *by_id_.at(found->second);
  if (txn.role != Role::Server) return std::nullopt;
  return TransactionId{txn.id};
}

std::optional<TransactionId> TransactionTable::cancel_target(const sip::Message& cancel) const {
  if (!cancel.is_request() || cancel.method_id() != sip::Method::Cancel) return std::nullopt;
  return find_server(cancel, true);
}

std::optional<TransactionInfo> TransactionTable::info(TransactionId id) const {
  auto found = by_id_.find(id.value);
  if (found == by_id_.end()) return std::nullopt;
  const Txn& txn = *found->second;
  return TransactionInfo{txn.role, txn.kind, txn.state, txn.last_status, txn.peer};
}

std::string_view TransactionTable::sent_request(TransactionId client) const {
  auto found = by_id_.find(client.value);
  if (found == by_id_.end() || found->second->role != Role::Client) return {};
  return found->second->request;
}

// ---- engine ----

unsigned TransactionTable::dispatch(Txn& txn, Event event) {
  // A TU callback may re-enter (respond() from on_request()); such events queue
  // behind the running one, so every row runs to completion before the next.
  if (txn.busy) {
    txn.pending.push_back(std::move(event));
    return 0;
  }
  txn.busy = true;
  const unsigned first = run(txn, event);
  for (std::size_t i = 0; i < txn.pending.size(); ++i) {  // run() may append more
    Event next = std::move(txn.pending[i]);
    run(txn, next);
  }
  if (txn.pending.capacity() != 0) std::vector<Event>().swap(txn.pending);
  txn.busy = false;
  switch (txn.state) {
    case State::Terminated:
      retire(txn);
      break;  // txn is gone after this
    case State::Confirmed:
    case State::Accepted:
      // Confirmed absorbs ACKs only; in Accepted the TU, not the transaction, repeats a
      // 2xx (RFC 6026). Nothing is sent from the stored response again.
      if (txn.role == Role::Server && txn.last_response.capacity() != 0) std::string().swap(txn.last_response);
      [[fallthrough]];
    case State::Completed:
      // Only responses and ACKs are repeated from here on (last_response, ack): the
      // request's bytes would just sit in memory until Timer J/K/I/L/M.
      if (txn.request.capacity() != 0) std::string().swap(txn.request);
      break;
    default:
      break;
  }
  return first;
}

unsigned TransactionTable::run(Txn& txn, Event& event) {
  if (txn.state == State::Terminated) return 0;
  const detail::Row* row = detail::find_row(*txn.figure, txn.state, event.kind);
  if (row == nullptr) {
    ++counters_.ignored;
    return 0;
  }
  const TransactionId id{txn.id};
  txn.state = row->to;
  for (std::size_t t = 0; t < txn.timers.size(); ++t) {
    if ((row->stop & (1u << t)) && (txn.running & (1u << t))) {
      timers_.cancel(txn.timers[t]);
      txn.running = static_cast<std::uint16_t>(txn.running & ~(1u << t));
    }
  }
  const unsigned a = row->actions;
  if (event.message != nullptr && event.message->is_response() && txn.role == Role::Client)
    txn.last_status = event.message->status_code();
  if (a & detail::kSendRequest) transmit(txn, txn.request);
  if (a & detail::kResendRequest) ++counters_.retransmissions_sent, transmit(txn, txn.request);
  if (a & detail::kSendResponse) {
    txn.last_response = std::move(event.bytes);
    transmit(txn, txn.last_response);
  }
  if ((a & detail::kResendResponse) && !txn.last_response.empty())
    ++counters_.retransmissions_sent, transmit(txn, txn.last_response);
  if (a & detail::kSend100) {
    if (auto trying = detail::build_trying(txn.request)) {
      txn.last_response = std::move(*trying);
      txn.last_status = 100;
      ++counters_.trying_sent;
      transmit(txn, txn.last_response);
    }
  }
  if ((a & detail::kSendAck) && event.message != nullptr) {
    if (auto ack = detail::build_ack(txn.request, *event.message)) {
      txn.ack = std::move(*ack);
      transmit(txn, txn.ack);
    }
  }
  if ((a & detail::kResendAck) && !txn.ack.empty()) ++counters_.retransmissions_sent, transmit(txn, txn.ack);
  if (a & detail::kAbsorb) ++counters_.retransmissions_absorbed;
  if ((a & detail::kPassToTu) && event.message != nullptr) {
    if (txn.role == Role::Server)
      user_.on_request(id, *event.message);
    else
      user_.on_response(id, *event.message);
  }
  if (a & detail::kReportTimeout) ++counters_.timeouts, user_.on_timeout(id);
  if (a & detail::kReportTransportError) ++counters_.transport_errors, user_.on_transport_error(id, Error{event.error});
  if (txn.state != State::Terminated) {
    for (std::size_t t = 0; t < txn.timers.size(); ++t)
      if (row->start & (1u << t))
        start_timer(txn, static_cast<TimerId>(t), event.kind == detail::event_for(static_cast<TimerId>(t)));
  }
  return a;
}

void TransactionTable::start_timer(Txn& txn, TimerId timer, bool rearm) {
  const bool retransmit = timer == TimerId::A || timer == TimerId::E || timer == TimerId::G;
  std::optional<Millis> previous;
  if (retransmit && rearm) previous = txn.retransmit_interval;
  const std::optional<Millis> duration = detail::timer_duration(settings_, timer, txn.reliable, txn.state, previous);
  if (!duration) return;
  if (retransmit) txn.retransmit_interval = *duration;
  const auto index = static_cast<std::size_t>(timer);
  if (txn.running & (1u << index)) timers_.cancel(txn.timers[index]);
  if (duration->count() == 0) {
    // Reliable transports: D, I, J, K are zero (17.1.1.2, 17.1.2.2, 17.2.1, 17.2.2).
    txn.running = static_cast<std::uint16_t>(txn.running & ~(1u << index));
    txn.pending.push_back(Event{detail::event_for(timer), nullptr, {}, {}});
    return;
  }
  // Id and timer in one word: with `this` the capture fits std::function's own storage.
  static_assert(static_cast<unsigned>(TimerId::Count) <= 16);
  const std::uint64_t packed = (txn.id << 4) | index;
  txn.timers[index] =
      timers_.schedule(*duration, [this, packed] { on_timer(packed >> 4, static_cast<TimerId>(packed & 0xf)); });
  txn.running = static_cast<std::uint16_t>(txn.running | (1u << index));
}

void TransactionTable::on_timer(std::uint64_t id, TimerId timer) {
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return;
  Txn& txn = *found->second;
  const auto index = static_cast<std::size_t>(timer);
  txn.running = static_cast<std::uint16_t>(txn.running & ~(1u << index));
  dispatch(txn, Event{detail::event_for(timer), nullptr, {}, {}});
}

void TransactionTable::transmit(Txn& txn, const std::string& bytes) {
  if (Status sent = sender_.send(txn.peer, bytes); !sent)
    txn.pending.push_back(Event{EventKind::TransportError, nullptr, {}, sent.error().message});
}

void TransactionTable::retire(Txn& txn) {
  for (std::size_t t = 0; t < txn.timers.size(); ++t)
    if (txn.running & (1u << t)) timers_.cancel(txn.timers[t]);
  const TransactionId id{txn.id};
  by_key_.erase(txn.key);
  by_id_.erase(id.value);  // txn is destroyed here
  ++counters_.terminated;
  user_.on_terminated(id);
}

}  // namespace sipbox::txn
