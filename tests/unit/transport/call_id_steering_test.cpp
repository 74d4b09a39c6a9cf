// Call-ID steering: call_id_worker() is FNV-1a modulo the workers, and with the kernel
// program attached each datagram from ONE source socket reaches the listener of the
// worker that the core computes from the parsed Call-ID (without the program, the
// kernel's source hash would send them all to one listener).
#include <algorithm>
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

class CallIdSteeringTest : public TransportTest {
 protected:
  // `workers` transports sharing one UDP port of 127.0.0.1, bound in worker order, with
  // the program attached; the test is skipped where the kernel refuses it for lack of
  // CAP_BPF.
  void start_steered(unsigned workers) {
    Settings settings;
    settings.reuse_port = true;
    received_.resize(workers);  // before recording(): it keeps a reference into each
    ListenerId first = 0;
    for (unsigned w = 0; w < workers; ++w) {
      workers_.push_back(recording(received_[w], settings));
      auto id = workers_.back()->listen(TransportKind::Udp, "127.0.0.1", port_);
      ASSERT_TRUE(id) << id.error().message;
      if (w == 0) first = *id;
      port_ = workers_.back()->local_endpoint(*id)->port;
    }
    if (Status steered = workers_[0]->steer_by_call_id(first, workers); !steered) {
      if (steered.error().message.find("CAP_BPF") != std::string::npos) GTEST_SKIP() << steered.error().message;
      FAIL() << steered.error().message;
    }
  }

  // From one socket, so the kernel's own hash would pick one listener for all.
  void send(const std::string& bytes) {
    sender_.send_to(boost::asio::buffer(bytes), {boost::asio::ip::make_address("127.0.0.1"), port_});
  }

  bool all_arrived(std::size_t sent) {
    return run_until([&] {
      std::size_t arrived = 0;
      for (const auto& r : received_) arrived += r.size();
      return arrived == sent;
    });
  }

  std::vector<std::vector<Received>> received_;
  std::vector<std::unique_ptr<Transport>> workers_;
  std::uint16_t port_ = 0;
  boost::asio::ip::udp::socket sender_{io_, boost::asio::ip::udp::v4()};
};

TEST_F(CallIdSteeringTest, EachDatagramReachesTheListenerOfItsCallIdsWorker) {
  constexpr unsigned kWorkers = 3;
  ASSERT_NO_FATAL_FAILURE(start_steered(kWorkers));
  if (IsSkipped()) return;
  constexpr int kDatagrams = 120;
  std::vector<unsigned> expected(kDatagrams);
  for (int n = 0; n < kDatagrams; ++n) {
    const std::string bytes = request_with(call_id_line(n), n);
    sip::Message parsed;
    ASSERT_TRUE(sip::parse_message(bytes, sip::Framing::Datagram, parsed)) << bytes;
    expected[static_cast<std::size_t>(n)] = call_id_worker(parsed.call_id(), kWorkers);
    send(bytes);
  }
  ASSERT_TRUE(all_arrived(kDatagrams));
  for (unsigned w = 0; w < kWorkers; ++w) {
    for (const Received& r : received_[w]) {
      const auto at = r.bytes.find("branch=z9hG4bK-") + std::strlen("branch=z9hG4bK-");
      const int n = std::stoi(r.bytes.substr(at));
      EXPECT_EQ(expected[static_cast<std::size_t>(n)], w) << call_id_line(n);
    }
    EXPECT_FALSE(received_[w].empty()) << "worker " << w;
  }
}

TEST_F(CallIdSteeringTest, RegistersFromOneSourceStayOnOneListener) {
  // The registrar answers a REGISTER where it arrives: the program leaves REGISTERs to
  // the kernel's hash of the source, which is the same for all of them here.
  ASSERT_NO_FATAL_FAILURE(start_steered(3));
  if (IsSkipped()) return;
  constexpr std::size_t kDatagrams = 30;
  for (std::size_t n = 0; n < kDatagrams; ++n) {
    std::string bytes = request_with("Call-ID: reg-" + std::to_string(n * 104729), static_cast<int>(n));
    bytes.replace(0, std::strlen("INVITE sip:bob@example.com"), "REGISTER sip:example.com");
    send(bytes);
  }
  ASSERT_TRUE(all_arrived(kDatagrams));
  EXPECT_TRUE(std::any_of(received_.begin(), received_.end(), [&](const auto& r) { return r.size() == kDatagrams; }))
      << received_[0].size() << " " << received_[1].size() << " " << received_[2].size();
}

TEST_F(CallIdSteeringTest, ADatagramWithoutCallIdIsStillDelivered) {
  ASSERT_NO_FATAL_FAILURE(start_steered(2));
  if (IsSkipped()) return;
  // No Call-ID (the kernel's hash decides), and a Call-ID past the scanned bytes.
  send("garbage without headers");
  send(request_with("X-Long: " + std::string(1500, 'l') + "\r\nCall-ID: late", 1));
  ASSERT_TRUE(all_arrived(2));
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
