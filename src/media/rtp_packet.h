// RTP and RTCP wire formats (RFC 3550 5.1 and 6.4): header parsing for the relay and the
// statistics, and the RTCP sender/receiver reports that give the round-trip time.
// Parsing never allocates: results are plain structs with fixed capacity, and errors
// are an enum with a fixed text, so a flood of garbage costs no heap traffic.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace sipbox::media {

enum class PacketError : std::uint8_t {
  None,
  TooShort,            // fewer than 12 octets (RTP) / 4 (RTCP header) / 8 (SR, RR)
  BadVersion,          // version field not 2
  CsrcTruncated,       // CSRC count larger than the packet
  ExtensionTruncated,  // header extension runs past the end
  BadPadding,          // padding count 0 or larger than the payload
  RtcpPacketType,      // an RTP header whose type field says RTCP (RFC 5761 4)
  NotRtcp,             // an RTCP header with a packet type outside 192..223
  RtcpLengthOverrun,   // RTCP length field runs past the datagram
  RtcpPaddingNotLast,  // padding bit on a packet that is not last in the compound
  ReportsTruncated,    // report count larger than the packet length allows
};

// The reason in words (static text), e.g. for a debug log or a counter label.
std::string_view describe(PacketError error);

// RFC 3550 5.1 fixed header, CSRC list and header extension (views into the packet).
struct RtpHeader {
  bool padding = false;
  bool extension = false;
  bool marker = false;
  std::uint8_t csrc_count = 0;
  std::uint8_t payload_type = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::array<std::uint32_t, 15> csrc{};
  std::uint16_t extension_profile = 0;           // "defined by profile" field
  std::span<const std::uint8_t> extension_data;  // extension words after its header
  std::span<const std::uint8_t> payload;         // without padding
  std::uint8_t padding_size = 0;
};

PacketError parse_rtp(std::span<const std::uint8_t> packet, RtpHeader& out);

// RFC 3550 6.4.1 report block.
struct ReportBlock {
  std::uint32_t ssrc = 0;
  std::uint8_t fraction_lost = 0;  // 8-bit fixed point
  std::int32_t cumulative_lost = 0;  // 24-bit signed
  std::uint32_t extended_highest_sequence = 0;
  std::uint32_t jitter = 0;  // timestamp units
  std::uint32_t lsr = 0;     // middle 32 bits of the last SR's NTP timestamp
  std::uint32_t dlsr = 0;    // 1/65536 s since that SR
};

// What a compound RTCP packet says that the statistics use: the first SR's sender info
// and the report blocks of every SR and RR (up to kMaxReportBlocks; the rest are
// counted in `reports_dropped`). SDES, BYE, APP, feedback and XR are skipped.
struct RtcpReport {
  static constexpr std::size_t kMaxReportBlocks = 31;  // one RC field's worth
  bool has_sender_info = false;
  std::uint32_t sender_ssrc = 0;  // of the first SR or RR
  std::uint64_t ntp_timestamp = 0;
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t sender_packet_count = 0;
  std::uint32_t sender_octet_count = 0;
  std::array<ReportBlock, kMaxReportBlocks> blocks{};
  std::size_t block_count = 0;
  std::size_t reports_dropped = 0;
  std::size_t packet_count = 0;  // RTCP packets in the compound
};

PacketError parse_rtcp(std::span<const std::uint8_t> datagram, RtcpReport& out);

// RFC 5761 4: on a muxed port, an RTP header whose M+PT octet is 192..223 is RTCP.
bool looks_like_rtcp(std::span<const std::uint8_t> datagram);

// The middle 32 bits of a 64-bit NTP timestamp (the LSR format).
constexpr std::uint32_t ntp_middle32(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp >> 16); }

// A Unix time in nanoseconds as a 64-bit NTP timestamp (seconds since 1900, 32.32).
std::uint64_t ntp_from_unix_ns(std::int64_t unix_ns);

// RFC 3550 6.4.1 / A.8: round trip = arrival - LSR - DLSR, all in 1/65536 s. Empty when
// the block carries no LSR (0: no SR received yet) or the sum exceeds the arrival time
// (clocks or reports inconsistent).
std::optional<double> round_trip_ms(std::uint32_t arrival_ntp_middle32, std::uint32_t lsr, std::uint32_t dlsr);

}  // namespace sipbox::media
