#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "registrar/registrar.h"

namespace sipbox::registrar {
namespace {

using namespace std::chrono_literals;
using sip::DigestAlgorithm;

constexpr std::string_view kRealm = "example.com";

// A client computing its credentials for a challenge, as a phone would.
std::string credentials(std::string_view nonce, DigestAlgorithm algorithm, std::string_view password,
                        std::string_view nc = "00000001", std::string_view uri = "sip:example.com",
                        std::string_view user = "alice", std::string_view method = "REGISTER") {
  const std::string ha1 = sip::digest_ha1(algorithm, user, kRealm, password);
  const std::string response = sip::digest_response(algorithm, ha1, nonce, nc, "0a4f113b", "auth", method, uri);
  return "Digest username=\"" + std::string(user) + "\", realm=\"example.com\", nonce=\"" + std::string(nonce) +
         "\", uri=\"" + std::string(uri) + "\", response=\"" + response +
         "\", algorithm=" + (algorithm == DigestAlgorithm::Md5 ? "MD5" : "SHA-256") +
         ", cnonce=\"0a4f113b\", qop=auth, nc=" + std::string(nc);
}

std::string register_request(const std::string& authorization) {
  return "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
         "To: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n"
         "Contact: <sip:alice@192.0.2.1>\r\n" +
         (authorization.empty() ? std::string() : "Authorization: " + authorization + "\r\n") +
         "Content-Length: 0\r\n\r\n";
}

// The nonce value inside a challenge header value.
std::string nonce_of(const std::string& challenge) {
  const auto start = challenge.find("nonce=\"") + 7;
  return challenge.substr(start, challenge.find('"', start) - start);
}

class DigestAuth : public ::testing::Test {
 protected:
  Clock::time_point now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  NonceManager nonces{"0123456789abcdef0123456789abcdef", 300s};
  DigestAuthenticator auth{nonces, {DigestAlgorithm::Sha256, DigestAlgorithm::Md5}};
  Ha1Lookup store = [](std::string_view user, std::string_view realm, DigestAlgorithm a) -> std::optional<std::string> {
    if (user != "alice") return std::nullopt;
    return sip::digest_ha1(a, user, realm, "secret");
  };

  DigestAuthenticator::Verdict verify(const std::string& authorization) {
    bytes_ = register_request(authorization);
    EXPECT_TRUE(sip::parse_message(bytes_, sip::Framing::Datagram, message_));
    return auth.verify(message_, sip::HeaderId::Authorization, kRealm, store, now);
  }
  std::string fresh_nonce() { return nonce_of(auth.challenges(kRealm, false, now)[0]); }

