#include "capture/decoder.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipbox::capture {
namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;   // 802.1Q
constexpr std::uint16_t kEtherQinQ = 0x88a8;   // 802.1ad
constexpr std::uint16_t kEtherQinQ1 = 0x9100;  // pre-standard double tagging
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::size_t kMaxVlanTags = 8;

std::uint16_t be16(Bytes b, std::size_t at) { return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]); }

// The network layer by its IP version nibble (raw links, and a fallback for null links).
std::optional<std::uint16_t> ether_type_of_version(Bytes ip) {
  if (ip.empty()) return std::nullopt;
  switch (ip[0] >> 4) {
    case 4:
      return kEtherIpv4;
    case 6:
      return kEtherIpv6;
    default:
      return std::nullopt;
  }
}

Decoded udp(Bytes segment, bool v6, const std::uint8_t* src, const std::uint8_t* dst, UdpDatagram& out) {
  if (segment.size() < 8) return Decoded::truncated;
  const std::uint16_t length = be16(segment, 4);
  if (length < 8) return Decoded::unsupported;  // RFC 768: includes the header (jumbograms use 0)
  if (length > segment.size()) return Decoded::truncated;
  const std::size_t address_size = v6 ? 16 : 4;
  out.source = {};
  out.destination = {};
  out.source.address.v6 = out.destination.address.v6 = v6;
  std::memcpy(out.source.address.octets.data(), src, address_size);
  std::memcpy(out.destination.address.octets.data(), dst, address_size);
  out.source.port = be16(segment, 0);
  out.destination.port = be16(segment, 2);
  out.payload = segment.subspan(8, length - 8u);
  return Decoded::udp;
}

Decoded ipv4(Bytes packet, UdpDatagram& out) {
  if (packet.size() < 20) return Decoded::truncated;
  if (packet[0] >> 4 != 4) return Decoded::unsupported;
  const std::size_t header = (packet[0] & 0x0f) * 4u;
  const std::size_t total = be16(packet, 2);
  if (header < 20 || total < header) return Decoded::unsupported;
  if (total > packet.size()) return Decoded::truncated;
  packet = packet.first(total);  // drop Ethernet padding
  // More-fragments flag or a fragment offset: a piece of a larger datagram.
  if ((be16(packet, 6) & 0x3fff) != 0) return Decoded::fragment;
  if (packet[9] != kProtoUdp) return Decoded::not_udp;
  return udp(packet.subspan(header), false, packet.data() + 12, packet.data() + 16, out);
}

Decoded ipv6(Bytes packet, UdpDatagram& out) {
  if (packet.size() < 40) return Decoded::truncated;
  if (packet[0] >> 4 != 6) return Decoded::unsupported;
  const std::size_t payload_length = be16(packet, 4);
  if (payload_length == 0) return Decoded::unsupported;  // a jumbogram (RFC 2675)
  if (40 + payload_length > packet.size()) return Decoded::truncated;
  Bytes rest = packet.subspan(40, payload_length);
  std::uint8_t next = packet[6];
  // RFC 8200 4: extension headers until the upper layer, a bounded number of them.
  for (int headers = 0; headers < 16; ++headers) {
    switch (next) {
      case kProtoUdp:
        return udp(rest, true, packet.data() + 8, packet.data() + 24, out);
      case 0:      // hop-by-hop options
      case 43:     // routing
      case 60:     // destination options
      case 135:    // mobility
      case 139:    // HIP
      case 140: {  // shim6
        if (rest.size() < 8) return Decoded::truncated;
        const std::size_t size = (rest[1] + 1u) * 8;
        if (size > rest.size()) return Decoded::truncated;
        next = rest[0];
        rest = rest.subspan(size);
        break;
      }
      case 51: {  // authentication header (RFC 4302 2.2: length in 4-octet units minus 2)
        if (rest.size() < 8) return Decoded::truncated;
        const std::size_t size = (rest[1] + 2u) * 4;
        if (size > rest.size()) return Decoded::truncated;
        next = rest[0];
        rest = rest.subspan(size);
        break;
      }
      case 44: {  // fragment: an atomic fragment (offset 0, no more) is a whole datagram
        if (rest.size() < 8) return Decoded::truncated;
        if ((be16(rest, 2) & 0xfff9) != 0) return Decoded::fragment;
        next = rest[0];
        rest = rest.subspan(8);
        break;
      }
      default:
        return Decoded::not_udp;  // TCP, ICMPv6, ESP, no next header (59), ...
    }
  }
  return Decoded::unsupported;
}

