// Link, network and transport layers of captured frames, down to UDP datagrams: what the
// passive monitor needs from a mirror port. Fragments are not reassembled (SIP over UDP
// rarely fragments and RTP never should): they are counted and skipped, as are TCP and
// everything that is not UDP. Decoding never allocates and never reads past the frame.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sipbox::capture {

// The link layers a mirror port or a capture file gives (pcap DLT_* values map onto these
// in monitor.cpp, so this header needs no libpcap).
enum class LinkType : std::uint8_t {
  ethernet,    // DLT_EN10MB, with any number of 802.1Q / 802.1ad tags
  linux_sll,   // DLT_LINUX_SLL ("cooked", Linux "any" device)
  linux_sll2,  // DLT_LINUX_SLL2
  raw,         // DLT_RAW, DLT_IPV4, DLT_IPV6: the IP header first
  null,        // DLT_NULL / DLT_LOOP: a 4-octet address family (BSD loopback)
};

// An IPv4 or IPv6 address as octets (IPv4 in the first four).
struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> octets{};

  bool operator==(const IpAddress&) const = default;
  std::string text() const;
  // "192.0.2.1", "2001:db8::1" (also "[2001:db8::1]"); nullopt for anything else.
  static std::optional<IpAddress> parse(std::string_view text);
};

// An address and a UDP port: the key media endpoints are tracked by.
struct UdpEndpoint {
  IpAddress address;
  std::uint16_t port = 0;
  bool operator==(const UdpEndpoint&) const = default;
};

struct UdpEndpointHash {
  std::size_t operator()(const UdpEndpoint& e) const noexcept;
};

// One UDP datagram of a frame: views into the frame.
struct UdpDatagram {
  UdpEndpoint source;
  UdpEndpoint destination;
  std::span<const std::uint8_t> payload;
};

enum class Decoded : std::uint8_t {
  udp,          // `out` holds the datagram
  not_udp,      // TCP, ICMP, ARP, ...: skipped
  fragment,     // an IPv4 or IPv6 fragment: skipped (no reassembly)
  truncated,    // the frame ends before a header or the UDP length says it does
  unsupported,  // an unknown link-layer protocol, IP version or address family
};

struct DecoderCounters {
  std::uint64_t frames = 0;
  std::uint64_t udp = 0;
  std::uint64_t not_udp = 0;
  std::uint64_t fragments = 0;
  std::uint64_t truncated = 0;
  std::uint64_t unsupported = 0;
};

class PacketDecoder {
 public:
  explicit PacketDecoder(LinkType link) : link_(link) {}

  // Decodes one captured frame (the captured octets; a frame cut by the snapshot length
  // counts as truncated when the UDP datagram does not fit).
  Decoded decode(std::span<const std::uint8_t> frame, UdpDatagram& out);
  const DecoderCounters& counters() const { return counters_; }

 private:
  Decoded decode_frame(std::span<const std::uint8_t> frame, UdpDatagram& out) const;

  LinkType link_;
  DecoderCounters counters_;
};

}  // namespace sipbox::capture
