// Header names known to the server: one table of full names and compact forms
// (RFC 3261 7.3.3 and the IANA SIP parameters registry), looked up case-insensitively.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipbox::sip {

enum class HeaderId : std::uint8_t {
  Other,  // not in the table: compared by name
  Accept,
  AcceptContact,
  AcceptEncoding,
  AcceptLanguage,
  AlertInfo,
  Allow,
  AllowEvents,
  AuthenticationInfo,
  Authorization,
  CallId,
  CallInfo,
  Contact,
  ContentDisposition,
  ContentEncoding,
  ContentLanguage,
  ContentLength,
  ContentType,
  CSeq,
  Date,
  ErrorInfo,
  Event,
  Expires,
  From,
  Identity,
  IdentityInfo,
  InReplyTo,
  MaxForwards,
  MimeVersion,
  MinExpires,
  MinSE,
  Organization,
  PAssertedIdentity,
  PPreferredIdentity,
  Path,
  Priority,
  Privacy,
  ProxyAuthenticate,
  ProxyAuthorization,
  ProxyRequire,
  RAck,
  Reason,
  RecordRoute,
  ReferTo,
  ReferredBy,
  RejectContact,
  Replaces,
  ReplyTo,
  RequestDisposition,
  Require,
  RetryAfter,
  Route,
  RSeq,
  Server,
  SessionExpires,
  SipETag,
  SipIfMatch,
  Subject,
  SubscriptionState,
  Supported,
  Timestamp,
  To,
  Unsupported,
  UserAgent,
  Via,
  Warning,
  WwwAuthenticate,
  Count
};

struct HeaderInfo {
  HeaderId id;
  std::string_view name;  // canonical spelling, used when a message is rebuilt
  char compact;           // compact form, or 0
  bool is_list;           // comma-separated values may share one field (RFC 3261 7.3.1)
  bool single;            // at most one field per message
};

// The table entry for `id` (Other gives an entry with an empty name).
const HeaderInfo& header_info(HeaderId id);

// Maps a received name ("v", "VIA", "Call-ID", "i") to its id; Other when unknown.
HeaderId lookup_header(std::string_view name) noexcept;

}  // namespace sipbox::sip
