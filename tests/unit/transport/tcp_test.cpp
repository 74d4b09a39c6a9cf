// TCP on 127.0.0.1 and ::1 against a raw client socket: RFC 3261 18.3 framing (two
// messages in one write, one message in many writes), RFC 5626 3.5.1 keep-alives, the
// size limit, malformed framing, the idle timeout, and connection reuse both ways.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "transport_fixture.h"

namespace sipbox::transport::test {
namespace {

using tcp = boost::asio::ip::tcp;

class TcpTest : public TransportTest, public ::testing::WithParamInterface<const char*> {
 protected:
  Endpoint listen(Transport& t) {
    auto id = t.listen(TransportKind::Tcp, GetParam(), 0);
    EXPECT_TRUE(id) << (id ? "" : id.error().message);
    return id ? *t.local_endpoint(*id) : Endpoint{};
  }
  // A raw client on its own io_context: blocking connect/write, non-blocking reads
  // polled while the transport's loop runs.
  tcp::socket connect(const Endpoint& at) {
    tcp::socket socket(client_io_);
    socket.connect(tcp::endpoint(at.address, at.port));
    socket.non_blocking(true);
    return socket;
  }
  void write(tcp::socket& s, std::string_view bytes) {
    s.non_blocking(false);
    boost::asio::write(s, boost::asio::buffer(bytes.data(), bytes.size()));
    s.non_blocking(true);
  }
  // Reads what is available; sets `closed` on EOF/reset.
  void poll(tcp::socket& s, std::string& into, bool& closed) {
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      const std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
      if (ec == boost::asio::error::would_block) return;
      if (ec) {
        closed = true;
        return;
      }
      into.append(buf, n);
    }
  }
  boost::asio::io_context client_io_;
};

TEST_P(TcpTest, TwoMessagesInOneWrite) {
  std::vector<Received> got;
  auto server = recording(got);
  auto s = connect(listen(*server));
  write(s, sip_request(1, "hello") + sip_request(2));
  ASSERT_TRUE(run_until([&] { return got.size() == 2; }));
  EXPECT_EQ(got[0].bytes, sip_request(1, "hello"));
  EXPECT_EQ(got[1].bytes, sip_request(2));
  EXPECT_EQ(got[0].source.kind, TransportKind::Tcp);
  EXPECT_NE(got[0].source.connection, 0u);
  EXPECT_EQ(got[0].source.connection, got[1].source.connection);
  EXPECT_EQ(got[0].source.remote.port, s.local_endpoint().port());
  EXPECT_EQ(server->counters().connections_accepted, 1u);
  EXPECT_EQ(server->counters().of(TransportKind::Tcp).messages_received, 2u);
}

TEST_P(TcpTest, OneMessageSplitAcrossManyWrites) {
  std::vector<Received> got;
  auto server = recording(got);
  auto s = connect(listen(*server));
  const std::string message = sip_request(7, "a body of some length");
  for (std::size_t i = 0; i < message.size(); i += 7) {
    write(s, std::string_view(message).substr(i, 7));
    io_.restart();
    io_.poll();  // let the server see each piece separately
  }
  ASSERT_TRUE(run_until([&] { return got.size() == 1; }));
  EXPECT_EQ(got[0].bytes, message);
}

TEST_P(TcpTest, CrlfPingGetsPongAndIsNotDelivered) {
  std::vector<Received> got;
  auto server = recording(got);
  auto s = connect(listen(*server));
  write(s, "\r\n\r\n");
  std::string answer;
  bool closed = false;
  ASSERT_TRUE(run_until([&] { poll(s, answer, closed); return !answer.empty() || closed; }));
  EXPECT_EQ(answer, "\r\n");  // RFC 5626 3.5.1: one CRLF back
  write(s, sip_request(3));
  ASSERT_TRUE(run_until([&] { return got.size() == 1; }));
  EXPECT_EQ(got[0].bytes, sip_request(3));
  EXPECT_EQ(server->counters().keepalive_pongs, 1u);
}

TEST_P(TcpTest, OversizeMessageClosesTheConnection) {
  std::vector<Received> got;
  Settings settings;
  settings.max_message_size = 1024;
  auto server = recording(got, settings);
  auto s = connect(listen(*server));
  write(s, sip_request(1, std::string(4000, 'x')));
  std::string answer;
  bool closed = false;
  ASSERT_TRUE(run_until([&] { poll(s, answer, closed); return closed; }));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(server->counters().dropped_oversize, 1u);
  EXPECT_EQ(server->counters().connections_closed, 1u);
  EXPECT_EQ(server->connection_count(), 0u);
}

TEST_P(TcpTest, MalformedFramingClosesTheConnection) {
  std::vector<Received> got;
  auto server = recording(got);
  auto s = connect(listen(*server));
  // RFC 3261 18.3: a stream message without Content-Length cannot be framed.
  write(s, "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n");
  std::string answer;
  bool closed = false;
  ASSERT_TRUE(run_until([&] { poll(s, answer, closed); return closed; }));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(server->counters().dropped_malformed, 1u);
}

TEST_P(TcpTest, IdleConnectionIsClosed) {
  std::vector<Received> got;
  Settings settings;
  settings.idle_timeout = std::chrono::milliseconds(200);
  auto server = recording(got, settings);
  auto s = connect(listen(*server));
  std::string answer;
  bool closed = false;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { poll(s, answer, closed); return closed; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(server->counters().connections_idle_closed, 1u);
  EXPECT_EQ(server->connection_count(), 0u);
}

TEST_P(TcpTest, ResponseGoesBackOnTheRequestsConnection) {
  std::vector<Received> got;
  auto server = recording(got, {}, [](Transport& t, const Received& r) {
    // Through txn::Sender with the reply Destination, as the transaction layer does.
    ASSERT_TRUE(t.send(r.source.reply_destination(), "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  });
  auto s = connect(listen(*server));
  write(s, sip_request(1));
  const std::string ok = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  std::string answer;
  bool closed = false;
  ASSERT_TRUE(run_until([&] { poll(s, answer, closed); return answer.size() >= ok.size() || closed; }));
  EXPECT_EQ(answer, ok);
  EXPECT_EQ(server->counters().connections_opened, 0u);  // no new connection was made
  EXPECT_EQ(server->connection_count(), 1u);
}

TEST_P(TcpTest, OutgoingConnectionIsReusedAndCarriesResponses) {
  std::vector<Received> at_server, at_client;
  auto server = recording(at_server, {}, [](Transport& t, const Received& r) {
    ASSERT_TRUE(t.reply(r.source, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  });
  auto client = recording(at_client);
  const Endpoint at = listen(*server);
  const Destination to{at.address.to_string(), at.port, TransportKind::Tcp};
  ASSERT_TRUE(client->send(to, sip_request(1)));  // queued while connecting
  ASSERT_TRUE(client->send(to, sip_request(2)));
  ASSERT_TRUE(run_until([&] { return at_client.size() == 2; }));
  ASSERT_TRUE(client->send(to, sip_request(3)));
  ASSERT_TRUE(run_until([&] { return at_client.size() == 3; }));
  EXPECT_EQ(client->counters().connections_opened, 1u);
  EXPECT_EQ(server->counters().connections_accepted, 1u);
  ASSERT_EQ(at_server.size(), 3u);
  EXPECT_EQ(at_server[0].source.connection, at_server[2].source.connection);
  EXPECT_EQ(at_client[0].source.remote, at);
  EXPECT_EQ(at_client[0].source.listener, 0u);  // an outgoing connection
}

TEST_P(TcpTest, ConnectFailureClosesAndCounts) {
  std::vector<Received> got;
  auto client = recording(got);
  Endpoint at;
  {
    // A port that was just free: nobody listens there.
    tcp::acceptor probe(client_io_, tcp::endpoint(boost::asio::ip::make_address(GetParam()), 0));
    at = {probe.local_endpoint().address(), probe.local_endpoint().port()};
  }
  ASSERT_TRUE(client->send({at.address.to_string(), at.port, TransportKind::Tcp}, sip_request(1)));
  ASSERT_TRUE(run_until([&] { return client->counters().connections_closed == 1; }));
  EXPECT_EQ(client->connection_count(), 0u);
  EXPECT_EQ(client->counters().send_failures, 1u);  // the queued message never left
}

INSTANTIATE_TEST_SUITE_P(Loopback, TcpTest, ::testing::Values("127.0.0.1", "::1"));

}  // namespace
}  // namespace sipbox::transport::test
