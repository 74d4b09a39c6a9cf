// Digest authentication of SIP requests (RFC 3261 22, RFC 7616, RFC 8760): challenges
// with nonces that expire (stale=true) and cannot be replayed (nc tracking), and
// verification of Authorization / Proxy-Authorization against stored HA1 values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sip/sip.h"

namespace sipbox::registrar {

using Clock = std::chrono::system_clock;

// Issues and checks nonces. A nonce is "<issue time>.<random>.<HMAC>" so that its
// authenticity and age are checked without state; the highest nc seen per nonce is
// kept (for the nonce's lifetime) to refuse replays. Shared by the SIP workers, so
// guarded by a mutex held only for a map lookup.
class NonceManager {
 public:
  enum class Verdict : std::uint8_t { Valid, Stale, Invalid, Replayed };

  // `secret`: random bytes known only to this server (HMAC key).
  NonceManager(std::string secret, std::chrono::seconds lifetime);

  std::string issue(Clock::time_point now);
  // `nc`: the 8 hex digit nonce count, or empty for a request without qop (then the
  // nonce may be used once).
  Verdict check(std::string_view nonce, std::string_view nc, Clock::time_point now);

  std::size_t tracked() const;

 private:
  std::string mac(std::string_view text) const;
  void prune(Clock::time_point now);

  std::string secret_;
  std::chrono::seconds lifetime_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::uint64_t> highest_nc_;  // nonce -> highest nc used
  Clock::time_point last_prune_{};
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
};

}  // namespace sipbox::registrar
