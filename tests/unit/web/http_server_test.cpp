// The HTTP server on 127.0.0.1:0, driven with raw bytes over a socket: well-formed
// requests, keep-alive and pipelining, and malformed input that must get 400 (or 413,
// 431), never a crash, with the server still serving afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>
#include <thread>

#include "web/web.h"

namespace sipbox::web {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Limits limits;
    limits.body_limit = 1024;
    limits.idle_timeout = std::chrono::seconds(5);
    server_ = std::make_unique<HttpServer>(limits);
    server_->route("/echo", [](const Request& r) {
      std::string text =
          r.method + " " + r.path + " q=" + r.query + " body=" + r.body + " x-test=" + std::string(r.header("x-test"));
      return Response{200, "text/plain", text, {{"X-Conn", std::to_string(r.connection_id)}}, false};
    });
    server_->route("/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
    server_->route("/empty", [](const Request&) { return Response{204, "text/plain", "dropped", {}, false}; });
    auto port = server_->start(io_, "127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    boost::asio::post(io_, [this] { server_->stop(); });
    if (thread_.joinable()) thread_.join();  // run() returns when the last connection is gone
  }

  int connect_client() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  static void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Reads until the peer closes (or the 5 s timeout).
  static std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Reads exactly one response with a Content-Length body.
  static std::string read_response(int fd, std::string& pending) {
    char buf[4096];
    while (true) {
      const std::size_t end = pending.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const std::size_t cl = pending.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(pending.substr(cl + 16));
        if (pending.size() >= end + 4 + length) {
          std::string response = pending.substr(0, end + 4 + length);
          pending.erase(0, end + 4 + length);
          return response;
        }
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::exchange(pending, "");
      pending.append(buf, static_cast<std::size_t>(n));
    }
  }

  // One connection, one exchange, until the server closes.
  std::string exchange(std::string_view raw) const {
    const int fd = connect_client();
    send_all(fd, raw);
    ::shutdown(fd, SHUT_WR);
    std::string out = read_all(fd);
    ::close(fd);
    return out;
  }

  static int status_of(std::string_view response) {
    if (response.size() < 12 || response.substr(0, 5) != "HTTP/") return -1;
    return std::stoi(std::string(response.substr(9, 3)));
  }

  void expect_still_serving() const {
    const std::string r = exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(r), 200) << r;
  }

  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

TEST_F(HttpServerTest, get_with_query_headers_and_body) {
  const std::string r = exchange(
      "POST /echo/sub?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nContent-Length: 5\r\n"
      "Connection: close\r\n\r\nabcde");
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_NE(r.find("POST /echo/sub q=a=1&b=%20 body=abcde x-test=hello"), std::string::npos) << r;
  EXPECT_NE(r.find("Server: sipbox"), std::string::npos);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
}

TEST_F(HttpServerTest, keep_alive_and_pipelining_use_one_connection) {
  const int fd = connect_client();
  std::string pending;
  send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string first = read_response(fd, pending);
  send_all(fd, "GET /echo/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo/3 HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string second = read_response(fd, pending);
  const std::string third = read_response(fd, pending);
  ::close(fd);
  EXPECT_EQ(status_of(first), 200);
  EXPECT_NE(second.find("GET /echo/2"), std::string::npos) << second;
  EXPECT_NE(third.find("GET /echo/3"), std::string::npos) << third;
  const auto conn = [](const std::string& r) {
    return r.substr(r.find("X-Conn: ") + 8, r.find("\r\n", r.find("X-Conn: ")) - r.find("X-Conn: ") - 8);
  };
  EXPECT_EQ(conn(first), conn(second));
  EXPECT_EQ(conn(second), conn(third));
}

TEST_F(HttpServerTest, http_1_0_closes_after_the_response) {
  const std::string r = exchange("GET /echo HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 200");
}

TEST_F(HttpServerTest, routes_match_on_segment_boundaries) {
  EXPECT_EQ(status_of(exchange("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 200);
  EXPECT_EQ(status_of(exchange("GET /echoes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 404);
  EXPECT_EQ(status_of(exchange("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 404);
}

TEST_F(HttpServerTest, head_has_the_length_but_no_body) {
  const std::string r = exchange("HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_NE(r.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(r.substr(r.find("\r\n\r\n") + 4), "");
}

TEST_F(HttpServerTest, no_content_drops_the_body) {
  const std::string r = exchange("GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(status_of(r), 204) << r;
  EXPECT_EQ(r.find("dropped"), std::string::npos);
}

TEST_F(HttpServerTest, expect_100_continue_gets_an_interim_response) {
  const int fd = connect_client();
  send_all(fd, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  std::string pending;
  const std::string interim = read_response(fd, pending);
  EXPECT_EQ(status_of(interim), 100) << interim;
  send_all(fd, "abc");
  const std::string final_response = read_response(fd, pending);
  ::close(fd);
  EXPECT_EQ(status_of(final_response), 200) << final_response;
  EXPECT_NE(final_response.find("body=abc"), std::string::npos);
}

TEST_F(HttpServerTest, handler_exception_is_500) {
  EXPECT_EQ(status_of(exchange("GET /throw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 500);
  expect_still_serving();
}

TEST_F(HttpServerTest, malformed_requests_get_400_and_change_nothing) {
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nHost x\r\n\r\n",                                    // header without colon
      "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",                       // bad length
      "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",  // conflicting lengths
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",     // bad chunk size
      "GET /\x01\x02 HTTP/1.1\r\n\r\n",
      "GET echo HTTP/1.1\r\nHost: x\r\n\r\n",  // not an absolute path
  };
  for (const char* raw : bad) {
    const std::string r = exchange(raw);
    EXPECT_EQ(status_of(r), 400) << raw << " -> " << r;
  }
  expect_still_serving();
}

TEST_F(HttpServerTest, binary_junk_never_crashes) {
  std::string junk;
  for (int i = 0; i < 3000; ++i) junk += static_cast<char>((i * 7919 + 13) & 0xFF);
  const std::string r = exchange(junk);
  EXPECT_TRUE(r.empty() || status_of(r) == 400 || status_of(r) == 431) << r.substr(0, 40);
  expect_still_serving();
}

TEST_F(HttpServerTest, body_over_the_limit_is_413) {
  EXPECT_EQ(status_of(exchange("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")), 413);
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                        std::string(0x800, 'a') + "\r\n0\r\n\r\n";
  EXPECT_EQ(status_of(exchange(chunked)), 413);
  expect_still_serving();
}

TEST_F(HttpServerTest, header_over_the_limit_is_431) {
  const std::string r = exchange("GET /echo HTTP/1.1\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n");
  EXPECT_EQ(status_of(r), 431) << r.substr(0, 60);
  expect_still_serving();
}

TEST_F(HttpServerTest, stop_closes_open_connections) {
  const int fd = connect_client();
  std::string pending;
  send_all(fd, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(read_response(fd, pending)), 200);
  boost::asio::post(io_, [this] { server_->stop(); });
  EXPECT_EQ(read_all(fd), "");  // the server closed it
  ::close(fd);
}

TEST(HttpServerStart, refuses_bad_address_and_busy_port) {
  boost::asio::io_context io;
  HttpServer a, b;
  EXPECT_FALSE(a.start(io, "not-an-address", 0));
  auto port = a.start(io, "127.0.0.1", 0);
  ASSERT_TRUE(port);
  auto busy = b.start(io, "127.0.0.1", *port);
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("cannot listen"), std::string::npos) << busy.error().message;
}

TEST(PercentCoding, rfc3986) {
  EXPECT_EQ(*percent_decode("a%20b%2Fc"), "a b/c");
  EXPECT_EQ(*percent_decode("a+b"), "a+b");
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%2"));
  EXPECT_FALSE(percent_decode("%g0"));
  EXPECT_EQ(percent_encode("a b/c~-_."), "a%20b%2Fc~-_.");
  auto q = parse_query("with-defaults=report-all&depth=2&flag&x=%2C");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"with-defaults", "report-all"}));
  EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ((*q)[3].second, ",");
  EXPECT_FALSE(parse_query("a=%zz"));
}

}  // namespace
}  // namespace sipbox::web
