// libFuzzer target for the SDP parser: any input must parse or fail cleanly, and what
// parses must serialize to text that parses again to the same canonical form. The typed
// accessors run on every media so that they see hostile attribute values too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sip/sdp.h"

namespace {

void touch_accessors(const sipbox::sip::SessionDescription& sdp) {
  for (const auto& m : sdp.media) {
    for (const auto& f : m.formats) {
      unsigned pt = 0;
      for (char c : f) pt = (pt * 10 + static_cast<unsigned>(c - '0')) % 1000;
      (void)m.rtpmap(pt);
      (void)m.fmtp(pt);
    }
    (void)m.ptime();
    (void)m.maxptime();
    (void)m.rtcp();
    (void)m.rtcp_mux();
    (void)m.crypto();
    (void)sdp.direction(m);
    if (const auto* c = sdp.connection_for(m)) (void)c->is_multicast();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = sipbox::sip::parse_sdp(text);
  if (!first) {
    if (first.error().message.empty()) __builtin_trap();
    return 0;
  }
  touch_accessors(*first);
  const std::string once = sipbox::sip::serialize_sdp(*first);
  auto second = sipbox::sip::parse_sdp(once);
  if (!second) __builtin_trap();
  if (sipbox::sip::serialize_sdp(*second) != once) __builtin_trap();
  // Edits the relay makes must also serialize to something that parses.
  auto edited = std::move(*second);
  edited.origin.increment_version();
  for (auto& m : edited.media) {
    if (m.port != 0 && m.port < 65000) m.port = static_cast<std::uint16_t>(m.port + 2);
    if (auto* c = edited.connection_for(m)) c->address = c->is_ipv6() ? "2001:db8::1" : "192.0.2.1";
    if (m.rtcp()) m.set_rtcp({static_cast<std::uint16_t>(m.port + 1), "IN", "IP4", "192.0.2.1"});
    m.set_direction(sipbox::sip::SdpDirection::SendOnly);
  }
  if (!sipbox::sip::parse_sdp(sipbox::sip::serialize_sdp(edited))) __builtin_trap();
  return 0;
}
