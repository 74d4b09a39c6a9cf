// Digest authentication of SIP requests (RFC 3261 22, RFC 7616, RFC 8760): challenges
// with nonces that expire (stale=true) and cannot be replayed (nc tracking), and
// verification of Authorization / Proxy-Authorization against stored HA1 values.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sip/sip.h"

// OpenSSL's EVP_MAC_CTX, declared here so that the users of this header need no OpenSSL
// headers.
struct evp_mac_ctx_st;

namespace sipbox::registrar {

using Clock = std::chrono::system_clock;

// Issues and checks nonces; shared by the SIP workers, without a lock.
//
// A nonce is "<issue time>.<epoch>.<index>.<MAC>": the epoch is chosen at random per
// instance (so two instances, or one before and after a restart, never issue the same
// text even with the same secret), the index counts the nonces this instance issued, and
// the MAC (HMAC-SHA256 of the rest, truncated to 128 bits) proves both. Age and origin are
// checked without state; to refuse replays (RFC 7616 3.4) the highest nc used with each
// of the last `window` nonces is kept in a ring slot indexed by index % window. A nonce
// older than that (its slot reused by a newer one) is answered Stale, as Kamailio does
// when its nonce-index pool wraps: the client gets a fresh nonce and retries.
class NonceManager {
 public:
  enum class Verdict : std::uint8_t { Valid, Stale, Invalid, Replayed };

  // 8 bytes per slot: the default reserves 8 MiB, backed page by page as nonces are
  // issued (all of it after a million challenges). It holds the nonces of
  // about 100 s at 5000 challenges per second offering two algorithms (the REGISTER
  // flood benchmark's rate), far longer than the usual nonce lifetime at normal rates.
  static constexpr std::size_t kDefaultWindow = std::size_t{1} << 20;

  // `secret`: random bytes known only to this server (HMAC key). Throws
  // std::runtime_error when OpenSSL cannot set up HMAC-SHA256 or give random bytes.
  NonceManager(std::string secret, std::chrono::seconds lifetime, std::size_t window = kDefaultWindow);
  ~NonceManager();
  NonceManager(const NonceManager&) = delete;
  NonceManager& operator=(const NonceManager&) = delete;

  std::string issue(Clock::time_point now);
  // `nc`: the 8 hex digit nonce count, or empty for a request without qop (then the
  // nonce may be used once).
  Verdict check(std::string_view nonce, std::string_view nc, Clock::time_point now);

  // How many of the most recent nonces keep their nonce count; older ones are Stale.
  std::size_t window() const { return window_; }

 private:
  struct MacCtxFree {
    void operator()(evp_mac_ctx_st* ctx) const;
  };
  // Truncated HMAC of `text` in lower-case hex; empty when OpenSSL fails.
  std::string mac(std::string_view text) const;

  // Keyed once; mac() duplicates it per call, so threads never share a context in use.
  std::unique_ptr<evp_mac_ctx_st, MacCtxFree> mac_template_;
  std::chrono::seconds lifetime_;
  std::uint64_t epoch_ = 0;
  std::size_t window_;
  // Per slot: (index / window) in the high 32 bits, to tell which nonce the slot belongs
  // to, and the highest nc used in the low 32 (0: unused; kUsedWithoutQop: used up).
  // Plain words used through std::atomic_ref (calloc'ed: untouched pages stay unbacked).
  struct SlotsFree {
    void operator()(std::uint64_t* slots) const;
  };
  std::unique_ptr<std::uint64_t[], SlotsFree> slots_;
  alignas(64) std::atomic<std::uint64_t> next_index_{0};
};

// The HA1 of `user` in `realm` for `algorithm`, from the user store; nullopt when the
// account does not exist (or is disabled).
using Ha1Lookup =
    std::function<std::optional<std::string>(std::string_view user, std::string_view realm, sip::DigestAlgorithm)>;

class DigestAuthenticator {
 public:
  enum class Outcome : std::uint8_t {
    Authenticated,
    NoCredentials,  // no credentials for this realm: challenge
    Stale,          // right password, expired nonce: challenge with stale=true
    Failed,         // wrong password, unknown user, replayed nonce: challenge (and count the failure)
    Malformed,      // credentials that cannot be read: 400
  };
  struct Verdict {
    Outcome outcome = Outcome::NoCredentials;
    std::string user;    // the username the client claimed, when it sent one
    std::string reason;  // why, for the log and the security module
  };

  DigestAuthenticator(NonceManager& nonces, std::vector<sip::DigestAlgorithm> algorithms);

  // Header values for WWW-Authenticate (401) or Proxy-Authenticate (407): one per
  // algorithm, in the configured order (RFC 8760 3: the preferred one first).
  std::vector<std::string> challenges(std::string_view realm, bool stale, Clock::time_point now);

  // Checks the request's credentials for `realm`: Authorization for REGISTER (401),
  // Proxy-Authorization for requests the proxy authenticates (407).
  Verdict verify(const sip::Message& request, sip::HeaderId header, std::string_view realm, const Ha1Lookup& ha1,
                 Clock::time_point now);

 private:
  NonceManager& nonces_;
  std::vector<sip::DigestAlgorithm> algorithms_;
  sip::DigestHasher hasher_;
};

}  // namespace sipbox::registrar
