// SDP session descriptions (RFC 8866, which obsoletes RFC 4566): parse, typed access to
// what a PBX needs (RFC 3551 rtpmap, fmtp, ptime, direction, RFC 3605 rtcp, rtcp-mux,
// RFC 4568 crypto), edit, and serialize.
//
// The model owns its text (std::string fields), so the media relay can rewrite c=
// addresses, m= ports and the rtcp attribute in place. Fields hold what the parser
// validated; code that edits them must keep them free of spaces and line breaks.
//
// Output is canonical: CRLF line ends, one space between fields, lines in RFC 8866
// section 5 order. Parsing canonical text and serializing it unedited gives the same
// bytes. The parser is liberal where that is harmless (LF-only line ends, runs of spaces
// between fields, session-level lines out of order, trailing empty lines) and refuses
// what RFC 8866 forbids, with the line number and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sipbox::sip {

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
struct SdpOrigin {
  std::string username = "-";
  std::string session_id = "0";       // digits; may exceed 64 bits, so kept as text
  std::string session_version = "0";  // digits
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;

  // RFC 3264 8: a changed offer carries a version one higher.
  void increment_version();
};

// c=<nettype> <addrtype> <connection-address>; multicast suffixes /ttl (IP4 only) and
// /number-of-addresses are kept apart from the address.
struct SdpConnection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";  // "IP4", "IP6" or another type kept as text
  std::string address;            // an IP literal or a domain name
  std::optional<std::uint32_t> ttl;
  std::optional<std::uint32_t> count;

  bool is_ipv6() const { return addr_type == "IP6"; }
  bool is_multicast() const;
};

// b=<bwtype>:<bandwidth> (AS and CT in kbit/s, TIAS in bit/s, RS/RR for RTCP).
struct SdpBandwidth {
  std::string type;
  std::uint64_t value = 0;
};

// t=<start> <stop>, its r= lines, and an optional z= line (RFC 8866 keeps z= with the
// time description; RFC 4566 wrote it after the last one, which lands in the last here).
struct SdpTiming {
  std::uint64_t start = 0;  // NTP seconds; 0 = unbounded
  std::uint64_t stop = 0;
  std::vector<std::string> repeats;  // r= values, fields single-spaced: "7d 1h 0 25h"
  std::optional<std::string> zone;   // z= value, single-spaced: "2882844526 -1h 2898848070 0"
};

// a=<name> or a=<name>:<value>.
struct SdpAttribute {
  std::string name;
  std::string value;
  bool has_value = false;
};

enum class SdpDirection : std::uint8_t { SendRecv, SendOnly, RecvOnly, Inactive };
std::string_view to_string(SdpDirection direction);

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
struct SdpRtpmap {
  unsigned payload_type = 0;
  std::string encoding;          // as written: "PCMU", "opus", "telephone-event"
  std::uint32_t clock_rate = 0;  // 0 when the attribute omits it
  std::uint32_t channels = 1;    // audio encoding parameter; 1 when absent
};

// a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605).
struct SdpRtcp {
  std::uint16_t port = 0;
  std::string net_type;  // these three are empty when the address is absent
  std::string addr_type;
  std::string address;
};

// a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] (RFC 4568 9.1).
struct SdpCrypto {
  std::uint32_t tag = 0;
  std::string suite;                        // "AES_CM_128_HMAC_SHA1_80"
  std::string key_params;                   // "inline:<key||salt>[|lifetime][|MKI:len]", ';'-separated
  std::vector<std::string> session_params;  // "KDR=1", "UNENCRYPTED_SRTCP", ...
};

// Attribute lists at session and media level share the lookup and edit helpers.
struct SdpAttributes {
  std::vector<SdpAttribute> attributes;

  // The first attribute named exactly `name`; null when absent.
  const SdpAttribute* attribute(std::string_view name) const;
  bool has_attribute(std::string_view name) const { return attribute(name) != nullptr; }
  std::vector<const SdpAttribute*> attributes_named(std::string_view name) const;
  // Replaces the first `name` (dropping later ones) or appends it.
  void set_attribute(std::string_view name, std::string_view value);
  void set_flag(std::string_view name);
  void add_attribute(std::string_view name, std::string_view value);
  // Removes every attribute named `name`; returns how many.
  std::size_t remove_attributes(std::string_view name);

  // The first of sendrecv/sendonly/recvonly/inactive at this level; nullopt when none.
  // set_direction replaces them all with one.
  std::optional<SdpDirection> own_direction() const;
  void set_direction(SdpDirection direction);
};

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... and its i, c, b, k, a lines.
struct SdpMedia : SdpAttributes {
  std::string media;       // "audio", "video", "application", "image", "text", "message"
  std::uint16_t port = 0;  // 0: the stream is rejected or disabled (RFC 3264 6)
  std::optional<std::uint32_t> port_count;
  std::string proto;  // "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", "udptl", ...
  std::vector<std::string> formats;
  std::optional<std::string> information;
  std::vector<SdpConnection> connections;
  std::vector<SdpBandwidth> bandwidths;
  std::optional<std::string> key;  // k= (obsolete, RFC 8866 5.12), kept for round trips

  // RTP profiles (RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVP, ...): formats are payload types.
  bool is_rtp() const;
  // The rtpmap of a payload type; for a listed static type without one, the RFC 3551
  // table entry. nullopt when unknown or malformed.
  std::optional<SdpRtpmap> rtpmap(unsigned payload_type) const;
  // The format parameters of a payload type as written ("0-16", "minptime=10;useinbandfec=1").
  std::optional<std::string_view> fmtp(unsigned payload_type) const;
  // Milliseconds (RFC 8866 6.4/6.5 allow decimals); nullopt when absent or malformed.
  std::optional<double> ptime() const;
  std::optional<double> maxptime() const;
  // nullopt when absent or malformed; a /ttl or /count suffix on its address counts as
  // malformed, since SdpRtcp could not keep it through set_rtcp.
  std::optional<SdpRtcp> rtcp() const;
  void set_rtcp(const SdpRtcp& rtcp);
  bool rtcp_mux() const { return has_attribute("rtcp-mux"); }
  // Every well-formed a=crypto line, in order.
  std::vector<SdpCrypto> crypto() const;
};

struct SessionDescription : SdpAttributes {
  SdpOrigin origin;
  std::string session_name = "-";
  std::optional<std::string> information;
  std::optional<std::string> uri;
  std::vector<std::string> emails;
  std::vector<std::string> phones;
  std::optional<SdpConnection> connection;
  std::vector<SdpBandwidth> bandwidths;
  std::vector<SdpTiming> timings{SdpTiming{}};
  std::optional<std::string> key;
  std::vector<SdpMedia> media;

  // The media's first c=, else the session c=; null when neither exists (a rejected
  // stream may carry none).
  const SdpConnection* connection_for(const SdpMedia& m) const;
  SdpConnection* connection_for(SdpMedia& m);
  // RFC 8866 6.7: the media-level attribute overrides the session-level one; sendrecv
  // when neither is present.
  SdpDirection direction(const SdpMedia& m) const;
};

// Parses a session description (CRLF or LF line ends). Errors read "line 3: m= line has
// a bad port" or "missing t= line".
Result<SessionDescription> parse_sdp(std::string_view text);

// The value of a c= line ("IN IP4 233.252.0.1/127/3"), checked as parse_sdp checks it.
Result<SdpConnection> parse_sdp_connection(std::string_view text);

// Canonical text with CRLF line ends.
std::string serialize_sdp(const SessionDescription& sdp);

}  // namespace sipbox::sip
