// Internal to the transport module: what listeners and connections (udp.cpp,
// stream.cpp with OpenSSL, ws.cpp with Beast) need from Transport::Impl, and the
// factories transport.cpp calls. Keeping Beast and asio::ssl behind these factories keeps
// each of those template-heavy headers inside one translation unit.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "transport/transport.h"

namespace sipbox::transport::detail {

namespace asio = boost::asio;

// Implemented by Transport::Impl. Calls come from the io_context thread only.
class Hub {
 public:
  virtual ~Hub() = default;
  virtual void deliver(std::string_view bytes, const Source& source) = 0;
  virtual void connection_closed(ConnectionId id) = 0;  // once per connection
  virtual Counters& counters() = 0;
  virtual const Settings& settings() const = 0;
};

// A stream connection (TCP, TLS, WebSocket). Owned by Transport::Impl's table;
// asynchronous handlers keep it alive with shared_from_this().
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;
  // Queues one message; a write error closes the connection.
  virtual void send(std::string_view bytes) = 0;
  // Closes the socket and reports connection_closed() once. Idempotent.
  virtual void close() = 0;
  // The Transport is going away: close without calling back.
  virtual void detach() = 0;
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual Endpoint local() const = 0;
  virtual void close() = 0;  // stops receiving/accepting; no callbacks after it
};

class UdpListener : public Listener {
 public:
  // Queues a datagram for the next sendmmsg flush.
  virtual Status send_to(const Endpoint& to, std::string_view bytes) = 0;
  virtual int native_handle() = 0;
};

// The Call-ID steering program (call_id_steering.cpp), loaded: a file descriptor the
// caller closes. Attached to the SO_REUSEPORT group of a socket, it sends each datagram
// to socket call_id_worker(its Call-ID, workers) of the group, in the order of binding.
Result<int> load_call_id_steering(unsigned workers);
Status attach_call_id_steering(int socket_fd, int program_fd);

// Registers an accepted or outgoing connection with the hub; returns its id.
using Adopt = std::function<ConnectionId(std::shared_ptr<Connection>, const Endpoint& remote, TransportKind kind)>;

Result<std::shared_ptr<UdpListener>> open_udp(asio::io_context& io, Hub& hub, ListenerId id,
                                              const asio::ip::udp::endpoint& at);

// A listening TCP socket (for TCP, TLS and WebSocket) that hands each accepted socket
// to `on_accept` until close(), backing off 100 ms when accepting fails.
using OnAccept = std::function<void(asio::ip::tcp::socket)>;
Result<std::shared_ptr<Listener>> open_acceptor(asio::io_context& io, Hub& hub, const asio::ip::tcp::endpoint& at,
                                                std::string_view label, OnAccept on_accept);

// TLS server and client contexts (asio::ssl, stream.cpp only).
struct TlsContexts;
Result<std::shared_ptr<TlsContexts>> make_tls_contexts(const Settings& settings, bool server);

// Tcp or Tls (tls != nullptr) acceptor.
Result<std::shared_ptr<Listener>> open_stream_listener(asio::io_context& io, Hub& hub, ListenerId id,
                                                       const asio::ip::tcp::endpoint& at,
                                                       std::shared_ptr<TlsContexts> tls, Adopt adopt);
// An outgoing Tcp/Tls connection; send() queues until connected (and handshaken).
std::shared_ptr<Connection> connect_stream(asio::io_context& io, Hub& hub, const Endpoint& to,
                                           std::shared_ptr<TlsContexts> tls, Adopt adopt);

Result<std::shared_ptr<Listener>> open_ws_listener(asio::io_context& io, Hub& hub, ListenerId id,
                                                   const asio::ip::tcp::endpoint& at, Adopt adopt);

// RFC 3261 7.5 allows CRLFs around messages; a datagram of only those carries nothing.
inline bool only_crlf(std::string_view bytes) { return bytes.find_first_not_of("\r\n") == std::string_view::npos; }

}  // namespace sipbox::transport::detail
