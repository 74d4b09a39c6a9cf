#include "media/rtp_packet.h"

namespace sipbox::media {
namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

constexpr std::uint8_t kSenderReport = 200;
constexpr std::uint8_t kReceiverReport = 201;

// 24-bit two's complement cumulative loss (RFC 3550 6.4.1).
std::int32_t sign_extend24(std::uint32_t v) {
  return (v & 0x800000u) ? static_cast<std::int32_t>(v | 0xff000000u) : static_cast<std::int32_t>(v);
}

void read_blocks(const std::uint8_t* p, std::size_t count, RtcpReport& out) {
  for (std::size_t i = 0; i < count; ++i, p += 24) {
    if (out.block_count == RtcpReport::kMaxReportBlocks) {
      ++out.reports_dropped;
      continue;
    }
    ReportBlock& b = out.blocks[out.block_count++];
    b.ssrc = be32(p);
    b.fraction_lost = p[4];
    b.cumulative_lost = sign_extend24(be32(p + 4) & 0xffffffu);
    b.extended_highest_sequence = be32(p + 8);
    b.jitter = be32(p + 12);
    b.lsr = be32(p + 16);
    b.dlsr = be32(p + 20);
  }
}

}  // namespace

std::string_view describe(PacketError error) {
  switch (error) {
    case PacketError::None: return "ok";
    case PacketError::TooShort: return "packet shorter than its fixed header";
    case PacketError::BadVersion: return "version is not 2";
    case PacketError::CsrcTruncated: return "CSRC list longer than the packet";
    case PacketError::ExtensionTruncated: return "header extension longer than the packet";
    case PacketError::BadPadding: return "padding count is 0 or larger than the payload";
    case PacketError::RtcpPacketType: return "payload type in the RTCP range (RFC 5761)";
    case PacketError::NotRtcp: return "RTCP packet type outside 192..223";
    case PacketError::RtcpLengthOverrun: return "RTCP length field beyond the datagram";
    case PacketError::RtcpPaddingNotLast: return "RTCP padding on a packet that is not last";
    case PacketError::ReportsTruncated: return "report count larger than the RTCP packet";
  }
  return "unknown error";
}

bool looks_like_rtcp(std::span<const std::uint8_t> d) { return d.size() >= 2 && d[1] >= 192 && d[1] <= 223; }

PacketError parse_rtp(std::span<const std::uint8_t> packet, RtpHeader& out) {
  const std::size_t size = packet.size();
  if (size < 12) return PacketError::TooShort;
  const std::uint8_t* p = packet.data();
  if ((p[0] >> 6) != 2) return PacketError::BadVersion;
  if (looks_like_rtcp(packet)) return PacketError::RtcpPacketType;
  out.padding = (p[0] & 0x20) != 0;
  out.extension = (p[0] & 0x10) != 0;
  out.csrc_count = p[0] & 0x0f;
  out.marker = (p[1] & 0x80) != 0;
  out.payload_type = p[1] & 0x7f;
  out.sequence = be16(p + 2);
  out.timestamp = be32(p + 4);
  out.ssrc = be32(p + 8);
  std::size_t offset = 12;
  if (size < offset + 4u * out.csrc_count) return PacketError::CsrcTruncated;
  for (std::size_t i = 0; i < out.csrc_count; ++i, offset += 4) out.csrc[i] = be32(p + offset);
  out.extension_profile = 0;
  out.extension_data = {};
  if (out.extension) {
    // RFC 3550 5.3.1: 16-bit profile field, 16-bit length in 32-bit words.
    if (size < offset + 4) return PacketError::ExtensionTruncated;
    out.extension_profile = be16(p + offset);
    const std::size_t words = be16(p + offset + 2);
    offset += 4;
    if (size - offset < 4 * words) return PacketError::ExtensionTruncated;
    out.extension_data = packet.subspan(offset, 4 * words);
    offset += 4 * words;
  }
  std::size_t end = size;
  out.padding_size = 0;
  if (out.padding) {
    // 5.1: the last octet counts the padding octets, itself included.
    const std::uint8_t count = p[size - 1];
    if (count == 0 || count > size - offset) return PacketError::BadPadding;
    out.padding_size = count;
    end -= count;
  }
  out.payload = packet.subspan(offset, end - offset);
  return PacketError::None;
}

PacketError parse_rtcp(std::span<const std::uint8_t> datagram, RtcpReport& out) {
  out = RtcpReport{};
  std::size_t offset = 0;
  const std::uint8_t* base = datagram.data();
  if (datagram.size() < 4) return PacketError::TooShort;
  while (offset < datagram.size()) {
    const std::size_t left = datagram.size() - offset;
    if (left < 4) return PacketError::TooShort;
    const std::uint8_t* p = base + offset;
    if ((p[0] >> 6) != 2) return PacketError::BadVersion;
    const std::uint8_t type = p[1];
    if (type < 192 || type > 223) return PacketError::NotRtcp;
    const std::size_t length = 4 * (static_cast<std::size_t>(be16(p + 2)) + 1);
    if (length > left) return PacketError::RtcpLengthOverrun;
    const bool padded = (p[0] & 0x20) != 0;
    // 6.4.1: only the last packet of a compound may be padded.
    if (padded && length != left) return PacketError::RtcpPaddingNotLast;
    std::size_t body = length;
    if (padded) {
      const std::uint8_t count = p[length - 1];
      if (count == 0 || count > length - 4) return PacketError::BadPadding;
      body -= count;
    }
    const std::size_t reports = p[0] & 0x1f;
    if (type == kSenderReport || type == kReceiverReport) {
      const std::size_t fixed = type == kSenderReport ? 28 : 8;  // header + SSRC (+ sender info)
      if (body < fixed) return PacketError::TooShort;
      if (body < fixed + 24 * reports) return PacketError::ReportsTruncated;
      if (out.packet_count == 0 || (!out.has_sender_info && type == kSenderReport)) out.sender_ssrc = be32(p + 4);
      if (type == kSenderReport && !out.has_sender_info) {
        out.has_sender_info = true;
        out.ntp_timestamp = static_cast<std::uint64_t>(be32(p + 8)) << 32 | be32(p + 12);
        out.rtp_timestamp = be32(p + 16);
        out.sender_packet_count = be32(p + 20);
        out.sender_octet_count = be32(p + 24);
      }
      read_blocks(p + fixed, reports, out);
    }
    ++out.packet_count;
    offset += length;
  }
  return PacketError::None;
}

std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns) {
  // 70 years (17 leap days) between the NTP era (1900) and the Unix epoch (1970).
  constexpr std::uint64_t kNtpUnixOffset = 2208988800ull;
  const std::int64_t t = unix_ns < 0 ? 0 : unix_ns;
  const std::int64_t seconds = t / 1'000'000'000;
  const std::uint64_t fraction = (static_cast<std::uint64_t>(t % 1'000'000'000) << 32) / 1'000'000'000;
  return (static_cast<std::uint64_t>(seconds) + kNtpUnixOffset) << 32 | fraction;
}

std::optional<double> round_trip_ms(std::uint32_t arrival, std::uint32_t lsr, std::uint32_t dlsr) {
  if (lsr == 0) return std::nullopt;
  const std::uint32_t since_sr = arrival - lsr;  // modulo 2^32: the middle-32 clock wraps every 18 h
  if (since_sr < dlsr) return std::nullopt;
  return static_cast<double>(since_sr - dlsr) * 1000.0 / 65536.0;
}

}  // namespace sipbox::media
