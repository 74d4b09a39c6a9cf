// The HTTP/1.1 server: Boost.Beast over Boost.Asio. This is the only translation unit
// that includes Beast (it is template-heavy; one TU keeps the build fast).
//
// One Connection per TCP connection: read the header (idle timeout), answer
// "Expect: 100-continue", read the body (size limit, I/O timeout), call the handler,
// write the response, and loop while keep-alive holds. TCP_NODELAY is set on every
// socket: without it a keep-alive client waits ~40 ms per request (Nagle + delayed ACK).
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>
#include <optional>
#include <unordered_map>

#include "web/web.h"

namespace sipbox::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace detail {
class Connection;
}

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Limits limits;
  std::vector<std::pair<std::string, Handler>> routes;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> retry_timer;
  std::unordered_map<std::uint64_t, std::weak_ptr<detail::Connection>> connections;
  std::uint64_t next_connection_id = 1;
  bool stopped = false;

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  Response dispatch(const Request& request) const;
};

namespace detail {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server, std::uint64_t id)
      : stream_(std::move(socket)), server_(std::move(server)), id_(id) {
    beast::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string();
  }
  ~Connection() {
    if (server_) server_->connections.erase(id_);
  }

  void start() { read_header(); }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->body_limit(server_->limits.body_limit);
    parser_->header_limit(server_->limits.header_limit);
    stream_.expires_after(server_->limits.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_error(ec);
    const auto& req = parser_->get();
    // RFC 7231 5.1.1: a client waiting for "100 Continue" (curl does for bodies > 1 KiB)
    // would otherwise stall for a second.
    if (beast::iequals(req[http::field::expect], "100-continue") && !parser_->is_done()) {
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      stream_.expires_after(server_->limits.io_timeout);
      http::async_write(stream_, *interim, [self = shared_from_this(), interim](beast::error_code wec, std::size_t) {
        if (wec) return self->on_error(wec);
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_->limits.io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_error(beast::error_code ec) {
    if (ec == asio::error::operation_aborted || server_->stopped) return;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec.category() != http_category()) {
      return close();
    }
    // A malformed request: answer and close, never crash (DESIGN.md 3).
    if (ec == http::error::body_limit) return write_error(413, "request body too large");
    if (ec == http::error::header_limit) return write_error(431, "request header too large");
    if (ec == http::error::partial_message) return close();
    write_error(400, "malformed request: " + ec.message());
  }

  static const beast::error_category& http_category() {
    static const auto& category = beast::error_code(http::error::bad_method).category();
    return category;
  }

  void write_error(int status, std::string text) {
    Response response;
    response.status = status;
    response.content_type = "text/plain";
    response.body = std::move(text) + "\n";
    response.close = true;
    write(response, 11, false, false);
  }

  void on_request(beast::error_code ec) {
    if (ec) return on_error(ec);
    http::request<http::string_body> msg = parser_->release();
    Request request;
    request.method = std::string(msg.method_string());
    request.target = std::string(msg.target());
    request.remote_address = remote_;
    request.connection_id = id_;
    const std::size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    request.headers.reserve(8);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(msg.body());

    Response response;
    if (request.path.empty() || (request.path[0] != '/' && !(request.path == "*" && request.method == "OPTIONS"))) {
      response = Response{400, "text/plain", "request-target must be an absolute path\n", {}, true};
    } else {
      try {
        response = server_->dispatch(request);
      } catch (const std::exception& e) {
        response = Response{500, "text/plain", std::string("internal error: ") + e.what() + "\n", {}, false};
      }
    }
    write(response, msg.version(), msg.keep_alive(), request.method == "HEAD");
  }

  void write(Response& response, unsigned version, bool keep_alive, bool head) {
    res_ = {};
    res_.version(version);
    res_.result(static_cast<unsigned>(response.status));
    res_.set(http::field::server, "sipbox");
    for (auto& [name, value] : response.headers) res_.set(name, value);
    const bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    if (!no_body) {
      if (!response.content_type.empty()) res_.set(http::field::content_type, response.content_type);
      res_.body() = std::move(response.body);
    }
    res_.keep_alive(keep_alive && !response.close);
    res_.prepare_payload();
    if (head && !no_body) {
      // RFC 7231 4.3.2: the headers of the GET answer, without its body.
      const std::size_t length = res_.body().size();
      res_.body().clear();
      res_.content_length(length);
    }
    stream_.expires_after(server_->limits.io_timeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->on_error(ec);
      if (!self->res_.keep_alive()) return self->close();
      self->read_header();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<HttpServer::Impl> server_;
  std::uint64_t id_;
  std::string remote_;
};

}  // namespace detail

void HttpServer::Impl::accept() {
  acceptor->async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void HttpServer::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (ec) {
    // EMFILE and friends: try again shortly instead of spinning.
    retry_timer->expires_after(std::chrono::milliseconds(100));
    retry_timer->async_wait([self = shared_from_this()](beast::error_code wec) {
      if (!wec && !self->stopped) self->accept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (connections.size() >= limits.max_connections) {
    socket.close(ignored);
  } else {
    const std::uint64_t id = next_connection_id++;
    auto connection = std::make_shared<detail::Connection>(std::move(socket), shared_from_this(), id);
    connections.emplace(id, connection);
    connection->start();
  }
  accept();
}

Response HttpServer::Impl::dispatch(const Request& request) const {
  const Handler* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [prefix, handler] : routes) {
    const std::string_view path = request.path;
    if (!path.starts_with(prefix)) continue;
    const bool boundary = path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
    if (boundary && (best == nullptr || prefix.size() > best_length)) {
      best = &handler;
      best_length = prefix.size();
    }
  }
  if (best == nullptr) return Response{404, "text/plain", "not found\n", {}, false};
  return (*best)(request);
}

HttpServer::HttpServer(Limits limits) : impl_(std::make_shared<Impl>()) { impl_->limits = limits; }

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(std::string prefix, Handler handler) {
  impl_->routes.emplace_back(std::move(prefix), std::move(handler));
}

Result<std::uint16_t> HttpServer::start(asio::io_context& io, const std::string& address, std::uint16_t port) {
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return fail("invalid HTTP listen address '" + address + "': " + ec.message());
  const tcp::endpoint endpoint(ip, port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  if (acceptor->open(endpoint.protocol(), ec); ec) return fail("HTTP socket: " + ec.message());
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor->bind(endpoint, ec); ec) {
    return fail("cannot listen for HTTP on " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) return fail("HTTP listen: " + ec.message());
  const std::uint16_t bound = acceptor->local_endpoint(ec).port();
  impl_->acceptor = std::move(acceptor);
  impl_->retry_timer = std::make_unique<asio::steady_timer>(io);
  impl_->stopped = false;
  impl_->accept();
  return bound;
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  if (impl_->acceptor) impl_->acceptor->close(ignored);
  if (impl_->retry_timer) impl_->retry_timer->cancel();
  // Closing a connection may destroy it, which erases it from the map: copy first.
  std::vector<std::shared_ptr<detail::Connection>> open;
  for (auto& [id, weak] : impl_->connections) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  for (auto& connection : open) connection->close();
}

}  // namespace sipbox::web
