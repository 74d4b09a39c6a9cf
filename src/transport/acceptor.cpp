// The accept loop shared by the TCP, TLS and WebSocket listeners.
#include <sys/socket.h>

#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

#include "transport/detail.h"

namespace sipbox::transport::detail {
namespace {

using tcp = asio::ip::tcp;

class Acceptor final : public Listener, public std::enable_shared_from_this<Acceptor> {
 public:
  Acceptor(asio::io_context& io, Hub& hub, OnAccept on_accept)
      : acceptor_(io), retry_(io), hub_(&hub), on_accept_(std::move(on_accept)) {}

  Status open(const tcp::endpoint& at, std::string_view label) {
    boost::system::error_code ec;
    acceptor_.open(at.protocol(), ec);
    if (!ec && at.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && hub_->settings().reuse_port) {
      int one = 1;
      if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        return fail(std::string(label) + " " + at.address().to_string() + ": SO_REUSEPORT: " + std::strerror(errno));
      }
    }
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(std::string(label) + " " + at.address().to_string() + ":" + std::to_string(at.port()) + ": " +
                  ec.message());
    }
    return {};
  }

  void accept() {
    acceptor_.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->hub_) return;
      if (ec) {
        // Out of descriptors and the like: retry shortly instead of spinning.
        self->retry_.expires_after(std::chrono::milliseconds(100));
        self->retry_.async_wait([self](const boost::system::error_code& e) {
          if (!e && self->hub_) self->accept();
        });
        return;
      }
      self->on_accept_(std::move(socket));
      self->accept();
    });
  }

  Endpoint local() const override {
    boost::system::error_code ec;
    const auto ep = acceptor_.local_endpoint(ec);
    return {ep.address(), ep.port()};
  }

  void close() override {
    hub_ = nullptr;
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_.cancel(ec);
  }

 private:
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  Hub* hub_;  // null once closed: no accept callback after close()
  OnAccept on_accept_;
};

}  // namespace

Result<std::shared_ptr<Listener>> open_acceptor(asio::io_context& io, Hub& hub, const tcp::endpoint& at,
                                                std::string_view label, OnAccept on_accept) {
  auto acceptor = std::make_shared<Acceptor>(io, hub, std::move(on_accept));
  if (auto opened = acceptor->open(at, label); !opened) return Unexpected<Error>{opened.error()};
  acceptor->accept();
  return std::shared_ptr<Listener>(acceptor);
}

}  // namespace sipbox::transport::detail
