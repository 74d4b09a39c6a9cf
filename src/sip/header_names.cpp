#include "sip/header_names.h"

#include <array>

#include "sip/lexer.h"

namespace sipbox::sip {
namespace {

using H = HeaderId;

// Order follows the enum; checked at compile time below.
constexpr std::array<HeaderInfo, static_cast<std::size_t>(H::Count)> kHeaders{{
    {H::Other, "", 0, false, false},
    {H::Accept, "Accept", 0, true, false},
    {H::AcceptContact, "Accept-Contact", 'a', true, false},
    {H::AcceptEncoding, "Accept-Encoding", 0, true, false},
    {H::AcceptLanguage, "Accept-Language", 0, true, false},
    {H::AlertInfo, "Alert-Info", 0, true, false},
    {H::Allow, "Allow", 0, true, false},
    {H::AllowEvents, "Allow-Events", 'u', true, false},
    {H::AuthenticationInfo, "Authentication-Info", 0, false, true},
    {H::Authorization, "Authorization", 0, false, false},
    {H::CallId, "Call-ID", 'i', false, true},
    {H::CallInfo, "Call-Info", 0, true, false},
    {H::Contact, "Contact", 'm', true, false},
    {H::ContentDisposition, "Content-Disposition", 0, false, true},
    {H::ContentEncoding, "Content-Encoding", 'e', true, false},
    {H::ContentLanguage, "Content-Language", 0, true, false},
    {H::ContentLength, "Content-Length", 'l', false, true},
    {H::ContentType, "Content-Type", 'c', false, true},
    {H::CSeq, "CSeq", 0, false, true},
    {H::Date, "Date", 0, false, true},
    {H::ErrorInfo, "Error-Info", 0, true, false},
    {H::Event, "Event", 'o', false, true},
    {H::Expires, "Expires", 0, false, true},
    {H::From, "From", 'f', false, true},
    {H::Identity, "Identity", 'y', false, true},
    {H::IdentityInfo, "Identity-Info", 'n', false, true},
    {H::InReplyTo, "In-Reply-To", 0, true, false},
    {H::MaxForwards, "Max-Forwards", 0, false, true},
    {H::MimeVersion, "MIME-Version", 0, false, true},
    {H::MinExpires, "Min-Expires", 0, false, true},
    {H::MinSE, "Min-SE", 0, false, true},
    {H::Organization, "Organization", 0, false, true},
    {H::PAssertedIdentity, "P-Asserted-Identity", 0, true, false},
    {H::PPreferredIdentity, "P-Preferred-Identity", 0, true, false},
    {H::Path, "Path", 0, true, false},
    {H::Priority, "Priority", 0, false, true},
    {H::Privacy, "Privacy", 0, false, false},
    {H::ProxyAuthenticate, "Proxy-Authenticate", 0, false, false},
    {H::ProxyAuthorization, "Proxy-Authorization", 0, false, false},
    {H::ProxyRequire, "Proxy-Require", 0, true, false},
    {H::RAck, "RAck", 0, false, true},
    {H::Reason, "Reason", 0, true, false},
    {H::RecordRoute, "Record-Route", 0, true, false},
    {H::ReferTo, "Refer-To", 'r', false, true},
    {H::ReferredBy, "Referred-By", 'b', false, true},
    {H::RejectContact, "Reject-Contact", 'j', true, false},
    {H::Replaces, "Replaces", 0, false, true},
    {H::ReplyTo, "Reply-To", 0, false, true},
    {H::RequestDisposition, "Request-Disposition", 'd', true, false},
    {H::Require, "Require", 0, true, false},
    {H::RetryAfter, "Retry-After", 0, false, true},
    {H::Route, "Route", 0, true, false},
    {H::RSeq, "RSeq", 0, false, true},
    {H::Server, "Server", 0, false, true},
    {H::SessionExpires, "Session-Expires", 'x', false, true},
    {H::SipETag, "SIP-ETag", 0, false, true},
    {H::SipIfMatch, "SIP-If-Match", 0, false, true},
    {H::Subject, "Subject", 's', false, true},
    {H::SubscriptionState, "Subscription-State", 0, false, true},
    {H::Supported, "Supported", 'k', true, false},
    {H::Timestamp, "Timestamp", 0, false, true},
    {H::To, "To", 't', false, true},
    {H::Unsupported, "Unsupported", 0, true, false},
    {H::UserAgent, "User-Agent", 0, false, true},
    {H::Via, "Via", 'v', true, false},
    {H::Warning, "Warning", 0, true, false},
    {H::WwwAuthenticate, "WWW-Authenticate", 0, false, false},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < kHeaders.size(); ++i)
    if (static_cast<std::size_t>(kHeaders[i].id) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kHeaders must list the headers in HeaderId order");

// Full names indexed by length and lower-case first letter (at most kSlot names share
// both), and compact forms by letter: a lookup compares against one or two names.
constexpr std::size_t kMaxName = 24;
constexpr std::size_t kSlot = 3;
struct Index {
  std::array<std::array<std::array<H, kSlot>, 26>, kMaxName + 1> by_shape{};
  std::array<H, 26> compact{};
};

constexpr Index build_index() {
  Index index{};
  for (const auto& h : kHeaders) {
    if (h.id == H::Other) continue;
    const auto letter = static_cast<std::size_t>(lexer::to_lower(h.name[0]) - 'a');
    auto& slot = index.by_shape[h.name.size()][letter];
    std::size_t i = 0;
    while (slot[i] != H::Other) ++i;  // out of bounds here fails the constant evaluation
    slot[i] = h.id;
    if (h.compact != 0) index.compact[static_cast<std::size_t>(h.compact - 'a')] = h.id;
  }
  return index;
}

constexpr Index kIndex = build_index();

// Header names are tokens, so OR-ing 0x20 folds case without mapping any other token
// character onto a letter or '-'.
bool same_name(std::string_view canonical, std::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i)
    if ((canonical[i] | 0x20) != (name[i] | 0x20)) return false;
  return true;
}

}  // namespace

const HeaderInfo& header_info(HeaderId id) { return kHeaders[static_cast<std::size_t>(id)]; }

HeaderId lookup_header(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxName) return H::Other;
  const char first = lexer::to_lower(name[0]);
  if (first < 'a' || first > 'z') return H::Other;
  const auto letter = static_cast<std::size_t>(first - 'a');
  if (name.size() == 1) return kIndex.compact[letter];
  for (H id : kIndex.by_shape[name.size()][letter]) {
    if (id == H::Other) break;
    if (same_name(kHeaders[static_cast<std::size_t>(id)].name, name)) return id;
  }
  return H::Other;
}

}  // namespace sipbox::sip
