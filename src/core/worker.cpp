// One SIP worker: receive, parse, shard, and the transaction user that dispatches to the
// registrar, the server's own OPTIONS answer, or the proxy.
#include "core/worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <functional>

namespace sipbox::core {
namespace {

std::string transport_lower(txn::TransportKind kind) { return sip::ascii_lower(proxy::transport_name(kind)); }

security::Address address_of(const std::string& text) {
  boost::system::error_code ec;
  return boost::asio::ip::make_address(text, ec);
}

// The proxy's view of the shared parts, with the security hooks when a Guard is set.
proxy::Environment proxy_environment(Shared& shared, txn::TransactionTable& table, txn::Sender& sender,
                                     txn::TimerService& timers) {
  proxy::Environment env;
  env.table = &table;
  env.sender = &sender;
  env.timers = &timers;
  env.location = shared.location;
  env.directory = shared.directory;
  env.auth = shared.auth.get();
  env.self = &shared.self;
  env.active_calls = &shared.active_calls;
  env.relay = shared.settings.relay;
  env.media = shared.settings.media;
  if (security::Guard* guard = shared.guard) {
    env.on_auth_failure = [guard](const registrar::AuthFailure& f) {
      guard->auth_failure(address_of(f.source.address), f.user, security::Clock::now());
    };
    env.on_unknown_user = [guard](const txn::Destination& source, std::string_view user) {
      guard->unknown_user(address_of(source.address), user, security::Clock::now());
    };
    env.on_call_attempt = [guard](const txn::Destination& source, std::string_view account, std::string_view target) {
      return guard->call_attempt(address_of(source.address), account, target, security::Clock::now());
    };
    env.on_call_limit = [guard](const txn::Destination& source, std::string_view account, std::size_t active,
                                std::uint16_t limit) {
      guard->call_limit_reached(address_of(source.address), account, active, limit);
    };
  }
  return env;
}

}  // namespace

LoopTimers::~LoopTimers() { alarm_.cancel(); }

txn::TimerService::Handle LoopTimers::schedule(txn::Millis delay, std::function<void()> callback) {
  std::uint32_t index = 0;
  if (free_.empty()) {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    index = free_.back();
    free_.pop_back();
  }
  Slot& slot = slots_[index];
  slot.callback = std::move(callback);
  const Handle handle = handle_of(index, slot.generation);
  heap_.push_back(Due{due_at(Clock::now(), delay), handle});
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  if (heap_.front().at + kCoalesce < armed_for_) arm();
  return handle;
}

LoopTimers::Clock::time_point LoopTimers::due_at(Clock::time_point now, txn::Millis delay) {
  const Clock::time_point due = now + delay;
  if (delay < kLong) return due;
  constexpr auto grain = std::chrono::duration_cast<Clock::duration>(kLongGrain);
  return Clock::time_point((due.time_since_epoch() + grain - Clock::duration(1)) / grain * grain);
}

LoopTimers::Slot* LoopTimers::live_slot(Handle handle) {
  const std::uint32_t index = index_of(handle);
  if (index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  return handle_of(index, slot.generation) == handle && slot.callback ? &slot : nullptr;
}

void LoopTimers::release(Slot& slot, std::uint32_t index) {
  slot.callback = nullptr;
  ++slot.generation;  // the handle, and its heap entry, are stale from here on
  free_.push_back(index);
}

void LoopTimers::cancel(Handle handle) {
  if (Slot* slot = live_slot(handle)) release(*slot, index_of(handle));
}

void LoopTimers::drop_cancelled_front() {
  while (!heap_.empty() && live_slot(heap_.front().handle) == nullptr) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
  }
}

void LoopTimers::arm() {
  // Most timers are cancelled before they are due (retransmission timers stop at the first
  // response, Trying at the TU's answer): the alarm waits for a live one, or a worker
  // would wake up for each of them for nothing.
  drop_cancelled_front();
  if (heap_.empty()) {
    armed_for_ = Clock::time_point::max();
    return;
  }
  // The alarm goes off a little after the earliest entry, for everything due by then:
  // transactions end in steady streams (Timer J of every REGISTER), one wake-up and one
  // timerfd update each would cost more than the work they do.
  const Clock::time_point at = heap_.front().at + kCoalesce;
  if (at == armed_for_) return;
  armed_for_ = at;
  alarm_.expires_at(armed_for_);
  alarm_.async_wait([this](const boost::system::error_code& error) {
    if (!error) on_alarm();  // aborted: re-armed for an earlier entry, or shut down
  });
}

void LoopTimers::on_alarm() {
  ++alarms_;
  armed_for_ = Clock::time_point::max();
  const auto now = Clock::now();
  while (!heap_.empty() && heap_.front().at <= now) {
    const Handle handle = heap_.front().handle;
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
    Slot* slot = live_slot(handle);
    if (!slot) continue;  // cancelled
    // Freed before the call: the callback may schedule (and reuse this slot) or cancel.
    std::function<void()> callback = std::move(slot->callback);
    release(*slot, index_of(handle));
    callback();
  }
  arm();
}

Worker::Worker(Shared& shared, unsigned index)
    : shared_(shared),
      index_(index),
      transport_(io_, shared.settings.transport,
                 [this](std::string_view bytes, const transport::Source& source) { on_bytes(bytes, source); }),
      timers_(io_),
      table_(timers_, *this, *this, shared.settings.timers),
      proxy_(proxy_environment(shared, table_, *this, timers_), shared.settings.proxy),
      keepalive_timer_(io_) {}

Worker::~Worker() { stop(); }

Status Worker::listen(const ListenerSpec& spec, BoundListener& bound) {
  auto id = transport_.listen(spec.kind, spec.address, spec.port);
  if (!id) return fail(id.error().message);
  auto endpoint = transport_.local_endpoint(*id);
  if (!endpoint) return fail(endpoint.error().message);
  bound = BoundListener{spec.kind, endpoint->address.to_string(), endpoint->port};
  local_[*id] = *endpoint;
  if (spec.kind == txn::TransportKind::Udp) udp_listeners_.push_back(*id);
  return {};
}

unsigned Worker::steer_udp_by_call_id() {
  const auto workers = static_cast<unsigned>(shared_.workers.size());
  unsigned steered_count = 0;
  for (const transport::ListenerId id : udp_listeners_) {
    const auto& at = local_.at(id);
    if (Status steered = transport_.steer_by_call_id(id, workers); !steered) {
      spdlog::info(
          "UDP {}:{}: the kernel spreads datagrams by source ({}); the workers pass on the ones of each "
          "other's calls",
          at.address.to_string(), at.port, steered.error().message);
    } else {
      ++steered_count;
      spdlog::debug("UDP {}:{}: the kernel delivers each datagram to its Call-ID's worker", at.address.to_string(),
                    at.port);
    }
  }
  return steered_count;
}

void Worker::start() {
  if (index_ == 0) schedule_keepalive();
  thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
}

void Worker::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] {
      keepalive_timer_.cancel();
      transport_.stop();
      io_.stop();
    });
    thread_.join();
  }
}

