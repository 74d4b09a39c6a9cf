#include "config/passwords.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <vector>

#include "base/hex.h"

namespace sipbox::config {
namespace {

constexpr int kIterations = 60000;  // ~30 ms per check on this class of machine
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;

bool from_hex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || ptr != hex.data() + i + 2) return false;
    out.push_back(static_cast<unsigned char>(value));
  }
  return true;
}

bool derive(std::string_view password, const unsigned char* salt, std::size_t salt_size, int iterations,
            unsigned char* key, std::size_t key_size) {
  return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt, static_cast<int>(salt_size),
                           iterations, EVP_sha256(), static_cast<int>(key_size), key) == 1;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  std::array<unsigned char, kSaltBytes> salt{};
  std::array<unsigned char, kKeyBytes> key{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return fail("no random bytes for a salt");
  if (!derive(password, salt.data(), salt.size(), kIterations, key.data(), key.size()))
    return fail("PBKDF2 failed");
  return "pbkdf2-sha256$" + std::to_string(kIterations) + "$" + to_hex(salt.data(), salt.size()) + "$" +
         to_hex(key.data(), key.size());
}

bool verify_password(std::string_view stored, std::string_view password) {
  constexpr std::string_view kPrefix = "pbkdf2-sha256$";
  if (!stored.starts_with(kPrefix)) return false;
  stored.remove_prefix(kPrefix.size());
  const auto d1 = stored.find('$');
  const auto d2 = stored.find('$', d1 == std::string_view::npos ? d1 : d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos) return false;
  int iterations = 0;
  auto [ptr, ec] = std::from_chars(stored.data(), stored.data() + d1, iterations);
  if (ec != std::errc() || ptr != stored.data() + d1 || iterations < 1000 || iterations > 10'000'000) return false;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> expected;
  if (!from_hex(stored.substr(d1 + 1, d2 - d1 - 1), salt) || !from_hex(stored.substr(d2 + 1), expected) ||
      expected.empty() || expected.size() > 64)
    return false;
  std::vector<unsigned char> key(expected.size());
  if (!derive(password, salt.data(), salt.size(), iterations, key.data(), key.size())) return false;
  return CRYPTO_memcmp(key.data(), expected.data(), key.size()) == 0;
}

}  // namespace sipbox::config
