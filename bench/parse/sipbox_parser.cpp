// sipbox side of bench_parse: parse into the reused Message, then read the fields.
#include <string_view>

#include "parsers.h"
#include "sip/headers.h"
#include "sip/params.h"

namespace sipbox::bench {
namespace {

using sip::HeaderId;

std::uint64_t digest(const sip::Message& m) {
  Digest d;
  d.add(m.is_request() ? m.method().size() : static_cast<std::uint64_t>(m.status_code()));
  d.add(m.cseq().number);
  d.add(m.cseq().method.size());
  d.add(m.call_id().size());
  d.add(m.from().uri.user.size());
  d.add(m.from().tag().size());
  d.add(m.to().tag().size());

  const sip::Via& via = m.top_via();
  d.add(via.host.size());
  d.add(via.branch().size());
  d.add(via.has_rport());
  d.add(m.vias().size());
  d.add(static_cast<std::uint64_t>(m.max_forwards()));

  // Contact, Route, Record-Route and the authorization headers were parsed while
  // validating; the Message keeps the parsed values.
  for (const sip::NameAddr& contact : m.contacts()) {
    d.add(contact.uri.host.size());
    d.add(sip::contact_expires(contact).value_or(0));
  }
  for (const sip::NameAddr& route : m.routes()) d.add(route.uri.host.size());
  for (const sip::NameAddr& route : m.record_routes()) d.add(route.uri.host.size());

  if (const sip::AuthHeader* auth = m.find_auth(HeaderId::Authorization)) {
    d.add(auth->scheme.size());
    std::uint64_t chars = 0;
    for (const sip::Param& p : auth->params) chars += sip::unquote(p.value).size();
    d.add(chars);
  }
  if (const sip::HeaderField* h = m.header(HeaderId::ContentType)) {
    if (auto type = sip::parse_media_type(h->value)) d.add(type->subtype.size());
  }
  d.add(m.body().size());
  return d.value();
}

}  // namespace

Outcome SipboxParser::parse(std::string_view bytes) {
  if (auto status = sip::parse_message(bytes, sip::Framing::Datagram, message_); !status) {
    error_ = status.error().message;
    return {};
  }
  return {true, digest(message_)};
}

}  // namespace sipbox::bench
