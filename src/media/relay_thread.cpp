// The relay thread's loop: receive batches, forwarding, commands and timers (relay_thread.h).
#include "media/relay_thread.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sipbox::media::detail {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// Timer granularity: media timeouts fire up to this late, interval reports likewise.
constexpr std::int64_t kTickNs = 250'000'000;

// Markers in epoll_event.data.ptr for the thread's own descriptors (sockets carry their SocketRef).
constexpr std::uintptr_t kWakeupTag = 1;
constexpr std::uintptr_t kTimerTag = 2;

std::string errno_text(const char* what) { return std::string("media relay: ") + what + ": " + std::strerror(errno); }

}  // namespace

std::int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * kSecond + now.tv_nsec;
}

namespace {

std::int64_t realtime_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * kSecond + now.tv_nsec;
}

std::int64_t arrival_ns(const msghdr& header, std::int64_t realtime_offset, std::int64_t batch_now) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    const std::int64_t at = static_cast<std::int64_t>(stamp.tv_sec) * kSecond + stamp.tv_nsec + realtime_offset;
    return std::min(at, batch_now);  // a clock step must not put arrivals in the future
  }
  return batch_now;
}

}  // namespace

bool Directory::current(std::string_view call_id, unsigned index, std::uint64_t id) const {
  const auto call = calls.find(call_id);
  if (call == calls.end()) return false;
  const auto stream = call->second.find(index);
  return stream != call->second.end() && stream->second.id == id;
}

void Directory::erase_call(std::string_view call_id) {
  const auto call = calls.find(call_id);
  if (call == calls.end()) return;
  stream_count -= call->second.size();
  calls.erase(call);
  --call_count;
}

RelayThread::RelayThread(const RelayOptions& options, RelayObserver& observer, PortPool& pool)
    : options_(options), observer_(observer), pool_(pool), storage_(kBatch * kSlot) {}

RelayThread::~RelayThread() {
  if (thread_.joinable()) stop();
}

Status RelayThread::open() {
  epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return fail(errno_text("epoll_create1"));
  wakeup_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup_) return fail(errno_text("eventfd"));
  timer_ = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_) return fail(errno_text("timerfd_create"));
  itimerspec period{};
  period.it_interval.tv_nsec = kTickNs;
  period.it_value.tv_nsec = kTickNs;
  if (::timerfd_settime(timer_.get(), 0, &period, nullptr) != 0) return fail(errno_text("timerfd_settime"));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = reinterpret_cast<void*>(kWakeupTag);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &event) != 0) return fail(errno_text("epoll_ctl"));
  event.data.ptr = reinterpret_cast<void*>(kTimerTag);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &event) != 0) return fail(errno_text("epoll_ctl"));
  return {};
}

void RelayThread::start() {
  next_report_ns_ = monotonic_ns() + options_.report_interval.count() * kSecond;
  thread_ = std::thread([this] { run(); });
}

void RelayThread::stop() {
  if (!thread_.joinable()) return;  // never started (start() failed for another shard)
  Command command;
  command.kind = Command::Kind::stop;
  post(std::move(command));
  thread_.join();
}

void RelayThread::post(Command command) {
  {
    std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  // A full counter (EAGAIN) still wakes the thread: nothing to do on failure.
  [[maybe_unused]] const auto written = ::write(wakeup_.get(), &one, sizeof one);
}

void RelayThread::run() {
  std::array<epoll_event, kEvents> events{};
  while (!stopping_) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), kEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EBADF/EINVAL: a programming error; end the loop rather than spin
    }
    bool wakeup = false;
    bool tick = false;
    for (int i = 0; i < n; ++i) {
      const auto tag = reinterpret_cast<std::uintptr_t>(events[i].data.ptr);
      wakeup = wakeup || tag == kWakeupTag;
      tick = tick || tag == kTimerTag;
    }
    // Commands first: a set_remote posted before a packet was sent applies to it.
    if (wakeup) {
      std::uint64_t value = 0;
      [[maybe_unused]] const auto read = ::read(wakeup_.get(), &value, sizeof value);
      run_commands();
    }
    if (tick) {
      std::uint64_t expirations = 0;
      [[maybe_unused]] const auto read = ::read(timer_.get(), &expirations, sizeof expirations);
      on_tick();
    }
    for (int i = 0; i < n; ++i) {
      const auto tag = reinterpret_cast<std::uintptr_t>(events[i].data.ptr);
      if (tag == kWakeupTag || tag == kTimerTag) continue;
      // A stream retired above is kept (in graveyard_) until the end of this round, with
      // its descriptors at -1, so its events here are skipped.
      auto& ref = *static_cast<SocketRef*>(events[i].data.ptr);
      if (ref.fd >= 0) on_readable(ref);
    }
    graveyard_.clear();
  }
}

