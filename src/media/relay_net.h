// The relay's view of UDP (internal to src/media): socket addresses that compare without
// allocating, owned descriptors, and the port pool (RTP even, RTCP = RTP + 1) with a
// free list, so allocation is O(1) and a released pair goes to the back of the queue
// (late packets of an ended call rarely reach the next one).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "media/relay.h"

namespace sipbox::media::detail {

enum class Family : std::uint8_t { v4, v6 };

// An IPv4 or IPv6 socket address, compared by family, address and port.
struct SockAddr {
  union {
    sockaddr_in6 v6;  // first: the largest, so `{}` zeroes every byte
    sockaddr_in v4;
    sockaddr any;
  } addr{};
  socklen_t len = 0;

  bool empty() const { return len == 0; }
  Family family() const { return addr.any.sa_family == AF_INET6 ? Family::v6 : Family::v4; }
  std::uint16_t port() const;
  void set_port(std::uint16_t port);
  // 0.0.0.0 or ::, the RFC 2543 / 3264 8.4 hold address.
  bool unspecified() const;
  // From what recvmmsg wrote (AF_INET or AF_INET6; anything else gives an empty address).
  static SockAddr from(const sockaddr_storage& storage, socklen_t len);
  bool operator==(const SockAddr& other) const;
};

// "1.2.3.4", "::1" or "[::1]" with a port; nullopt when not an IP literal.
std::optional<SockAddr> parse_address(std::string_view text, std::uint16_t port);
Endpoint to_endpoint(const SockAddr& address);
std::string_view family_name(Family family);

// A file descriptor closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// Even RTP ports of [min, max] whose RTCP port (+ 1) is in the range too. Thread-safe
// (one mutex, taken by control calls only, never on the packet path).
class PortPool {
 public:
  PortPool(std::uint16_t min, std::uint16_t max);
  std::size_t pairs() const { return ring_.size(); }
  std::size_t free_pairs() const;
  std::optional<std::uint16_t> take();  // the oldest free pair
  void give_back(std::uint16_t rtp_port);

 private:
  mutable std::mutex mutex_;
  std::vector<std::uint16_t> ring_;  // capacity = every pair; [head_, head_ + free_) are free
  std::size_t head_ = 0;
  std::size_t free_ = 0;
};

// One side's sockets: RTP on `port`, RTCP on port + 1, both non-blocking.
struct BoundPair {
  UniqueFd rtp;
  UniqueFd rtcp;
  std::uint16_t port = 0;
  Family family = Family::v4;
};

// Binds a pair at `address` (its port is ignored) on the next free pair of the pool;
// pairs in use by another program are put back at the end of the queue and skipped.
// `exhausted` tells a failure for lack of ports from other failures.
Result<BoundPair> bind_from_pool(PortPool& pool, const SockAddr& address, bool& exhausted);
// Binds a pair on exactly `port` (used to keep a side's port when its family changes).
Result<BoundPair> bind_pair(const SockAddr& address, std::uint16_t port);

}  // namespace sipbox::media::detail
