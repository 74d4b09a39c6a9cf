// Test doubles for the txn module: a fake clock (TimerService), a recording Sender and
// a recording TransactionUser, plus SIP message text helpers.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sip/sip.h"
#include "txn/txn.h"

namespace sipbox::txn::test {

// A clock that only moves when the test says so; callbacks fire in due order.
class FakeClock : public TimerService {
 public:
  Handle schedule(Millis delay, std::function<void()> callback) override {
    const Handle handle = ++last_;
    pending_.emplace(handle, Entry{now_ + delay, std::move(callback)});
    return handle;
  }
  void cancel(Handle handle) override { pending_.erase(handle); }

  // Runs every callback due within `by`, in time order (ties: scheduling order).
  void advance(Millis by) {
    const Millis until = now_ + by;
    for (;;) {
      auto next = pending_.end();
      for (auto it = pending_.begin(); it != pending_.end(); ++it)
        if (it->second.due <= until && (next == pending_.end() || it->second.due < next->second.due)) next = it;
      if (next == pending_.end()) break;
      now_ = next->second.due;
      auto callback = std::move(next->second.callback);
      pending_.erase(next);
      callback();
    }
    now_ = until;
  }
  Millis now() const { return now_; }
  std::size_t pending() const { return pending_.size(); }

 private:
  struct Entry {
    Millis due;
    std::function<void()> callback;
  };
  std::map<Handle, Entry> pending_;
  Handle last_ = 0;
  Millis now_{0};
};

struct Sent {
  Destination to;
  std::string bytes;
  Millis at;
  std::string start_line() const { return bytes.substr(0, bytes.find("\r\n")); }
};

class FakeSender : public Sender {
 public:
  explicit FakeSender(const FakeClock& clock) : clock_(clock) {}
  Status send(const Destination& to, std::string_view bytes) override {
    if (fail_next > 0) {
      --fail_next;
      return fail("connection refused");
    }
    sent.push_back(Sent{to, std::string(bytes), clock_.now()});
    return {};
  }
  std::vector<Sent> sent;
  int fail_next = 0;

 private:
  const FakeClock& clock_;
};

struct Recorder : TransactionUser {
  struct Request {
    TransactionId id;
    std::string method;
  };
  void on_request(TransactionId id, const sip::Message& request) override {
    requests.push_back({id, std::string(request.method())});
    if (respond_with) respond_with(id, request);
  }
  void on_response(TransactionId id, const sip::Message& response) override {
    responses.emplace_back(id, response.status_code());
  }
  void on_timeout(TransactionId id) override { timeouts.push_back(id); }
  void on_transport_error(TransactionId id, const Error& error) override {
    transport_errors.emplace_back(id, error.message);
  }
  void on_terminated(TransactionId id) override { terminated.push_back(id); }

  std::vector<Request> requests;
  std::vector<std::pair<TransactionId, int>> responses;
  std::vector<TransactionId> timeouts;
  std::vector<std::pair<TransactionId, std::string>> transport_errors;
  std::vector<TransactionId> terminated;
  std::function<void(TransactionId, const sip::Message&)> respond_with;
};

// Messages are written with \n and sent with \r\n (bytes already in wire form pass unchanged).
inline std::string crlf(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\n' && (out.empty() || out.back() != '\r')) out.push_back('\r');
    out.push_back(ch);
  }
  return out;
}

// A parsed message that owns its bytes (Message holds views into them).
struct Msg {
  explicit Msg(std::string_view text) : bytes(std::make_unique<std::string>(crlf(text))) {
    const Status parsed = sip::parse_message(*bytes, sip::Framing::Datagram, message);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message) << "\n" << *bytes;
  }
  std::unique_ptr<std::string> bytes;
  sip::Message message;
  operator const sip::Message&() const { return message; }
};

// A request with the given method, branch and CSeq; `extra` adds header lines.
inline std::string request_text(std::string_view method, std::string_view branch, std::string_view extra = "",
                                std::string_view to_tag = "", std::uint32_t cseq = 1,
                                std::string_view sent_by = "pc33.atlanta.example.com") {
  std::string text = std::string(method) + " sip:bob@biloxi.example.com SIP/2.0\n";
  text += "Via: SIP/2.0/UDP " + std::string(sent_by) + ";branch=" + std::string(branch) + "\n";
  text += "Max-Forwards: 70\n";
  text += "To: Bob <sip:bob@biloxi.example.com>";
  if (!to_tag.empty()) text += ";tag=" + std::string(to_tag);
  text += "\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n";
  text += "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n";
  text += "CSeq: " + std::to_string(cseq) + " " + std::string(method == "ACK" ? "ACK" : method) + "\n";
  text += std::string(extra);
  text += "Content-Length: 0\n\n";
  return text;
}

// A response to `method` with the given status, branch and To tag.
inline std::string response_text(int status, std::string_view method, std::string_view branch,
                                 std::string_view to_tag = "", std::uint32_t cseq = 1) {
  std::string text = "SIP/2.0 " + std::to_string(status) + " Reason\n";
  text += "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=" + std::string(branch) + "\n";
  text += "To: Bob <sip:bob@biloxi.example.com>";
  if (!to_tag.empty()) text += ";tag=" + std::string(to_tag);
  text += "\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n";
  text += "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\n";
  text += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\n";
  text += "Content-Length: 0\n\n";
  return text;
}

inline Destination udp_peer() { return Destination{"192.0.2.10", 5060, TransportKind::Udp}; }
inline Destination tcp_peer() { return Destination{"192.0.2.10", 5060, TransportKind::Tcp}; }

// Everything a test needs, wired together.
struct Harness {
  FakeClock clock;
  FakeSender sender{clock};
  Recorder user;
  TransactionTable table{clock, sender, user};

  // Times (relative to `from`) at which the sender sent something whose start line begins with `prefix`.
  std::vector<long> send_times(std::string_view prefix, Millis from = Millis{0}) const {
    std::vector<long> out;
    for (const Sent& s : sender.sent)
      if (s.bytes.starts_with(prefix)) out.push_back(static_cast<long>((s.at - from).count()));
    return out;
  }
  State state(TransactionId id) const {
    auto i = table.info(id);
    return i ? i->state : State::Terminated;
  }
};

}  // namespace sipbox::txn::test
