// Shared helpers for the transport tests: a Transport on a test-owned io_context, a
// bounded run loop, and SIP messages to send. Everything binds to loopback, port 0.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "transport/transport.h"

namespace sipbox::transport::test {

inline std::string sip_request(int cseq = 1, std::string body = {}) {
  return "OPTIONS sip:bob@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + std::to_string(cseq) + "\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:alice@example.com>;tag=a1\r\n"
         "To: <sip:bob@example.com>\r\n"
         "Call-ID: call-" + std::to_string(cseq) + "@test\r\n"
         "CSeq: " + std::to_string(cseq) + " OPTIONS\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Received {
  std::string bytes;
  Source source;
};

class TransportTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` holds or `limit` passes; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  // A transport that records every message it receives (and optionally reacts).
  std::unique_ptr<Transport> recording(std::vector<Received>& into, Settings settings = {},
                                       std::function<void(Transport&, const Received&)> react = {}) {
    auto holder = std::make_shared<Transport*>(nullptr);
    auto transport = std::make_unique<Transport>(
        io_, std::move(settings), [&into, holder, react](std::string_view bytes, const Source& source) {
          into.push_back({std::string(bytes), source});
          if (react && *holder) react(**holder, into.back());
        });
    *holder = transport.get();
    return transport;
  }

  boost::asio::io_context io_;
};

}  // namespace sipbox::transport::test