void RelayThread::on_readable(SocketRef& ref) {
  std::uint64_t dropped = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      recv_iov_[i] = {storage_.data() + i * kSlot, kSlot};
      recv_msgs_[i] = {};
      recv_msgs_[i].msg_hdr.msg_name = &recv_from_[i];
      recv_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      recv_msgs_[i].msg_hdr.msg_iov = &recv_iov_[i];
      recv_msgs_[i].msg_hdr.msg_iovlen = 1;
      recv_msgs_[i].msg_hdr.msg_control = recv_control_[i].bytes;
      recv_msgs_[i].msg_hdr.msg_controllen = sizeof recv_control_[i].bytes;
    }
    const int n = ::recvmmsg(ref.fd, recv_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;  // EAGAIN, or an ICMP-induced error: wait for the next readiness
    const std::int64_t batch_now = monotonic_ns();
    // The kernel stamps packets with CLOCK_REALTIME; moved onto the monotonic clock here.
    const std::int64_t realtime_offset = batch_now - realtime_ns();
    std::size_t queued = 0;
    Tally tally;
    for (int i = 0; i < n; ++i) {
      const msghdr& header = recv_msgs_[i].msg_hdr;
      if ((header.msg_flags & MSG_TRUNC) != 0) {
        ++dropped;
        continue;
      }
      const std::int64_t now = arrival_ns(header, realtime_offset, batch_now);
      const SockAddr from = SockAddr::from(recv_from_[i], header.msg_namelen);
      const std::span<const std::uint8_t> bytes(storage_.data() + i * kSlot, recv_msgs_[i].msg_len);
      const auto route = ref.stream->on_datagram(ref, bytes, from, now, tally);
      if (!route) continue;
      // The datagram leaves from the receive buffer: sent before the next round reuses it.
      send_to_[queued] = *route->to;
      send_fd_[queued] = route->fd;
      send_iov_[queued] = {storage_.data() + i * kSlot, bytes.size()};
      ++queued;
    }
    dropped += tally.dropped;
    flush(queued);
    if (static_cast<unsigned>(n) < kBatch) break;
  }
  if (dropped) counters_.packets_dropped.fetch_add(dropped, std::memory_order_relaxed);
}

void RelayThread::flush(std::size_t count) {
  std::uint64_t packets = 0;
  std::uint64_t octets = 0;
  std::uint64_t failed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    send_msgs_[i] = {};
    send_msgs_[i].msg_hdr.msg_name = &send_to_[i].addr.any;
    send_msgs_[i].msg_hdr.msg_namelen = send_to_[i].len;
    send_msgs_[i].msg_hdr.msg_iov = &send_iov_[i];
    send_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  // One sendmmsg per run of datagrams leaving from the same socket (RTP and RTCP of a
  // muxed side may alternate).
  std::size_t start = 0;
  while (start < count) {
    std::size_t end = start + 1;
    while (end < count && send_fd_[end] == send_fd_[start]) ++end;
    std::size_t sent = start;
    while (sent < end) {
      const int n = ::sendmmsg(send_fd_[start], send_msgs_.data() + sent, static_cast<unsigned>(end - sent), 0);
      if (n > 0) {
        for (int k = 0; k < n; ++k) octets += send_iov_[sent + static_cast<std::size_t>(k)].iov_len;
        packets += static_cast<std::uint64_t>(n);
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        ++failed;  // full socket buffer, unreachable network: UDP, drop and count
        ++sent;
      }
    }
    start = end;
  }
  if (packets) {
    counters_.packets_relayed.fetch_add(packets, std::memory_order_relaxed);
    counters_.octets_relayed.fetch_add(octets, std::memory_order_relaxed);
  }
  if (failed) counters_.packets_dropped.fetch_add(failed, std::memory_order_relaxed);
}

void RelayThread::run_commands() {
  {
    std::lock_guard lock(queue_mutex_);
    running_.swap(queue_);
  }
  for (Command& command : running_) execute(command);
  running_.clear();
}

void RelayThread::execute(Command& command) {
  switch (command.kind) {
    case Command::Kind::add_stream:
      add_stream(command);
      break;
    case Command::Kind::replace_side:
      replace_side(command);
      break;
    case Command::Kind::set_remote:
      if (Stream* stream = find(command)) {
        stream->set_remote(command.side, command.rtp, command.rtcp, command.rtcp_mux, monotonic_ns());
      }
      break;
    case Command::Kind::set_codec:
      if (Stream* stream = find(command)) stream->set_codec(command.side, command.codec);
      break;
    case Command::Kind::set_held:
      if (Stream* stream = find(command)) stream->set_held(command.side, command.held, monotonic_ns());
      break;
    case Command::Kind::end:
      end_call(command.call_id, command.reason, true);
      if (command.done) command.done->set_value();
      break;
    case Command::Kind::stop:
      while (!calls_.empty()) end_call(std::string(calls_.begin()->first), EndReason::shutdown, false);
      stopping_ = true;
      break;
  }
}

