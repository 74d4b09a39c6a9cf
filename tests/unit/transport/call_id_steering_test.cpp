// Call-ID steering: call_id_worker() is FNV-1a modulo the workers, and with the kernel
// program attached each datagram from ONE source socket reaches the listener of the
// worker that the core computes from the parsed Call-ID (without the program, the
// kernel's source hash would send them all to one listener).
#include <boost/asio/ip/udp.hpp>
#include <cstring>

#include "sip/sip.h"
#include "transport_fixture.h"

namespace sipbox::transport::test {
namespace {

TEST(CallIdWorker, IsFnv1aOfTheBytesModuloTheWorkers) {
  // FNV-1a 32-bit reference values: "" 0x811c9dc5, "a" 0xe40c292c, "foobar" 0xbf9cf968.
  EXPECT_EQ(call_id_worker("", 7), 0x811c9dc5u % 7);
  EXPECT_EQ(call_id_worker("a", 7), 0xe40c292cu % 7);
  EXPECT_EQ(call_id_worker("foobar", 3), 0xbf9cf968u % 3);
  EXPECT_EQ(call_id_worker("foobar", 1), 0u);
  EXPECT_EQ(call_id_worker("foobar", 0), 0u);
}

// Call-ID header spellings the program must read as the parser does.
std::string request_with(std::string_view call_id_line, int n) {
  std::string padding;
  if (n % 5 == 4) {
    // Push the Call-ID back: 900 bytes of other headers first.
    for (int i = 0; i < 9; ++i) padding += "X-Padding-" + std::to_string(i) + ": " + std::string(80, 'p') + "\r\n";
  }
  return "INVITE sip:bob@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" +
         std::to_string(n) +
         "\r\n"
         "In-Reply-To: 17@earlier.example.com\r\n"  // starts with "i", as the compact Call-ID
         "Max-Forwards: 70\r\n" +
         padding +
         "From: <sip:alice@example.com>;tag=a1\r\n"
         "To: <sip:bob@example.com>\r\n" +
         std::string(call_id_line) +
         "\r\n"
         "CSeq: 1 INVITE\r\n"
         "Content-Length: 0\r\n\r\n";
}

std::string call_id_line(int n) {
  const std::string id = "c" + std::to_string(n * 7919) + "-x@host" + std::to_string(n % 3);
  switch (n % 4) {
    case 0:
      return "Call-ID: " + id;
    case 1:
      return "i: " + id;
    case 2:
      return "call-id:" + id + " \t";
    default:
      return "CALL-ID \t:\t " + id;
  }
}

class CallIdSteeringTest : public TransportTest {};

TEST_F(CallIdSteeringTest, EachDatagramReachesTheListenerOfItsCallIdsWorker) {
  constexpr unsigned kWorkers = 3;
  Settings settings;
  settings.reuse_port = true;
  std::vector<Received> received[kWorkers];
  std::vector<std::unique_ptr<Transport>> workers;
  std::vector<ListenerId> ids;
  std::uint16_t port = 0;
  for (unsigned w = 0; w < kWorkers; ++w) {
    workers.push_back(recording(received[w], settings));
    auto id = workers.back()->listen(TransportKind::Udp, "127.0.0.1", port);
    ASSERT_TRUE(id) << id.error().message;
    ids.push_back(*id);
    port = workers.back()->local_endpoint(*id)->port;
  }
  if (Status steered = workers[0]->steer_by_call_id(ids[0], kWorkers); !steered) {
    if (steered.error().message.find("CAP_BPF") != std::string::npos) GTEST_SKIP() << steered.error().message;
    FAIL() << steered.error().message;
  }

  boost::asio::ip::udp::socket sender(io_, boost::asio::ip::udp::v4());
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  constexpr int kDatagrams = 120;
  std::vector<unsigned> expected(kDatagrams);
  for (int n = 0; n < kDatagrams; ++n) {
    const std::string bytes = request_with(call_id_line(n), n);
    sip::Message parsed;
    ASSERT_TRUE(sip::parse_message(bytes, sip::Framing::Datagram, parsed)) << bytes;
    expected[static_cast<std::size_t>(n)] = call_id_worker(parsed.call_id(), kWorkers);
    sender.send_to(boost::asio::buffer(bytes), to);
  }
  ASSERT_TRUE(run_until([&] { return received[0].size() + received[1].size() + received[2].size() == kDatagrams; }));

  unsigned per_worker[kWorkers] = {};
  for (unsigned w = 0; w < kWorkers; ++w) {
    for (const Received& r : received[w]) {
      const auto at = r.bytes.find("branch=z9hG4bK-") + std::strlen("branch=z9hG4bK-");
      const int n = std::stoi(r.bytes.substr(at));
      EXPECT_EQ(expected[static_cast<std::size_t>(n)], w) << call_id_line(n);
      ++per_worker[w];
    }
  }
  for (unsigned w = 0; w < kWorkers; ++w) EXPECT_GT(per_worker[w], 0u) << "worker " << w;
}

TEST_F(CallIdSteeringTest, RegistersFromOneSourceStayOnOneListener) {
  // The registrar answers a REGISTER where it arrives: the program leaves REGISTERs to
  // the kernel's hash of the source, which is the same for all of them here.
  constexpr unsigned kWorkers = 3;
  Settings settings;
  settings.reuse_port = true;
  std::vector<Received> received[kWorkers];
  std::vector<std::unique_ptr<Transport>> workers;
  std::uint16_t port = 0;
  ListenerId first = 0;
  for (unsigned w = 0; w < kWorkers; ++w) {
    workers.push_back(recording(received[w], settings));
    auto id = workers.back()->listen(TransportKind::Udp, "127.0.0.1", port);
    ASSERT_TRUE(id) << id.error().message;
    if (w == 0) first = *id;
    port = workers.back()->local_endpoint(*id)->port;
  }
  if (Status steered = workers[0]->steer_by_call_id(first, kWorkers); !steered) {
    if (steered.error().message.find("CAP_BPF") != std::string::npos) GTEST_SKIP() << steered.error().message;
    FAIL() << steered.error().message;
  }
  boost::asio::ip::udp::socket sender(io_, boost::asio::ip::udp::v4());
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  constexpr int kDatagrams = 30;
  for (int n = 0; n < kDatagrams; ++n) {
    std::string bytes = request_with("Call-ID: reg-" + std::to_string(n * 104729), n);
    bytes.replace(0, std::strlen("INVITE sip:bob@example.com"), "REGISTER sip:example.com");
    sender.send_to(boost::asio::buffer(bytes), to);
  }
  ASSERT_TRUE(run_until([&] { return received[0].size() + received[1].size() + received[2].size() == kDatagrams; }));
  EXPECT_TRUE(received[0].size() == kDatagrams || received[1].size() == kDatagrams || received[2].size() == kDatagrams)
      << received[0].size() << " " << received[1].size() << " " << received[2].size();
}

TEST_F(CallIdSteeringTest, ADatagramWithoutCallIdIsStillDelivered) {
  Settings settings;
  settings.reuse_port = true;
  std::vector<Received> first, second;
  auto a = recording(first, settings);
  auto b = recording(second, settings);
  auto id = a->listen(TransportKind::Udp, "127.0.0.1", 0);
  ASSERT_TRUE(id);
  const std::uint16_t port = a->local_endpoint(*id)->port;
  ASSERT_TRUE(b->listen(TransportKind::Udp, "127.0.0.1", port));
  if (Status steered = a->steer_by_call_id(*id, 2); !steered) {
    if (steered.error().message.find("CAP_BPF") != std::string::npos) GTEST_SKIP() << steered.error().message;
    FAIL() << steered.error().message;
  }
  boost::asio::ip::udp::socket sender(io_, boost::asio::ip::udp::v4());
  const boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  // No Call-ID (the kernel's hash decides), and a Call-ID past the scanned bytes.
  sender.send_to(boost::asio::buffer(std::string("garbage without headers")), to);
  sender.send_to(boost::asio::buffer(request_with("X-Long: " + std::string(1500, 'l') + "\r\nCall-ID: late", 1)), to);
  ASSERT_TRUE(run_until([&] { return first.size() + second.size() == 2; }));
}

TEST_F(CallIdSteeringTest, RefusedWithoutReusePort) {
  std::vector<Received> into;
  auto t = recording(into);
  auto id = t->listen(TransportKind::Udp, "127.0.0.1", 0);
  ASSERT_TRUE(id);
  EXPECT_FALSE(t->steer_by_call_id(*id, 2));
  EXPECT_FALSE(t->steer_by_call_id(*id + 7, 2));
}

}  // namespace
}  // namespace sipbox::transport::test
