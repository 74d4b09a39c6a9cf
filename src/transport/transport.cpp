// Transport::Impl: the listener list, the connection table (by id and by remote
// address:port, RFC 3261 18: reuse one connection per peer) and the counters.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <charconv>
#include <unordered_map>
#include <vector>

#include "transport/detail.h"

namespace sipbox::transport {

std::string address_text(const boost::asio::ip::address& address) {
  if (!address.is_v4()) return address.to_string();
  const auto bytes = address.to_v4().to_bytes();
  char text[16];
  char* at = text;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) *at++ = '.';
    at = std::to_chars(at, text + sizeof text, bytes[i]).ptr;
  }
  return std::string(text, at);
}

Destination Source::reply_destination() const { return Destination{address_text(remote.address), remote.port, kind}; }

namespace {

struct PeerKey {
  TransportKind kind;
  boost::asio::ip::address address;
  std::uint16_t port;
  bool operator==(const PeerKey&) const = default;
};

struct PeerKeyHash {
  std::size_t operator()(const PeerKey& key) const noexcept {
    std::size_t h = 0;
    if (key.address.is_v4()) {
      h = key.address.to_v4().to_uint();
    } else {
      for (unsigned char b : key.address.to_v6().to_bytes()) h = h * 131 + b;
    }
    return h ^ (std::size_t{key.port} << 8) ^ static_cast<std::size_t>(key.kind);
  }
};

struct ListenerEntry {
  TransportKind kind;
  std::shared_ptr<detail::Listener> listener;
  std::shared_ptr<detail::UdpListener> udp;  // the same object, when kind == Udp
};

struct ConnectionEntry {
  std::shared_ptr<detail::Connection> connection;
  PeerKey key;
};

}  // namespace

// The loaded steering program; each socket group it is attached to holds a reference of its own.
struct SteeringProgram {
  int fd = -1;
  unsigned workers = 0;
  SteeringProgram() = default;
  SteeringProgram(const SteeringProgram&) = delete;
  SteeringProgram& operator=(const SteeringProgram&) = delete;
  ~SteeringProgram() { reset(-1, 0); }
  void reset(int new_fd, unsigned new_workers) {
    if (fd >= 0) ::close(fd);
    fd = new_fd;
    workers = new_workers;
  }
};

struct Transport::Impl final : detail::Hub {
  Impl(boost::asio::io_context& io_, Settings settings_, MessageHandler handler_)
      : io(io_), config(std::move(settings_)), handler(std::move(handler_)) {}

  void deliver(std::string_view bytes, const Source& source) override {
    if (handler) handler(bytes, source);
  }

  void connection_closed(ConnectionId id) override {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    auto by = by_peer.find(it->second.key);
    if (by != by_peer.end() && by->second == id) by_peer.erase(by);
    connections.erase(it);
    ++stats.connections_closed;
    --stats.connections_open;
  }

  Counters& counters() override { return stats; }
  const Settings& settings() const override { return config; }

  detail::Adopt adopter() {
    return [this](std::shared_ptr<detail::Connection> connection, const Endpoint& remote, TransportKind kind) {
      const ConnectionId id = next_connection++;
      PeerKey key{kind, remote.address, remote.port};
      connections.emplace(id, ConnectionEntry{std::move(connection), key});
      by_peer[key] = id;  // the newest connection to a peer is the one to reuse
      ++stats.connections_open;
      return id;
    };
  }

  detail::UdpListener* udp_for(const boost::asio::ip::address& address) {
    for (auto& entry : listeners) {
      if (entry.udp && entry.listener->local().address.is_v6() == address.is_v6()) return entry.udp.get();
    }
    return nullptr;
  }

  void count_sent(TransportKind kind, std::size_t bytes) {
    auto& c = stats.of(kind);
    ++c.messages_sent;
    c.bytes_sent += bytes;
  }

  Status send_stream(TransportKind kind, const Endpoint& to, std::string_view bytes) {
    if (auto it = by_peer.find(PeerKey{kind, to.address, to.port}); it != by_peer.end()) {
      connections.at(it->second).connection->send(bytes);
      count_sent(kind, bytes.size());
      return {};
    }
    if (kind == TransportKind::Ws || kind == TransportKind::Wss) {
      ++stats.send_failures;
      return fail("no WebSocket connection to " + to.address.to_string() + ":" + std::to_string(to.port));
    }
    std::shared_ptr<detail::TlsContexts> tls;
    if (kind == TransportKind::Tls) {
      if (!client_tls) {
        auto made = detail::make_tls_contexts(config, false);
        if (!made) {
          ++stats.send_failures;
          return Unexpected<Error>{made.error()};
        }
        client_tls = *made;
      }
      tls = client_tls;
    }
    auto connection = detail::connect_stream(io, *this, to, std::move(tls), adopter());
    connection->send(bytes);
    count_sent(kind, bytes.size());
    return {};
  }

  void shutdown() {
    for (auto& entry : listeners) entry.listener->close();
    listeners.clear();
    // Detach first: closing must not call back into a table being torn down.
    auto table = std::move(connections);
    connections.clear();
    by_peer.clear();
    for (auto& [id, entry] : table) entry.connection->detach();
    stats.connections_closed += table.size();
    stats.connections_open = 0;
  }

  boost::asio::io_context& io;
  Settings config;
  MessageHandler handler;
  Counters stats;
  std::vector<ListenerEntry> listeners;  // index + 1 is the ListenerId
  SteeringProgram steering;
  std::unordered_map<ConnectionId, ConnectionEntry> connections;
  std::unordered_map<PeerKey, ConnectionId, PeerKeyHash> by_peer;
  ConnectionId next_connection = 1;
  std::shared_ptr<detail::TlsContexts> server_tls;
  std::shared_ptr<detail::TlsContexts> client_tls;
};

