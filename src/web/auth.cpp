#include "web/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "config/passwords.h"

namespace sipbox::web {
namespace {

constexpr std::size_t kMaxCached = 256;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

// Verifying against this when the user does not exist costs the same time as a real
// check, so response times do not tell which account names exist.
const std::string& dummy_hash() {
  static const std::string hash = config::hash_password("not a password").value_or(std::string());
  return hash;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after '='
      v[j] = base64_value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned bits = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                          (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out += static_cast<char>((bits >> 16) & 0xFF);
    if (padding < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view value) {
  // RFC 7617 2: credentials = "Basic" 1*SP token68; the scheme is case-insensitive.
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if ((value[i] | 0x20) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  if (value.front() != ' ') return std::nullopt;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  const auto decoded = base64_decode(value);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

Authenticator::Authenticator(AccountLookup lookup) : lookup_(std::move(lookup)) {}

std::optional<AdminAccount> Authenticator::authenticate(std::string_view authorization_header) {
  auto credentials = parse_basic_authorization(authorization_header);
  if (!credentials) return std::nullopt;
  auto account = lookup_ ? lookup_(credentials->user) : std::nullopt;
  if (!account || account->password_hash.empty()) {
    ++slow_checks_;
    (void)config::verify_password(dummy_hash(), credentials->password);
    return std::nullopt;
  }
  const auto digest = sha256(credentials->password);
  {
    std::lock_guard lock(mutex_);
    const auto it = verified_.find(account->name);
    if (it != verified_.end() && it->second.password_hash == account->password_hash) {
      if (CRYPTO_memcmp(it->second.password_digest.data(), digest.data(), digest.size()) == 0) return account;
    }
  }
  // The slow check runs outside the lock.
  ++slow_checks_;
  if (!config::verify_password(account->password_hash, credentials->password)) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (verified_.size() >= kMaxCached) verified_.clear();
  verified_[account->name] = Verified{account->password_hash, digest};
  return account;
}

}  // namespace sipbox::web
