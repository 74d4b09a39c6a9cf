// TCP and TLS connections and acceptors: RFC 3261 18.3 stream framing with
// sip::stream_message_size, RFC 5626 3.5.1 CRLF keep-alives, idle timeout, size limit.
// The only translation unit (with tls_cert.cpp) that includes asio::ssl.
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "transport/detail.h"

namespace sipbox::transport::detail {

using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace ssl = asio::ssl;

struct TlsContexts {
  ssl::context context;
  explicit TlsContexts(ssl::context::method method) : context(method) {}
};

Result<std::shared_ptr<TlsContexts>> make_tls_contexts(const Settings& settings, bool server) {
  auto tls = std::make_shared<TlsContexts>(server ? ssl::context::tls_server : ssl::context::tls_client);
  boost::system::error_code ec;
  // TLS 1.2 is the floor (RFC 8996 retired 1.0 and 1.1).
  tls->context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                               ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                           ec);
  if (server) {
    if (settings.tls_cert_file.empty() || settings.tls_key_file.empty()) {
      return fail("TLS needs a certificate and a key file");
    }
    tls->context.use_certificate_chain_file(settings.tls_cert_file, ec);
    if (ec) return fail("TLS certificate " + settings.tls_cert_file + ": " + ec.message());
    tls->context.use_private_key_file(settings.tls_key_file, ssl::context::pem, ec);
    if (ec) return fail("TLS key " + settings.tls_key_file + ": " + ec.message());
  } else if (!settings.tls_ca_file.empty()) {
    tls->context.load_verify_file(settings.tls_ca_file, ec);
    if (ec) return fail("TLS CA file " + settings.tls_ca_file + ": " + ec.message());
    tls->context.set_verify_mode(ssl::verify_peer, ec);
  } else {
    tls->context.set_verify_mode(ssl::verify_none, ec);
  }
  return tls;
}

namespace {

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

template <class Stream>
class StreamConnection final : public Connection {
 public:
  template <class... Args>
  StreamConnection(asio::io_context& io, Hub& hub, Adopt adopt, ListenerId listener, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...),
        timer_(io),
        hub_(&hub),
        adopt_(std::move(adopt)),
        listener_(listener) {}

  static constexpr TransportKind kind() { return kTls<Stream> ? TransportKind::Tls : TransportKind::Tcp; }

