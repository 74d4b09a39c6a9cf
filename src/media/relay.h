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
// Latching (symmetric RTP, RFC 4961 in practice): the first packet on each of a side's
// sockets (RTP, RTCP) fixes where that side's party is, whatever its SDP said (it may be
// behind a NAT); the relay then sends that side's media there, and drops packets from
// any other source on that socket until set_remote restarts latching (re-INVITE).
// Everything from the latched source is forwarded as is (RTP, RTCP, STUN, DTLS, SRTP);
// on the RTP port, RTCP is told apart by its packet type (RFC 5761 4).
//
// Threads: the control calls (allocate, set_remote, set_codec, ... end) come from the
// SIP workers, any thread; packets are handled by the relay's own threads (one per
// core by default), batch receive/send, no global lock and no allocation per packet.
// A call belongs to one relay thread (Call-ID hash). Control calls check and record
// what they can synchronously (a per-thread directory under a mutex the packet path
// never takes) and post the rest to the owning thread, which applies it before the
// packets it receives afterwards. Reports are delivered on relay threads: the observer
// must be quick and thread-safe; it may call end() (which then does not wait).
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
  std::string encoding_name;  // "PCMU", "opus", ... ("" when unknown)
  std::uint32_t clock_rate = 8000;
  double ptime_ms = 20;
};

struct RelayOptions {
  // Local addresses the port pairs are bound on: one IPv4 and/or one IPv6 address
  // ("0.0.0.0" / "::" for all). A side is served on the family of its party's address
  // (IPv4/IPv6 interworking: the two sides of a stream may differ).
  std::string bind_ipv4 = "0.0.0.0";
  std::string bind_ipv6;           // "" = no IPv6
  std::uint16_t port_min = 10000;  // inclusive; RTP ports are even, RTCP = RTP + 1
  std::uint16_t port_max = 20000;  // inclusive
  // No packet on either side of any stream of a call this long: the call ends (reason
  // timeout). Counted from the last packet or set_remote, and only for a call with a
  // stream that expects media: both remotes known (the answer arrived) and neither on
  // hold. Checked every 250 ms. 0: never.
  std::chrono::seconds media_timeout{60};
  // Reports every interval (±250 ms) for each direction with packets since the last one;
  // 0: reports only at the end of a stream.
  std::chrono::seconds report_interval{0};
  unsigned threads = 0;  // 0: one per core
};

enum class EndReason : std::uint8_t { hangup, cancelled, failed, timeout, shutdown };

// One direction of one stream: what `from` sent to `to` as received by the relay.
struct StreamReport {
  std::string call_id;
  unsigned index = 0;  // m= line
  Side sender = Side::offerer;
  Endpoint from;    // the sending party's address (latched source; else from SDP)
  Endpoint to;      // where the relay forwarded it
  CodecInfo codec;  // of the last payload type seen (set_codec, or the packets)
  RtpStreamSnapshot stats;
  // Round trip (ms) between the relay and the sending party: the relay sends no SR of
  // its own, so it times the other party's SR that it forwarded to the sender (arrival
  // at the relay) against the sender's RR/SR block answering it (LSR = that SR, arrival
  // of the block at the relay) minus the block's DLSR (RFC 3550 6.4.1 with the relay's
  // clock at both ends). It is the path relay → sender → relay, access network and NAT
  // included; the network round trip between the parties is about the sum of both
  // directions' values. Empty until the sender has answered an SR it received.
  std::optional<double> round_trip_ms;
  bool final = false;                        // the stream ended (end(), media timeout, relay stop)
  EndReason end_reason = EndReason::hangup;  // with `final`: why (end()'s reason, timeout, shutdown)
};

class RelayObserver {
 public:
  virtual ~RelayObserver() = default;
  // Every report_interval while packets flow, and once per direction that received
  // at least one packet when the stream ends.
  virtual void on_report(const StreamReport& report) = 0;
  // The call's streams ended for lack of media (reason timeout) or by end() (its
  // reason), after their final reports. Not called when the relay itself is destroyed
  // (the final reports say `shutdown`).
  virtual void on_call_ended(std::string_view call_id, EndReason reason) = 0;
};

