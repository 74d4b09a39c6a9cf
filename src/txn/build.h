// Internal to src/txn: transaction keys (17.1.3, 17.2.3) and the two messages the
// layer writes itself: the ACK for a non-2xx final response (17.1.1.3) and the
// 100 Trying of an INVITE server transaction (17.2.1, 8.2.6).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "sip/sip.h"

namespace sipbox::txn::detail {

// 17.1.3: a response matches the client transaction whose request had the same top
// Via branch and CSeq method (the method tells an INVITE from the CANCEL for it).
std::string client_key(std::string_view branch, std::string_view method);
std::string client_key(const sip::Message& message);

// 17.2.3: a request matches a server transaction by top Via branch, sent-by and
// method, an ACK counting as INVITE. `method` overrides the request's (CANCEL lookups,
// 9.2). Without an RFC 3261 branch (RFC 2543 peers, or the bare magic cookie of
// RFC 4475 3.2.1) the key is Request-URI, From tag, Call-ID, CSeq number and the top
// Via; the To tag is compared separately because an ACK carries the response's tag.
std::string server_key(const sip::Message& request, std::string_view method = {});
bool uses_rfc2543_matching(const sip::Message& request);

// 17.1.1.3: ACK with the original request's Request-URI, Call-ID, From, top Via,
// CSeq number and Route headers, and the To of the response (with its tag).
Result<std::string> build_ack(std::string_view request_bytes, const sip::Message& response);

// 8.2.6: a 100 Trying copying Via, From, To, Call-ID, CSeq and Timestamp.
Result<std::string> build_trying(std::string_view request_bytes);

}  // namespace sipbox::txn::detail
