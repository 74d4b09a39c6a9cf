#include "txn/build.h"

#include <cctype>

namespace sipbox::txn::detail {
namespace {

void append_lower(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// An ACK belongs to the INVITE transaction (17.2.3); the key carries the method text
// otherwise, so extension methods match too.
std::string_view key_method(const sip::Message& request, std::string_view method) {
  if (!method.empty()) return method;
  if (request.method_id() == sip::Method::Ack) return "INVITE";
  return request.method();
}

// The first Via value as written (the parser has validated that one exists).
std::string_view top_via_text(const sip::Message& message) {
  for (std::string_view value : message.values(sip::HeaderId::Via)) return value;
  return {};
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string client_key(std::string_view branch, std::string_view method) {
  std::string key;
  key.reserve(branch.size() + method.size() + 3);
  key.append("C|").append(branch).push_back('|');
  key.append(method);
  return key;
}

std::string client_key(const sip::Message& message) {
  return client_key(message.top_via().branch(), message.cseq().method);
}

bool uses_rfc2543_matching(const sip::Message& request) { return !request.top_via().rfc3261_branch(); }

std::string server_key(const sip::Message& request, std::string_view method) {
  const sip::Via& via = request.top_via();
  std::string key;
  key.reserve(128);
  if (!uses_rfc2543_matching(request)) {
    key.append("S|").append(via.branch()).push_back('|');
    append_lower(key, via.host);
    // sent-by without a port means the transport's default (RFC 3261 18.1.1, 19.1.2).
    std::uint16_t port = via.port;
    if (port == 0) port = iequals(via.transport, "TLS") ? 5061 : 5060;
    key.push_back(':');
    key.append(std::to_string(port)).push_back('|');
  } else {
    // RFC 3261 17.2.3, RFC 2543 compatibility. The Request-URI is compared as text:
    // an RFC 2543 client retransmits and ACKs with the bytes it sent first.
    key.append("L|").append(request.request_uri_text()).push_back('|');
    key.append(request.from().tag()).push_back('|');
    key.append(request.call_id()).push_back('|');
    key.append(std::to_string(request.cseq().number)).push_back('|');
    key.append(top_via_text(request)).push_back('|');
  }
  key.append(key_method(request, method));
  return key;
}

Result<std::string> build_ack(std::string_view request_bytes, const sip::Message& response) {
  sip::Message request;
  if (Status parsed = sip::parse_message(request_bytes, sip::Framing::Datagram, request); !parsed)
    return fail("cannot build ACK: " + parsed.error().message);
  const sip::HeaderField* to = response.header(sip::HeaderId::To);
  const sip::HeaderField* from = request.header(sip::HeaderId::From);
  if (to == nullptr || from == nullptr) return fail("cannot build ACK: From or To missing");
  std::string ack;
  ack.reserve(request_bytes.size() / 2 + 64);
  ack.append("ACK ").append(request.request_uri_text()).append(" SIP/2.0\r\n");
  append_field(ack, "Via", top_via_text(request));  // only the top Via: hop by hop
  // 17.1.1.3 does not list Max-Forwards, but 8.1.1 requires it in every request.
  append_field(ack, "Max-Forwards", "70");
  append_field(ack, "From", from->value);
  append_field(ack, "To", to->value);
  append_field(ack, "Call-ID", request.call_id());
  append_field(ack, "CSeq", std::to_string(request.cseq().number) + " ACK");
  for (std::string_view route : request.values(sip::HeaderId::Route)) append_field(ack, "Route", route);
  append_field(ack, "Content-Length", "0");
  ack.append("\r\n");
  return ack;
}

Result<std::string> build_trying(std::string_view request_bytes) {
  sip::Message request;
  if (Status parsed = sip::parse_message(request_bytes, sip::Framing::Datagram, request); !parsed)
    return fail("cannot build 100 Trying: " + parsed.error().message);
  std::string out = "SIP/2.0 100 Trying\r\n";
  // 8.2.6.2: Via (all, in order), From, To, Call-ID, CSeq; 8.2.6.1: Timestamp.
  for (const sip::HeaderField& field : request.headers())
    if (field.id == sip::HeaderId::Via) append_field(out, "Via", field.value);
  for (sip::HeaderId id : {sip::HeaderId::From, sip::HeaderId::To, sip::HeaderId::CallId, sip::HeaderId::CSeq,
                           sip::HeaderId::Timestamp}) {
    if (const sip::HeaderField* field = request.header(id)) append_field(out, sip::header_info(id).name, field->value);
  }
  append_field(out, "Content-Length", "0");
  out.append("\r\n");
  return out;
}

}  // namespace sipbox::txn::detail