  // An accepted socket: register, handshake (TLS), read.
  void start_accepted() {
    boost::system::error_code ec;
    const auto remote = socket().remote_endpoint(ec);
    if (ec) return close();
    remote_ = {remote.address(), remote.port()};
    socket().set_option(tcp::no_delay(true), ec);
    id_ = adopt_(shared_from_this(), remote_, kind());
    ++hub_->counters().connections_accepted;
    touch();
    arm_timer(hub_->settings().connect_timeout);
    if constexpr (kTls<Stream>) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = self_ptr()](const boost::system::error_code& e) { self->on_ready(e); });
    } else {
      on_ready({});
    }
  }

  // An outgoing connection: register now (so later sends reuse it), connect, handshake.
  void start_outgoing(const Endpoint& to) {
    remote_ = to;
    id_ = adopt_(shared_from_this(), remote_, kind());
    ++hub_->counters().connections_opened;
    touch();
    arm_timer(hub_->settings().connect_timeout);
    socket().async_connect(
        tcp::endpoint(to.address, to.port), [self = self_ptr()](const boost::system::error_code& ec) {
          if (ec || !self->hub_) return self->close();
          boost::system::error_code ignored;
          self->socket().set_option(tcp::no_delay(true), ignored);
          if constexpr (kTls<Stream>) {
            self->stream_.async_handshake(ssl::stream_base::client,
                                          [self](const boost::system::error_code& e) { self->on_ready(e); });
          } else {
            self->on_ready({});
          }
        });
  }

  void send(std::string_view bytes) override {
    if (!hub_) return;
    pending_.emplace_back(bytes);
    if (ready_ && writing_.empty()) write();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    auto keep = shared_from_this();  // the hub's table may hold the last reference
    shutdown_socket();
    if (Hub* hub = std::exchange(hub_, nullptr)) {
      // Messages that never left (connect or handshake failed, peer went away).
      hub->counters().send_failures += pending_.size() + writing_.size();
      if (id_) hub->connection_closed(id_);
    }
  }

  void detach() override {
    hub_ = nullptr;
    closed_ = true;
    shutdown_socket();
  }

 private:
  std::shared_ptr<StreamConnection> self_ptr() {
    return std::static_pointer_cast<StreamConnection>(shared_from_this());
  }
  tcp::socket& socket() {
    if constexpr (kTls<Stream>) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void shutdown_socket() {
    boost::system::error_code ec;
    timer_.cancel(ec);
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  void on_ready(const boost::system::error_code& ec) {
    if (!hub_) return;
    if (ec) {
      if (kTls<Stream>) ++hub_->counters().tls_handshake_failures;
      return close();
    }
    ready_ = true;
    touch();
    arm_timer(hub_->settings().idle_timeout);
    if (!pending_.empty()) write();
    read();
  }

  void touch() { last_activity_ = Clock::now(); }

  // One timer per connection, re-armed only when it fires: activity just records the time
  // (cheaper than cancelling and re-arming a timer on every message).
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);
    timer_.async_wait([self = self_ptr()](const boost::system::error_code& ec) {
      if (ec || !self->hub_) return;
      const auto limit = self->ready_ ? self->hub_->settings().idle_timeout : self->hub_->settings().connect_timeout;
      const auto idle = Clock::now() - self->last_activity_;
      if (!self->ready_ || idle >= limit) {
        if (self->ready_) ++self->hub_->counters().connections_idle_closed;
        return self->close();
      }
      self->arm_timer(std::chrono::duration_cast<std::chrono::milliseconds>(limit - idle) +
                      std::chrono::milliseconds(1));
    });
  }

  void read() {
    const std::size_t cap = hub_->settings().max_message_size + 4;
    if (end_ == buffer_.size()) {
      if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else {
        buffer_.resize(std::min(cap, std::max<std::size_t>(4096, buffer_.size() * 2)));
      }
    }
    stream_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                            [self = self_ptr()](const boost::system::error_code& ec, std::size_t n) {
                              if (!self->hub_) return;
                              if (ec) return self->close();  // EOF, reset, cancelled
                              self->end_ += n;
                              self->touch();
                              self->process();
                            });
  }

  void process() {
    const std::size_t max = hub_->settings().max_message_size;
    while (hub_) {
      const std::string_view data(buffer_.data() + begin_, end_ - begin_);
      // RFC 5626 3.5.1: CRLFCRLF is a ping, answered with one CRLF; a lone CRLF is a pong
      // (or 7.5's leading CRLF). A trailing lone CRLF may be half a ping: wait for more.
      if (data.starts_with("\r\n\r\n")) {
        ++hub_->counters().keepalive_pongs;
        send("\r\n");
        begin_ += 4;
        continue;
      }
      if (data == "\r\n") break;
      if (data.starts_with("\r\n")) {
        begin_ += 2;
        continue;
      }
      if (data.empty()) {
        begin_ = end_ = 0;
        break;
      }
      auto size = sip::stream_message_size(data, max);
      if (!size) {
        ++hub_->counters().dropped_malformed;  // cannot find the next message: RFC 3261 18.3 says close
        return close();
      }
      if (*size > max || (*size == 0 && data.size() >= max)) {
        ++hub_->counters().dropped_oversize;
        return close();
      }
      if (*size == 0) break;
      auto& counters = hub_->counters().of(kind());
      ++counters.messages_received;
      counters.bytes_received += *size;
      const Source source{kind(), remote_, listener_, id_};
      begin_ += *size;  // before delivering: the handler may send, close, ...
      hub_->deliver(data.substr(0, *size), source);
    }
    if (hub_) read();
  }

  void write() {
    writing_.swap(pending_);
    buffers_.clear();
    for (const auto& text : writing_) buffers_.emplace_back(text.data(), text.size());
    asio::async_write(stream_, buffers_, [self = self_ptr()](const boost::system::error_code& ec, std::size_t) {
      if (!self->hub_) return;
      if (ec) return self->close();  // close() counts the unsent messages
      self->writing_.clear();
      self->touch();
      if (!self->pending_.empty()) self->write();
    });
  }

  Stream stream_;
  asio::steady_timer timer_;
  Hub* hub_;
  Adopt adopt_;
  ListenerId listener_;
  ConnectionId id_ = 0;
  Endpoint remote_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::vector<std::string> pending_;
  std::vector<std::string> writing_;
  std::vector<asio::const_buffer> buffers_;
  Clock::time_point last_activity_;
  bool ready_ = false;
  bool closed_ = false;
};

using TcpConnection = StreamConnection<tcp::socket>;
using TlsConnection = StreamConnection<ssl::stream<tcp::socket>>;

}  // namespace

Result<std::shared_ptr<Listener>> open_stream_listener(asio::io_context& io, Hub& hub, ListenerId id,
                                                       const tcp::endpoint& at, std::shared_ptr<TlsContexts> tls,
                                                       Adopt adopt) {
  const std::string_view label = tls ? "TLS" : "TCP";
  return open_acceptor(io, hub, at, label, [&io, &hub, id, tls, adopt](tcp::socket socket) {
    if (tls) {
      std::make_shared<TlsConnection>(io, hub, adopt, id, std::move(socket), tls->context)->start_accepted();
    } else {
      std::make_shared<TcpConnection>(io, hub, adopt, id, std::move(socket))->start_accepted();
    }
  });
}

std::shared_ptr<Connection> connect_stream(asio::io_context& io, Hub& hub, const Endpoint& to,
                                           std::shared_ptr<TlsContexts> tls, Adopt adopt) {
  if (tls) {
    auto conn = std::make_shared<TlsConnection>(io, hub, std::move(adopt), 0, io, tls->context);
    conn->start_outgoing(to);
    return conn;
  }
  auto conn = std::make_shared<TcpConnection>(io, hub, std::move(adopt), 0, io);
  conn->start_outgoing(to);
  return conn;
}

}  // namespace sipbox::transport::detail
