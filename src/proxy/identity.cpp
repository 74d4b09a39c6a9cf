// LocalIdentity and URI -> Destination (RFC 3263 restricted to IP literals).
#include <algorithm>
#include <charconv>

#include "proxy/proxy.h"

namespace sipbox::proxy {
namespace {

std::string normalized_address(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return sip::ascii_lower(host);
}

}  // namespace

void LocalIdentity::add_interface(Interface interface) {
  add_address(interface.host);
  interfaces_.push_back(std::move(interface));
}

void LocalIdentity::add_address(std::string address) {
  std::string normal = normalized_address(address);
  if (std::find(addresses_.begin(), addresses_.end(), normal) == addresses_.end()) addresses_.push_back(normal);
}

bool LocalIdentity::is_self(std::string_view host, std::uint16_t port) const {
  const std::string normal = normalized_address(host);
  if (std::find(addresses_.begin(), addresses_.end(), normal) == addresses_.end()) return false;
  if (port == 0) port = 5060;
  return std::any_of(interfaces_.begin(), interfaces_.end(), [&](const Interface& i) { return i.port == port; });
}

bool LocalIdentity::is_self(const sip::Uri& uri) const {
  if (!uri.is_sip()) return false;
  std::uint16_t port = uri.port;
  if (port == 0) {
    const auto kind = transport_from_name(uri.param("transport"));
    port = (uri.kind == sip::UriScheme::Sips || kind == TransportKind::Tls) ? 5061 : 5060;
  }
  return is_self(uri.host, port);
}

const Interface* LocalIdentity::interface_for(TransportKind kind, bool ipv6) const {
  for (const Interface& i : interfaces_)
    if (i.kind == kind && (i.host.starts_with('[') == ipv6)) return &i;
  return nullptr;
}

std::optional<TransportKind> transport_from_name(std::string_view name) {
  const std::string lower = sip::ascii_lower(name);
  if (lower == "udp") return TransportKind::Udp;
  if (lower == "tcp") return TransportKind::Tcp;
  if (lower == "tls") return TransportKind::Tls;
  if (lower == "ws") return TransportKind::Ws;
  if (lower == "wss") return TransportKind::Wss;
  if (lower == "sctp") return TransportKind::Sctp;
  return std::nullopt;
}

std::string_view transport_name(TransportKind kind) {
  static constexpr std::string_view kNames[] = {"UDP", "TCP", "TLS", "WS", "WSS", "SCTP"};
  return kNames[static_cast<std::size_t>(kind)];
}

std::optional<Destination> destination_for(const sip::Uri& uri) {
  if (!uri.is_sip()) return std::nullopt;
  std::string_view host = uri.param("maddr");
  if (host.empty()) host = uri.host;
  const sip::HostKind kind = sip::classify_host(host);
  if (kind != sip::HostKind::IPv4 && kind != sip::HostKind::IPv6) return std::nullopt;
  Destination out;
  out.address = normalized_address(host);
  const auto transport = uri.param("transport");
  if (!transport.empty()) {
    const auto parsed = transport_from_name(transport);
    if (!parsed) return std::nullopt;
    out.transport = *parsed;
    // RFC 3261 26.2.2: sips with transport=tcp is TLS over TCP (with ws: WSS, RFC 7118).
    if (uri.kind == sip::UriScheme::Sips && out.transport == TransportKind::Tcp) out.transport = TransportKind::Tls;
    if (uri.kind == sip::UriScheme::Sips && out.transport == TransportKind::Ws) out.transport = TransportKind::Wss;
  } else {
    out.transport = uri.kind == sip::UriScheme::Sips ? TransportKind::Tls : TransportKind::Udp;
  }
  out.port = uri.port != 0 ? uri.port : (out.transport == TransportKind::Tls ? 5061 : 5060);
  return out;
}

}  // namespace sipbox::proxy
