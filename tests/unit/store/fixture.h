// Shared by the store tests: a fresh temporary data directory per test, and sample
// records with every field set to something distinguishable.
#pragma once

#include "tests/unit/temp_dir.h"

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

// The shared temp dir, with the store's database file name.
class TempDir : public sipbox::test_support::TempDir {
 public:
  std::filesystem::path db() const { return path() / "sipbox.db"; }
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