  std::string bytes_;
  sip::Message message_;
};

TEST_F(DigestAuth, rfc8760_3_challenges_offer_each_algorithm_preferred_first) {
  const auto c = auth.challenges(kRealm, false, now);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(c[0].find("algorithm=SHA-256"), std::string::npos);
  EXPECT_NE(c[1].find("algorithm=MD5"), std::string::npos);
  EXPECT_NE(c[0].find("qop=\"auth\""), std::string::npos);
  EXPECT_EQ(c[0].find("stale"), std::string::npos);
  EXPECT_NE(auth.challenges(kRealm, true, now)[0].find("stale=true"), std::string::npos);
  EXPECT_NE(nonce_of(c[0]), nonce_of(c[1]));
  // The challenge is a well-formed WWW-Authenticate value.
  auto parsed = sip::parse_auth(c[0]);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->param("realm"), kRealm);
}

TEST_F(DigestAuth, AuthenticatesWithEitherAlgorithm) {
  for (DigestAlgorithm a : {DigestAlgorithm::Md5, DigestAlgorithm::Sha256}) {
    const auto v = verify(credentials(fresh_nonce(), a, "secret"));
    EXPECT_EQ(v.outcome, DigestAuthenticator::Outcome::Authenticated) << v.reason;
    EXPECT_EQ(v.user, "alice");
  }
}

TEST_F(DigestAuth, NoCredentialsForTheRealmMeansChallenge) {
  EXPECT_EQ(verify("").outcome, DigestAuthenticator::Outcome::NoCredentials);
  std::string other = credentials(fresh_nonce(), DigestAlgorithm::Md5, "secret");
  other.replace(other.find("realm=\"example.com\""), 19, "realm=\"other.org\"");
  EXPECT_EQ(verify(other).outcome, DigestAuthenticator::Outcome::NoCredentials);
}

TEST_F(DigestAuth, WrongPasswordAndUnknownUserFail) {
  EXPECT_EQ(verify(credentials(fresh_nonce(), DigestAlgorithm::Md5, "guess")).outcome,
            DigestAuthenticator::Outcome::Failed);
  const auto v =
      verify(credentials(fresh_nonce(), DigestAlgorithm::Md5, "secret", "00000001", "sip:example.com", "mallory"));
  EXPECT_EQ(v.outcome, DigestAuthenticator::Outcome::Failed);
  EXPECT_EQ(v.user, "mallory");
  EXPECT_EQ(v.reason, "unknown user");
}

TEST_F(DigestAuth, rfc7616_3_3_expired_nonce_is_stale) {
  const std::string nonce = fresh_nonce();
  now += 301s;
  const auto v = verify(credentials(nonce, DigestAlgorithm::Sha256, "secret"));
  EXPECT_EQ(v.outcome, DigestAuthenticator::Outcome::Stale);
}

TEST_F(DigestAuth, rfc7616_3_4_nonce_count_must_increase) {
  const std::string nonce = fresh_nonce();
  EXPECT_EQ(verify(credentials(nonce, DigestAlgorithm::Md5, "secret", "00000001")).outcome,
            DigestAuthenticator::Outcome::Authenticated);
  const auto replay = verify(credentials(nonce, DigestAlgorithm::Md5, "secret", "00000001"));
  EXPECT_EQ(replay.outcome, DigestAuthenticator::Outcome::Failed);
  EXPECT_EQ(replay.reason, "nonce count replayed");
  EXPECT_EQ(verify(credentials(nonce, DigestAlgorithm::Md5, "secret", "00000002")).outcome,
            DigestAuthenticator::Outcome::Authenticated);
}

TEST_F(DigestAuth, ForgedOrForeignNoncesFail) {
  std::string nonce = fresh_nonce();
  nonce[0] = nonce[0] == '1' ? '2' : '1';  // change the issue time: the MAC no longer fits
  EXPECT_EQ(verify(credentials(nonce, DigestAlgorithm::Md5, "secret")).reason, "nonce not issued by this server");
  NonceManager other("another secret, another server!!", 300s);
  EXPECT_EQ(verify(credentials(other.issue(now), DigestAlgorithm::Md5, "secret")).outcome,
            DigestAuthenticator::Outcome::Failed);
  EXPECT_EQ(verify(credentials("garbage", DigestAlgorithm::Md5, "secret")).outcome,
            DigestAuthenticator::Outcome::Failed);
}

TEST_F(DigestAuth, UriNamingTheNextHopIsAcceptedButMustBeAUri) {
  // SIPp writes the server's address as the digest-uri (Kamailio and Asterisk accept it).
  EXPECT_EQ(
      verify(credentials(fresh_nonce(), DigestAlgorithm::Md5, "secret", "00000001", "sip:127.0.0.1:5060")).outcome,
      DigestAuthenticator::Outcome::Authenticated);
  const auto v = verify(credentials(fresh_nonce(), DigestAlgorithm::Md5, "secret", "00000001", "no uri at all"));
  EXPECT_EQ(v.outcome, DigestAuthenticator::Outcome::Malformed);
}

TEST_F(DigestAuth, MalformedCredentials) {
  const std::string nonce = fresh_nonce();
  EXPECT_EQ(verify("Digest username=\"alice\", realm=\"example.com\", nonce=\"" + nonce + "\"").outcome,
            DigestAuthenticator::Outcome::Malformed);
  std::string no_nc = credentials(nonce, DigestAlgorithm::Md5, "secret");
  no_nc.erase(no_nc.find(", nc="));
  EXPECT_EQ(verify(no_nc).outcome, DigestAuthenticator::Outcome::Malformed);
}

TEST_F(DigestAuth, AlgorithmNotOfferedFails) {
  DigestAuthenticator md5_only(nonces, {DigestAlgorithm::Md5});
  bytes_ = register_request(credentials(fresh_nonce(), DigestAlgorithm::Sha256, "secret"));
  ASSERT_TRUE(sip::parse_message(bytes_, sip::Framing::Datagram, message_));
  EXPECT_EQ(md5_only.verify(message_, sip::HeaderId::Authorization, kRealm, store, now).reason,
            "algorithm not offered");
}

TEST_F(DigestAuth, WithoutQopANonceIsGoodOnce) {
  const std::string nonce = fresh_nonce();
  const std::string ha1 = sip::digest_ha1(DigestAlgorithm::Md5, "alice", kRealm, "secret");
  const std::string response =
      sip::digest_response(DigestAlgorithm::Md5, ha1, nonce, "", "", "", "REGISTER", "sip:example.com");
  const std::string old_style = "Digest username=\"alice\", realm=\"example.com\", nonce=\"" + nonce +
                                "\", uri=\"sip:example.com\", response=\"" + response + "\"";
  EXPECT_EQ(verify(old_style).outcome, DigestAuthenticator::Outcome::Authenticated);
  EXPECT_EQ(verify(old_style).outcome, DigestAuthenticator::Outcome::Failed);
}

TEST_F(DigestAuth, ProxyAuthorizationIsCheckedSeparately) {
  bytes_ = register_request(credentials(fresh_nonce(), DigestAlgorithm::Md5, "secret"));
  ASSERT_TRUE(sip::parse_message(bytes_, sip::Framing::Datagram, message_));
  EXPECT_EQ(auth.verify(message_, sip::HeaderId::ProxyAuthorization, kRealm, store, now).outcome,
            DigestAuthenticator::Outcome::NoCredentials);
}

// The nonce counts live in a fixed ring of `window` slots, so memory does not grow with
// the nonces issued; a nonce whose slot a newer one took is Stale (the right password
// then gets a fresh challenge with stale=true, as Kamailio does when its pool wraps).
TEST_F(DigestAuth, NonceOlderThanTheWindowIsStale) {
  NonceManager small{"0123456789abcdef0123456789abcdef", 300s, 4};
  EXPECT_EQ(small.window(), 4u);
  const std::string oldest = small.issue(now);
  std::vector<std::string> newer;
  for (int i = 0; i < 4; ++i) newer.push_back(small.issue(now));
  EXPECT_EQ(small.check(oldest, "00000001", now), NonceManager::Verdict::Stale);
  for (const std::string& n : newer) EXPECT_EQ(small.check(n, "00000001", now), NonceManager::Verdict::Valid);

  DigestAuthenticator small_auth{small, {DigestAlgorithm::Md5}};
  const std::string nonce = nonce_of(small_auth.challenges(kRealm, false, now)[0]);
  for (int i = 0; i < 4; ++i) (void)small.issue(now);
  bytes_ = register_request(credentials(nonce, DigestAlgorithm::Md5, "secret"));
  ASSERT_TRUE(sip::parse_message(bytes_, sip::Framing::Datagram, message_));
  EXPECT_EQ(small_auth.verify(message_, sip::HeaderId::Authorization, kRealm, store, now).outcome,
            DigestAuthenticator::Outcome::Stale);
}

TEST_F(DigestAuth, rfc7616_3_4_replay_is_refused_after_many_other_nonces) {
  const std::string nonce = nonces.issue(now);
  EXPECT_EQ(nonces.check(nonce, "00000001", now), NonceManager::Verdict::Valid);
  for (int i = 0; i < 10'000; ++i) {
    const std::string other = nonces.issue(now);
    ASSERT_EQ(nonces.check(other, "00000001", now), NonceManager::Verdict::Valid);
  }
  EXPECT_EQ(nonces.check(nonce, "00000001", now), NonceManager::Verdict::Replayed);
  EXPECT_EQ(nonces.check(nonce, "00000003", now), NonceManager::Verdict::Valid);
  EXPECT_EQ(nonces.check(nonce, "00000002", now), NonceManager::Verdict::Replayed);  // lower than the last
}

TEST_F(DigestAuth, WithoutQopANonceIsUsedUp) {
  const std::string nonce = nonces.issue(now);
  EXPECT_EQ(nonces.check(nonce, "", now), NonceManager::Verdict::Valid);
  EXPECT_EQ(nonces.check(nonce, "", now), NonceManager::Verdict::Replayed);
  EXPECT_EQ(nonces.check(nonce, "00000002", now), NonceManager::Verdict::Replayed);
  const std::string counted = nonces.issue(now);
  EXPECT_EQ(nonces.check(counted, "00000001", now), NonceManager::Verdict::Valid);
  EXPECT_EQ(nonces.check(counted, "", now), NonceManager::Verdict::Replayed);
}

TEST_F(DigestAuth, GarbageNoncesAndCountsAreInvalid) {
  const std::string nonce = nonces.issue(now);
  for (std::string_view bad : {"", ".", "a.b.c.d", "1.2.3", "..."})
    EXPECT_EQ(nonces.check(bad, "00000001", now), NonceManager::Verdict::Invalid) << bad;
  EXPECT_EQ(nonces.check(nonce, "zz", now), NonceManager::Verdict::Invalid);
  EXPECT_EQ(nonces.check(nonce, "00000000", now), NonceManager::Verdict::Invalid);
  EXPECT_EQ(nonces.check(nonce, "100000000", now), NonceManager::Verdict::Invalid);  // more than 8 hex digits hold
  EXPECT_EQ(nonces.check(nonce, "00000001", now), NonceManager::Verdict::Valid);
}

// Two servers (or one before and after a restart) with the same secret: the random epoch
// keeps their nonces apart, and one does not trust the other's nonce counts.
TEST_F(DigestAuth, InstancesWithTheSameSecretIssueDifferentNonces) {
  NonceManager twin{"0123456789abcdef0123456789abcdef", 300s};
  std::set<std::string> issued;
  for (int i = 0; i < 100; ++i) {
    issued.insert(nonces.issue(now));
    issued.insert(twin.issue(now));
  }
  EXPECT_EQ(issued.size(), 200u);
  EXPECT_EQ(nonces.check(twin.issue(now), "00000001", now), NonceManager::Verdict::Stale);
}

TEST_F(DigestAuth, ConcurrentChecksOfDistinctNoncesAreAllValid) {
  constexpr int kPerThread = 20'000;
  std::atomic<int> valid{0};
  auto work = [&] {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string nonce = nonces.issue(now);
      if (nonces.check(nonce, "00000001", now) == NonceManager::Verdict::Valid) ++valid;
      if (nonces.check(nonce, "00000002", now) == NonceManager::Verdict::Valid) ++valid;
    }
  };
  std::thread other(work);
  work();
  other.join();
  EXPECT_EQ(valid.load(), 4 * kPerThread);
}

TEST_F(DigestAuth, ConcurrentUsesOfTheSameNonceCountSucceedOnce) {
  constexpr std::size_t kNonces = 20'000;
  std::vector<std::string> shared;
  for (std::size_t i = 0; i < kNonces; ++i) shared.push_back(nonces.issue(now));
  std::vector<NonceManager::Verdict> first(kNonces), second(kNonces);
  auto work = [&](std::vector<NonceManager::Verdict>& out) {
    for (std::size_t i = 0; i < kNonces; ++i) out[i] = nonces.check(shared[i], "00000001", now);
  };
  std::thread other(work, std::ref(second));
  work(first);
  other.join();
  for (std::size_t i = 0; i < kNonces; ++i) {
    const bool first_valid = first[i] == NonceManager::Verdict::Valid;
    const bool second_valid = second[i] == NonceManager::Verdict::Valid;
    ASSERT_NE(first_valid, second_valid) << "nonce " << i;
    ASSERT_EQ(first_valid ? second[i] : first[i], NonceManager::Verdict::Replayed) << "nonce " << i;
  }
}

}  // namespace
}  // namespace sipbox::registrar
