#include "sip/digest.h"

#include <openssl/evp.h>

#include <initializer_list>
#include <stdexcept>

#include "base/hex.h"
#include "sip/lexer.h"

namespace sipbox::sip {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Lower-case hex of H(parts[0] ":" parts[1] ":" ...), fed part by part instead of joined
// into a string first. `ctx` is reused between the hashes of one response. Empty only
// when OpenSSL fails (allocation).
std::string hash_joined(EVP_MD_CTX* ctx, const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1) return {};
  bool first = true;
  for (std::string_view part : parts) {
    if (!first && EVP_DigestUpdate(ctx, ":", 1) != 1) return {};
    if (EVP_DigestUpdate(ctx, part.data(), part.size()) != 1) return {};
    first = false;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &size) != 1) return {};
  return to_hex(digest, size);
}

std::string ha1_with(const EVP_MD* md, std::string_view user, std::string_view realm, std::string_view password) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx ? hash_joined(ctx.get(), md, {user, realm, password}) : std::string();
}

std::string response_with(const EVP_MD* md, std::string_view ha1, std::string_view nonce, std::string_view nc,
                          std::string_view cnonce, std::string_view qop, std::string_view method,
                          std::string_view digest_uri) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return {};
  const std::string ha2 = hash_joined(ctx.get(), md, {method, digest_uri});
  if (ha2.empty()) return {};
  if (qop.empty()) return hash_joined(ctx.get(), md, {ha1, nonce, ha2});
  return hash_joined(ctx.get(), md, {ha1, nonce, nc, cnonce, qop, ha2});
}

const EVP_MD* implicit_md(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Md5 ? EVP_md5() : EVP_sha256();
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

// ---- DigestHasher -----------------------------------------------------------------------

void DigestHasher::MdFree::operator()(evp_md_st* md) const { EVP_MD_free(md); }

DigestHasher::DigestHasher()
    : md5_(EVP_MD_fetch(nullptr, "MD5", nullptr)), sha256_(EVP_MD_fetch(nullptr, "SHA2-256", nullptr)) {
  if (!md5_ || !sha256_) throw std::runtime_error("OpenSSL provides no MD5 or SHA-256 digest");
}

const EVP_MD* DigestHasher::md(DigestAlgorithm algorithm) const {
  return algorithm == DigestAlgorithm::Md5 ? md5_.get() : sha256_.get();
}

std::string DigestHasher::ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                              std::string_view password) const {
  return ha1_with(md(algorithm), user, realm, password);
}

std::string DigestHasher::response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                                   std::string_view nc, std::string_view cnonce, std::string_view qop,
                                   std::string_view method, std::string_view digest_uri) const {
  return response_with(md(algorithm), ha1, nonce, nc, cnonce, qop, method, digest_uri);
}

// ---- without a hasher ---------------------------------------------------------------------

std::string digest_ha1(DigestAlgorithm algorithm, std::string_view user, std::string_view realm,
                       std::string_view password) {
  return ha1_with(implicit_md(algorithm), user, realm, password);
}

std::string digest_response(DigestAlgorithm algorithm, std::string_view ha1, std::string_view nonce,
                            std::string_view nc, std::string_view cnonce, std::string_view qop, std::string_view method,
                            std::string_view digest_uri) {
  return response_with(implicit_md(algorithm), ha1, nonce, nc, cnonce, qop, method, digest_uri);
}

}  // namespace sipbox::sip