Decoded network(std::uint16_t ether_type, Bytes packet, UdpDatagram& out) {
  switch (ether_type) {
    case kEtherIpv4:
      return ipv4(packet, out);
    case kEtherIpv6:
      return ipv6(packet, out);
    default:
      return Decoded::not_udp;  // ARP, LLDP, ...
  }
}

Decoded ethernet(Bytes frame, UdpDatagram& out) {
  if (frame.size() < 14) return Decoded::truncated;
  std::size_t at = 12;
  std::uint16_t type = be16(frame, at);
  for (std::size_t tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQ1; ++tags) {
    if (tags == kMaxVlanTags) return Decoded::unsupported;
    at += 4;
    if (frame.size() < at + 2) return Decoded::truncated;
    type = be16(frame, at);
  }
  if (type < 0x0600) return Decoded::not_udp;  // an 802.3 length: LLC frames
  return network(type, frame.subspan(at + 2), out);
}

Decoded null_link(Bytes frame, UdpDatagram& out) {
  if (frame.size() < 4) return Decoded::truncated;
  // The family is in the capturing host's byte order (DLT_NULL) or network order
  // (DLT_LOOP); AF_INET is 2 everywhere, AF_INET6 is 10, 24, 28 or 30 by system.
  std::uint32_t little = 0, big = 0;
  for (int i = 3; i >= 0; --i) little = little << 8 | frame[i];
  for (int i = 0; i < 4; ++i) big = big << 8 | frame[i];
  const Bytes ip = frame.subspan(4);
  for (std::uint32_t family : {little, big}) {
    if (family == 2) return ipv4(ip, out);
    if (family == 10 || family == 24 || family == 28 || family == 30) return ipv6(ip, out);
  }
  return Decoded::unsupported;
}

}  // namespace

std::string IpAddress::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, octets.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  IpAddress address;
  if (inet_pton(AF_INET, buf, address.octets.data()) == 1) return address;
  address.v6 = true;
  if (inet_pton(AF_INET6, buf, address.octets.data()) == 1) return address;
  return std::nullopt;
}

std::size_t UdpEndpointHash::operator()(const UdpEndpoint& e) const noexcept {
  // FNV-1a over the octets that matter.
  std::uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](std::uint8_t octet) { h = (h ^ octet) * 1099511628211ULL; };
  const std::size_t size = e.address.v6 ? 16 : 4;
  for (std::size_t i = 0; i < size; ++i) mix(e.address.octets[i]);
  mix(static_cast<std::uint8_t>(e.port >> 8));
  mix(static_cast<std::uint8_t>(e.port));
  mix(e.address.v6 ? 1 : 0);
  return static_cast<std::size_t>(h);
}

Decoded PacketDecoder::decode_frame(Bytes frame, UdpDatagram& out) const {
  switch (link_) {
    case LinkType::ethernet:
      return ethernet(frame, out);
    case LinkType::linux_sll:  // 16 octets, the protocol (an EtherType) last
      if (frame.size() < 16) return Decoded::truncated;
      return network(be16(frame, 14), frame.subspan(16), out);
    case LinkType::linux_sll2:  // 20 octets, the protocol first
      if (frame.size() < 20) return Decoded::truncated;
      return network(be16(frame, 0), frame.subspan(20), out);
    case LinkType::raw: {
      const auto type = ether_type_of_version(frame);
      if (!type) return frame.empty() ? Decoded::truncated : Decoded::unsupported;
      return network(*type, frame, out);
    }
    case LinkType::null:
      return null_link(frame, out);
  }
  return Decoded::unsupported;
}

Decoded PacketDecoder::decode(Bytes frame, UdpDatagram& out) {
  ++counters_.frames;
  const Decoded result = decode_frame(frame, out);
  switch (result) {
    case Decoded::udp:
      ++counters_.udp;
      break;
    case Decoded::not_udp:
      ++counters_.not_udp;
      break;
    case Decoded::fragment:
      ++counters_.fragments;
      break;
    case Decoded::truncated:
      ++counters_.truncated;
      break;
    case Decoded::unsupported:
      ++counters_.unsupported;
      break;
  }
  return result;
}

}  // namespace sipbox::capture