Transport::Transport(boost::asio::io_context& io, Settings settings, MessageHandler handler)
    : impl_(std::make_unique<Impl>(io, std::move(settings), std::move(handler))) {}

Transport::~Transport() { impl_->shutdown(); }

Result<ListenerId> Transport::listen(TransportKind kind, std::string_view address, std::uint16_t port) {
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return fail("listen address \"" + std::string(address) + "\" is not an IP address");
  const auto id = static_cast<ListenerId>(impl_->listeners.size() + 1);
  switch (kind) {
    case TransportKind::Udp: {
      auto udp = detail::open_udp(impl_->io, *impl_, id, {ip, port});
      if (!udp) return Unexpected<Error>{udp.error()};
      impl_->listeners.push_back({kind, *udp, *udp});
      return id;
    }
    case TransportKind::Tcp:
    case TransportKind::Tls: {
      std::shared_ptr<detail::TlsContexts> tls;
      if (kind == TransportKind::Tls) {
        if (!impl_->server_tls) {
          auto made = detail::make_tls_contexts(impl_->config, true);
          if (!made) return Unexpected<Error>{made.error()};
          impl_->server_tls = *made;
        }
        tls = impl_->server_tls;
      }
      auto listener = detail::open_stream_listener(impl_->io, *impl_, id, {ip, port}, std::move(tls), impl_->adopter());
      if (!listener) return Unexpected<Error>{listener.error()};
      impl_->listeners.push_back({kind, *listener, nullptr});
      return id;
    }
    case TransportKind::Ws: {
      auto listener = detail::open_ws_listener(impl_->io, *impl_, id, {ip, port}, impl_->adopter());
      if (!listener) return Unexpected<Error>{listener.error()};
      impl_->listeners.push_back({kind, *listener, nullptr});
      return id;
    }
    case TransportKind::Wss:
    case TransportKind::Sctp:
      break;
  }
  return fail("this transport kind is not supported yet");
}

Result<Endpoint> Transport::local_endpoint(ListenerId id) const {
  if (id == 0 || id > impl_->listeners.size()) return fail("no listener " + std::to_string(id));
  return impl_->listeners[id - 1].listener->local();
}

Status Transport::steer_by_call_id(ListenerId id, unsigned workers) {
  if (id == 0 || id > impl_->listeners.size() || !impl_->listeners[id - 1].udp)
    return fail("no UDP listener " + std::to_string(id));
  if (!impl_->config.reuse_port) return fail("the listener is not bound with SO_REUSEPORT");
  // Loaded once for all listeners: the kernel's verifier takes a noticeable fraction of a second.
  if (impl_->steering.fd < 0 || impl_->steering.workers != workers) {
    auto loaded = detail::load_call_id_steering(workers);
    if (!loaded) return Unexpected<Error>{loaded.error()};
    impl_->steering.reset(*loaded, workers);
  }
  return detail::attach_call_id_steering(impl_->listeners[id - 1].udp->native_handle(), impl_->steering.fd);
}

Status Transport::send(const Destination& to, std::string_view bytes) {
  boost::system::error_code ec;
  // make_address tries IPv6 first; most destinations are IPv4 literals.
  const auto ip = to.address.find(':') == std::string::npos
                      ? boost::asio::ip::address(boost::asio::ip::make_address_v4(to.address, ec))
                      : boost::asio::ip::make_address(to.address, ec);
  if (ec) {
    ++impl_->stats.send_failures;
    return fail("destination \"" + to.address + "\" is not an IP address");
  }
  const Endpoint peer{ip, to.port};
  if (to.transport == TransportKind::Udp) {
    auto* udp = impl_->udp_for(ip);
    if (!udp) {
      ++impl_->stats.send_failures;
      return fail(std::string("no UDP listener for ") + (ip.is_v6() ? "IPv6" : "IPv4"));
    }
    if (auto queued = udp->send_to(peer, bytes); !queued) {
      ++impl_->stats.send_failures;
      return queued;
    }
    impl_->count_sent(TransportKind::Udp, bytes.size());
    return {};
  }
  return impl_->send_stream(to.transport, peer, bytes);
}

Status Transport::reply(const Source& source, std::string_view bytes) {
  if (source.kind == TransportKind::Udp) {
    if (source.listener == 0 || source.listener > impl_->listeners.size() ||
        !impl_->listeners[source.listener - 1].udp) {
      ++impl_->stats.send_failures;
      return fail("no UDP listener " + std::to_string(source.listener));
    }
    if (auto queued = impl_->listeners[source.listener - 1].udp->send_to(source.remote, bytes); !queued) {
      ++impl_->stats.send_failures;
      return queued;
    }
    impl_->count_sent(TransportKind::Udp, bytes.size());
    return {};
  }
  if (auto it = impl_->connections.find(source.connection); it != impl_->connections.end()) {
    it->second.connection->send(bytes);
    impl_->count_sent(source.kind, bytes.size());
    return {};
  }
  // RFC 3261 18.2.2: the connection is gone; a new one to the same address:port (streams).
  return impl_->send_stream(source.kind, source.remote, bytes);
}

void Transport::close_connection(ConnectionId id) {
  if (auto it = impl_->connections.find(id); it != impl_->connections.end()) {
    auto connection = it->second.connection;
    connection->close();
  }
}

void Transport::stop() { impl_->shutdown(); }

const Counters& Transport::counters() const { return impl_->stats; }
std::size_t Transport::connection_count() const { return impl_->connections.size(); }

}  // namespace sipbox::transport
