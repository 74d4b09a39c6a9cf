// Public interface of the registrar module (RFC 3261 section 10): digest authentication
// (RFC 7616, RFC 8760) with expiring, replay-proof nonces, the location service, and
// REGISTER handling as pure logic that returns the response to send.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "registrar/digest_auth.h"
#include "registrar/location.h"

namespace sipbox::registrar {

// The users and domains the registrar serves. The daemon implements it over the YANG
// configuration (sipbox-users, sipbox-domains); the registrar never sees the config
// module. Domains arrive lower-cased. Called from any SIP worker: must be thread-safe.
struct UserRecord {
  std::string ha1_md5;     // hex; "" when not provisioned
  std::string ha1_sha256;  // hex; "" when not provisioned
  bool enabled = true;
  std::uint16_t max_concurrent_calls = 2;  // as caller or callee; 0: no limit
};

class Directory {
 public:
  virtual ~Directory() = default;
  virtual bool is_local_domain(std::string_view domain) const = 0;
  // The digest realm of a local domain (the domain's realm leaf, else its name).
  virtual std::string realm(std::string_view domain) const = 0;
  // nullopt when the user does not exist in the domain.
  virtual std::optional<UserRecord> user(std::string_view user, std::string_view domain) const = 0;
  // The domain a Request-URI naming this server by address (sip:bob@192.0.2.1) means;
  // "" when none is configured.
  virtual std::string default_domain() const { return {}; }
};

// HA1 values of `domain`'s enabled users, for DigestAuthenticator::verify (REGISTER here,
// proxied requests in the proxy). The Directory must outlive the returned function.
Ha1Lookup ha1_lookup(const Directory& directory, std::string domain);

// Mirrors `container registrar` in yang/sipbox-routing.yang (nonce-lifetime-seconds and
// algorithms configure the NonceManager / DigestAuthenticator; nat-keepalive-seconds the
// keep-alive sender).
struct RegistrarSettings {
  std::uint32_t min_expires = 60;
  std::uint32_t max_expires = 3600;
  std::uint32_t default_expires = 3600;
  std::uint16_t max_contacts_per_aor = 10;
};

// A failed authentication, for the security module (brute-force detection, issue 5).
struct AuthFailure {
  std::string user;    // the username the client claimed ("" if none)
  std::string realm;
  Source source;
  std::string reason;  // "wrong password", "unknown user", "nonce count replayed", ...
};

// Counters for /metrics (DESIGN.md 3).
struct RegistrarStats {
  std::uint64_t requests = 0;
  std::uint64_t accepted = 0;         // 200
  std::uint64_t challenges = 0;       // 401 without a failure (first contact, stale nonce)
  std::uint64_t auth_failures = 0;    // 401 after wrong credentials
  std::uint64_t rejected = 0;         // any other final response
  std::uint64_t bindings_added = 0;
  std::uint64_t bindings_refreshed = 0;
  std::uint64_t bindings_removed = 0;
};

// A final response, serialized and ready for the transaction layer.
struct Response {
  int status = 0;
  std::string reason;
  std::string text;  // the whole SIP response (start line, headers, empty body)
};

class Registrar {
 public:
  using FailureCallback = std::function<void(const AuthFailure&)>;

  // Everything referenced must outlive the Registrar. `on_failure` may be empty.
  Registrar(const Directory& directory, Location& location, DigestAuthenticator& auth, RegistrarSettings settings,
            FailureCallback on_failure = {});

  // RFC 3261 10.3 steps 1-8 for one REGISTER received from `source`. Thread-safe.
  Response handle(const sip::Message& request, const Source& source, Clock::time_point now);

  RegistrarStats stats() const;

 private:
  struct Counters {
    std::atomic<std::uint64_t> requests{0}, accepted{0}, challenges{0}, auth_failures{0}, rejected{0}, added{0},
        refreshed{0}, removed{0};
  };
  Response reject(const sip::Message& request, int status, std::string_view reason, Clock::time_point now,
                  std::string_view extra_headers = {});

  const Directory& directory_;
  Location& location_;
  DigestAuthenticator& auth_;
  RegistrarSettings settings_;
  FailureCallback on_failure_;
  Counters counters_;
};

}  // namespace sipbox::registrar
