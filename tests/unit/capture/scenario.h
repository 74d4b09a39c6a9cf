// A known call between two parties for the capture tests: SIP messages with SDP and RTP
// with known gaps and timing, as UDP datagrams with capture times.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "frames.h"
#include "media/media.h"
#include "media/relay.h"

namespace sipbox::capture::test {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000LL * 1'000'000'000LL;

struct Party {
  std::string address;  // as SDP writes it
  UdpEndpoint sip;
  UdpEndpoint rtp;
  UdpEndpoint rtcp;
};

inline Party party(const std::string& address, std::uint16_t rtp_port) {
  const IpAddress ip = *IpAddress::parse(address);
  return {address, {ip, 5060}, {ip, rtp_port}, {ip, static_cast<std::uint16_t>(rtp_port + 1)}};
}

struct Datagram {
  UdpEndpoint from;
  UdpEndpoint to;
  Bytes payload;
  std::int64_t time_ns = 0;
};

inline std::string sdp_of(const Party& p, const std::string& extra = "") {
  const std::string ip = p.rtp.address.v6 ? "IP6" : "IP4";
  return "v=0\r\no=- 1 1 IN " + ip + " " + p.address + "\r\ns=-\r\nc=IN " + ip + " " + p.address +
         "\r\nt=0 0\r\nm=audio " + std::to_string(p.rtp.port) +
         " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n" + extra;
}

inline std::string host(const Party& p) { return p.rtp.address.v6 ? "[" + p.address + "]" : p.address; }

// A request from `from` to `to` (From tag "a" is always the caller's, To tag "b" the
// callee's) or, when `status` is set, a response to it sent by `to`.
inline std::string sip_message(const std::string& method, const Party& caller, const Party& callee,
                               const std::string& call_id, unsigned cseq, const std::string& body = "", int status = 0,
                               bool to_tag = true, bool from_callee = false) {
  const Party& sender = from_callee ? callee : caller;
  const Party& receiver = from_callee ? caller : callee;
  std::string start = status
                          ? "SIP/2.0 " + std::to_string(status) + " Whatever\r\n"
                          : method + " sip:" + (from_callee ? "alice" : "bob") + "@" + host(receiver) + " SIP/2.0\r\n";
  std::string m = start + "Via: SIP/2.0/UDP " + host(sender) + ";branch=z9hG4bK" + std::to_string(cseq) + method +
                  "\r\nMax-Forwards: 70\r\n";
  if (!from_callee) {
    m += "From: <sip:alice@" + host(caller) + ">;tag=a\r\nTo: <sip:bob@" + host(callee) + ">" +
         (to_tag ? ";tag=b" : "") + "\r\n";
  } else {
    m += "From: <sip:bob@" + host(callee) + ">;tag=b\r\nTo: <sip:alice@" + host(caller) + ">;tag=a\r\n";
  }
  m += "Call-ID: " + call_id + "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\nContact: <sip:x@" +
       host(sender) + ">\r\n";
  if (!body.empty()) m += "Content-Type: application/sdp\r\n";
  m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return m;
}

struct CallScript {
  Party a = party("192.0.2.10", 40000);
  Party b = party("192.0.2.20", 50000);
  std::string call_id = "call-1@test";
  std::set<int> a_missing{9, 10, 49};  // packet indexes A does not send (seq 10, 11, 50)
  std::set<int> b_missing{70};
  int packets = 100;
  bool bye = true;
};

// INVITE/180/200/ACK, RTP both ways (A every 20 ms exactly; B every 20 ms with every odd
// packet 4 ms late; A's packet 20 is a telephone-event), A's SR at 1 s and B's RR about
// it at 1.6 s with DLSR 0.5 s (round trip 100 ms), a stray datagram, BYE/200 at 2.5 s.
inline std::vector<Datagram> call_datagrams(const CallScript& s) {
  std::vector<Datagram> out;
  const auto sip = [&](bool from_a, std::string text, std::int64_t t) {
    out.push_back({from_a ? s.a.sip : s.b.sip, from_a ? s.b.sip : s.a.sip, text_bytes(text), kT0 + t});
  };
  sip(true, sip_message("INVITE", s.a, s.b, s.call_id, 1, sdp_of(s.a), 0, false), 0);
  sip(false, sip_message("INVITE", s.a, s.b, s.call_id, 1, "", 180), 10 * kMs);
  sip(false, sip_message("INVITE", s.a, s.b, s.call_id, 1, sdp_of(s.b), 200), 50 * kMs);
  sip(true, sip_message("ACK", s.a, s.b, s.call_id, 1), 60 * kMs);
  for (int i = 0; i < s.packets; ++i) {
    const std::int64_t t = 100 * kMs + i * 20 * kMs;
    if (!s.a_missing.count(i))
      out.push_back(
          {s.a.rtp, s.b.rtp, rtp(i == 20 ? 101 : 0, static_cast<std::uint16_t>(1 + i), 160u * i, 0xaaaa), kT0 + t});
    if (!s.b_missing.count(i))
      out.push_back({s.b.rtp, s.a.rtp, rtp(0, static_cast<std::uint16_t>(1000 + i), 5000 + 160u * i, 0xbbbb),
                     kT0 + t + (i % 2 ? 4 * kMs : 0) + 1});
  }
  const std::uint64_t ntp = media::ntp_from_unix_ns(kT0 + 1000 * kMs);
  out.push_back({s.a.rtcp, s.b.rtcp, rtcp_sr(0xaaaa, ntp, 8000), kT0 + 1000 * kMs + 2});
  out.push_back({s.b.rtcp, s.a.rtcp, rtcp_rr(0xbbbb, 0xaaaa, media::ntp_middle32(ntp), 32768), kT0 + 1600 * kMs + 2});
  out.push_back({s.a.sip, {s.b.sip.address, 53}, Bytes{0x12, 0x34, 1, 0}, kT0 + 1700 * kMs});
  if (s.bye) {
    sip(true, sip_message("BYE", s.a, s.b, s.call_id, 2), 2500 * kMs);
    sip(false, sip_message("BYE", s.a, s.b, s.call_id, 2, "", 200), 2510 * kMs);
  }
  std::stable_sort(out.begin(), out.end(), [](const Datagram& x, const Datagram& y) { return x.time_ns < y.time_ns; });
  return out;
}

class RecordingObserver : public media::RelayObserver {
 public:
  void on_report(const media::StreamReport& report) override { reports.push_back(report); }
  void on_call_ended(std::string_view call_id, media::EndReason reason) override {
    ended.emplace_back(std::string(call_id), reason);
  }
  const media::StreamReport* final_report(media::Side sender, unsigned index = 0) const {
    for (const auto& r : reports)
      if (r.final && r.sender == sender && r.index == index) return &r;
    return nullptr;
  }
  std::vector<media::StreamReport> reports;
  std::vector<std::pair<std::string, media::EndReason>> ended;
};

}  // namespace sipbox::capture::test
