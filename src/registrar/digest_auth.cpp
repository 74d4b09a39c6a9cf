#include "registrar/digest_auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <iterator>
#include <new>
#include <optional>
#include <stdexcept>

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

// `text` equals `lower` (lower-case letters) but for the case of its letters.
bool equals_lowered(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() &&
         std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) { return (a | 0x20) == b; });
}

bool is_digest(std::string_view scheme) { return equals_lowered(scheme, "digest"); }

// The parameters verify() reads, found in one pass over the header (the first of each
// name counts, as with AuthHeader::param).
struct Credentials {
  std::string_view realm, username, nonce, uri, response, qop, nc, cnonce, algorithm;
};

Credentials read_credentials(const sip::AuthHeader& header) {
  Credentials c;
  struct Field {
    std::string_view name;
    std::string_view Credentials::*slot;
  };
  static constexpr Field kFields[] = {
      {"realm", &Credentials::realm}, {"username", &Credentials::username}, {"nonce", &Credentials::nonce},
      {"uri", &Credentials::uri},     {"response", &Credentials::response}, {"qop", &Credentials::qop},
      {"nc", &Credentials::nc},       {"cnonce", &Credentials::cnonce},     {"algorithm", &Credentials::algorithm}};
  bool seen[std::size(kFields)] = {};
  for (const sip::Param& p : header.params) {
    for (std::size_t i = 0; i < std::size(kFields); ++i) {
      if (seen[i] || !equals_lowered(p.name, kFields[i].name)) continue;
      seen[i] = true;
      c.*kFields[i].slot = sip::unquote(p.value);
      break;
    }
  }
  return c;
}

std::string_view algorithm_name(sip::DigestAlgorithm a) { return a == sip::DigestAlgorithm::Md5 ? "MD5" : "SHA-256"; }

struct MacFree {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};

constexpr std::size_t kMacBytes = 16;  // HMAC-SHA256 truncated: 128 bits resist forgery
constexpr std::uint64_t kCountMask = 0xffff'ffff;
constexpr std::uint32_t kUsedWithoutQop = 0xffff'ffff;  // higher than any nc: no use after it

std::int64_t seconds_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

template <class Number>
void append_number(std::string& out, Number value, int base) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value, base).ptr;
  out.append(digits, end);
}

// The fields of a nonce's body, "<issue time>.<epoch>.<index>".
struct NonceBody {
  std::int64_t issued = 0;
  std::uint64_t epoch = 0;
  std::uint64_t index = 0;
};

bool parse_body(std::string_view body, NonceBody& out) {
  const auto first = body.find('.');
  const auto second = first == std::string_view::npos ? first : body.find('.', first + 1);
  if (second == std::string_view::npos) return false;
  const std::string_view time = body.substr(0, first);
  auto [ptr, ec] = std::from_chars(time.data(), time.data() + time.size(), out.issued);
  return ec == std::errc() && ptr == time.data() + time.size() &&
         parse_hex(body.substr(first + 1, second - first - 1), out.epoch) &&
         parse_hex(body.substr(second + 1), out.index);
}

}  // namespace

// ---- NonceManager ---------------------------------------------------------------------

void NonceManager::MacCtxFree::operator()(evp_mac_ctx_st* ctx) const { EVP_MAC_CTX_free(ctx); }
void NonceManager::SlotsFree::operator()(std::uint64_t* slots) const { std::free(slots); }

NonceManager::NonceManager(std::string secret, std::chrono::seconds lifetime, std::size_t window)
    : lifetime_(lifetime),
      window_(std::max<std::size_t>(window, 1)),
      // calloc: the kernel's zero pages, so the ring costs memory only as nonces use it.
      slots_(static_cast<std::uint64_t*>(std::calloc(window_, sizeof(std::uint64_t)))) {
  if (!slots_) throw std::bad_alloc();
  const std::unique_ptr<EVP_MAC, MacFree> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (hmac) mac_template_.reset(EVP_MAC_CTX_new(hmac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  const bool keyed =
      mac_template_ && EVP_MAC_init(mac_template_.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                                    secret.size(), params) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());  // the template keeps its own copy
  if (!keyed) throw std::runtime_error("OpenSSL cannot set up HMAC-SHA256");
  unsigned char random[sizeof epoch_];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("RAND_bytes failed");
  for (unsigned char byte : random) epoch_ = epoch_ << 8 | byte;
}

NonceManager::~NonceManager() = default;

std::string NonceManager::mac(std::string_view text) const {
  // Duplicating the keyed template copies the prepared HMAC state: no algorithm fetch
  // and no key schedule per nonce (OpenSSL 3's one-shot HMAC() does both).
  const std::unique_ptr<evp_mac_ctx_st, MacCtxFree> ctx(EVP_MAC_CTX_dup(mac_template_.get()));
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t size = 0;
  if (!ctx || EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &size, sizeof out) != 1)
    return {};
  return to_hex(out, std::min(size, kMacBytes));
}

