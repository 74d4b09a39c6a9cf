#include "web/auth.h"

#include <gtest/gtest.h>

#include <chrono>

#include "config/passwords.h"

namespace sipbox::web {
namespace {

TEST(Base64, rfc4648_10_test_vectors) {
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_EQ(*base64_decode("Zg=="), "f");
  EXPECT_EQ(*base64_decode("Zm8="), "fo");
  EXPECT_EQ(*base64_decode("Zm9v"), "foo");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(*base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_FALSE(base64_decode("Zm9"));       // not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm=v"));      // data after padding
  EXPECT_FALSE(base64_decode("Z==="));      // too much padding
  EXPECT_FALSE(base64_decode("Zm9v!A=="));  // not in the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zg=="));  // padding in the middle
}

TEST(BasicAuth, rfc7617_2_credentials) {
  // RFC 7617 2's example: Aladdin / open sesame.
  auto c = parse_basic_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "Aladdin");
  EXPECT_EQ(c->password, "open sesame");
  // The scheme is case-insensitive; the password may contain ':'; it may be empty.
  c = parse_basic_authorization("bAsIc  YTpiOmM=");  // a:b:c
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "a");
  EXPECT_EQ(c->password, "b:c");
  c = parse_basic_authorization("Basic YTo=");  // "a:"
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "");
}

TEST(BasicAuth, malformed_credentials) {
  EXPECT_FALSE(parse_basic_authorization(""));
  EXPECT_FALSE(parse_basic_authorization("Basic"));
  EXPECT_FALSE(parse_basic_authorization("Basic "));
  EXPECT_FALSE(parse_basic_authorization("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
  EXPECT_FALSE(parse_basic_authorization("BasicQWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
  EXPECT_FALSE(parse_basic_authorization("Basic bm9jb2xvbg=="));  // "nocolon"
  EXPECT_FALSE(parse_basic_authorization("Basic OnB3"));          // ":pw": no user
  EXPECT_FALSE(parse_basic_authorization("Basic ###"));
}

std::string basic(std::string_view user, std::string_view password) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = std::string(user) + ":" + std::string(password);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return "Basic " + out;
}

TEST(Authenticator, accepts_right_password_refuses_others_and_caches) {
  std::string hash = config::hash_password("s3cret").value();
  int lookups = 0;
  Authenticator auth([&](std::string_view name) -> std::optional<AdminAccount> {
    ++lookups;
    if (name == "root") return AdminAccount{"root", Role::Admin, hash};
    if (name == "eve") return AdminAccount{"eve", Role::Viewer, hash};
    return std::nullopt;
  });
  auto account = auth.authenticate(basic("root", "s3cret"));
  ASSERT_TRUE(account);
  EXPECT_EQ(account->role, Role::Admin);
  EXPECT_EQ(auth.authenticate(basic("eve", "s3cret"))->role, Role::Viewer);
  EXPECT_FALSE(auth.authenticate(basic("root", "wrong")));
  EXPECT_FALSE(auth.authenticate(basic("nobody", "s3cret")));
  EXPECT_FALSE(auth.authenticate(""));

  // Cached: repeating a verified password runs no further PBKDF2 check.
  const std::size_t slow = auth.slow_checks();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(auth.authenticate(basic("root", "s3cret")));
  EXPECT_EQ(auth.slow_checks(), slow);
  // The cache never accepts a wrong password...
  EXPECT_FALSE(auth.authenticate(basic("root", "s3cret!")));
  // ...and a new hash in the configuration (password changed) invalidates it.
  hash = config::hash_password("other").value();
  EXPECT_FALSE(auth.authenticate(basic("root", "s3cret")));
  EXPECT_TRUE(auth.authenticate(basic("root", "other")));
  EXPECT_GT(lookups, 100);  // the configuration is asked every time
}

}  // namespace
}  // namespace sipbox::web
