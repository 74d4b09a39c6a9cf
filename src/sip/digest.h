// HTTP Digest computations for SIP (RFC 3261 22.4, RFC 7616, RFC 8760): the stored
// HA1 of an account and the expected response to a challenge.
#pragma once

#include <memory>
#include <string>
#include <string_view>

// OpenSSL's EVP_MD, declared here so that the users of sip.h need no OpenSSL headers.
struct evp_md_st;

namespace sipbox::sip {

enum class DigestAlgorithm { Md5, Sha256 };

// "MD5" / "SHA-256" (case-insensitive; absent means MD5); false when unknown.
bool digest_algorithm_from_name(std::string_view name, DigestAlgorithm& out);

// Computes HA1 values and responses with the digests fetched once: OpenSSL 3 otherwise
// looks the algorithm up in its provider tables on every hash, which showed in profiles
// of the REGISTER path. Immutable after construction, so one instance may be shared by
// threads (each call uses its own digest context).
class DigestHasher {
 public:
  // Throws std::runtime_error when OpenSSL has no MD5 or SHA-256 (a broken or FIPS-only
  // installation): the server cannot authenticate anyone without them.
  DigestHasher();

  // Lower-case hex of H(user ":" realm ":" password).
  std::string ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                  std::string_view password) const;

  // The response a client must send for qop=auth (RFC 7616 3.4.1), or without qop
  // (RFC 2617 compatibility) when `qop` is empty. Empty only if OpenSSL fails to
  // allocate, and an empty string never equals a client's response.
  std::string response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce, std::string_view nc,
                       std::string_view cnonce, std::string_view qop, std::string_view method,
                       std::string_view digest_uri) const;

 private:
  struct MdFree {
    void operator()(evp_md_st* md) const;
  };
  const evp_md_st* md(DigestAlgorithm algorithm) const;

  std::unique_ptr<evp_md_st, MdFree> md5_;
  std::unique_ptr<evp_md_st, MdFree> sha256_;
};

// The same computations without a DigestHasher (OpenSSL looks the digest up per call):
// for the command-line tool and tests, where the cost does not matter.
std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password);
std::string digest_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop, std::string_view method,
                            std::string_view digest_uri);

}  // namespace sipbox::sip
