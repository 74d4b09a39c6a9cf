#include "app/control_server.h"

#include <sys/stat.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <istream>

#include "app/control_protocol.h"

namespace sipbox::app {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

// One client connection: read a line, answer it, repeat until the client closes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Local::socket socket, config::ConfigStore& store, StatusProvider status, ControlHandler handler,
             std::uint32_t session)
      : socket_(std::move(socket)),
        store_(store),
        status_(std::move(status)),
        handler_(std::move(handler)),
        session_(session) {}

  void read() {
    asio::async_read_until(socket_, input_, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             if (!ec) self->answer();
                           });
  }

 private:
  void answer() {
    std::istream in(&input_);
    std::string line;
    std::getline(in, line);
    const nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    nlohmann::json response;
    if (request.is_discarded()) {
      response = {{"ok", false}, {"error", error_to_json({"malformed-message", "rpc", "", "request is not JSON", "", 0})}};
    } else {
      response = execute_control_request(store_, request, session_, status_, handler_);
    }
    // Stored text (a store error message, say) may hold invalid UTF-8; never throw on it.
    output_ = response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    asio::async_write(socket_, asio::buffer(output_),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (!ec) self->read();
                      });
  }

  Local::socket socket_;
  config::ConfigStore& store_;
  StatusProvider status_;
  ControlHandler handler_;
  std::uint32_t session_;
  asio::streambuf input_{1 << 24};  // an imported configuration can be large; not unbounded
  std::string output_;
};

}  // namespace

ControlServer::ControlServer(asio::io_context& io, config::ConfigStore& store, std::filesystem::path path,
                             StatusProvider status, ControlHandler handler)
    : acceptor_(io), store_(store), path_(std::move(path)), status_(std::move(status)), handler_(std::move(handler)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::start(asio::io_context& io, config::ConfigStore& store,
                                                            const std::filesystem::path& socket_path,
                                                            StatusProvider status, ControlHandler handler) {
  // The caller holds the data directory lock, so a socket file left here is stale.
  std::error_code fs_error;
  std::filesystem::remove(socket_path, fs_error);
  std::unique_ptr<ControlServer> server(new ControlServer(io, store, socket_path, std::move(status), std::move(handler)));
  boost::system::error_code ec;
  const mode_t old_mask = ::umask(0077);
  server->acceptor_.open(Local(), ec);
  if (!ec) server->acceptor_.bind(Local::endpoint(socket_path.string()), ec);
  ::umask(old_mask);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("control socket " + socket_path.string() + ": " + ec.message());
  server->accept();
  return server;
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::error_code fs_error;
  std::filesystem::remove(path_, fs_error);
}

void ControlServer::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, Local::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Connection>(std::move(socket), store_, status_, handler_, ++next_session_)->read();
    accept();
  });
}

}  // namespace sipbox::app
