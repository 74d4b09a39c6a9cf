#include "registrar/digest_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

#include "base/hex.h"

namespace sipbox::registrar {
namespace {

bool parse_hex(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 16) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_digest(std::string_view scheme) {
  constexpr std::string_view kDigest = "digest";
  return scheme.size() == kDigest.size() &&
         std::equal(scheme.begin(), scheme.end(), kDigest.begin(), [](char a, char b) { return (a | 0x20) == b; });
}

std::string_view algorithm_name(sip::DigestAlgorithm a) { return a == sip::DigestAlgorithm::Md5 ? "MD5" : "SHA-256"; }

}  // namespace

// ---- NonceManager ---------------------------------------------------------------------

NonceManager::NonceManager(std::string secret, std::chrono::seconds lifetime)
    : secret_(std::move(secret)), lifetime_(lifetime) {}

std::string NonceManager::mac(std::string_view text) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), digest, &size);
  return to_hex(digest, std::min<unsigned int>(size, 16));
}

std::string NonceManager::issue(Clock::time_point now) {
  unsigned char random[8];
  RAND_bytes(random, sizeof random);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string body = std::to_string(seconds) + "." + to_hex(random, sizeof random);
  return body + "." + mac(body);
}

NonceManager::Verdict NonceManager::check(std::string_view nonce, std::string_view nc, Clock::time_point now) {
  const auto last_dot = nonce.rfind('.');
  const auto first_dot = nonce.find('.');
  if (last_dot == std::string_view::npos || first_dot == last_dot) return Verdict::Invalid;
  const std::string_view body = nonce.substr(0, last_dot);
  if (!equal_constant_time(mac(body), nonce.substr(last_dot + 1))) return Verdict::Invalid;
  std::int64_t issued = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + first_dot, issued);
  if (ec != std::errc() || ptr != body.data() + first_dot) return Verdict::Invalid;
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - issued;
  if (age < -5) return Verdict::Invalid;  // from the future: not ours
  if (age > lifetime_.count()) return Verdict::Stale;

  // RFC 7616 3.4: nc counts requests made with this nonce; each must be higher than the
  // last. Without qop there is no nc, so the nonce is good for one request.
  std::uint64_t count = 0;
  if (!nc.empty() && (!parse_hex(nc, count) || count == 0)) return Verdict::Invalid;
  std::lock_guard lock(mutex_);
  prune(now);
  auto [it, inserted] = highest_nc_.try_emplace(std::string(nonce), count);
  if (inserted) return Verdict::Valid;
  if (nc.empty() || count <= it->second) return Verdict::Replayed;
  it->second = count;
  return Verdict::Valid;
}

// Entries older than the lifetime are stale anyway; dropping them bounds the map.
void NonceManager::prune(Clock::time_point now) {
  if (now - last_prune_ < lifetime_) return;
  last_prune_ = now;
  const auto cutoff = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - lifetime_.count();
  std::erase_if(highest_nc_, [cutoff](const auto& entry) {
    std::int64_t issued = 0;
    const std::string& n = entry.first;
    std::from_chars(n.data(), n.data() + n.find('.'), issued);
    return issued < cutoff;
  });
}

std::size_t NonceManager::tracked() const {
  std::lock_guard lock(mutex_);
  return highest_nc_.size();
}

// ---- DigestAuthenticator ------------------------------------------------------------

DigestAuthenticator::DigestAuthenticator(NonceManager& nonces, std::vector<sip::DigestAlgorithm> algorithms)
    : nonces_(nonces), algorithms_(std::move(algorithms)) {
  if (algorithms_.empty()) algorithms_ = {sip::DigestAlgorithm::Md5};
}

std::vector<std::string> DigestAuthenticator::challenges(std::string_view realm, bool stale, Clock::time_point now) {
  std::vector<std::string> out;
  for (sip::DigestAlgorithm a : algorithms_) {
    std::string value = "Digest realm=\"" + std::string(realm) + "\", nonce=\"" + nonces_.issue(now) +
                        "\", algorithm=" + std::string(algorithm_name(a)) + ", qop=\"auth\"";
    if (stale) value += ", stale=true";
    out.push_back(std::move(value));
  }
  return out;
}

DigestAuthenticator::Verdict DigestAuthenticator::verify(const sip::Message& request, sip::HeaderId header,
                                                         std::string_view realm, const Ha1Lookup& ha1,
                                                         Clock::time_point now) {
  const sip::AuthHeader* credentials = nullptr;
  for (const sip::AuthEntry& e : request.auth()) {
    if (e.header == header && is_digest(e.value.scheme) && e.value.param("realm") == realm) {
      credentials = &e.value;
      break;
    }
  }
  if (credentials == nullptr) return {Outcome::NoCredentials, {}, "no Digest credentials for realm"};
  Verdict v;
  v.user = std::string(credentials->param("username"));
  const std::string_view nonce = credentials->param("nonce");
  const std::string_view uri = credentials->param("uri");
  const std::string_view response = credentials->param("response");
  const std::string_view qop = credentials->param("qop");
  const std::string_view nc = credentials->param("nc");
  const std::string_view cnonce = credentials->param("cnonce");
  if (v.user.empty() || nonce.empty() || uri.empty() || response.empty())
    return {Outcome::Malformed, v.user, "credentials lack username, nonce, uri or response"};
  sip::DigestAlgorithm algorithm{};
  if (!sip::digest_algorithm_from_name(credentials->param("algorithm"), algorithm) ||
      std::find(algorithms_.begin(), algorithms_.end(), algorithm) == algorithms_.end())
    return {Outcome::Failed, v.user, "algorithm not offered"};
  if (!qop.empty() && (qop != "auth" || nc.empty() || cnonce.empty()))
    return {Outcome::Malformed, v.user, "qop=auth needs nc and cnonce"};
  // RFC 7616 3.4.6 says the digest-uri names the Request-URI, but SIPp and UAs behind
  // outbound proxies put the next hop there, and Kamailio and Asterisk accept that: the
  // response covers the uri as sent, and the nonce count refuses a replay anyway. So the
  // uri must be a URI, not this one.
  if (!sip::parse_uri(uri)) return {Outcome::Malformed, v.user, "uri parameter is not a URI"};

  const auto stored = ha1(v.user, realm, algorithm);
  if (!stored) return {Outcome::Failed, v.user, "unknown user"};
  const std::string expected =
      sip::digest_response(algorithm, *stored, nonce, nc, cnonce, qop, request.method(), uri);
  if (!equal_constant_time(expected, response)) return {Outcome::Failed, v.user, "wrong password"};
  switch (nonces_.check(nonce, qop.empty() ? std::string_view{} : nc, now)) {
    case NonceManager::Verdict::Valid: return {Outcome::Authenticated, v.user, {}};
    case NonceManager::Verdict::Stale: return {Outcome::Stale, v.user, "nonce expired"};
    case NonceManager::Verdict::Replayed: return {Outcome::Failed, v.user, "nonce count replayed"};
    case NonceManager::Verdict::Invalid: break;
  }
  return {Outcome::Failed, v.user, "nonce not issued by this server"};
}

}  // namespace sipbox::registrar