void RelayThread::add_stream(Command& command) {
  bool current = false;
  {
    std::lock_guard lock(directory_.mutex);
    current = directory_.current(command.call_id, command.index, command.stream_id);
  }
  if (!current) {  // the call ended before this thread saw the stream
    release(std::move(command.pairs[0]));
    release(std::move(command.pairs[1]));
    return;
  }
  Call& call = calls_[command.call_id];
  auto& slot = call.streams[command.index];
  if (slot) retire(std::move(slot));  // cannot happen while the directory is followed; keeps the ports right if it does
  slot = std::make_unique<Stream>(command.call_id, command.index, command.stream_id, std::move(command.pairs[0]),
                                  std::move(command.pairs[1]), monotonic_ns());
  watch(*slot, Side::offerer);
  watch(*slot, Side::answerer);
}

void RelayThread::replace_side(Command& command) {
  Stream* stream = find(command);
  if (!stream) {
    // The stream ended first and gave its port back; a rebound pair on that same port
    // must not be given back twice.
    if (command.pair_from_pool) {
      release(std::move(command.pairs[0]));
    } else {
      command.pairs[0] = {};
    }
    return;
  }
  BoundPair old = stream->replace_side(command.side, std::move(command.pairs[0]));
  unwatch(old);
  watch(*stream, command.side);
  if (command.pair_from_pool) {
    release(std::move(old));
  } else {
    old = {};  // the same port, now on the other family: still taken
  }
}

Stream* RelayThread::find(const Command& command) {
  const auto call = calls_.find(command.call_id);
  if (call == calls_.end()) return nullptr;
  const auto stream = call->second.streams.find(command.index);
  if (stream == call->second.streams.end() || stream->second->id() != command.stream_id) return nullptr;
  return stream->second.get();
}

void RelayThread::end_call(std::string_view call_id, EndReason reason, bool notify) {
  const auto call = calls_.find(call_id);
  if (call != calls_.end()) {
    for (auto& [index, stream] : call->second.streams) {
      for (Side sender : {Side::offerer, Side::answerer}) {
        if (stream->has_packets(sender)) observer_.on_report(stream->report(sender, true, reason));
      }
      retire(std::move(stream));
    }
    calls_.erase(call);
  }
  if (notify) observer_.on_call_ended(call_id, reason);
}

void RelayThread::retire(std::unique_ptr<Stream> stream) {
  for (Side side : {Side::offerer, Side::answerer}) {
    BoundPair pair = stream->release_side(side);
    unwatch(pair);
    release(std::move(pair));
  }
  graveyard_.push_back(std::move(stream));
}

void RelayThread::watch(Stream& stream, Side side) {
  for (bool rtcp : {false, true}) {
    SocketRef& ref = stream.socket(side, rtcp);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &ref;
    // Fails only on resource exhaustion: the side then stays deaf, which a media timeout ends.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ref.fd, &event);
  }
}

void RelayThread::unwatch(const BoundPair& pair) {
  if (pair.rtp) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pair.rtp.get(), nullptr);
  if (pair.rtcp) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, pair.rtcp.get(), nullptr);
}

void RelayThread::release(BoundPair pair) {
  if (!pair.rtp) return;
  const std::uint16_t port = pair.port;
  pair.rtp.reset();
  pair.rtcp.reset();
  pool_.give_back(port);  // after closing: the next owner can bind it at once
}

void RelayThread::on_tick() {
  const std::int64_t now = monotonic_ns();
  // Media timeout: a call with media expected (both sides known, not on hold) and no
  // packet and no set_remote on any stream for media_timeout.
  const std::int64_t timeout = options_.media_timeout.count() * kSecond;
  if (timeout > 0) {
    std::vector<std::string> expired;
    for (const auto& [call_id, call] : calls_) {
      bool expects = false;
      std::int64_t last = 0;
      for (const auto& [index, stream] : call.streams) {
        expects = expects || stream->expects_media();
        last = std::max(last, stream->last_activity_ns());
      }
      if (expects && now - last >= timeout) expired.push_back(call_id);
    }
    for (const std::string& call_id : expired) {
      {
        std::lock_guard lock(directory_.mutex);
        directory_.erase_call(call_id);
      }
      counters_.timeouts.fetch_add(1, std::memory_order_relaxed);
      end_call(call_id, EndReason::timeout, true);
    }
  }
  if (options_.report_interval.count() > 0 && now >= next_report_ns_) {
    next_report_ns_ = now + options_.report_interval.count() * kSecond;
    for (const auto& [call_id, call] : calls_) {
      for (const auto& [index, stream] : call.streams) {
        for (Side sender : {Side::offerer, Side::answerer}) {
          if (stream->take_new_packets(sender)) observer_.on_report(stream->report(sender, false));
        }
      }
    }
  }
}

}  // namespace sipbox::media::detail
