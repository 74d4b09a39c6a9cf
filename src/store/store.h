// Public interface of the store module: where registrar bindings, bans (and later
// incidents, quality records and CDRs) are persisted, so that they survive kill -TERM and
// kill -9 (DESIGN.md 3, "Nothing is lost").
//
// One narrow interface per kind of record; no SQL leaks out. Backends: SQLite now (one
// node, DATA_DIR/sipbox.db), PostgreSQL later behind the same interfaces (DESIGN.md 6).
//
// Threading: writes (upsert, remove, purge, refresh) only enqueue and return at once, so a SIP
// worker never waits for the disk (DESIGN.md 3, "No blocking I/O on a SIP worker
// thread"). One background writer per Store drains the queue in FIFO order and commits
// one transaction per batch. Nothing is dropped: when the queue holds more than
// StoreOptions::high_watermark operations (the disk stalls for seconds), enqueueing
// blocks until the writer catches up; that is back-pressure, counted in
// StoreStats::backpressure_waits, not loss. Reads are synchronous: load_all (start-up;
// flushes first) and the history queries (REST; read what is committed, never wait for
// the writer). Every method is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sipbox::store {

// Times are stored with second resolution.
using Time = std::chrono::sys_seconds;
inline Time now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// Where a REGISTER came from: responses and requests to the contact go back there
// (RFC 3581, RFC 5626 flows).
struct Source {
  std::string transport;  // "udp", "tcp", "tls", "ws", "wss"
  std::string address;    // textual IPv4 or IPv6 address
  std::uint16_t port = 0;
  std::string socket;  // name of the local listening socket that received it
  bool operator==(const Source&) const = default;
};

// One registrar binding (RFC 3261 10.3). Key: (aor, contact).
struct Binding {
  std::string aor;      // "sip:alice@example.com"
  std::string contact;  // Contact URI
  Source received;
  std::vector<std::string> path;  // Path header values (RFC 3327), in order
  std::string instance;           // +sip.instance (RFC 5626), "" if none
  std::uint32_t reg_id = 0;       // reg-id (RFC 5626), 0 if none
  std::uint16_t q = 1000;         // q-value in thousandths (q=0.5 -> 500)
  std::string call_id;
  std::uint32_t cseq = 0;
  Time expires_at{};
  std::string user_agent;
  bool operator==(const Binding&) const = default;
};

class LocationStore {
 public:
  virtual ~LocationStore() = default;
  // Asynchronous (enqueue only); applied in the order they were called.
  virtual void upsert(Binding binding) = 0;
  // The same binding re-registered with nothing changed that matters after a restart
  // (registrar::Location decides which; docs/store.md): persisted lazily, like usrloc's
  // write-back mode in Kamailio. Only the latest refresh per (aor, contact) is kept, and
  // queued within StoreOptions::refresh_interval, by flush(), close() and load_all, or
  // ahead of a purge_expired. A later upsert, remove or remove_all of the binding
  // supersedes it. Written as an update of the existing row only: it never brings back a
  // binding removed meanwhile.
  virtual void refresh(Binding binding) = 0;
  virtual void remove(std::string aor, std::string contact) = 0;
  virtual void remove_all(std::string aor) = 0;
  virtual void purge_expired(Time now) = 0;  // deletes bindings with expires_at <= now
  // Synchronous: every binding with expires_at > now, after everything enqueued before
  // the call has been written.
  virtual Result<std::vector<Binding>> load_all(Time now) = 0;
};

// One banned source (issue 5). Key: prefix.
struct Ban {
  std::string prefix;          // "192.0.2.7", "2001:db8::/64": the ban table's canonical text
  Time until{};                // Time::max() for a ban without end
  std::string reason;          // rule msg or detector name
  std::uint32_t sid = 0;       // rule sid, 0 for a built-in detector or a manual ban
  std::uint32_t offences = 0;  // how often this source was banned (longer repeat bans)
  bool operator==(const Ban&) const = default;
};

class BanStore {
 public:
  virtual ~BanStore() = default;
  virtual void upsert(Ban ban) = 0;
  virtual void remove(std::string prefix) = 0;
  virtual void purge_expired(Time now) = 0;                 // deletes bans with until <= now
  virtual Result<std::vector<Ban>> load_all(Time now) = 0;  // bans with until > now
};

// Paging shared by the history queries below (REST ?limit=&offset=).
struct Page {
  std::size_t limit = 100;
  std::size_t offset = 0;
};

// One detection by the security module (issue 5). Append-only history.
struct Incident {
  std::int64_t id = 0;  // assigned when written; ignored by append()
  Time at{};
  std::string source;       // the offending address
  std::uint32_t sid = 0;    // rule sid, 0 for a built-in detector
  std::string message;      // rule msg or detector description
  std::uint64_t count = 0;  // matching messages that triggered it
  std::string action;       // what was done: "alert", "drop", "ban 600 s", ...
  bool operator==(const Incident&) const = default;
};

struct IncidentQuery {
  Time since = Time::min();  // at >= since
  Time until = Time::max();  // at < until
  std::string source;        // "" for any
  std::optional<std::uint32_t> sid;
  Page page;
};

class IncidentStore {
 public:
  virtual ~IncidentStore() = default;
  virtual void append(Incident incident) = 0;
  virtual void purge_before(Time cutoff) = 0;  // retention: deletes at < cutoff
  // Newest first. Reads what is committed (a REST query never waits for the writer).
  virtual Result<std::vector<Incident>> query(const IncidentQuery& query) = 0;
};

