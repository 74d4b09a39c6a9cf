// Password storage for admin accounts (GUI, REST, RESTCONF and NETCONF logins):
// PBKDF2-HMAC-SHA256 with a random salt, never the password itself.
// Format: "pbkdf2-sha256$<iterations>$<salt, hex>$<derived key, hex>".
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace sipbox::config {

// A new hash of `password` with a fresh random salt.
Result<std::string> hash_password(std::string_view password);

// True when `password` matches `stored` (constant-time comparison); false for a
// malformed `stored` value.
bool verify_password(std::string_view stored, std::string_view password);

}  // namespace sipbox::config
