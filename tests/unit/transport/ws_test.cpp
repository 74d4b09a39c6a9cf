// SIP over WebSocket (RFC 7118) with a Beast client: the upgrade with subprotocol "sip"
// and a message each way (the reply through txn::Sender), a message without
// Content-Length (RFC 7118 5.1), and an upgrade without the subprotocol refused.
// The server loop runs on a thread here so that the client can block; a watchdog
// shuts the client socket down if the server ever stops answering.
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "transport_fixture.h"

namespace sipbox::transport::test {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

class Watchdog {
 public:
  Watchdog(int fd, std::chrono::seconds limit)
      : thread_([this, fd, limit] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) ::shutdown(fd, SHUT_RDWR);
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

class WsTest : public TransportTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void start(std::vector<Received>& got) {
    server_ = recording(got, {}, [](Transport& t, const Received& r) {
      ASSERT_TRUE(t.send(r.source.reply_destination(), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    });
    auto id = server_->listen(TransportKind::Ws, GetParam(), 0);
    ASSERT_TRUE(id) << id.error().message;
    at_ = *server_->local_endpoint(*id);
    runner_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run_for(std::chrono::seconds(20));  // bounded even if the test body fails early
    });
  }
  // Joins the server thread: afterwards its state may be read here.
  void finish() {
    io_.stop();
    if (runner_.joinable()) runner_.join();
  }
  void TearDown() override { finish(); }

  std::unique_ptr<Transport> server_;
  Endpoint at_;
  std::thread runner_;
};

TEST_P(WsTest, UpgradeWithSubprotocolSipAndMessagesBothWays) {
  std::vector<Received> got;
  start(got);
  boost::asio::io_context client_io;
  websocket::stream<tcp::socket> ws(client_io);
  ws.next_layer().connect({at_.address, at_.port});
  Watchdog watchdog(ws.next_layer().native_handle(), std::chrono::seconds(10));
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(beast::http::field::sec_websocket_protocol, "foo, sip"); }));
  websocket::response_type response;
  ws.handshake(response, "localhost", "/");
  EXPECT_EQ(response[beast::http::field::sec_websocket_protocol], "sip");

  ws.text(true);
  ws.write(boost::asio::buffer(sip_request(1)));
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
  buffer.clear();

  // RFC 7118 5.1: the frame delimits the message, Content-Length may be absent.
  std::string no_length = sip_request(2);
  no_length.erase(no_length.find("Content-Length"), std::string("Content-Length: 0\r\n").size());
  ws.write(boost::asio::buffer(no_length));
  ws.read(buffer);
  ws.close(websocket::close_code::normal);
  finish();

  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, sip_request(1));
  EXPECT_EQ(got[1].bytes, no_length);
  EXPECT_EQ(got[0].source.kind, TransportKind::Ws);
  EXPECT_NE(got[0].source.connection, 0u);
  EXPECT_EQ(server_->counters().of(TransportKind::Ws).messages_received, 2u);
  EXPECT_EQ(server_->counters().of(TransportKind::Ws).messages_sent, 2u);
}

TEST_P(WsTest, UpgradeWithoutSubprotocolIsRefused) {
  std::vector<Received> got;
  start(got);
  boost::asio::io_context client_io;
  websocket::stream<tcp::socket> ws(client_io);
  ws.next_layer().connect({at_.address, at_.port});
  Watchdog watchdog(ws.next_layer().native_handle(), std::chrono::seconds(10));
  websocket::response_type response;
  beast::error_code ec;
  ws.handshake(response, "localhost", "/", ec);
  // The server answered, but not with 101 Switching Protocols.
  EXPECT_EQ(ec, websocket::error::upgrade_declined) << ec.message();
  finish();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(server_->counters().ws_upgrades_refused, 1u);
}

TEST_P(WsTest, SendToAPeerWithoutConnectionFails) {
  std::vector<Received> got;
  auto t = recording(got);
  EXPECT_FALSE(t->send({GetParam(), 5062, TransportKind::Ws}, sip_request(1)));
}

INSTANTIATE_TEST_SUITE_P(Loopback, WsTest, ::testing::Values("127.0.0.1", "::1"));

}  // namespace
}  // namespace sipbox::transport::test