void Worker::post_message(std::string bytes, transport::Source source) {
  boost::asio::post(io_, [this, bytes = std::move(bytes), source] {
    sip::Message message;
    if (sip::parse_message(bytes, transport::framing_for(source.kind), message)) process(message, source);
  });
}

void Worker::post_send(txn::Destination to, std::string bytes) {
  boost::asio::post(io_, [this, to = std::move(to), bytes = std::move(bytes)] { (void)transport_.send(to, bytes); });
}

void Worker::collect(CoreStats& into) {
  for (std::size_t i = 0; i < CoreStats::kMethods; ++i) {
    into.requests_received[i] += counters_.requests_received[i];
    into.requests_sent[i] += counters_.requests_sent[i];
  }
  for (std::size_t i = 0; i < 700; ++i) {
    into.responses_received[i] += counters_.responses_received[i];
    into.responses_sent[i] += counters_.responses_sent[i];
  }
  into.banned_dropped += counters_.banned_dropped;
  into.security_dropped += counters_.security_dropped;
  into.malformed_dropped += counters_.malformed_dropped;
  into.malformed_answered += counters_.malformed_answered;
  into.handoffs += counters_.handoffs;
  into.keepalives_sent += counters_.keepalives_sent;
  into.options_answered += counters_.options_answered;
  into.transactions += table_.size();
  into.txn += table_.counters();
  into.transport += transport_.counters();
  into.proxy += proxy_.stats();
}

void Worker::count_sent(std::string_view bytes) {
  if (bytes.starts_with("SIP/2.0 ")) {
    if (const int code = sip::response_status(bytes)) ++counters_.responses_sent[static_cast<std::size_t>(code)];
    return;
  }
  const auto method = sip::method_from_name(bytes.substr(0, bytes.find(' ')));
  ++counters_.requests_sent[static_cast<std::size_t>(method)];
}

