// UDP listeners: recvmmsg/sendmmsg batches on Linux (one system call per batch instead of
// one per datagram), async_receive_from/send_to elsewhere. Receive buffers are allocated
// once per listener; the send arena grows to its peak and is then reused, so the hot path
// allocates nothing per datagram.
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "transport/detail.h"

namespace sipbox::transport::detail {
namespace {

using udp = asio::ip::udp;

// recvmmsg rounds per readiness event before waiting again, so one busy socket cannot
// starve the other listeners and timers of the same loop.
constexpr int kMaxRounds = 8;

// How long a response may wait for others to share its sendmmsg. Without a bound, a
// response waited for the whole batch it was made in (up to 8 x 32 datagrams, a
// millisecond or more under load), and a REGISTER's two round trips with it: at 5,000
// registrations/s the RRD median was 0.26-0.71 ms over three runs, 0.24-0.35 ms with this
// bound, at the same CPU (docs/performance.md).
constexpr auto kMaxHold = std::chrono::microseconds(100);

class Udp final : public UdpListener, public std::enable_shared_from_this<Udp> {
 public:
  Udp(asio::io_context& io, Hub& hub, ListenerId id) : socket_(io), hub_(&hub), id_(id) {}

  Status open(const udp::endpoint& at) {
    boost::system::error_code ec;
    socket_.open(at.protocol(), ec);
    if (!ec && at.address().is_v6()) socket_.set_option(asio::ip::v6_only(true), ec);
    if (!ec && hub_->settings().reuse_port) {
      int one = 1;
      if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        return fail("UDP " + at.address().to_string() + ": SO_REUSEPORT: " + std::strerror(errno));
      }
    }
    if (!ec && hub_->settings().udp_receive_buffer > 0) {
      // Best effort: the kernel caps the size at rmem_max and says nothing.
      socket_.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(hub_->settings().udp_receive_buffer)),
                         ec);
      ec.clear();
    }
    if (!ec) socket_.bind(at, ec);
    if (!ec) socket_.non_blocking(true, ec);
    if (!ec) {
      // Asked on every send to pick the listener of the right family: kept, not a system call each time.
      const auto ep = socket_.local_endpoint(ec);
      local_ = {ep.address(), ep.port()};
    }
    if (ec) return fail("UDP " + at.address().to_string() + ":" + std::to_string(at.port()) + ": " + ec.message());
    const std::size_t batch = std::max<std::size_t>(1, hub_->settings().udp_batch);
    // One byte more than the limit: a datagram that fills the slot is oversize.
    slot_ = hub_->settings().max_message_size + 1;
    storage_.resize(batch * slot_);
    out_.reserve(batch);
#if defined(__linux__)
    addrs_.resize(batch);
    iov_.resize(batch);
    msgs_.resize(batch);
    send_iov_.resize(batch);
    send_msgs_.resize(batch);
#endif
    batch_ = batch;
    return {};
  }

  void start() { wait(); }

  Endpoint local() const override { return local_; }
  int native_handle() override { return socket_.native_handle(); }

  void close() override {
    hub_ = nullptr;
    boost::system::error_code ec;
    socket_.close(ec);
  }

  Status send_to(const Endpoint& to, std::string_view bytes) override {
    if (!hub_) return fail("the UDP listener is closed");
    if (bytes.size() > 65507)
      return fail("datagram of " + std::to_string(bytes.size()) + " bytes is too large for UDP");
    if (out_.size() == batch_) flush();
    if (out_.empty()) out_since_ = std::chrono::steady_clock::now();
    out_.push_back({udp::endpoint(to.address, to.port), arena_.size(), bytes.size()});
    arena_.append(bytes);
    // Inside on_readable the batch's end flushes; a send from elsewhere (a timer, a
    // hand-over from another worker) posts one flush for what it and its neighbours queue.
    if (!flush_posted_ && !reading_) {
      flush_posted_ = true;
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->flush();
      });
    }
    return {};
  }

 private:
  struct Pending {
    udp::endpoint to;
    std::size_t offset;
    std::size_t size;
  };

  void wait() {
#if defined(__linux__)
    socket_.async_wait(udp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) { self->on_readable(ec); });
#else
    socket_.async_receive_from(asio::buffer(storage_.data(), slot_), from_,
                               [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec == asio::error::operation_aborted || !self->hub_) return;
                                 if (!ec) self->handle(std::string_view(self->storage_.data(), n), false, self->from_);
                                 self->flush();
                                 self->wait();
                               });
#endif
  }

