// The stateful proxy wired as the core wires it: a real txn::TransactionTable in front,
// a fake clock (tests/unit/txn/fixture.h) that only moves when a test says so, a Sender
// that records (destination, bytes), the location service with bindings applied
// directly, an in-memory Directory, and the real digest authenticator.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/proxy.h"
#include "sip/digest.h"
#include "tests/unit/txn/fixture.h"

namespace sipbox::proxy::test {

using namespace std::chrono_literals;
using txn::test::FakeClock;
using txn::test::FakeSender;
using txn::test::Msg;
using txn::test::Sent;

inline constexpr std::string_view kDomain = "example.com";
inline constexpr std::string_view kProxyHost = "192.0.2.1";
inline constexpr std::string_view kRecordRoute = "<sip:192.0.2.1:5060;lr>";

// Alice calls from here; Bob's and Carol's phones are registered at these addresses.
inline Destination alice_addr() { return Destination{"198.51.100.10", 5060, TransportKind::Udp}; }
inline Destination bob_addr() { return Destination{"198.51.100.20", 5062, TransportKind::Udp}; }
inline Destination bob2_addr() { return Destination{"198.51.100.21", 5060, TransportKind::Udp}; }
inline Destination carol_addr() { return Destination{"198.51.100.30", 5060, TransportKind::Udp}; }
inline Destination foreign_addr() { return Destination{"203.0.113.80", 5060, TransportKind::Udp}; }

class TestDirectory : public registrar::Directory {
 public:
  void add(const std::string& user, const std::string& password, std::uint16_t max_calls = 0) {
    users_[user] = registrar::UserRecord{sip::digest_ha1(sip::DigestAlgorithm::Md5, user, kDomain, password),
                                         sip::digest_ha1(sip::DigestAlgorithm::Sha256, user, kDomain, password), true,
                                         max_calls};
  }
  bool is_local_domain(std::string_view domain) const override { return domain == kDomain; }
  std::string realm(std::string_view domain) const override { return std::string(domain); }
  std::optional<registrar::UserRecord> user(std::string_view user, std::string_view domain) const override {
    if (domain != kDomain) return std::nullopt;
    auto it = users_.find(std::string(user));
    if (it == users_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, registrar::UserRecord> users_;
};

// The transaction user the core's Worker is: CANCEL and ACK to their own entry points,
// everything else to Proxy::on_request with the source of the message being delivered.
struct CoreTu : txn::TransactionUser {
  void on_request(txn::TransactionId id, const sip::Message& request) override {
    switch (request.method_id()) {
      case sip::Method::Cancel: proxy->on_cancel(id, request); return;
      case sip::Method::Ack: proxy->on_stray_ack(request); return;
      default: proxy->on_request(id, request, source); return;
    }
  }
  void on_response(txn::TransactionId id, const sip::Message& response) override { proxy->on_response(id, response); }
  void on_timeout(txn::TransactionId id) override { proxy->on_timeout(id); }
  void on_transport_error(txn::TransactionId id, const Error&) override { proxy->on_transport_error(id); }
  void on_terminated(txn::TransactionId id) override {
    if (proxy) proxy->on_terminated(id);
  }
  Proxy* proxy = nullptr;
  Destination source;
};

// A sent message, parsed (it owns its bytes).
struct Out {
  Destination to;
  std::unique_ptr<Msg> msg;
  const sip::Message& m() const { return msg->message; }
  std::string start_line() const { return msg->bytes->substr(0, msg->bytes->find("\r\n")); }
  // Every value of a header, one per field as written (the proxy writes one value per field).
  std::vector<std::string> fields(sip::HeaderId id) const {
    std::vector<std::string> out;
    for (const sip::HeaderField& f : m().headers())
      if (f.id == id) out.emplace_back(f.value);
    return out;
  }
  std::string field(sip::HeaderId id) const {
    const sip::HeaderField* f = m().header(id);
    return f ? std::string(f->value) : std::string("<absent>");
  }
};

// A request as a phone writes it; `extra` adds header lines ("Name: value\n").
struct Request {
  std::string method = "INVITE";
  std::string uri = "sip:bob@example.com";
  std::string from = "<sip:alice@example.com>;tag=a1";
  std::string to = "<sip:bob@example.com>";
  std::string call_id = "call-1@198.51.100.10";
  std::uint32_t cseq = 1;
  std::string via = "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bKalice1";
  int max_forwards = 70;  // < 0: no Max-Forwards header
  std::string extra;

  std::string text() const {
    std::string t = method + " " + uri + " SIP/2.0\n";
    t += "Via: " + via + "\n";
    if (max_forwards >= 0) t += "Max-Forwards: " + std::to_string(max_forwards) + "\n";
    t += "From: " + from + "\nTo: " + to + "\nCall-ID: " + call_id + "\n";
    t += "CSeq: " + std::to_string(cseq) + " " + method + "\n";
    t += extra;
    t += "Content-Length: 0\n\n";
    return t;
  }
};

class ProxyTest : public ::testing::Test {
 protected:
  ProxyTest() {
    self.add_interface(Interface{TransportKind::Udp, std::string(kProxyHost), 5060});
    self.add_interface(Interface{TransportKind::Tcp, std::string(kProxyHost), 5060});
    directory.add("alice", "secret");
    directory.add("bob", "hunter2");
    directory.add("carol", "carol-pw");
    directory.add("dave", "dave-pw");  // never registers
    settings.no_answer_timeout = 30s;
  }
  ~ProxyTest() override {
    tu.proxy = nullptr;
    proxy_.reset();
  }

  Proxy& proxy() {
    if (!proxy_) {
      Environment env;
      env.table = &table;
      env.sender = &sender;
      env.timers = &clock;
      env.location = &location;
      env.directory = &directory;
      env.auth = &auth;
      env.self = &self;
      env.on_auth_failure = [this](const registrar::AuthFailure& f) { failures.push_back(f); };
      env.active_calls = &active_calls;
      env.relay = relay;
      env.media = media_settings;
      env.on_call_limit = [this](const Destination&, std::string_view account, std::size_t active, std::uint16_t) {
        limit_signals.push_back(std::string(account) + " " + std::to_string(active));
      };
      proxy_ = std::make_unique<Proxy>(env, settings);
      tu.proxy = proxy_.get();
    }
    return *proxy_;
  }

  // One binding of `user`@example.com, applied to the location service as the registrar would.
  void bind(const std::string& user, const std::string& contact, const Destination& from, std::uint16_t q = 1000,
            std::vector<std::string> path = {}) {
    registrar::Update u;
    u.aor = "sip:" + user + "@" + std::string(kDomain);
    u.contacts.push_back(registrar::ContactUpdate{contact, 3600, q, {}, 0});
    u.call_id = "reg-" + contact;
    u.cseq = 1;
    u.received = registrar::Source{std::string(sip::ascii_lower(transport_name(from.transport))), from.address,
                                   from.port, "udp:0"};
    u.path = std::move(path);
    const auto result = location.apply(u, registrar::Clock::now());
    ASSERT_EQ(result.status, registrar::UpdateResult::Status::Ok);
  }

  // Delivers a message as the core does: requests through receive_request (a stray ACK to
  // on_stray_ack), responses through receive_response (a stray one to on_stray_response).
  void deliver(std::string_view text, const Destination& from) {
    proxy();
    auto msg = std::make_unique<Msg>(text);
    tu.source = from;
    if (msg->message.is_request()) {
      auto d = table.receive_request(*msg, from);
      ASSERT_TRUE(d);
      if (*d == txn::Disposition::Stray && msg->message.method_id() == sip::Method::Ack)
        proxy_->on_stray_ack(*msg);
    } else if (table.receive_response(*msg) == txn::Disposition::Stray) {
      proxy_->on_stray_response(*msg);
    }
    delivered_.push_back(std::move(msg));
  }

  // A request from Alice with valid credentials for it; what was sent in answer.
  std::vector<Out> call(Request r = {});

  // What was sent since the last call, parsed.
  std::vector<Out> take() {
    std::vector<Out> out;
    for (const Sent& s : sender.sent) out.push_back(Out{s.to, std::make_unique<Msg>(s.bytes)});
    sender.sent.clear();
    return out;
  }
  // Start lines of what was sent since the last call, with their destinations.
  static std::vector<std::string> lines(const std::vector<Out>& sent) {
    std::vector<std::string> out;
    for (const Out& o : sent) out.push_back(o.start_line() + " -> " + o.to.address + ":" + std::to_string(o.to.port));
    return out;
  }

  // A fresh nonce and credentials for `user` (password `password`) on this request.
  std::string credentials(std::string_view user, std::string_view password, std::string_view method,
                          std::string_view uri) {
    const std::string nonce = nonces.issue(registrar::Clock::now());
    const auto a = sip::DigestAlgorithm::Md5;
    const std::string ha1 = sip::digest_ha1(a, user, kDomain, password);
    const std::string response = sip::digest_response(a, ha1, nonce, "00000001", "c0ffee", "auth", method, uri);
    return "Digest username=\"" + std::string(user) + "\", realm=\"example.com\", nonce=\"" + nonce + "\", uri=\"" +
           std::string(uri) + "\", response=\"" + response + "\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, nc=00000001";
  }

  FakeClock clock;
  FakeSender sender{clock};
  CoreTu tu;
  txn::TransactionTable table{clock, sender, tu};
  LocalIdentity self;
  TestDirectory directory;
  registrar::Location location;
  registrar::NonceManager nonces{"0123456789abcdef0123456789abcdef", 300s};
  registrar::DigestAuthenticator auth{nonces, {sip::DigestAlgorithm::Md5}};
  ProxySettings settings;
  std::vector<registrar::AuthFailure> failures;
  ActiveCalls active_calls;
  media::MediaRelay* relay = nullptr;  // set before the first proxy() for media tests
  MediaSettings media_settings;
  std::vector<std::string> limit_signals;  // "account active" per refused caller

 private:
  std::vector<std::unique_ptr<Msg>> delivered_;
  std::unique_ptr<Proxy> proxy_;
};

inline std::vector<Out> ProxyTest::call(Request r) {
  r.extra += "Proxy-Authorization: " + credentials("alice", "secret", r.method, r.uri) + "\n";
  deliver(r.text(), alice_addr());
  return take();
}

// A caller from another domain: not authenticated (only local callers are).
inline Request from_foreign() {
  Request r;
  r.from = "<sip:zed@remote.example.org>;tag=z1";
  r.via = "SIP/2.0/UDP 203.0.113.80:5060;branch=z9hG4bKzed1";
  r.call_id = "call-zed@203.0.113.80";
  return r;
}

// The response a downstream phone sends to `request` (as the proxy forwarded it): every
// Via, From, To with `to_tag` (for statuses > 100), Call-ID, CSeq, then `extra`.
inline std::string response_to(const sip::Message& request, int status, std::string_view reason,
                               std::string_view to_tag = "uas", std::string_view extra = "") {
  std::string t = "SIP/2.0 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  for (const sip::HeaderField& f : request.headers())
    if (f.id == sip::HeaderId::Via) t += "Via: " + std::string(f.value) + "\r\n";
  t += "From: " + std::string(request.header(sip::HeaderId::From)->value) + "\r\n";
  t += "To: " + std::string(request.header(sip::HeaderId::To)->value);
  if (status > 100 && request.to().tag().empty()) t += ";tag=" + std::string(to_tag);
  t += "\r\nCall-ID: " + std::string(request.call_id()) + "\r\n";
  t += "CSeq: " + std::string(request.header(sip::HeaderId::CSeq)->value) + "\r\n";
  t += extra;
  t += "Content-Length: 0\r\n\r\n";
  return t;
}

}  // namespace sipbox::proxy::test
