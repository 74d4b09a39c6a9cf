// A registrar wired to an in-memory Directory, for the REGISTER tests: requests are built
// as text and parsed with sip::parse_message, as the transport would hand them over.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "registrar/registrar.h"

namespace sipbox::registrar::test {

using namespace std::chrono_literals;

inline constexpr std::string_view kDomain = "example.com";

class TestDirectory : public Directory {
 public:
  void add(const std::string& user, const std::string& password, bool enabled = true) {
    users_[user] = UserRecord{sip::digest_ha1(sip::DigestAlgorithm::Md5, user, kDomain, password),
                              sip::digest_ha1(sip::DigestAlgorithm::Sha256, user, kDomain, password), enabled};
  }
  bool is_local_domain(std::string_view domain) const override { return domain == kDomain; }
  std::string realm(std::string_view domain) const override { return std::string(domain); }
  std::optional<UserRecord> user(std::string_view user, std::string_view domain) const override {
    if (domain != kDomain) return std::nullopt;
    auto it = users_.find(std::string(user));
    if (it == users_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, UserRecord> users_;
};

// One REGISTER, as a phone would write it.
struct Req {
  std::string to_user = "alice";
  std::string to_domain = "example.com";
  std::string call_id = "call-1";
  std::uint32_t cseq = 1;
  std::vector<std::string> contacts = {"<sip:alice@192.0.2.10:5060>"};
  std::string extra;  // further header lines, each ending in CRLF
  std::string auth_user = "alice";
  std::string password = "secret";
};

inline std::string request_text(const Req& r, const std::string& authorization) {
  std::string text =
      "REGISTER sip:example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK" +
      r.call_id + std::to_string(r.cseq) +
      "\r\n"
      "Max-Forwards: 70\r\n"
      "To: <sip:" +
      r.to_user + "@" + r.to_domain +
      ">\r\n"
      "From: <sip:" +
      r.to_user + "@" + r.to_domain +
      ">;tag=f1\r\n"
      "Call-ID: " +
      r.call_id +
      "\r\n"
      "CSeq: " +
      std::to_string(r.cseq) + " REGISTER\r\n";
  for (const auto& c : r.contacts) text += "Contact: " + c + "\r\n";
  text += r.extra;
  if (!authorization.empty()) text += "Authorization: " + authorization + "\r\n";
  return text + "Content-Length: 0\r\n\r\n";
}

// Header values of `name` in a response text, in order.
inline std::vector<std::string> header_values(const std::string& response, std::string_view name) {
  std::vector<std::string> out;
  const std::string key = "\r\n" + std::string(name) + ": ";
  for (auto at = response.find(key); at != std::string::npos; at = response.find(key, at + 1)) {
    const auto start = at + key.size();
    out.push_back(response.substr(start, response.find("\r\n", start) - start));
  }
  return out;
}

inline std::string param_of(const std::string& value, const std::string& name) {
  const auto at = value.find(name + "=");
  if (at == std::string::npos) return {};
  auto start = at + name.size() + 1;
  if (value[start] == '"') return value.substr(start + 1, value.find('"', start + 1) - start - 1);
  const auto end = value.find_first_of(";,", start);
  return value.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

inline std::string credentials(const Req& r, const std::string& nonce, std::string_view nc = "00000001") {
  const auto a = sip::DigestAlgorithm::Md5;
  const std::string ha1 = sip::digest_ha1(a, r.auth_user, kDomain, r.password);
  const std::string response = sip::digest_response(a, ha1, nonce, nc, "c0ffee", "auth", "REGISTER", "sip:example.com");
  return "Digest username=\"" + r.auth_user + "\", realm=\"example.com\", nonce=\"" + nonce +
         "\", uri=\"sip:example.com\", response=\"" + response +
         "\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, nc=" + std::string(nc);
}

class RegistrarTest : public ::testing::Test {
 protected:
  RegistrarTest() {
    directory.add("alice", "secret");
    directory.add("bob", "hunter2");
    directory.add("carol", "secret", false);
  }

  Response send(const Req& r, const std::string& authorization = {}, Source from = {}) {
    return send_to(registrar, r, authorization, from);
  }
  // The same to another Registrar (one over a persistent Location).
  Response send_to(Registrar& to, const Req& r, const std::string& authorization = {}, Source from = {}) {
    const std::string bytes = request_text(r, authorization);
    sip::Message message;
    const auto parsed = sip::parse_message(bytes, sip::Framing::Datagram, message);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message) << "\n" << bytes;
    if (from.address.empty()) from = source;
    return to.handle(message, from, now);
  }

  // The first MD5 nonce offered in a 401.
  static std::string nonce_of(const Response& challenge) {
    const auto values = header_values(challenge.text, "WWW-Authenticate");
    return values.empty() ? std::string() : param_of(values.front(), "nonce");
  }

  // The full handshake: REGISTER, 401, REGISTER with credentials (CSeq + 1). `r.cseq` is
  // left at the CSeq of the authenticated request.
  Response registered(Req& r, Source from = {}) { return registered_at(registrar, r, from); }
  Response registered_at(Registrar& at, Req& r, Source from = {}) {
    const Response challenge = send_to(at, r, {}, from);
    EXPECT_EQ(challenge.status, 401) << challenge.text;
    ++r.cseq;
    return send_to(at, r, credentials(r, nonce_of(challenge)), from);
  }

  Clock::time_point now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  Source source{"udp", "192.0.2.10", 5060, "udp:0.0.0.0:5060"};
  TestDirectory directory;
  NonceManager nonces{"0123456789abcdef0123456789abcdef", 300s};
  DigestAuthenticator auth{nonces, {sip::DigestAlgorithm::Md5, sip::DigestAlgorithm::Sha256}};
  Location location;
  std::vector<AuthFailure> failures;
  RegistrarSettings settings{};
  Registrar registrar{directory, location, auth, settings, [this](const AuthFailure& f) { failures.push_back(f); }};
};

}  // namespace sipbox::registrar::test