struct RelayCounters {
  std::uint64_t calls = 0;         // active calls
  std::uint64_t streams = 0;       // active streams
  std::uint64_t ports_in_use = 0;  // UDP ports (two per side of a stream)
  std::uint64_t ports_free = 0;    // UDP ports of the pairs not in use
  std::uint64_t packets_relayed = 0;
  std::uint64_t octets_relayed = 0;
  std::uint64_t packets_dropped = 0;      // no destination yet, on hold, wrong source, oversize, send errors
  std::uint64_t allocation_failures = 0;  // port range exhausted
  std::uint64_t timeouts = 0;             // calls ended by media_timeout
};

class MediaRelay {
 public:
  // Binds nothing until a stream is allocated; fails on a bad address or range.
  static Result<std::unique_ptr<MediaRelay>> start(const RelayOptions& options, RelayObserver& observer);
  virtual ~MediaRelay() = default;  // stops the threads; open streams end with `shutdown`

  // The local port pair (RTP port; RTCP is + 1) of `side` of stream `index`, allocated
  // on first use (both sides are allocated together, on the family of `family_of`'s
  // address: "1.2.3.4" → IPv4, "::1" or "[::1]" → IPv6; a host name → IPv4 if
  // bind_ipv4 is set, else IPv6). Idempotent: a re-INVITE gets the same ports. Error
  // when the range is exhausted or the family has no bind address.
  //
  // IPv4/IPv6 interworking: a side is served on the family of its own party. When
  // allocate names a side with another family than the one it is bound on (typically
  // the first call, for the answerer's port in the offer, bound both sides on the
  // answerer's family; the later call for the offerer names the offerer's), that side
  // is re-bound on the new family: on the same port number when it is free there (so
  // far always, since the pool reserved it), else on a new pair, whose port is returned.
  // Its remote is forgotten (set_remote it afterwards). So: call allocate for a side
  // before putting its port in an SDP, and set_remote after allocate.
  //
  // Ports come from a free list (O(1)), oldest released first; pairs that another
  // program holds are skipped.
  virtual Result<std::uint16_t> allocate(std::string_view call_id, unsigned index, Side side,
                                         std::string_view family_of) = 0;
  // Where `side`'s party said it receives (SDP c=/m=, and a=rtcp or RTP + 1, or the RTP
  // port itself with rtcp-mux). A later set_remote (re-INVITE) replaces it and restarts
  // latching. Port 0 or address 0.0.0.0 (hold, RFC 3264 8.4 / RFC 2543): stop sending
  // to that side until a real address is set again. `rtcp` with an empty address means
  // the RTP address, with port 0 RTP + 1; it is unused with rtcp_mux. Errors: unknown
  // stream, an address that is not an IP literal, or one of another family than the
  // side is bound on (see allocate).
  virtual Status set_remote(std::string_view call_id, unsigned index, Side side, const Endpoint& rtp,
                            const Endpoint& rtcp, bool rtcp_mux) = 0;
  // The statistics take its clock rate; reports name it until packets of another static
  // payload type (RFC 3551) arrive, which then name theirs (a dynamic type other than
  // this one, such as telephone-event, changes nothing).
  virtual Status set_codec(std::string_view call_id, unsigned index, Side sender, const CodecInfo& codec) = 0;
  // `side`'s SDP holds the stream by direction (a=sendonly, recvonly or inactive, RFC
  // 3264 8.4): media may stop without the call being over (hold without music), so the
  // stream no longer counts for the media timeout until a sendrecv SDP comes. (Hold by
  // address, c=0.0.0.0 or port 0, is set_remote's.)
  virtual Status set_held(std::string_view call_id, unsigned index, Side side, bool held) = 0;
  // Ends every stream of the call: final reports, ports back to the pool, then
  // on_call_ended; returns when that is done (except when called from a relay thread,
  // i.e. from the observer: then it is only queued). Unknown Call-IDs are ignored.
  virtual void end(std::string_view call_id, EndReason reason) = 0;
  // The same without waiting: the call leaves the relay's directory at once (has_call
  // is false, a new allocate for the Call-ID starts afresh) and its thread does the rest.
  // For the SIP workers, which must not wait on a relay thread busy with packets.
  virtual void end_later(std::string_view call_id, EndReason reason) = 0;
  virtual bool has_call(std::string_view call_id) const = 0;

  virtual RelayCounters counters() const = 0;
};

}  // namespace sipbox::media
