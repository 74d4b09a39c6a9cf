// libFuzzer target for the rule parser (security/rules.h). Beyond "no crash": a refusal
// names a column inside the text (or just past its end), an accepted rule has a sid, and
// every accepted rule is evaluated against parsed SIP messages (a request with a body, a
// response) and raw bytes, with a clock that moves so the counters open and close windows.
#include <cstdint>
#include <string>
#include <string_view>

#include "security/rules.h"

namespace {

using namespace sipbox;
using namespace sipbox::security;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const RuleVariables& variables() {
  static const RuleVariables vars{
      {"EXTERNAL_NET", "any"},
      {"HOME_NET", "[192.0.2.0/24,2001:db8::/32,!192.0.2.99]"},
      {"SIP_PROXY", "[192.0.2.10,2001:db8::10]"},
      {"SIP_PORT", "[5060,5061,8088]"},
      {"NESTED", "[$HOME_NET,![10.0.0.0/8,$SIP_PROXY]]"},
      {"LOOP", "[$LOOP]"},
  };
  return vars;
}

struct Sample {
  explicit Sample(std::string text, bool parse) : bytes(std::move(text)) {
    parsed = parse && sip::parse_message(bytes, sip::Framing::Datagram, message).has_value();
  }
  std::string bytes;
  sip::Message message;
  bool parsed = false;
};

Sample& sample(int which) {
  static Sample samples[] = {
      Sample("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bKx\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
             "Call-ID: c1@203.0.113.5\r\nCSeq: 1 INVITE\r\nUser-Agent: friendly-scanner\r\n"
             "Content-Type: application/sdp\r\nContent-Length: 14\r\n\r\nv=0\r\nm=audio\r\n",
             true),
      Sample("SIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 203.0.113.5:5062;branch=z9hG4bKx\r\n"
             "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n"
             "Call-ID: c1@203.0.113.5\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
             true),
      Sample("REGISTER sip:example.com SIP/2.0\r\n\x01\x02\xff garbage |\r\n\r\n", false),
  };
  return samples[which];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)parse_duration(input);
  if (auto v = check_variable(input, variables()); !v) check(v.error().column >= 1 && !v.error().reason.empty());

  auto compiled = compile_rule(input, variables());
  if (!compiled) {
    check(compiled.error().column >= 1 && compiled.error().column <= size + 1);
    check(!compiled.error().reason.empty());
    return 0;
  }
  check(rule_sid(**compiled) != 0);
  RuleSet set({*compiled}, RuleSet::Limits{64});
  const auto start = Clock::time_point{} + std::chrono::hours(1);
  static const char* const kSources[] = {"203.0.113.5", "192.0.2.77", "2001:db8::5", "::ffff:192.0.2.99"};
  for (int round = 0; round < 12; ++round) {
    const Sample& s = sample(round % 3);
    Packet p;
    p.bytes = s.bytes;
    p.message = s.parsed ? &s.message : nullptr;
    p.udp = round % 5 != 0;
    p.src = boost::asio::ip::make_address(kSources[round % 4]);
    p.src_port = static_cast<std::uint16_t>(5060 + round);
    p.dst = boost::asio::ip::make_address(round % 2 ? "192.0.2.10" : "2001:db8::10");
    p.dst_port = 5060;
    for (const RuleMatch& m : set.evaluate(p, start + std::chrono::seconds(round * round))) {
      check(m.sid == rule_sid(**compiled));
      check(m.count >= 1);
      if (m.block) check(m.block->duration.count() > 0);
    }
  }
  set.sweep(start + std::chrono::hours(24 * 365 * 140));  // beyond the longest window (2^32 s)
  check(set.counter_stats().entries == 0);
  return 0;
}