// One speech-quality record for one direction of a stream (issue 6). Append-only.
struct QualityRecord {
  std::int64_t id = 0;  // assigned when written; ignored by append()
  Time at{};
  std::string call_id;
  std::string src_address;
  std::uint16_t src_port = 0;
  std::string dst_address;
  std::uint16_t dst_port = 0;
  std::string codec;
  std::uint64_t packets = 0;
  double loss_percent = 0;
  double jitter_mean_ms = 0;
  double jitter_max_ms = 0;
  double burst_ratio = 0;
  double delay_ms = 0;
  double r = 0;
  double mos = 0;
  bool operator==(const QualityRecord&) const = default;
};

struct QualityQuery {
  Time since = Time::min();
  Time until = Time::max();
  std::string address;  // matches source or destination; "" for any
  std::string call_id;  // "" for any
  std::optional<double> mos_below;
  Page page;
};

class QualityStore {
 public:
  virtual ~QualityStore() = default;
  virtual void append(QualityRecord record) = 0;
  virtual void purge_before(Time cutoff) = 0;
  virtual Result<std::vector<QualityRecord>> query(const QualityQuery& query) = 0;  // newest first
};

// Still to come, a narrow interface of its own reached from Store with its own accessor
// and added to the backends' migrations list: CdrStore (accounting; a CDR is written once
// even when a call ends in a race, so keyed by call and leg).

// What /metrics and `sipbox status` show about the store.
struct StoreStats {
  std::uint64_t queue_depth = 0;         // enqueued, not yet committed (includes the batch in flight)
  std::uint64_t enqueued = 0;            // operations accepted since open
  std::uint64_t committed = 0;           // operations written durably
  std::uint64_t batches = 0;             // transactions committed
  std::uint64_t write_errors = 0;        // failed batch attempts (retried)
  std::uint64_t rejected = 0;            // operations the database refused for good
  std::uint64_t backpressure_waits = 0;  // enqueues that had to wait for the writer
  std::string last_error;                // the most recent write error, "" if none
  // LocationStore::refresh. Each accepted refresh is, at any time, exactly one of pending,
  // coalesced, superseded or queued; a queued one counts in `enqueued` (and `committed`)
  // from then on, and in `queue_depth` only while queued, not while pending.
  std::uint64_t refreshes = 0;             // refresh() calls accepted
  std::uint64_t refreshes_pending = 0;     // held, not yet queued (at most one per binding)
  std::uint64_t refreshes_coalesced = 0;   // replaced by a later refresh of the same binding
  std::uint64_t refreshes_superseded = 0;  // dropped for a later upsert/remove of the binding
  std::uint64_t refreshes_queued = 0;      // handed to the writer
  std::uint64_t refreshes_written = 0;     // of those, committed
};

struct StoreOptions {
  // process_crash: a committed batch survives kill -9 of sipboxd; after a power loss or
  // kernel crash the last batches may be missing (the file stays consistent).
  // power_loss: also survives power loss, at one fsync per batch. See docs/store.md.
  enum class Durability : std::uint8_t { process_crash, power_loss };
  Durability durability = Durability::power_loss;
  std::size_t max_batch = 500;                    // operations per transaction
  std::chrono::milliseconds max_batch_delay{50};  // longest wait to fill a batch
  std::size_t high_watermark = 100'000;           // queue length where back-pressure starts
  std::chrono::milliseconds busy_timeout{5000};   // another process (sipbox CLI) holds a lock
  bool verify_on_open = true;                     // PRAGMA quick_check at open
  // Longest a LocationStore::refresh waits before it is queued; 0 queues it at once.
  // 30 s is half the registrar's smallest expiry (min-expires 60): a phone refreshing at
  // half its expiry keeps a live binding across kill -9 (docs/store.md, "Refreshes").
  std::chrono::seconds refresh_interval{30};
};

class Store {
 public:
  virtual ~Store() = default;  // closes (see close())
  virtual LocationStore& location() = 0;
  virtual BanStore& bans() = 0;
  virtual IncidentStore& incidents() = 0;
  virtual QualityStore& quality() = 0;
  // Waits until every operation enqueued before the call is durable. Fails with the last
  // write error if that has not happened within the timeout.
  virtual Status flush(std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
  virtual StoreStats stats() const = 0;
  // A full consistency check of the database (PRAGMA integrity_check for SQLite).
  virtual Status verify() = 0;
  // Flushes (up to the timeout), stops the writer and closes the database. Later writes
  // are refused (counted in `rejected`). Fails if operations could not be written.
  virtual Status close(std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;
};

// Mirrors `container store` in yang/sipbox-system.yang.
struct StoreConfig {
  enum class Backend : std::uint8_t { sqlite, postgresql };
  Backend backend = Backend::sqlite;
  std::filesystem::path data_dir;   // sqlite: the database is data_dir / "sipbox.db"
  std::string postgresql_conninfo;  // postgresql: libpq connection string
};

// Opens (creating or migrating the schema as needed) and starts the writer. A file that
// is not a database, is corrupt, or has a newer schema than this build gives an error
// naming the file and what to do.
Result<std::unique_ptr<Store>> open_store(const StoreConfig& config, const StoreOptions& options = {});
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file, const StoreOptions& options = {});

}  // namespace sipbox::store