Status Worker::send(const txn::Destination& to, std::string_view bytes) {
  count_sent(bytes);
  if (to.transport == txn::TransportKind::Udp || index_ == 0) return transport_.send(to, bytes);
  shared_.workers[0]->post_send(to, std::string(bytes));
  return {};
}

void Worker::on_bytes(std::string_view bytes, const transport::Source& source) {
  if (shared_.guard && !admit_before_parse(bytes, source)) return;
  sip::Message message;
  if (auto parsed = sip::parse_message(bytes, transport::framing_for(source.kind), message); !parsed) {
    if (shared_.guard && !admit_after_parse(bytes, nullptr, source)) return;
    answer_unparsable(bytes, source, parsed.error());
    return;
  }
  if (shared_.guard && !admit_after_parse(bytes, &message, source)) return;
  const auto workers = static_cast<unsigned>(shared_.workers.size());
  const unsigned shard = transport::call_id_worker(message.call_id(), workers);
  if (shard != index_ && !answered_here(message)) {
    ++counters_.handoffs;
    shared_.workers[shard]->post_message(std::string(bytes), source);
    return;
  }
  process(message, source);
}

// A REGISTER for this registrar is answered by the registrar, whose state is shared, and
// its retransmissions come from the same source, so the kernel's SO_REUSEPORT hash brings
// them to this worker too: it needs no Call-ID affinity, and the hand-over (a copy, a
// wake-up of the other worker and a second parse) would only cost. Requests the proxy
// forwards keep the affinity: their responses and CANCELs are matched by the owner.
bool Worker::answered_here(const sip::Message& message) const {
  if (!message.is_request() || message.method_id() != sip::Method::Register) return false;
  const sip::Uri& ruri = message.request_uri();
  return shared_.directory->is_local_domain(sip::ascii_lower(ruri.host)) || shared_.self.is_self(ruri);
}

bool Worker::admit_before_parse(std::string_view bytes, const transport::Source& source) {
  const auto verdict = shared_.guard->before_parse(source.remote.address, security::WallClock::now());
  if (verdict == security::Verdict::Pass) return true;
  ++counters_.banned_dropped;
  if (verdict == security::Verdict::Drop) return false;
  // ban-action reject-403 / reject-503: a request that parses gets the answer.
  sip::Message message;
  if (!sip::parse_message(bytes, transport::framing_for(source.kind), message) || !message.is_request() ||
      message.method_id() == sip::Method::Ack)
    return false;
  const std::string answer = verdict == security::Verdict::Reject403
                                 ? sip::simple_response(message, 403, "Forbidden")
                                 : sip::simple_response(message, 503, "Service Unavailable");
  count_sent(answer);
  (void)transport_.reply(source, answer);
  return false;
}

bool Worker::admit_after_parse(std::string_view bytes, const sip::Message* message, const transport::Source& source) {
  security::Packet packet;
  packet.bytes = bytes;
  packet.message = message;
  packet.udp = source.kind == txn::TransportKind::Udp;
  packet.src = source.remote.address;
  packet.src_port = source.remote.port;
  if (auto local = local_.find(source.listener); local != local_.end()) {
    packet.dst = local->second.address;
    packet.dst_port = local->second.port;
  }
  if (shared_.guard->inspect(packet, security::Clock::now()) == security::Verdict::Pass) return true;
  ++counters_.security_dropped;
  return false;
}

void Worker::answer_unparsable(std::string_view bytes, const transport::Source& source, const Error& error) {
  const std::string answer = bad_request_for(bytes, error.message);
  if (answer.empty()) {
    ++counters_.malformed_dropped;
    spdlog::debug("dropped an unparsable message from {}:{}: {}", source.remote.address.to_string(), source.remote.port,
                  error.message);
    return;
  }
  ++counters_.malformed_answered;
  count_sent(answer);
  (void)transport_.reply(source, answer);
}

void Worker::process(sip::Message& message, const transport::Source& source) {
  current_ = source;
  try {
    if (message.is_request()) {
      ++counters_.requests_received[static_cast<std::size_t>(message.method_id())];
      add_received(message, source);
      fix_nated_contact(message, source);
      auto disposition = table_.receive_request(message, source.reply_destination());
      if (disposition && *disposition == txn::Disposition::Stray && message.method_id() == sip::Method::Ack)
        proxy_.on_stray_ack(message);
    } else {
      const int code = message.status_code();
      if (code >= 100 && code < 700) ++counters_.responses_received[static_cast<std::size_t>(code)];
      fix_nated_contact(message, source);
      if (table_.receive_response(message) == txn::Disposition::Stray) proxy_.on_stray_response(message);
    }
  } catch (const std::invalid_argument& error) {
    // An edit the message's own content made impossible (e.g. a Contact that cannot be
    // rewritten): the message is dropped, the worker goes on.
    ++counters_.malformed_dropped;
    spdlog::debug("dropped a message from {}: {}", source.remote.address.to_string(), error.what());
  }
}

