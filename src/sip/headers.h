// Typed views over header values. Each parse_* function reads one value (one element
// of a comma-separated list) and returns string_views into it; nothing is copied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sip/params.h"
#include "sip/uri.h"

namespace sipbox::sip {

// Via (RFC 3261 20.42, RFC 3581 rport).
struct Via {
  std::string_view protocol;   // "SIP"
  std::string_view version;    // "2.0"
  std::string_view transport;  // "UDP", "TCP", "TLS", "SCTP", "WS", ...
  std::string_view host;       // as written; IPv6 keeps its brackets
  HostKind host_kind = HostKind::None;
  std::uint16_t port = 0;  // 0 when absent
  Params params;
  std::string_view branch_value;  // the branch parameter, found while parsing

  std::string_view branch() const { return branch_value; }
  std::string_view received() const { return params.get("received"); }
  std::string_view maddr() const { return params.get("maddr"); }
  std::string_view ttl() const { return params.get("ttl"); }
  bool has_rport() const { return params.has("rport"); }
  std::string_view rport() const { return params.get("rport"); }  // empty when requested only
  // RFC 3261 17.2.3: the branch starts with the magic cookie; a bare cookie identifies
  // nothing, so RFC 2543 matching applies to it (RFC 4475 3.2.1).
  bool rfc3261_branch() const { return branch().size() > 7 && branch().starts_with("z9hG4bK"); }
};
Result<Via> parse_via(std::string_view value);

// From, To, Contact, Route, Record-Route, Path, Reply-To, ... (RFC 3261 20.10).
struct NameAddr {
  std::string_view display_name;  // as written: a quoted string keeps its quotes
  bool bracketed = false;         // the URI was written in <>
  Uri uri;
  Params params;  // header parameters after the URI (tag, expires, q, ...)
  std::string_view tag_value;  // the tag parameter, found while parsing

  // The display name without quotes and escapes.
  std::string display_name_text() const;
  std::string_view tag() const { return tag_value; }
};
enum class AddrForm : std::uint8_t { NameAddrOrAddrSpec, NameAddrOnly };
Result<NameAddr> parse_name_addr(std::string_view value, AddrForm form = AddrForm::NameAddrOrAddrSpec);

// Contact parameters (RFC 3261 20.10, RFC 5626): helpers over NameAddr::params.
// expires= as seconds; nullopt when absent or not a number that fits 32 bits.
std::optional<std::uint32_t> contact_expires(const NameAddr& contact);
// q= as thousandths (0..1000); 1000 when absent.
std::uint16_t contact_q(const NameAddr& contact);

struct CSeq {
  std::uint32_t number = 0;
  std::string_view method;
};
Result<CSeq> parse_cseq(std::string_view value);

// A decimal header value (Max-Forwards, Expires, Min-Expires, Content-Length, ...)
// that must not exceed `max`.
Result<std::uint32_t> parse_number(std::string_view value, std::uint32_t max);

// WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization
// (RFC 3261 20.7 ff., RFC 7616): a scheme and comma-separated auth-params.
struct AuthHeader {
  std::string_view scheme;  // "Digest", or any other token
  Params params;            // separator ','
  // The value of `name` without quotes; empty when absent.
  std::string_view param(std::string_view name) const { return params.get(name); }
};
Result<AuthHeader> parse_auth(std::string_view value);

// Content-Type (RFC 3261 20.15).
struct MediaType {
  std::string_view type;
  std::string_view subtype;
  Params params;
  bool is(std::string_view t, std::string_view s) const;
};
Result<MediaType> parse_media_type(std::string_view value);

// Event (RFC 6665 8.2.1): a package, optional sub-packages, params (id).
struct EventHeader {
  std::string_view package;
  Params params;
  std::string_view id() const { return params.get("id"); }
};
Result<EventHeader> parse_event(std::string_view value);

// Subscription-State (RFC 6665 8.2.3).
struct SubscriptionState {
  std::string_view state;  // active, pending, terminated, or an extension
  Params params;           // expires, reason, retry-after
};
Result<SubscriptionState> parse_subscription_state(std::string_view value);

// One element of Require, Supported, Unsupported, Allow, Proxy-Require: a token.
Status check_token(std::string_view value);

// Date (RFC 3261 20.17): an RFC 1123 date in GMT; seconds since the epoch.
Result<std::int64_t> parse_date(std::string_view value);

}  // namespace sipbox::sip
