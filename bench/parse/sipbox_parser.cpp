// sipbox side of bench_parse: parse into the reused Message, then read the fields.
#include <string_view>

#include "parsers.h"
#include "sip/headers.h"
#include "sip/params.h"

namespace sipbox::bench {
namespace {

using sip::HeaderId;

// Route, Record-Route and Contact are kept as validated text; reading a URI from one
// means parsing the value again (it is already known to be well-formed).
std::uint64_t host_length(std::string_view value) {
  auto addr = sip::parse_name_addr(value);
  return addr ? addr->uri.host.size() : 0;
}

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
  std::uint64_t vias = 0;
  for ([[maybe_unused]] std::string_view v : m.values(HeaderId::Via)) ++vias;
  d.add(vias);
  d.add(static_cast<std::uint64_t>(m.max_forwards()));

  for (std::string_view v : m.values(HeaderId::Contact)) {
    auto contact = sip::parse_name_addr(v);
    if (!contact) continue;
    d.add(contact->uri.host.size());
    d.add(sip::contact_expires(*contact).value_or(0));
  }
  for (std::string_view v : m.values(HeaderId::Route)) d.add(host_length(v));
  for (std::string_view v : m.values(HeaderId::RecordRoute)) d.add(host_length(v));

  if (const sip::HeaderField* h = m.header(HeaderId::Authorization)) {
    if (auto auth = sip::parse_auth(h->value)) {
      d.add(auth->scheme.size());
      std::uint64_t chars = 0;
      for (const sip::Param& p : auth->params) chars += sip::unquote(p.value).size();
      d.add(chars);
    }
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
