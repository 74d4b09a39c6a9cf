// SIP over WebSocket (RFC 7118): a Beast websocket server. The only translation unit of
// this module that includes Beast. Each WebSocket message carries exactly one SIP message
// (RFC 7118 5.1), so no stream framing is needed and Content-Length is optional.
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstring>
#include <deque>
#include <string>

#include "transport/detail.h"

namespace sipbox::transport::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// RFC 7118 4.1 / RFC 6455 4.2.2: the client offers a list of subprotocols; "sip" must be one.
bool offers_sip(std::string_view header) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    auto token = header.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (beast::iequals(beast::string_view(token.data(), token.size()), "sip")) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

class WsConnection final : public Connection {
 public:
  WsConnection(Hub& hub, Adopt adopt, ListenerId listener, tcp::socket socket)
      : ws_(std::move(socket)), hub_(&hub), adopt_(std::move(adopt)), listener_(listener) {}

  void start() {
    boost::system::error_code ec;
    const auto remote = ws_.next_layer().socket().remote_endpoint(ec);
    if (ec) return close();
    remote_ = {remote.address(), remote.port()};
    ws_.next_layer().socket().set_option(tcp::no_delay(true), ec);
    id_ = adopt_(shared_from_this(), remote_, TransportKind::Ws);
    ++hub_->counters().connections_accepted;
    ws_.next_layer().expires_after(hub_->settings().connect_timeout);
    http::async_read(ws_.next_layer(), buffer_, request_,
                     [self = self_ptr()](const boost::system::error_code& e, std::size_t) { self->on_upgrade(e); });
  }

  void send(std::string_view bytes) override {
    if (!hub_) return;
    queue_.emplace_back(bytes);
    if (open_ && queue_.size() == 1) write();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    auto keep = shared_from_this();
    shutdown_socket();
    if (Hub* hub = std::exchange(hub_, nullptr)) {
      if (id_) hub->connection_closed(id_);
    }
  }

  void detach() override {
    hub_ = nullptr;
    closed_ = true;
    shutdown_socket();
  }

 private:
  std::shared_ptr<WsConnection> self_ptr() { return std::static_pointer_cast<WsConnection>(shared_from_this()); }

  void shutdown_socket() {
    boost::system::error_code ec;
    ws_.next_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    ws_.next_layer().socket().close(ec);
  }

  std::string_view protocols() const {
    const auto value = request_[http::field::sec_websocket_protocol];
    return {value.data(), value.size()};
  }

  void on_upgrade(const boost::system::error_code& ec) {
    if (!hub_) return;
    if (ec) return close();
    if (!websocket::is_upgrade(request_) || !offers_sip(protocols())) {
      // RFC 7118 4.1: without the "sip" subprotocol there is no SIP session to accept.
      ++hub_->counters().ws_upgrades_refused;
      auto response = std::make_shared<http::response<http::string_body>>(http::status::bad_request, 11);
      response->set(http::field::content_type, "text/plain");
      response->body() = "a WebSocket upgrade with subprotocol \"sip\" is required\n";
      response->keep_alive(false);
      response->prepare_payload();
      http::async_write(
          ws_.next_layer(), *response,
          [self = self_ptr(), response](const boost::system::error_code&, std::size_t) { self->close(); });
      return;
    }
    ws_.next_layer().expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = hub_->settings().connect_timeout;
    timeout.idle_timeout = hub_->settings().idle_timeout;
    timeout.keep_alive_pings = false;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::sec_websocket_protocol, "sip"); }));
    ws_.read_message_max(hub_->settings().max_message_size);
    ws_.async_accept(request_, [self = self_ptr()](const boost::system::error_code& e) {
      if (!self->hub_) return;
      if (e) return self->close();
      self->open_ = true;
      self->ws_.text(true);  // SIP is text; browsers' SIP stacks send text frames too
      if (!self->queue_.empty()) self->write();
      self->buffer_.clear();
      self->read();
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = self_ptr()](const boost::system::error_code& ec, std::size_t n) {
      if (!self->hub_) return;
      if (ec) {
        if (ec == websocket::error::message_too_big) ++self->hub_->counters().dropped_oversize;
        if (ec == beast::error::timeout) ++self->hub_->counters().connections_idle_closed;
        return self->close();
      }
      const auto data = self->buffer_.cdata();
      const std::string_view bytes(static_cast<const char*>(data.data()), n);
      if (!only_crlf(bytes)) {
        auto& counters = self->hub_->counters().of(TransportKind::Ws);
        ++counters.messages_received;
        counters.bytes_received += n;
        const Source source{TransportKind::Ws, self->remote_, self->listener_, self->id_};
        self->hub_->deliver(bytes, source);
      }
      self->buffer_.consume(n);  // flat_buffer keeps its storage: no allocation per message
      if (self->hub_) self->read();
    });
  }

  void write() {
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = self_ptr()](const boost::system::error_code& ec, std::size_t) {
                      if (!self->hub_) return;
                      if (ec) {
                        ++self->hub_->counters().send_failures;
                        return self->close();
                      }
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  Hub* hub_;
  Adopt adopt_;
  ListenerId listener_;
  ConnectionId id_ = 0;
  Endpoint remote_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool closed_ = false;
};

}  // namespace

Result<std::shared_ptr<Listener>> open_ws_listener(asio::io_context& io, Hub& hub, ListenerId id,
                                                   const tcp::endpoint& at, Adopt adopt) {
  return open_acceptor(io, hub, at, "WS", [&hub, id, adopt](tcp::socket socket) {
    std::make_shared<WsConnection>(hub, adopt, id, std::move(socket))->start();
  });
}

}  // namespace sipbox::transport::detail
