// HTTP Basic authentication (RFC 7617) of admin accounts for RESTCONF, the REST API and
// the GUI. Passwords are checked with config::verify_password (PBKDF2, ~30 ms on
// purpose); a successful check is remembered as (user, stored hash, SHA-256 of the
// password) so keep-alive clients do not pay it on every request. A changed hash in
// the configuration (new password, deleted account) invalidates the entry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sipbox::web {

struct BasicCredentials {
  std::string user;
  std::string password;
};

// "Basic dXNlcjpwYXNz" -> {user, pass}; nullopt when it is not valid Basic credentials.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value);

// RFC 4648 base64; nullopt for malformed input.
std::optional<std::string> base64_decode(std::string_view text);

enum class Role : std::uint8_t { Viewer, Admin };

struct AdminAccount {
  std::string name;
  Role role = Role::Viewer;
  std::string password_hash;
};

// Reads an account from the configuration; nullopt when there is none of that name.
using AccountLookup = std::function<std::optional<AdminAccount>(std::string_view name)>;

class Authenticator {
 public:
  explicit Authenticator(AccountLookup lookup);

  // The account for an Authorization header value, or nullopt (absent, malformed, unknown
  // user, wrong password). Thread-safe.
  std::optional<AdminAccount> authenticate(std::string_view authorization_header);

  // How many slow (PBKDF2) password checks ran: cached logins do not add to it.
  std::size_t slow_checks() const { return slow_checks_.load(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Verified {
    std::string password_hash;
    Digest password_digest;
  };

  AccountLookup lookup_;
  std::mutex mutex_;
  std::unordered_map<std::string, Verified> verified_;
  std::atomic<std::size_t> slow_checks_{0};
};

}  // namespace sipbox::web
