// Helpers for the rule engine tests: real SIP text parsed with sip::parse_message, packets
// with addresses, and one-shot compile-and-evaluate.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "security/rules.h"

namespace sipbox::security::test {

inline std::string crlf(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n' && (out.empty() || out.back() != '\r')) out.push_back('\r');
    out.push_back(ch);
  }
  return out;
}

// A SIP message: its bytes (CRLF line ends) and, when it parses, the Message.
struct Sip {
  explicit Sip(std::string_view text) : bytes(std::make_unique<std::string>(crlf(text))) {
    const Status s = sip::parse_message(*bytes, sip::Framing::Datagram, message);
    parsed = s.has_value();
    EXPECT_TRUE(parsed) << (parsed ? "" : s.error().message) << "\n" << *bytes;
  }
  std::unique_ptr<std::string> bytes;
  sip::Message message;
  bool parsed = false;
};

inline constexpr std::string_view kRegister =
    "REGISTER sip:example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "From: <sip:alice@example.com>;tag=1928301774\n"
    "To: <sip:alice@example.com>\n"
    "Call-ID: a84b4c76e66710@203.0.113.5\n"
    "CSeq: 1 REGISTER\n"
    "Contact: <sip:alice@203.0.113.5:5062>\n"
    "User-Agent: friendly-scanner\n"
    "Content-Length: 0\n"
    "\n";

inline constexpr std::string_view kInvite =
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bKnashds8\n"
    "Max-Forwards: 70\n"
    "From: Alice <sip:alice@example.com>;tag=1928301774\n"
    "To: Bob <sip:bob@example.com>\n"
    "Call-ID: a84b4c76e66710@203.0.113.5\n"
    "CSeq: 314159 INVITE\n"
    "Contact: <sip:alice@203.0.113.5:5062>\n"
    "Content-Type: application/sdp\n"
    "Content-Length: 114\n"
    "\n"
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 203.0.113.5\n"
    "s=-\n"
    "c=IN IP4 203.0.113.5\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0\n";

inline constexpr std::string_view kNotFound =
    "SIP/2.0 404 Not Found\n"
    "Via: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bKnashds8\n"
    "From: Alice <sip:alice@example.com>;tag=1928301774\n"
    "To: Bob <sip:bob@example.com>;tag=a6c85cf\n"
    "Call-ID: a84b4c76e66710@203.0.113.5\n"
    "CSeq: 314159 INVITE\n"
    "Content-Length: 0\n"
    "\n";

inline Packet packet_of(const Sip& sip, std::string_view src = "203.0.113.5", std::uint16_t src_port = 5062,
                        std::string_view dst = "192.0.2.10", std::uint16_t dst_port = 5060, bool udp = true) {
  Packet p;
  p.bytes = *sip.bytes;
  p.message = sip.parsed ? &sip.message : nullptr;
  p.udp = udp;
  p.src = boost::asio::ip::make_address(std::string(src));
  p.src_port = src_port;
  p.dst = boost::asio::ip::make_address(std::string(dst));
  p.dst_port = dst_port;
  return p;
}

inline const RuleVariables& sip_variables() {
  static const RuleVariables vars{
      {"EXTERNAL_NET", "any"},
      {"HOME_NET", "[192.0.2.0/24,2001:db8::/32]"},
      {"SIP_PROXY", "[192.0.2.10,2001:db8::10]"},
      {"SIP_PORT", "[5060,5061,8088]"},
  };
  return vars;
}

inline std::shared_ptr<const CompiledRule> compile_ok(std::string_view text,
                                                      const RuleVariables& vars = sip_variables()) {
  auto r = compile_rule(text, vars);
  EXPECT_TRUE(r.has_value()) << text << "\n  refused at column " << (r ? 0 : r.error().column) << ": "
                             << (r ? "" : r.error().reason);
  return r ? *r : nullptr;
}

// Compiles `rule` into a fresh RuleSet and evaluates one packet.
inline std::vector<RuleMatch> run(std::string_view rule, const Packet& packet,
                                  const RuleVariables& vars = sip_variables()) {
  auto compiled = compile_ok(rule, vars);
  if (!compiled) return {};
  RuleSet set({compiled});
  return set.evaluate(packet, Clock::time_point{} + std::chrono::hours(1));
}

inline bool fires(std::string_view rule, const Packet& packet, const RuleVariables& vars = sip_variables()) {
  return !run(rule, packet, vars).empty();
}

// "alert udp any any -> any any (OPTIONS sid:1;)"
inline std::string any_rule(std::string_view options) {
  return "alert ip any any -> any any (" + std::string(options) + " sid:1;)";
}

}  // namespace sipbox::security::test
