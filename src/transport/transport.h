// Public interface of the transport module: SIP over UDP, TCP, TLS and WebSocket
// (RFC 3261 18, RFC 7118) on Boost.Asio, IPv4 and IPv6.
//
// One Transport per SIP worker: it runs on that worker's io_context and is NOT
// thread-safe (DESIGN.md 1: no global lock on the hot path). Several workers may bind the
// same UDP/TCP port with Settings::reuse_port; the kernel spreads the load.
//
// Inbound, the transport hands over raw bytes of exactly one SIP message (stream framing
// and keep-alives are handled here) with a Source; parsing, Via received/rport
// (RFC 3581) and the security gate are the core's business. Outbound, Transport
// implements txn::Sender: a Destination names a peer by address, port and kind; stream
// transports reuse the connection to that peer (which is the one a request came on, so
// responses go back on it) and open one when none exists.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sip/message.h"
#include "txn/txn.h"

namespace boost::asio {
class io_context;
}

namespace sipbox::transport {

using txn::Destination;
using txn::TransportKind;
using ListenerId = std::uint32_t;
using ConnectionId = std::uint64_t;  // 0: none (UDP)

struct Endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// The text of an address as address.to_string() writes it. IPv4 is written here without
// the sprintf of inet_ntop: the core writes the source of every request into its Via
// (RFC 3581) and its reply destination.
std::string address_text(const boost::asio::ip::address& address);

// Where a message came from: enough for RFC 3581 (remote address/port) and for sending
// the response back the same way (RFC 3261 18.2.2).
struct Source {
  TransportKind kind = TransportKind::Udp;
  Endpoint remote;
  ListenerId listener = 0;      // the listener that received it (or accepted its connection); 0 for outgoing
  ConnectionId connection = 0;  // stream transports
  // The Destination that reaches this peer again (over this connection for streams).
  Destination reply_destination() const;
};

// How the core parses what a transport delivered: RFC 3261 18.3 requires Content-Length
// on streams only; a WebSocket message is one SIP message, so RFC 7118 5.1 makes
// Content-Length optional there, as on UDP.
constexpr sip::Framing framing_for(TransportKind kind) {
  return kind == TransportKind::Tcp || kind == TransportKind::Tls ? sip::Framing::Stream : sip::Framing::Datagram;
}

// `bytes` is valid only during the call (it points into a reused receive buffer).
using MessageHandler = std::function<void(std::string_view bytes, const Source& source)>;

struct Settings {
  std::size_t max_message_size = 65535;              // larger messages: dropped (UDP) or connection closed
  std::chrono::milliseconds idle_timeout{300000};    // stream connections without traffic are closed
  std::chrono::milliseconds connect_timeout{10000};  // outgoing TCP connect + TLS handshake, WS upgrade
  std::size_t udp_batch = 32;                        // datagrams per recvmmsg/sendmmsg call
  bool reuse_port = false;                           // SO_REUSEPORT: one listener per worker on one port
  // SO_RCVBUF of UDP sockets: a burst (a thousand BYEs at once, a flood) waits here
  // instead of being dropped by the kernel. Capped by net.core.rmem_max; 0: the default.
  std::size_t udp_receive_buffer = 4 << 20;
  // TLS: the server certificate chain and key (PEM); see ensure_self_signed().
  std::string tls_cert_file;
  std::string tls_key_file;
  // Outgoing TLS: verify the peer against these CAs (PEM); empty: no verification
  // (many SIP trunks use self-signed certificates; the operator decides).
  std::string tls_ca_file;
};

struct KindCounters {
  std::uint64_t messages_received = 0;  // SIP messages delivered to the handler
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
};

// For /metrics; asserted by the tests.
struct Counters {
  std::array<KindCounters, 6> by_kind{};  // indexed by TransportKind
  std::uint64_t dropped_oversize = 0;     // datagram or stream message over max_message_size
  std::uint64_t dropped_malformed = 0;    // stream framing errors, bad WebSocket frames
  std::uint64_t send_failures = 0;        // no route, socket errors, full queues
  std::uint64_t keepalive_pongs = 0;      // RFC 5626 3.5.1 CRLF answers to CRLFCRLF
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_opened = 0;  // outgoing
  std::uint64_t connections_closed = 0;
  std::uint64_t connections_idle_closed = 0;  // part of connections_closed
  std::uint64_t connections_open = 0;         // gauge
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t ws_upgrades_refused = 0;  // no "sip" subprotocol, not an upgrade
  Counters& operator+=(const Counters& o) {
    for (std::size_t k = 0; k < by_kind.size(); ++k) {
      by_kind[k].messages_received += o.by_kind[k].messages_received;
      by_kind[k].messages_sent += o.by_kind[k].messages_sent;
      by_kind[k].bytes_received += o.by_kind[k].bytes_received;
      by_kind[k].bytes_sent += o.by_kind[k].bytes_sent;
    }
    dropped_oversize += o.dropped_oversize;
    dropped_malformed += o.dropped_malformed;
    send_failures += o.send_failures;
    keepalive_pongs += o.keepalive_pongs;
    connections_accepted += o.connections_accepted;
    connections_opened += o.connections_opened;
    connections_closed += o.connections_closed;
    connections_idle_closed += o.connections_idle_closed;
    connections_open += o.connections_open;
    tls_handshake_failures += o.tls_handshake_failures;
    ws_upgrades_refused += o.ws_upgrades_refused;
    return *this;
  }
  const KindCounters& of(TransportKind kind) const { return by_kind[static_cast<std::size_t>(kind)]; }
  KindCounters& of(TransportKind kind) { return by_kind[static_cast<std::size_t>(kind)]; }
};

// Creates a self-signed certificate (EC P-256, SHA-256, 10 years, CN and SAN = hostname)
// and its key when either file is absent; the key file gets mode 0600. Existing files are
// left alone. RFC 5922: SIP over TLS checks the SAN, so the hostname goes there too.
Status ensure_self_signed(const std::string& cert_path, const std::string& key_path, const std::string& hostname);

// The worker (0 .. workers-1) that owns a Call-ID: FNV-1a (32 bit) of its bytes, modulo
// `workers`. Transport::steer_by_call_id() makes the kernel compute the same.
unsigned call_id_worker(std::string_view call_id, unsigned workers);

class Transport final : public txn::Sender {
 public:
  Transport(boost::asio::io_context& io, Settings settings, MessageHandler handler);
  ~Transport() override;  // closes listeners and connections without calling the handler
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds a listener (port 0: the kernel picks; see local_endpoint()). Udp, Tcp, Tls, Ws.
  // Tls needs Settings::tls_cert_file/tls_key_file.
  Result<ListenerId> listen(TransportKind kind, std::string_view address, std::uint16_t port);
  Result<Endpoint> local_endpoint(ListenerId id) const;
  // Linux, a UDP listener bound with Settings::reuse_port by each of `workers` Transports
  // in worker order: the kernel then delivers every datagram to the socket of worker
  // call_id_worker(its Call-ID, workers), so a call's datagrams reach one worker whoever
  // sends them. Needs CAP_BPF (root); on failure the kernel keeps hashing by source.
  Status steer_by_call_id(ListenerId id, unsigned workers);

  // txn::Sender. Udp: from a listener of the destination's address family (batched with
  // sendmmsg, flushed before the loop next waits). Tcp/Tls: over the connection to that
  // address:port, opened when none exists (bytes queue until it is up). Ws: over an
  // existing connection only (browsers cannot be called back).
  Status send(const Destination& to, std::string_view bytes) override;
  // A response to `source` (RFC 3261 18.2.2): its connection, or its UDP listener.
  Status reply(const Source& source, std::string_view bytes);

  void close_connection(ConnectionId id);
  // Stops accepting and closes everything; pending handlers finish as cancelled.
  void stop();

  const Counters& counters() const;
  std::size_t connection_count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::transport
