// HTTP Digest computations for SIP (RFC 3261 22.4, RFC 7616, RFC 8760): the stored
// HA1 of an account and the expected response to a challenge.
#pragma once

#include <string>
#include <string_view>

namespace sipbox::sip {

enum class DigestAlgorithm { Md5, Sha256 };

// "MD5" / "SHA-256" (case-insensitive; absent means MD5); false when unknown.
bool digest_algorithm_from_name(std::string_view name, DigestAlgorithm& out);

// Lower-case hex of H(user ":" realm ":" password).
std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password);

// The response a client must send for qop=auth (RFC 7616 3.4.1), or without qop
// (RFC 2617 compatibility) when `qop` is empty.
std::string digest_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop,
                            std::string_view method, std::string_view digest_uri);

}  // namespace sipbox::sip
