// The RTP/RTCP relay (far-end NAT traversal, issue 6): the proxy rewrites SDP so that
// each party sends its media to a port pair of ours; the relay forwards it to the other
// party, learning each party's real address from the first packets (symmetric
// latching), and keeps RFC 3550 statistics per direction for the E-model.
//
// Terms. A call (Call-ID) has streams, one per m= line (index). Each stream has two
// sides: `offerer` (the party whose SDP created the stream, normally the caller) and
// `answerer`. Each side has a local port pair (RTP even, RTCP = RTP + 1) on which the
// relay receives that side's packets; the SDP sent to a party names the port pair of
// that party's side. Packets received on one side's pair are sent to the other side's
// remote address from the other side's pair, so every party sees one peer address.
//
// Threads: the control calls (allocate, set_remote, set_codec, ... end) come from the
// SIP workers, any thread; packets are handled by the relay's own threads (one per
// core by default), batch receive/send, no global lock and no allocation per packet.
// Reports are delivered on relay threads: the observer must be quick and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "media/rtp_stats.h"

namespace sipbox::media {

enum class Side : std::uint8_t { offerer, answerer };
constexpr Side other(Side side) { return side == Side::offerer ? Side::answerer : Side::offerer; }

// An IPv4 or IPv6 address in text form ("127.0.0.2", "::1") and a port.
struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

// What SDP says about the codec one side will send (the first payload type of its m=
// line, with its rtpmap): statistics use the clock rate, records name the codec.
struct CodecInfo {
  std::uint8_t payload_type = 0;
  std::string encoding_name;      // "PCMU", "opus", ... ("" when unknown)
  std::uint32_t clock_rate = 8000;
  double ptime_ms = 20;
};

struct RelayOptions {
  // Local addresses the port pairs are bound on: one IPv4 and/or one IPv6 address
  // ("0.0.0.0" / "::" for all). A side is served on the family of its party's address
  // (IPv4/IPv6 interworking: the two sides of a stream may differ).
  std::string bind_ipv4 = "0.0.0.0";
  std::string bind_ipv6;  // "" = no IPv6
  std::uint16_t port_min = 10000;  // inclusive; RTP ports are even, RTCP = RTP + 1
  std::uint16_t port_max = 20000;  // inclusive
  std::chrono::seconds media_timeout{60};  // no packet on either side this long: ended
  std::chrono::seconds report_interval{0};  // 0: reports only at the end of a stream
  unsigned threads = 0;                      // 0: one per core
};

// One direction of one stream: what `from` sent to `to` as received by the relay.
struct StreamReport {
  std::string call_id;
  unsigned index = 0;  // m= line
  Side sender = Side::offerer;
  Endpoint from;  // the sending party's address (latched source; else from SDP)
  Endpoint to;    // where the relay forwarded it
  CodecInfo codec;  // of the last payload type seen (set_codec, or the packets)
  RtpStreamSnapshot stats;
  // RFC 3550 round trip (ms) between the relay and the sending party, from the RTCP
  // RR/SR that party sent about the packets the relay forwarded to it; empty until known.
  std::optional<double> round_trip_ms;
  bool final = false;  // the stream ended (end(), media timeout, relay stop)
};

enum class EndReason : std::uint8_t { hangup, cancelled, failed, timeout, shutdown };

class RelayObserver {
 public:
  virtual ~RelayObserver() = default;
  // Every report_interval while packets flow, and once per direction that received
  // at least one packet when the stream ends.
  virtual void on_report(const StreamReport& report) = 0;
  // The call's streams ended for lack of media (reason timeout) or by end().
  virtual void on_call_ended(std::string_view call_id, EndReason reason) = 0;
};

struct RelayCounters {
  std::uint64_t calls = 0;    // active calls
  std::uint64_t streams = 0;  // active streams
  std::uint64_t ports_in_use = 0;
  std::uint64_t ports_free = 0;
  std::uint64_t packets_relayed = 0;
  std::uint64_t octets_relayed = 0;
  std::uint64_t packets_dropped = 0;  // no destination yet, wrong source, send errors
  std::uint64_t allocation_failures = 0;  // port range exhausted
  std::uint64_t timeouts = 0;
};

class MediaRelay {
 public:
  // Binds nothing until a stream is allocated; fails on a bad address or range.
  static Result<std::unique_ptr<MediaRelay>> start(const RelayOptions& options, RelayObserver& observer);
  virtual ~MediaRelay() = default;  // stops the threads; open streams end with `shutdown`

  // The local port pair (RTP port; RTCP is + 1) of `side` of stream `index`, allocated
  // on first use (both sides are allocated together, on the family of `family_of`'s
  // address: "1.2.3.4" → IPv4, "::1" → IPv6). Idempotent: a re-INVITE gets the same
  // ports. Error when the range is exhausted.
  virtual Result<std::uint16_t> allocate(std::string_view call_id, unsigned index, Side side,
                                         std::string_view family_of) = 0;
  // Where `side`'s party said it receives (SDP c=/m=, and a=rtcp or RTP + 1, or the RTP
  // port itself with rtcp-mux). A later set_remote (re-INVITE) replaces it and restarts
  // latching. Port 0 or address 0.0.0.0 (hold, RFC 3264 8.4 / RFC 2543): stop sending
  // to that side until a real address is set again.
  virtual Status set_remote(std::string_view call_id, unsigned index, Side side, const Endpoint& rtp,
                            const Endpoint& rtcp, bool rtcp_mux) = 0;
  virtual Status set_codec(std::string_view call_id, unsigned index, Side sender, const CodecInfo& codec) = 0;
  // Ends every stream of the call: final reports, ports back to the pool. Unknown
  // Call-IDs are ignored.
  virtual void end(std::string_view call_id, EndReason reason) = 0;
  virtual bool has_call(std::string_view call_id) const = 0;

  virtual RelayCounters counters() const = 0;
};

}  // namespace sipbox::media
