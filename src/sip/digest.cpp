#include "sip/digest.h"

#include <openssl/evp.h>

#include "base/hex.h"
#include "sip/lexer.h"

namespace sipbox::sip {
namespace {

std::string hex_hash(DigestAlgorithm algorithm, std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, algorithm == DigestAlgorithm::Md5 ? EVP_md5() : EVP_sha256(),
             nullptr);
  return to_hex(digest, size);
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out.push_back(':');
    out.append(p);
  }
  return out;
}

}  // namespace

bool digest_algorithm_from_name(std::string_view name, DigestAlgorithm& out) {
  if (name.empty() || lexer::iequals(name, "MD5")) {
    out = DigestAlgorithm::Md5;
    return true;
  }
  if (lexer::iequals(name, "SHA-256")) {
    out = DigestAlgorithm::Sha256;
    return true;
  }
  return false;
}

std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password) {
  return hex_hash(algorithm, join({user, realm, password}));
}

std::string digest_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop,
                            std::string_view method, std::string_view digest_uri) {
  const std::string ha2 = hex_hash(algorithm, join({method, digest_uri}));
  if (qop.empty()) return hex_hash(algorithm, join({ha1, nonce, ha2}));
  return hex_hash(algorithm, join({ha1, nonce, nc, cnonce, qop, ha2}));
}

}  // namespace sipbox::sip