#if defined(__linux__)
  void on_readable(const boost::system::error_code& ec) {
    if (ec == asio::error::operation_aborted || !hub_) return;
    const unsigned batch = static_cast<unsigned>(msgs_.size());
    reading_ = true;
    for (int round = 0; round < kMaxRounds && hub_; ++round) {
      for (unsigned i = 0; i < batch; ++i) {
        iov_[i] = {storage_.data() + i * slot_, slot_};
        msgs_[i] = {};
        msgs_[i].msg_hdr.msg_name = &addrs_[i];
        msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = ::recvmmsg(socket_.native_handle(), msgs_.data(), batch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;  // EAGAIN, or an error (ICMP-induced ECONNREFUSED): wait again
      for (int i = 0; i < n && hub_; ++i) {
        const auto& hdr = msgs_[i].msg_hdr;
        udp::endpoint from;
        std::memcpy(from.data(), hdr.msg_name, std::min<std::size_t>(hdr.msg_namelen, sizeof(sockaddr_storage)));
        from.resize(hdr.msg_namelen);
        const bool truncated = (hdr.msg_flags & MSG_TRUNC) != 0 || msgs_[i].msg_len >= slot_;
        handle(std::string_view(storage_.data() + i * slot_, msgs_[i].msg_len), truncated, from);
        if (!out_.empty() && std::chrono::steady_clock::now() - out_since_ >= kMaxHold) flush();
      }
      if (static_cast<unsigned>(n) < batch) break;
    }
    reading_ = false;
    flush();  // responses produced while handling this batch leave in one sendmmsg
    if (hub_) wait();
  }
#endif

  void handle(std::string_view bytes, bool truncated, const udp::endpoint& from) {
    if (truncated || bytes.size() > hub_->settings().max_message_size) {
      ++hub_->counters().dropped_oversize;
      return;
    }
    if (only_crlf(bytes)) return;  // a keep-alive (RFC 5626 4.4.1 uses STUN on UDP; CRLF is ignored)
    auto& counters = hub_->counters().of(TransportKind::Udp);
    ++counters.messages_received;
    counters.bytes_received += bytes.size();
    Source source{TransportKind::Udp, {from.address(), from.port()}, id_, 0};
    hub_->deliver(bytes, source);
  }

  void flush() {
    if (out_.empty()) return;
#if defined(__linux__)
    std::size_t sent = 0;
    const std::size_t count = out_.size();
    for (std::size_t i = 0; i < count; ++i) {
      send_iov_[i] = {arena_.data() + out_[i].offset, out_[i].size};
      send_msgs_[i] = {};
      send_msgs_[i].msg_hdr.msg_name = out_[i].to.data();
      send_msgs_[i].msg_hdr.msg_namelen = static_cast<socklen_t>(out_[i].to.size());
      send_msgs_[i].msg_hdr.msg_iov = &send_iov_[i];
      send_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < count) {
      const int n = ::sendmmsg(socket_.native_handle(), send_msgs_.data() + sent, static_cast<unsigned>(count - sent),
                               MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // A full socket buffer (EAGAIN) or an unreachable peer: UDP gives no guarantee, and
      // the transaction layer retransmits. Skip this datagram and count it.
      if (hub_) ++hub_->counters().send_failures;
      ++sent;
    }
#else
    for (const auto& p : out_) {
      boost::system::error_code ec;
      socket_.send_to(asio::buffer(arena_.data() + p.offset, p.size), p.to, 0, ec);
      if (ec && hub_) ++hub_->counters().send_failures;
    }
#endif
    out_.clear();
    arena_.clear();  // keeps its capacity
  }

  udp::socket socket_;
  Hub* hub_;
  ListenerId id_;
  Endpoint local_;
  std::size_t slot_ = 0;
  std::size_t batch_ = 1;
  std::vector<char> storage_;
  std::vector<Pending> out_;
  std::string arena_;  // queued datagrams, back to back
  bool flush_posted_ = false;
  bool reading_ = false;                               // in on_readable, which flushes at its end
  std::chrono::steady_clock::time_point out_since_{};  // when out_ got its first datagram
#if defined(__linux__)
  std::vector<sockaddr_storage> addrs_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> send_iov_;
  std::vector<mmsghdr> send_msgs_;
#else
  udp::endpoint from_;
#endif
};

}  // namespace

Result<std::shared_ptr<UdpListener>> open_udp(asio::io_context& io, Hub& hub, ListenerId id,
                                              const asio::ip::udp::endpoint& at) {
  auto listener = std::make_shared<Udp>(io, hub, id);
  if (auto opened = listener->open(at); !opened) return Unexpected<Error>{opened.error()};
  listener->start();
  return std::shared_ptr<UdpListener>(listener);
}

}  // namespace sipbox::transport::detail
