// What the core does to a message before the transaction layer sees it: RFC 3581 Via
// parameters, NAT'ed Contacts, and a 400 for what the parser refused.
#include <boost/asio/ip/address.hpp>

#include "core/worker.h"

namespace sipbox::core {
namespace {

bool is_private_ipv4(std::string_view host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address_v4(std::string(host), ec);
  if (ec) return false;
  const auto b = address.to_bytes();
  return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
         (b[0] == 100 && (b[1] & 0xc0) == 64);  // RFC 6598 shared address space
}

// Whether `methods` of this request (or of the request a response answers) carry a
// Contact that later requests are sent to.
bool contact_matters(std::string_view method) {
  return method == "INVITE" || method == "SUBSCRIBE" || method == "REFER" || method == "NOTIFY" || method == "UPDATE";
}

}  // namespace

std::string host_text(std::string_view address) {
  std::string out;
  const bool v6 = address.find(':') != std::string_view::npos;
  out.reserve(address.size() + 2);
  if (v6) out += '[';
  out += address;
  if (v6) out += ']';
  return out;
}

void add_received(sip::Message& request, const transport::Source& source) {
  if (request.vias().empty()) return;
  const sip::Via& via = request.top_via();
  const std::string address = transport::address_text(source.remote.address);
  std::string_view host = via.host;
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const bool received = host != address;
  const bool rport = via.has_rport() && via.rport().empty();
  if (!received && !rport) return;
  // Rebuild the value: everything up to the parameters, the parameters without empty
  // rport / old received, then ours.
  std::string value;
  value.reserve(128);
  value.append(via.protocol).append("/").append(via.version).append("/").append(via.transport);
  value.append(" ").append(via.host);
  if (via.port != 0) value.append(":").append(std::to_string(via.port));
  for (const sip::Param& p : via.params) {
    if (p.name == "received" || (p.name == "rport" && rport)) continue;
    value.append(";").append(p.name);
    if (p.has_value) value.append("=").append(p.value);
  }
  if (received) value.append(";received=").append(address);
  if (rport) value.append(";rport=").append(std::to_string(source.remote.port));
  sip::replace_first_value(request, sip::HeaderId::Via, value);
}

void fix_nated_contact(sip::Message& message, const transport::Source& source) {
  if (message.contacts().size() != 1 || !contact_matters(message.cseq().method)) return;
  if (message.is_response() && message.status_code() >= 300) return;
  const sip::NameAddr& contact = message.contacts().front();
  if (!contact.uri.is_sip() || !is_private_ipv4(contact.uri.host)) return;
  const std::string address = transport::address_text(source.remote.address);
  if (contact.uri.host == address && (contact.uri.port == 0 ? 5060 : contact.uri.port) == source.remote.port) return;
  // <scheme:user@SOURCE:PORT;params>, display name and header parameters kept.
  const sip::Uri& uri = contact.uri;
  std::string rewritten(uri.scheme);
  rewritten += ":";
  if (uri.has_user) {
    rewritten += uri.user;
    if (uri.has_password) {
      rewritten += ":";
      rewritten += uri.password;
    }
    rewritten += "@";
  }
  rewritten += host_text(transport::address_text(source.remote.address));
  rewritten += ':';
  rewritten += std::to_string(source.remote.port);
  rewritten += uri.params.text();
  if (!uri.headers.empty()) {
    rewritten += "?";
    rewritten += uri.headers;
  }
  std::string value;
  if (!contact.display_name.empty()) {
    value += contact.display_name;
    value += " ";
  }
  value += "<" + rewritten + ">";
  value += contact.params.text();
  sip::replace_first_value(message, sip::HeaderId::Contact, value);
}

std::string bad_request_for(std::string_view bytes, std::string_view reason) {
  const std::size_t line_end = bytes.find("\r\n");
  if (line_end == std::string_view::npos) return {};
  const std::string_view request_line = bytes.substr(0, line_end);
  if (!request_line.ends_with(" SIP/2.0") || request_line.starts_with("SIP/") || request_line.starts_with("ACK "))
    return {};
  std::string via, from, to, call_id, cseq;
  std::size_t at = line_end + 2;
  while (at < bytes.size()) {
    std::size_t end = bytes.find("\r\n", at);
    if (end == std::string_view::npos || end == at) break;
    const std::string_view line = bytes.substr(at, end - at);
    at = end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    const std::string lower = sip::ascii_lower(name);
    std::string* slot = lower == "via" || lower == "v"       ? &via
                        : lower == "from" || lower == "f"    ? &from
                        : lower == "to" || lower == "t"      ? &to
                        : lower == "call-id" || lower == "i" ? &call_id
                        : lower == "cseq"                    ? &cseq
                                                             : nullptr;
    if (slot && slot->empty()) *slot = std::string(value);
  }
  if (via.empty() || from.empty() || to.empty() || call_id.empty() || cseq.empty()) return {};
  for (const std::string* field : {&via, &from, &to, &call_id, &cseq})
    for (char c : *field)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return {};
  std::string phrase = "Bad Request (";
  for (char c : reason)
    if (c >= 0x20 && c < 0x7f) phrase += c;
  phrase += ")";
  std::string out = "SIP/2.0 400 " + phrase + "\r\nVia: " + via + "\r\nFrom: " + from + "\r\nTo: " + to;
  if (to.find(";tag=") == std::string::npos) out += ";tag=400";
  out += "\r\nCall-ID: " + call_id + "\r\nCSeq: " + cseq + "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

}  // namespace sipbox::core
