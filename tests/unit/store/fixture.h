// Shared by the store tests: a fresh temporary data directory per test, and sample
// records with every field set to something distinguishable.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>
#include <string>

#include "store/store.h"

namespace sipbox::store {
// Readable failure messages (GoogleTest finds these by argument-dependent lookup).
inline void PrintTo(const Binding& b, std::ostream* os) {
  *os << "{" << b.aor << " -> " << b.contact << " via " << b.received.transport << ":" << b.received.address << ":"
      << b.received.port << "@" << b.received.socket << " path=" << b.path.size() << " instance=" << b.instance
      << " reg_id=" << b.reg_id << " q=" << b.q << " call_id=" << b.call_id << " cseq=" << b.cseq
      << " expires=" << b.expires_at.time_since_epoch().count() << " ua=" << b.user_agent << "}";
}
inline void PrintTo(const Ban& b, std::ostream* os) {
  *os << "{" << b.prefix << " until " << b.until.time_since_epoch().count() << " reason=" << b.reason
      << " sid=" << b.sid << " offences=" << b.offences << "}";
}
}  // namespace sipbox::store

namespace sipbox::store::test {

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sipbox-store-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path db() const { return path_ / "sipbox.db"; }

 private:
  std::filesystem::path path_;
};

inline Time at(long long unix_seconds) { return Time(std::chrono::seconds(unix_seconds)); }

// A fixed "now" far from the epoch, so expiry tests do not depend on the clock.
inline const Time kNow = at(1'800'000'000);

inline Binding sample_binding(int n, Time expires_at = kNow + std::chrono::hours(1)) {
  Binding b;
  b.aor = "sip:user" + std::to_string(n) + "@example.com";
  b.contact = "sip:user" + std::to_string(n) + "@192.0.2.10:5062;transport=tcp;ob";
  b.received = Source{"tcp", "2001:db8::7", 40123, "tcp-main"};
  b.path = {"<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr;ob>"};
  b.instance = "<urn:uuid:00000000-0000-1000-8000-" + std::to_string(100000000000 + n) + ">";
  b.reg_id = 2;
  b.q = 700;
  b.call_id = "call-" + std::to_string(n) + "@host";
  b.cseq = 4242;
  b.expires_at = expires_at;
  b.user_agent = "baresip v2.10.0 \"quoted\" 'é'";
  return b;
}

inline std::unique_ptr<Store> open_or_die(const std::filesystem::path& db, StoreOptions options = {}) {
  auto store = open_sqlite_store(db, options);
  if (!store) throw std::runtime_error(store.error().message);
  return std::move(*store);
}

}  // namespace sipbox::store::test
