// The location service (RFC 3261 10.2, 10.3): bindings of addresses-of-record to contact
// addresses, held in memory and persisted through store::LocationStore.
//
// Threading: REGISTERs for one AOR may arrive on different SIP workers (workers shard by
// Call-ID, and a phone refreshes with its own Call-ID while another phone of the same user
// uses another), and the proxy looks bindings up from any worker. So Location is shared
// and guarded by one mutex held for short sections only: a map lookup plus a few vector
// edits, and the store calls, which only enqueue (docs/store.md). The store calls are made
// under the lock on purpose: the store applies operations in call order, so memory and
// disk see the changes of one AOR in the same order. A re-registration that only extends
// a binding goes to the store as a lazy refresh, the rest as upserts (location.cpp,
// only_refreshed; docs/store.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "registrar/binding_record.h"
#include "sip/sip.h"
#include "store/store.h"

namespace sipbox::registrar {

using Clock = std::chrono::system_clock;
using Source = store::Source;

// RFC 3261 10.3 step 5: the canonical address-of-record of a To URI: scheme (sip or sips),
// unescaped user, lower-cased host; no port, no parameters. Fails for other schemes and
// for URIs without a user.
Result<std::string> normalize_aor(const sip::Uri& uri);

// A live binding as lookup() returns it.
struct Registration {
  store::Binding binding;
  // The Contact's host/port differs from the address the REGISTER came from (a UA behind
  // NAT, issue 4): requests go to binding.received, not to the Contact.
  bool behind_nat = false;
  // Where requests for this binding go: binding.received when behind NAT or registered
  // over a connection (TCP, TLS, WebSocket: RFC 5626 flows reuse the connection), else
  // the Contact URI itself.
  bool send_to_source = false;
};

// One Contact of a REGISTER after expiry processing (RFC 3261 10.3 step 7).
struct ContactUpdate {
  std::string contact;        // the Contact URI as written
  std::uint32_t expires = 0;  // granted seconds; 0 removes the binding
  std::uint16_t q = 1000;     // thousandths
  std::string instance;       // +sip.instance without quotes (RFC 5626), "" if none
  std::uint32_t reg_id = 0;   // reg-id (RFC 5626), 0 if none
};

// Everything one REGISTER asks of one AOR; applied all or nothing.
struct Update {
  std::string aor;
  bool remove_all = false;  // "Contact: *" with Expires: 0 (RFC 3261 10.3 step 6)
  std::vector<ContactUpdate> contacts;
  std::string call_id;
  std::uint32_t cseq = 0;
  Source received;
  std::vector<std::string> path;  // Path values in order (RFC 3327)
  std::string user_agent;
  std::size_t max_contacts = 10;  // bindings the AOR may hold afterwards
};

struct UpdateResult {
  enum class Status : std::uint8_t {
    Ok,
    OutOfOrder,  // same Call-ID with a CSeq not higher than the binding's (10.3 step 7)
    TooMany,     // the AOR would exceed max_contacts
  };
  Status status = Status::Ok;
  std::size_t added = 0;
  std::size_t refreshed = 0;
  std::size_t removed = 0;
  std::vector<Registration> current;  // the AOR's live bindings afterwards (lookup order)
};

class Location {
 public:
  // `store`: where every change is persisted (asynchronously); nullptr keeps bindings in
  // memory only. The store must outlive the Location.
  explicit Location(store::LocationStore* store = nullptr) : store_(store) {}

  // Start-up: replaces the in-memory bindings with the store's live ones (load_all
  // flushes first, so it sees every earlier write). Errors are the store's.
  Result<std::size_t> restore(store::LocationStore& store, Clock::time_point now);

  // RFC 3261 10.3 steps 6-7 for one REGISTER, checked first and applied only if every
  // contact passes.
  UpdateResult apply(const Update& update, Clock::time_point now);

  // Live bindings of `aor` (normalized), highest q first, then most recently updated.
  std::vector<Registration> lookup(std::string_view aor, Clock::time_point now) const;

  // Live bindings registered over UDP from behind a NAT: the ones keep-alive pings go to
  // (streams keep their own connection alive).
  std::vector<Registration> nat_bindings(Clock::time_point now) const;

  // Removes bindings whose expiry has passed; the caller drives it from a timer.
  std::size_t purge(Clock::time_point now);

  std::size_t aor_count() const;
  std::size_t binding_count() const;

 private:
  struct Entry {
    BindingRecord binding;
    std::uint64_t updated = 0;  // sequence number of the last change (for ordering)
  };
  using Entries = std::vector<Entry>;

  std::vector<Registration> live(std::string_view aor, const Entries& entries, Clock::time_point now) const;

  store::LocationStore* store_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entries> aors_;
  std::uint64_t sequence_ = 0;
};

}  // namespace sipbox::registrar