Status Worker::respond(txn::TransactionId server, std::string text) { return table_.respond(server, std::move(text)); }

void Worker::on_request(txn::TransactionId server, const sip::Message& request) {
  switch (request.method_id()) {
    case sip::Method::Cancel:
      proxy_.on_cancel(server, request);
      return;
    case sip::Method::Ack:
      proxy_.on_stray_ack(request);
      return;  // RFC 6026: the ACK for a 2xx
    case sip::Method::Register: {
      const sip::Uri& ruri = request.request_uri();
      if (shared_.directory->is_local_domain(sip::ascii_lower(ruri.host)) || shared_.self.is_self(ruri)) {
        handle_register(server, request);
        return;
      }
      break;
    }
    case sip::Method::Options:
      if (answer_options(server, request)) return;
      break;
    default:
      break;
  }
  proxy_.on_request(server, request, current_.reply_destination());
}

void Worker::handle_register(txn::TransactionId server, const sip::Message& request) {
  store::Source source;
  source.transport = transport_lower(current_.kind);
  source.address = transport::address_text(current_.remote.address);
  source.port = current_.remote.port;
  source.socket = transport_lower(current_.kind) + ":" + std::to_string(current_.listener);
  auto response = shared_.registrar->handle(request, source, registrar::Clock::now());
  if (response.status == 404 && shared_.guard)
    shared_.guard->unknown_user(current_.remote.address, sip::unescape(request.to().uri.user), security::Clock::now());
  (void)respond(server, std::move(response.text));
}

bool Worker::answer_options(txn::TransactionId server, const sip::Message& request) {
  // OPTIONS to the server itself (no user part), or one whose Max-Forwards ran out
  // (RFC 3261 11, 16.3 step 3).
  const sip::Uri& ruri = request.request_uri();
  const bool to_server =
      ruri.is_sip() && !ruri.has_user &&
      (shared_.self.is_self(ruri) || shared_.directory->is_local_domain(sip::ascii_lower(ruri.host)));
  if (!to_server && request.max_forwards() != 0) return false;
  ++counters_.options_answered;
  std::string headers =
      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK\r\n"
      "Accept: application/sdp\r\nSupported: path, outbound\r\nServer: " +
      shared_.settings.server_name + "\r\n";
  (void)respond(server, sip::simple_response(request, 200, "OK", headers));
  return true;
}

void Worker::on_response(txn::TransactionId client, const sip::Message& response) {
  proxy_.on_response(client, response);
}
void Worker::on_timeout(txn::TransactionId id) { proxy_.on_timeout(id); }
void Worker::on_transport_error(txn::TransactionId id, const Error&) { proxy_.on_transport_error(id); }
void Worker::on_terminated(txn::TransactionId id) { proxy_.on_terminated(id); }

void Worker::schedule_keepalive() {
  if (shared_.settings.nat_keepalive.count() == 0) return;
  keepalive_timer_.expires_after(shared_.settings.nat_keepalive);
  keepalive_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    send_keepalives();
    schedule_keepalive();
  });
}

void Worker::send_keepalives() {
  // Out of any transaction: the answers arrive as stray responses and end there.
  const auto now = registrar::Clock::now();
  for (const registrar::Registration& r : shared_.location->nat_bindings(now)) {
    txn::Destination to{r.binding.received.address, r.binding.received.port, txn::TransportKind::Udp};
    const proxy::Interface* out =
        shared_.self.interface_for(txn::TransportKind::Udp, to.address.find(':') != std::string::npos);
    if (!out) continue;
    const std::string branch = table_.new_branch();
    std::string text = "OPTIONS " + r.binding.contact + " SIP/2.0\r\nVia: SIP/2.0/UDP " + out->host + ":" +
                       std::to_string(out->port) + ";branch=" + branch +
                       "\r\nMax-Forwards: 70\r\nFrom: <sip:keepalive@" + out->host + ">;tag=" + branch.substr(7, 12) +
                       "\r\nTo: <" + r.binding.contact + ">\r\nCall-ID: " + branch +
                       "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    if (send(to, text)) ++counters_.keepalives_sent;
  }
}

}  // namespace sipbox::core
