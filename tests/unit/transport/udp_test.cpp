// UDP on 127.0.0.1 and ::1: a request and its response, a batch of 200 datagrams, how
// long a response waits for its batch, and the drops (oversize, keep-alive only).
#include <boost/asio/ip/udp.hpp>
#include <thread>

#include "transport_fixture.h"

namespace sipbox::transport::test {
namespace {

class UdpTest : public TransportTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(UdpTest, RoundTripReportsSourceAndListener) {
  std::vector<Received> at_server, at_client;
  auto server = recording(
      at_server, {}, [](Transport& t, const Received& r) { ASSERT_TRUE(t.reply(r.source, "SIP/2.0 200 OK\r\n\r\n")); });
  auto client = recording(at_client);
  auto server_id = server->listen(TransportKind::Udp, GetParam(), 0);
  ASSERT_TRUE(server_id) << server_id.error().message;
  auto client_id = client->listen(TransportKind::Udp, GetParam(), 0);
  ASSERT_TRUE(client_id) << client_id.error().message;
  const Endpoint server_at = *server->local_endpoint(*server_id);
  const Endpoint client_at = *client->local_endpoint(*client_id);
  ASSERT_NE(server_at.port, 0);

  const std::string request = sip_request();
  ASSERT_TRUE(client->send({server_at.address.to_string(), server_at.port, TransportKind::Udp}, request));
  ASSERT_TRUE(run_until([&] { return !at_client.empty(); }));

  ASSERT_EQ(at_server.size(), 1u);
  EXPECT_EQ(at_server[0].bytes, request);
  EXPECT_EQ(at_server[0].source.kind, TransportKind::Udp);
  EXPECT_EQ(at_server[0].source.remote, client_at);  // what RFC 3581 received/rport need
  EXPECT_EQ(at_server[0].source.listener, *server_id);
  EXPECT_EQ(at_server[0].source.connection, 0u);
  EXPECT_EQ(at_client[0].bytes, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(at_client[0].source.remote, server_at);
  EXPECT_EQ(server->counters().of(TransportKind::Udp).messages_received, 1u);
  EXPECT_EQ(server->counters().of(TransportKind::Udp).messages_sent, 1u);
  EXPECT_EQ(server->counters().of(TransportKind::Udp).bytes_received, request.size());
  EXPECT_EQ(client->counters().of(TransportKind::Udp).bytes_sent, request.size());
}

TEST_P(UdpTest, BatchOf200DatagramsAllArrive) {
  std::vector<Received> at_server, at_client;
  auto server = recording(at_server);
  auto client = recording(at_client);
  auto server_id = server->listen(TransportKind::Udp, GetParam(), 0);
  ASSERT_TRUE(server_id);
  ASSERT_TRUE(client->listen(TransportKind::Udp, GetParam(), 0));
  const Endpoint at = *server->local_endpoint(*server_id);
  // Sent in bursts of 40 (each leaves in sendmmsg calls, arrives through recvmmsg), so
  // the default socket buffer never overflows on a loaded machine.
  for (int burst = 0; burst < 5; ++burst) {
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(client->send({at.address.to_string(), at.port, TransportKind::Udp}, sip_request(burst * 40 + i + 1)));
    }
    const std::size_t want = static_cast<std::size_t>(burst + 1) * 40;
    ASSERT_TRUE(run_until([&] { return at_server.size() >= want; })) << at_server.size();
  }
  ASSERT_EQ(at_server.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(at_server[static_cast<std::size_t>(i)].bytes, sip_request(i + 1));
  EXPECT_EQ(server->counters().of(TransportKind::Udp).messages_received, 200u);
  EXPECT_EQ(client->counters().of(TransportKind::Udp).messages_sent, 200u);
  EXPECT_EQ(client->counters().send_failures, 0u);
}

// Responses made while a batch is handled leave in one sendmmsg, but one does not wait for
// the whole batch: here each request takes 300 us to handle, longer than a response may be
// held, so the first response is out before the tenth request is handled.
TEST_P(UdpTest, AResponseDoesNotWaitForTheRestOfItsBatch) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket raw(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address(GetParam()), 0));
  std::size_t waiting_at_last = 0;
  std::vector<Received> at_server;
  auto server = recording(at_server, {}, [&](Transport& t, const Received& r) {
    if (r.bytes == sip_request(10)) waiting_at_last = raw.available();
    ASSERT_TRUE(t.reply(r.source, "SIP/2.0 200 OK\r\n\r\n"));
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  });
  auto id = server->listen(TransportKind::Udp, GetParam(), 0);
  ASSERT_TRUE(id);
  const Endpoint at = *server->local_endpoint(*id);
  // All ten are queued before the server's loop runs, so one recvmmsg takes them.
  for (int i = 1; i <= 10; ++i) raw.send_to(boost::asio::buffer(sip_request(i)), {at.address, at.port});
  ASSERT_TRUE(run_until([&] { return at_server.size() == 10; }));
  EXPECT_GE(waiting_at_last, 1u);  // bytes of at least the first response
  ASSERT_TRUE(
      run_until([&] { return raw.available() > 0 && server->counters().of(TransportKind::Udp).messages_sent == 10; }));
}

TEST_P(UdpTest, OversizeAndKeepAliveDatagramsAreNotDelivered) {
  std::vector<Received> at_server;
  Settings settings;
  settings.max_message_size = 1000;
  auto server = recording(at_server, settings);
  auto id = server->listen(TransportKind::Udp, GetParam(), 0);
  ASSERT_TRUE(id);
  const Endpoint at = *server->local_endpoint(*id);
  boost::asio::io_context io;
  boost::asio::ip::udp::socket raw(io, boost::asio::ip::udp::endpoint(at.address, 0));
  const boost::asio::ip::udp::endpoint to(at.address, at.port);
  raw.send_to(boost::asio::buffer(sip_request(1, std::string(2000, 'x'))), to);
  raw.send_to(boost::asio::buffer(std::string("\r\n\r\n")), to);
  raw.send_to(boost::asio::buffer(sip_request(2)), to);
  ASSERT_TRUE(run_until([&] { return !at_server.empty(); }));
  EXPECT_EQ(at_server.size(), 1u);
  EXPECT_EQ(at_server[0].bytes, sip_request(2));
  EXPECT_EQ(server->counters().dropped_oversize, 1u);
}

TEST_P(UdpTest, SendWithoutListenerOfThatFamilyFails) {
  std::vector<Received> none;
  auto t = recording(none);
  auto sent = t->send({GetParam(), 5060, TransportKind::Udp}, "x");
  EXPECT_FALSE(sent);
  EXPECT_EQ(t->counters().send_failures, 1u);
}

INSTANTIATE_TEST_SUITE_P(Loopback, UdpTest, ::testing::Values("127.0.0.1", "::1"));

}  // namespace
}  // namespace sipbox::transport::test
