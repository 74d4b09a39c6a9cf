#include "sip/digest.h"

#include <gtest/gtest.h>

namespace sipbox::sip {
namespace {

// RFC 2617 3.5 example (MD5, qop=auth).
TEST(Digest, rfc2617_3_5_md5_example) {
  const std::string ha1 = digest_ha1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(digest_response(DigestAlgorithm::Md5, ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b",
                            "auth", "GET", "/dir/index.html"),
            "6629fae49393a05397450978507c4ef1");
}

// RFC 7616 3.9.1 example (SHA-256, qop=auth).
TEST(Digest, rfc7616_3_9_1_sha256_example) {
  const std::string ha1 = digest_ha1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(digest_response(DigestAlgorithm::Sha256, ha1, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
                            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

// The hasher with its pre-fetched digests computes what the free functions compute.
TEST(Digest, HasherAgreesWithTheFreeFunctions) {
  const DigestHasher hasher;
  EXPECT_EQ(hasher.ha1(DigestAlgorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9");
  const std::string ha1 = hasher.ha1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(ha1, digest_ha1(DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org", "Circle of Life"));
  EXPECT_EQ(hasher.response(DigestAlgorithm::Sha256, ha1, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
                            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  for (DigestAlgorithm a : {DigestAlgorithm::Md5, DigestAlgorithm::Sha256}) {
    // Without qop (RFC 2617 3.2.2.1): H(HA1 ":" nonce ":" HA2).
    EXPECT_EQ(hasher.response(a, ha1, "n", "", "", "", "REGISTER", "sip:example.com"),
              digest_response(a, ha1, "n", "", "", "", "REGISTER", "sip:example.com"));
    EXPECT_EQ(hasher.response(a, ha1, "n", "00000002", "c", "auth", "INVITE", "sip:bob@example.com"),
              digest_response(a, ha1, "n", "00000002", "c", "auth", "INVITE", "sip:bob@example.com"));
  }
}

// RFC 2069 / RFC 2617 3.2.2.1 without qop, MD5: the response of the RFC 2617 example's
// values with the qop parts left out, computed by hand with md5sum.
TEST(Digest, rfc2617_3_2_2_1_response_without_qop) {
  EXPECT_EQ(digest_response(DigestAlgorithm::Md5, "939e7578ed9e3c518a452acee763bce9",
                            "dcd98b7102dd2f0e8b11d0f600bfb0c093", "", "", "", "GET", "/dir/index.html"),
            "670fd8c2df070c60b045671b8b24ff02");
}

TEST(Digest, AlgorithmNames) {
  DigestAlgorithm a = DigestAlgorithm::Sha256;
  EXPECT_TRUE(digest_algorithm_from_name("", a));
  EXPECT_EQ(a, DigestAlgorithm::Md5);
  EXPECT_TRUE(digest_algorithm_from_name("sha-256", a));
  EXPECT_EQ(a, DigestAlgorithm::Sha256);
  EXPECT_FALSE(digest_algorithm_from_name("SHA-512-256", a));
}

}  // namespace
}  // namespace sipbox::sip
