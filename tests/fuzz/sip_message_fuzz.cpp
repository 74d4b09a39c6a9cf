// libFuzzer target for the SIP message parser. Beyond "no crash": a message that parses
// must serialize back to its own bytes, survive typed access to every header, and, once
// edited, serialize to a canonical message that parses again (on a stream, so with a
// correct Content-Length) and is a fixed point of serialization.
#include <cstdint>
#include <string>
#include <string_view>

#include "sip/sip.h"

namespace {

using namespace sipbox::sip;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void touch_headers(const Message& m) {
  for (const HeaderField& h : m.headers()) {
    for (std::string_view v : m.values(h.id == HeaderId::Other ? HeaderId::Other : h.id)) {
      if (h.id == HeaderId::Via) check(parse_via(v).has_value());
      if (h.id == HeaderId::Route || h.id == HeaderId::RecordRoute) {
        auto na = parse_name_addr(v, AddrForm::NameAddrOnly);
        check(na.has_value());
        check(uri_equivalent(na->uri, na->uri) || na->uri.kind == UriScheme::Other);
        for (const Param& p : na->params) (void)p;
        (void)na->display_name_text();
      }
      if (h.id == HeaderId::Contact && v != "*") {
        auto na = parse_name_addr(v);
        check(na.has_value());
        (void)contact_expires(*na);
        (void)contact_q(*na);
      }
      if (h.id == HeaderId::Other) break;
    }
    if (h.id == HeaderId::Authorization || h.id == HeaderId::WwwAuthenticate) {
      auto auth = parse_auth(h.value);
      check(auth.has_value());
      (void)auth->param("nonce");
    }
  }
  (void)unescape(m.request_uri().user);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)stream_message_size(input);
  for (Framing framing : {Framing::Datagram, Framing::Stream}) {
    Message m;
    if (!parse_message(input, framing, m)) continue;
    check(m.serialize() == m.bytes());
    touch_headers(m);

    m.insert_header(0, HeaderId::Via, "SIP/2.0/UDP fuzz.example.com;branch=z9hG4bKfuzz");
    m.set_body("x");
    const std::string edited = m.serialize();
    Message again;
    check(parse_message(edited, Framing::Stream, again).has_value());
    check(again.bytes() == edited);
    check(again.top_via().host == "fuzz.example.com");
  }
  return 0;
}
