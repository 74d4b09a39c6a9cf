// URIs: sip, sips (RFC 3261 19.1), tel (RFC 3966), and any other absolute URI kept
// as opaque text (RFC 3261 allows them in most places; a proxy answers 416).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sip/params.h"

namespace sipbox::sip {

enum class UriScheme : std::uint8_t { Sip, Sips, Tel, Other };
enum class HostKind : std::uint8_t { None, Name, IPv4, IPv6 };

struct Uri {
  std::string_view text;    // the whole URI as written
  std::string_view scheme;  // as written ("sip", "SIPS", "isbn", ...)
  UriScheme kind = UriScheme::Other;
  std::string_view user;      // escaped, as written; the number for tel URIs
  std::string_view password;  // escaped, as written
  bool has_user = false;
  bool has_password = false;
  std::string_view host;  // as written; IPv6 references keep their brackets
  HostKind host_kind = HostKind::None;
  std::uint16_t port = 0;  // 0 when absent
  Params params;           // ";transport=tcp;lr" (escapes kept)
  std::string_view headers;  // after '?': "Route=%3Csip:x%3E&Subject=hi" (escapes kept)
  std::string_view opaque;   // everything after "scheme:" for other schemes

  bool is_sip() const { return kind == UriScheme::Sip || kind == UriScheme::Sips; }
  // The host without IPv6 brackets.
  std::string_view host_address() const;
  // The value of a URI parameter (transport, maddr, lr, user, ...); empty when absent.
  std::string_view param(std::string_view name) const { return params.get(name); }
};

Result<Uri> parse_uri(std::string_view text);

// RFC 3261 19.1.4 URI comparison (sip/sips), RFC 3966 section 4 for tel; other schemes
// compare as text with a case-insensitive scheme.
bool uri_equivalent(const Uri& a, const Uri& b);

// RFC 3261 25.1 %HH escapes: resolve them (an invalid escape is kept as written).
std::string unescape(std::string_view text);
// Escapes every octet of `text` that may not stand unescaped in the user part of a SIP URI.
std::string escape_user(std::string_view text);

// Validates a host (hostname, IPv4, or bracketed IPv6 reference) and says which it is.
HostKind classify_host(std::string_view host);

}  // namespace sipbox::sip
