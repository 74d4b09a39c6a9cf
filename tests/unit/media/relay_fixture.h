// Test helpers for the media relay: parties as real UDP sockets on loopback, and an
// observer that records reports and call endings for the test thread to wait on.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "media/media.h"
#include "packet_builder.h"

namespace sipbox::media::test {

using namespace std::chrono_literals;

// A datagram a party received.
struct Received {
  Bytes bytes;
  Endpoint from;
};

// One UDP socket of a party ("127.0.0.2", "::1"), bound to `port` (0: any).
class Party {
 public:
  explicit Party(const std::string& address, std::uint16_t port = 0) : address_(address) {
    v6_ = address.find(':') != std::string::npos;
    fd_ = ::socket(v6_ ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage at = make(address, port);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&at), length()) == 0;
    socklen_t len = sizeof at;
    if (ok_ && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &len) == 0) {
      port_ =
          ntohs(v6_ ? reinterpret_cast<sockaddr_in6*>(&at)->sin6_port : reinterpret_cast<sockaddr_in*>(&at)->sin_port);
    }
  }
  Party(const Party&) = delete;
  Party& operator=(const Party&) = delete;
  ~Party() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }
  Endpoint endpoint() const { return {address_, port_}; }

  void send_to(const std::string& address, std::uint16_t port, const Bytes& data) const {
    sockaddr_storage to = make(address, port);
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), length());
  }

  std::optional<Received> receive(std::chrono::milliseconds wait = 2000ms) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
    Received out;
    out.bytes.resize(65536);
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const auto n = ::recvfrom(fd_, out.bytes.data(), out.bytes.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    out.bytes.resize(static_cast<std::size_t>(n));
    char text[INET6_ADDRSTRLEN] = {};
    if (from.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<sockaddr_in6*>(&from);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
      out.from = {text, ntohs(v6->sin6_port)};
    } else {
      const auto* v4 = reinterpret_cast<sockaddr_in*>(&from);
      ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
      out.from = {text, ntohs(v4->sin_port)};
    }
    return out;
  }

  // Nothing arrives within `wait` (a generous bound for "not forwarded").
  bool silent(std::chrono::milliseconds wait = 300ms) const { return !receive(wait).has_value(); }

 private:
  sockaddr_storage make(const std::string& address, std::uint16_t port) const {
    sockaddr_storage out{};
    if (v6_) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      ::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr);
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      ::inet_pton(AF_INET, address.c_str(), &v4->sin_addr);
    }
    return out;
  }
  socklen_t length() const { return v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }

  std::string address_;
  bool v6_ = false;
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
};

inline bool ipv6_loopback_available() {
  Party probe("::1");
  return probe.ok();
}

class Recorder final : public RelayObserver {
 public:
  void on_report(const StreamReport& report) override {
    std::lock_guard lock(mutex_);
    reports_.push_back(report);
    changed_.notify_all();
  }
  void on_call_ended(std::string_view call_id, EndReason reason) override {
    std::lock_guard lock(mutex_);
    ended_.emplace_back(std::string(call_id), reason);
    changed_.notify_all();
  }

  // Waits (bounded) until `done(reports, ended)` holds.
  template <class Predicate>
  bool wait(Predicate done, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return done(reports_, ended_); });
  }

  std::vector<StreamReport> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::vector<StreamReport> finals(const std::string& call_id) {
    std::lock_guard lock(mutex_);
    std::vector<StreamReport> out;
    for (const auto& r : reports_) {
      if (r.final && r.call_id == call_id) out.push_back(r);
    }
    return out;
  }
  std::vector<std::pair<std::string, EndReason>> ended() {
    std::lock_guard lock(mutex_);
    return ended_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<StreamReport> reports_;
  std::vector<std::pair<std::string, EndReason>> ended_;
};

// The relay, or null with a test failure saying why it did not start.
inline std::unique_ptr<MediaRelay> start_relay(const RelayOptions& options, RelayObserver& observer) {
  auto relay = MediaRelay::start(options, observer);
  if (!relay) ADD_FAILURE() << relay.error().message;
  return relay ? std::move(*relay) : nullptr;
}

// Options on 127.0.0.1 with a range of its own per test (tests may run in parallel).
inline RelayOptions loopback_options(std::uint16_t port_min, std::uint16_t port_max) {
  RelayOptions options;
  options.bind_ipv4 = "127.0.0.1";
  options.port_min = port_min;
  options.port_max = port_max;
  options.threads = 2;
  return options;
}

// A call with two parties on loopback: A (offerer, 127.0.0.2) and B (answerer,
// 127.0.0.3), each with an RTP and an RTCP socket, and the relay's ports for each side.
struct TwoParties {
  Party a_rtp{"127.0.0.2"};
  Party a_rtcp{"127.0.0.2"};
  Party b_rtp{"127.0.0.3"};
  Party b_rtcp{"127.0.0.3"};
  std::uint16_t a_port = 0;  // the relay's port pair for A (offerer side)
  std::uint16_t b_port = 0;

  // Allocates both sides and sets both remotes to the parties' sockets.
  ::testing::AssertionResult connect(MediaRelay& relay, const std::string& call_id, bool a_mux = false,
                                     bool b_mux = false) {
    auto a = relay.allocate(call_id, 0, Side::offerer, "127.0.0.2");
    auto b = relay.allocate(call_id, 0, Side::answerer, "127.0.0.3");
    if (!a || !b) return ::testing::AssertionFailure() << "allocate failed";
    a_port = *a;
    b_port = *b;
    if (!relay.set_remote(call_id, 0, Side::offerer, a_rtp.endpoint(), a_mux ? a_rtp.endpoint() : a_rtcp.endpoint(),
                          a_mux) ||
        !relay.set_remote(call_id, 0, Side::answerer, b_rtp.endpoint(), b_mux ? b_rtp.endpoint() : b_rtcp.endpoint(),
                          b_mux)) {
      return ::testing::AssertionFailure() << "set_remote failed";
    }
    return ::testing::AssertionSuccess();
  }
};

}  // namespace sipbox::media::test