std::string NonceManager::issue(Clock::time_point now) {
  const std::uint64_t index = next_index_.fetch_add(1, std::memory_order_relaxed);
  // Claim the slot for this nonce (nothing used yet). A thread that drew index - window
  // but was preempted before its own store must not take the slot back from this newer
  // nonce, hence the store only over an older generation.
  std::atomic_ref<std::uint64_t> slot(slots_[index % window_]);
  const auto generation = static_cast<std::uint32_t>(index / window_);
  std::uint64_t seen = slot.load(std::memory_order_relaxed);
  while (static_cast<std::int32_t>(generation - static_cast<std::uint32_t>(seen >> 32)) > 0 &&
         !slot.compare_exchange_weak(seen, std::uint64_t{generation} << 32, std::memory_order_release,
                                     std::memory_order_relaxed)) {
  }

  std::string nonce;
  nonce.reserve(20 + 1 + 16 + 1 + 16 + 1 + 2 * kMacBytes);  // one allocation
  append_number(nonce, seconds_of(now), 10);
  nonce.push_back('.');
  append_number(nonce, epoch_, 16);
  nonce.push_back('.');
  append_number(nonce, index, 16);
  const std::string proof = mac(nonce);
  nonce.push_back('.');
  nonce.append(proof);
  return nonce;
}

NonceManager::Verdict NonceManager::check(std::string_view nonce, std::string_view nc, Clock::time_point now) {
  const auto last_dot = nonce.rfind('.');
  if (last_dot == std::string_view::npos) return Verdict::Invalid;
  const std::string_view body = nonce.substr(0, last_dot);
  const std::string expected = mac(body);
  if (expected.empty() || !equal_constant_time(expected, nonce.substr(last_dot + 1))) return Verdict::Invalid;
  NonceBody fields;
  if (!parse_body(body, fields)) return Verdict::Invalid;
  const auto age = seconds_of(now) - fields.issued;
  if (age < -5) return Verdict::Invalid;  // from the future: not ours
  if (age > lifetime_.count()) return Verdict::Stale;
  // Ours by the MAC, but from another instance with the same secret or from before a
  // restart: its counts are unknown here, so the client is asked to take a fresh nonce.
  if (fields.epoch != epoch_) return Verdict::Stale;
  const std::uint64_t next = next_index_.load(std::memory_order_relaxed);
  if (fields.index >= next) return Verdict::Invalid;
  if (next - fields.index > window_) return Verdict::Stale;  // its slot belongs to a newer nonce

  // RFC 7616 3.4: nc counts requests made with this nonce; each must be higher than the
  // last. Without qop there is no nc, so the nonce is good for one request.
  std::uint64_t count = 0;
  if (!nc.empty() && (!parse_hex(nc, count) || count == 0 || count > kCountMask)) return Verdict::Invalid;
  const std::uint32_t wanted = nc.empty() ? kUsedWithoutQop : static_cast<std::uint32_t>(count);
  std::atomic_ref<std::uint64_t> slot(slots_[fields.index % window_]);
  const std::uint64_t tag = std::uint64_t{static_cast<std::uint32_t>(fields.index / window_)} << 32;
  std::uint64_t seen = slot.load(std::memory_order_acquire);
  for (;;) {
    // A newer nonce issued since `next` was read may have taken the slot.
    if ((seen & ~kCountMask) != tag) return Verdict::Stale;
    const auto used = static_cast<std::uint32_t>(seen & kCountMask);
    if (nc.empty() ? used != 0 : wanted <= used) return Verdict::Replayed;
    if (slot.compare_exchange_weak(seen, tag | wanted, std::memory_order_acq_rel, std::memory_order_acquire))
      return Verdict::Valid;
  }
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
  std::optional<Credentials> found;
  for (const sip::AuthEntry& e : request.auth()) {
    if (e.header != header || !is_digest(e.value.scheme)) continue;
    if (Credentials c = read_credentials(e.value); c.realm == realm) {
      found = c;
      break;
    }
  }
  if (!found) return {Outcome::NoCredentials, {}, "no Digest credentials for realm"};
  const Credentials& c = *found;
  Verdict v;
  v.user = std::string(c.username);
  const std::string_view nonce = c.nonce, uri = c.uri, response = c.response, qop = c.qop, nc = c.nc, cnonce = c.cnonce;
  if (v.user.empty() || nonce.empty() || uri.empty() || response.empty())
    return {Outcome::Malformed, v.user, "credentials lack username, nonce, uri or response"};
  sip::DigestAlgorithm algorithm{};
  if (!sip::digest_algorithm_from_name(c.algorithm, algorithm) ||
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
  const std::string expected = hasher_.response(algorithm, *stored, nonce, nc, cnonce, qop, request.method(), uri);
  if (!equal_constant_time(expected, response)) return {Outcome::Failed, v.user, "wrong password"};
  switch (nonces_.check(nonce, qop.empty() ? std::string_view{} : nc, now)) {
    case NonceManager::Verdict::Valid:
      return {Outcome::Authenticated, v.user, {}};
    case NonceManager::Verdict::Stale:
      return {Outcome::Stale, v.user, "nonce expired"};
    case NonceManager::Verdict::Replayed:
      return {Outcome::Failed, v.user, "nonce count replayed"};
    case NonceManager::Verdict::Invalid:
      break;
  }
  return {Outcome::Failed, v.user, "nonce not issued by this server"};
}

}  // namespace sipbox::registrar
