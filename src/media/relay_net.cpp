// Socket addresses, descriptors and the port pool of the relay (relay_net.h).
#include "media/relay_net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sipbox::media::detail {

std::uint16_t SockAddr::port() const {
  if (empty()) return 0;
  return ntohs(family() == Family::v6 ? addr.v6.sin6_port : addr.v4.sin_port);
}

void SockAddr::set_port(std::uint16_t port) {
  if (family() == Family::v6) {
    addr.v6.sin6_port = htons(port);
  } else {
    addr.v4.sin_port = htons(port);
  }
}

bool SockAddr::unspecified() const {
  if (empty()) return true;
  if (family() == Family::v6) return IN6_IS_ADDR_UNSPECIFIED(&addr.v6.sin6_addr);
  return addr.v4.sin_addr.s_addr == htonl(INADDR_ANY);
}

SockAddr SockAddr::from(const sockaddr_storage& storage, socklen_t len) {
  SockAddr out;
  if (storage.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&out.addr.v4, &storage, sizeof(sockaddr_in));
    out.len = sizeof(sockaddr_in);
  } else if (storage.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&out.addr.v6, &storage, sizeof(sockaddr_in6));
    out.len = sizeof(sockaddr_in6);
  }
  return out;
}

bool SockAddr::operator==(const SockAddr& other) const {
  if (len != other.len) return false;
  if (len == 0) return true;
  if (addr.any.sa_family != other.addr.any.sa_family) return false;
  if (family() == Family::v6) {
    return addr.v6.sin6_port == other.addr.v6.sin6_port &&
           std::memcmp(&addr.v6.sin6_addr, &other.addr.v6.sin6_addr, sizeof(in6_addr)) == 0 &&
           addr.v6.sin6_scope_id == other.addr.v6.sin6_scope_id;
  }
  return addr.v4.sin_port == other.addr.v4.sin_port && addr.v4.sin_addr.s_addr == other.addr.v4.sin_addr.s_addr;
}

std::optional<SockAddr> parse_address(std::string_view text, std::uint16_t port) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN] = {};
  std::memcpy(buffer, text.data(), text.size());
  SockAddr out;
  if (::inet_pton(AF_INET, buffer, &out.addr.v4.sin_addr) == 1) {
    out.addr.v4.sin_family = AF_INET;
    out.addr.v4.sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    return out;
  }
  if (::inet_pton(AF_INET6, buffer, &out.addr.v6.sin6_addr) == 1) {
    out.addr.v6.sin6_family = AF_INET6;
    out.addr.v6.sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

Endpoint to_endpoint(const SockAddr& address) {
  if (address.empty()) return {};
  char buffer[INET6_ADDRSTRLEN] = {};
  if (address.family() == Family::v6) {
    ::inet_ntop(AF_INET6, &address.addr.v6.sin6_addr, buffer, sizeof buffer);
  } else {
    ::inet_ntop(AF_INET, &address.addr.v4.sin_addr, buffer, sizeof buffer);
  }
  return {buffer, address.port()};
}

std::string_view family_name(Family family) { return family == Family::v6 ? "IPv6" : "IPv4"; }

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

PortPool::PortPool(std::uint16_t min, std::uint16_t max) {
  for (std::uint32_t port = min + (min % 2); port + 1 <= max; port += 2) {
    ring_.push_back(static_cast<std::uint16_t>(port));
  }
  free_ = ring_.size();
}

std::size_t PortPool::free_pairs() const {
  std::lock_guard lock(mutex_);
  return free_;
}

std::optional<std::uint16_t> PortPool::take() {
  std::lock_guard lock(mutex_);
  if (free_ == 0) return std::nullopt;
  const std::uint16_t port = ring_[head_];
  head_ = (head_ + 1) % ring_.size();
  --free_;
  return port;
}

void PortPool::give_back(std::uint16_t rtp_port) {
  std::lock_guard lock(mutex_);
  if (free_ == ring_.size()) throw std::logic_error("PortPool: more ports given back than taken");
  ring_[(head_ + free_) % ring_.size()] = rtp_port;
  ++free_;
}

namespace {

// A non-blocking UDP socket bound on `address` (IPv6 sockets are v6-only: IPv4 parties
// are served by IPv4 sockets). Returns the descriptor, or -errno.
int open_bound(SockAddr address, std::uint16_t port) {
  address.set_port(port);
  const int domain = address.family() == Family::v6 ? AF_INET6 : AF_INET;
  const int fd = ::socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (domain == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // Kernel receive times: jitter measured where the packet arrived, not when a busy relay
  // thread got round to reading it (tshark's reference uses the same clock).
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (::bind(fd, &address.addr.any, address.len) != 0) {
    const int error = errno;
    ::close(fd);
    return -error;
  }
  return fd;
}

std::string describe_bind(const SockAddr& address, std::uint16_t port, int error) {
  return "media relay: cannot bind UDP " + to_endpoint(address).address + " port " + std::to_string(port) + ": " +
         std::strerror(error);
}

// 0 on success, else the errno of the failing bind.
int bind_into(const SockAddr& address, std::uint16_t port, BoundPair& out) {
  const int rtp = open_bound(address, port);
  if (rtp < 0) return -rtp;
  UniqueFd rtp_fd(rtp);
  const int rtcp = open_bound(address, static_cast<std::uint16_t>(port + 1));
  if (rtcp < 0) return -rtcp;
  out.rtp = std::move(rtp_fd);
  out.rtcp = UniqueFd(rtcp);
  out.port = port;
  out.family = address.family();
  return 0;
}

}  // namespace

Result<BoundPair> bind_from_pool(PortPool& pool, const SockAddr& address, bool& exhausted) {
  exhausted = false;
  // Each free pair is tried at most once: the ones in use by another program go to the
  // back of the queue (they may be free by the next call).
  const std::size_t attempts = pool.free_pairs();
  for (std::size_t i = 0; i < attempts; ++i) {
    const auto port = pool.take();
    if (!port) break;
    BoundPair pair;
    const int error = bind_into(address, *port, pair);
    if (error == 0) return pair;
    pool.give_back(*port);
    if (error != EADDRINUSE && error != EACCES) return fail(describe_bind(address, *port, error));
  }
  exhausted = true;
  return fail("media relay: no free port pair (all " + std::to_string(pool.pairs()) + " in use)");
}

Result<BoundPair> bind_pair(const SockAddr& address, std::uint16_t port) {
  BoundPair pair;
  if (const int error = bind_into(address, port, pair); error != 0) return fail(describe_bind(address, port, error));
  return pair;
}

}  // namespace sipbox::media::detail
