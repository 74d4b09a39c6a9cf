#include "store/sqlite/sqlite_backend.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_history.h"
#include "store/sqlite/sqlite_schema.h"

namespace sipbox::store {

namespace {

using sqlite::Connection;
using sqlite::Statement;

constexpr std::string_view kBindingColumns =
    "aor, contact, received_transport, received_address, received_port, received_socket, path, instance, "
    "reg_id, q, call_id, cseq, expires_at, user_agent";

// Codes that say "this data can never be written" rather than "not now": only these
// drop the one operation. Everything else (busy, locked, full disk, I/O error, even
// corruption) keeps the batch and retries, because dropping it would lose data.
bool is_permanent(int code) {
  switch (sqlite::primary_code(code)) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return true;
    default:
      return false;
  }
}

std::int64_t seconds(Time t) { return static_cast<std::int64_t>(t.time_since_epoch().count()); }
Time to_time(std::int64_t s) { return Time(std::chrono::seconds(s)); }

template <class T>
T clamp_to(std::int64_t v) {
  return static_cast<T>(std::clamp<std::int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

class SqliteBackend final : public Backend {
 public:
  SqliteBackend(std::filesystem::path file, Connection db, Connection reader)
      : file_(std::move(file)), db_(std::move(db)), reader_(std::move(reader)) {}

  Status prepare_statements() {
    const std::string columns(kBindingColumns);
    struct Entry {
      Statement* target;
      std::string sql;
    };
    const Entry entries[] = {
        {&begin_, "BEGIN IMMEDIATE"},
        {&commit_, "COMMIT"},
        {&rollback_, "ROLLBACK"},
        {&upsert_binding_, "INSERT OR REPLACE INTO location (" + columns +
                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"},
        // Same parameter numbers as the upsert, so one function binds both.
        {&refresh_binding_,
         "UPDATE location SET received_transport = ?3, received_address = ?4, received_port = ?5, "
         "received_socket = ?6, path = ?7, instance = ?8, reg_id = ?9, q = ?10, call_id = ?11, cseq = ?12, "
         "expires_at = ?13, user_agent = ?14 WHERE aor = ?1 AND contact = ?2"},
        {&remove_binding_, "DELETE FROM location WHERE aor = ?1 AND contact = ?2"},
        {&remove_all_bindings_, "DELETE FROM location WHERE aor = ?1"},
        {&purge_bindings_, "DELETE FROM location WHERE expires_at <= ?1"},
        {&load_bindings_, "SELECT " + columns + " FROM location WHERE expires_at > ?1 ORDER BY aor, contact"},
        {&upsert_ban_, "INSERT OR REPLACE INTO ban (prefix, until, reason, sid, offences) VALUES (?1, ?2, ?3, ?4, ?5)"},
        {&remove_ban_, "DELETE FROM ban WHERE prefix = ?1"},
        {&purge_bans_, "DELETE FROM ban WHERE until <= ?1"},
        {&load_bans_, "SELECT prefix, until, reason, sid, offences FROM ban WHERE until > ?1 ORDER BY prefix"},
    };
    for (const auto& entry : entries) {
      auto stmt = db_.prepare(entry.sql);
      if (!stmt)
        return fail("store: " + file_.string() + ": cannot prepare '" + entry.sql + "': " + stmt.error().message);
      *entry.target = std::move(*stmt);
    }
    if (auto prepared = history_.prepare(db_, reader_); !prepared) {
      return fail("store: " + file_.string() + ": " + prepared.error().message);
    }
    return {};
  }

  Result<void, WriteFailure> write(std::span<const Op> ops) override {
    std::lock_guard lock(mu_);
    if (int rc = run(begin_); rc != SQLITE_DONE) return failure("cannot begin a transaction", rc, std::nullopt);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const int rc = std::visit([&](const auto& o) { return apply(o); }, ops[i]);
      if (rc != SQLITE_DONE) {
        const std::string message = db_.last_message();
        run(rollback_);
        return failure(message, rc, is_permanent(rc) ? std::optional<std::size_t>(i) : std::nullopt);
      }
    }
    if (int rc = run(commit_); rc != SQLITE_DONE) {
      const std::string message = db_.last_message();
      run(rollback_);
      return failure("commit failed: " + message, rc, std::nullopt);
    }
    return {};
  }

  Result<std::vector<Binding>> load_bindings(Time now) override {
    std::lock_guard lock(mu_);
    Statement& s = load_bindings_;
    s.bind(1, seconds(now));
    std::vector<Binding> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Binding b;
      b.aor = s.column_text(0);
      b.contact = s.column_text(1);
      b.received.transport = s.column_text(2);
      b.received.address = s.column_text(3);
      b.received.port = clamp_to<std::uint16_t>(s.column_int(4));
      b.received.socket = s.column_text(5);
      auto path = decode_path(s.column_text(6));
      if (!path) {
        s.reset();
        return fail("store: " + file_.string() + ": binding " + b.aor + " -> " + b.contact + ": " +
                    path.error().message);
      }
      b.path = std::move(*path);
      b.instance = s.column_text(7);
      b.reg_id = clamp_to<std::uint32_t>(s.column_int(8));
      b.q = clamp_to<std::uint16_t>(s.column_int(9));
      b.call_id = s.column_text(10);
      b.cseq = clamp_to<std::uint32_t>(s.column_int(11));
      b.expires_at = to_time(s.column_int(12));
      b.user_agent = s.column_text(13);
      out.push_back(std::move(b));
    }
    s.reset();
    if (rc != SQLITE_DONE) return fail("store: " + file_.string() + ": cannot read bindings: " + db_.last_message());
    return out;
  }

  Result<std::vector<Ban>> load_bans(Time now) override {
    std::lock_guard lock(mu_);
    Statement& s = load_bans_;
    s.bind(1, seconds(now));
    std::vector<Ban> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      Ban b;
      b.prefix = s.column_text(0);
      b.until = to_time(s.column_int(1));
      b.reason = s.column_text(2);
      b.sid = clamp_to<std::uint32_t>(s.column_int(3));
      b.offences = clamp_to<std::uint32_t>(s.column_int(4));
      out.push_back(std::move(b));
    }
    s.reset();
    if (rc != SQLITE_DONE) return fail("store: " + file_.string() + ": cannot read bans: " + db_.last_message());
    return out;
  }

  Result<std::vector<Incident>> query_incidents(const IncidentQuery& query) override {
    std::lock_guard lock(read_mu_);
    auto found = history_.query(query);
    if (!found) return fail("store: " + file_.string() + ": " + found.error().message);
    return found;
  }

  Result<std::vector<QualityRecord>> query_quality(const QualityQuery& query) override {
    std::lock_guard lock(read_mu_);
    auto found = history_.query(query);
    if (!found) return fail("store: " + file_.string() + ": " + found.error().message);
    return found;
  }

  Status verify() override {
    std::lock_guard lock(mu_);
    auto stmt = db_.prepare("PRAGMA integrity_check");
    if (!stmt) return fail("store: " + file_.string() + ": " + stmt.error().message);
    std::string report;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
      if (!report.empty()) report += "; ";
      report += stmt->column_text(0);
    }
    if (rc != SQLITE_DONE) return fail("store: " + file_.string() + ": integrity check failed: " + db_.last_message());
    if (report != "ok") return fail("store: " + file_.string() + " is damaged: " + report);
    return {};
  }

 private:
  static int run(Statement& s) {
    const int rc = s.step();
    s.reset();
    return rc;
  }

  Unexpected<WriteFailure> failure(const std::string& what, int rc, std::optional<std::size_t> bad_op) const {
    return {WriteFailure{"store: " + file_.string() + ": " + what + " (" + sqlite3_errstr(rc) + ")", bad_op}};
  }

  static std::string encode_path(const std::vector<std::string>& path) { return nlohmann::json(path).dump(); }

  static Result<std::vector<std::string>> decode_path(const std::string& text) {
    try {
      return nlohmann::json::parse(text).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      return fail(std::string("malformed path column: ") + e.what());
    }
  }

  // Each returns SQLITE_DONE on success; the statement is reset for reuse either way.
  int apply(const op::UpsertBinding& o) { return run_with_binding(upsert_binding_, o.binding); }
  // No row (removed or purged meanwhile) is not an error: the refresh has nothing to update.
  int apply(const op::RefreshBinding& o) { return run_with_binding(refresh_binding_, o.binding); }
  // `s` takes the binding's columns as ?1..?14 in kBindingColumns order.
  static int run_with_binding(Statement& s, const Binding& b) {
    int rc = SQLITE_OK;
    auto bind = [&](int i, auto v) {
      if (rc == SQLITE_OK) rc = s.bind(i, v);
    };
    bind(1, std::string_view(b.aor));
    bind(2, std::string_view(b.contact));
    bind(3, std::string_view(b.received.transport));
    bind(4, std::string_view(b.received.address));
    bind(5, std::int64_t{b.received.port});
    bind(6, std::string_view(b.received.socket));
    const std::string path = encode_path(b.path);
    bind(7, std::string_view(path));
    bind(8, std::string_view(b.instance));
    bind(9, std::int64_t{b.reg_id});
    bind(10, std::int64_t{b.q});
    bind(11, std::string_view(b.call_id));
    bind(12, std::int64_t{b.cseq});
    bind(13, seconds(b.expires_at));
    bind(14, std::string_view(b.user_agent));
    if (rc != SQLITE_OK) {
      s.reset();
      return rc;
    }
    return run(s);
  }
  int apply(const op::RemoveBinding& o) {
    remove_binding_.bind(1, o.aor);
    remove_binding_.bind(2, o.contact);
    return run(remove_binding_);
  }
  int apply(const op::RemoveAllBindings& o) {
    remove_all_bindings_.bind(1, o.aor);
    return run(remove_all_bindings_);
  }
  int apply(const op::PurgeBindings& o) {
    purge_bindings_.bind(1, seconds(o.now));
    return run(purge_bindings_);
  }
  int apply(const op::UpsertBan& o) {
    const Ban& b = o.ban;
    Statement& s = upsert_ban_;
    int rc = s.bind(1, b.prefix);
    if (rc == SQLITE_OK) rc = s.bind(2, seconds(b.until));
    if (rc == SQLITE_OK) rc = s.bind(3, b.reason);
    if (rc == SQLITE_OK) rc = s.bind(4, std::int64_t{b.sid});
    if (rc == SQLITE_OK) rc = s.bind(5, std::int64_t{b.offences});
    if (rc != SQLITE_OK) {
      s.reset();
      return rc;
    }
    return run(s);
  }
  int apply(const op::RemoveBan& o) {
    remove_ban_.bind(1, o.prefix);
    return run(remove_ban_);
  }
  int apply(const op::PurgeBans& o) {
    purge_bans_.bind(1, seconds(o.now));
    return run(purge_bans_);
  }
  int apply(const op::AppendIncident& o) { return history_.apply(o); }
  int apply(const op::PurgeIncidents& o) { return history_.apply(o); }
  int apply(const op::AppendQuality& o) { return history_.apply(o); }
  int apply(const op::PurgeQuality& o) { return history_.apply(o); }

  const std::filesystem::path file_;
  // The writer thread writes and a start-up caller reads through one connection; the
  // mutex keeps the prepared statements to one user at a time.
  std::mutex mu_;
  Connection db_;
  Statement begin_, commit_, rollback_;
  Statement upsert_binding_, refresh_binding_, remove_binding_, remove_all_bindings_, purge_bindings_, load_bindings_;
  Statement upsert_ban_, remove_ban_, purge_bans_, load_bans_;
  // History queries (REST) use their own read-only connection: in WAL mode it reads the
  // last committed state without waiting for the writer's mutex or its commit.
  std::mutex read_mu_;
  Connection reader_;
  sqlite::HistoryTables history_;  // its statements belong to db_ and reader_
};

// SQLite reports a damaged or foreign file at the first read; say what to do about it.
Unexpected<Error> unusable(const std::filesystem::path& file, const std::string& reason) {
  return fail("store: " + file.string() + " is not a usable SQLite database (" + reason +
              "); move it aside to start with an empty store, or restore a backup");
}

}  // namespace

Result<std::unique_ptr<Backend>> open_sqlite_backend(const std::filesystem::path& file, const StoreOptions& options) {
  auto db = Connection::open(file);
  if (!db) return Unexpected<Error>{db.error()};
  sqlite3_busy_timeout(db->raw(), static_cast<int>(options.busy_timeout.count()));

  // WAL: readers (the sipbox CLI) never block the writer, and a commit is one append to
  // the log. The first statement that reads the file detects a foreign or damaged file.
  auto mode = db->query_text("PRAGMA journal_mode=WAL");
  if (!mode) return unusable(file, mode.error().message);
  if (*mode != "wal")
    return fail("store: " + file.string() + ": cannot switch to WAL mode (journal_mode is " + *mode + ")");
  // See docs/store.md: NORMAL survives a crash of the process, FULL also a power loss.
  const bool full = options.durability == StoreOptions::Durability::power_loss;
  if (auto set = db->exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "cannot set synchronous");
      !set) {
    return fail("store: " + file.string() + ": " + set.error().message);
  }
  if (options.verify_on_open) {
    auto check = db->query_text("PRAGMA quick_check(1)");
    if (!check) return unusable(file, check.error().message);
    if (*check != "ok") return unusable(file, "quick_check: " + *check);
  }
  if (auto migrated = sqlite::migrate(*db); !migrated) {
    return fail("store: " + file.string() + ": " + migrated.error().message);
  }
  auto reader = Connection::open(file, /*read_only=*/true);
  if (!reader) return Unexpected<Error>{reader.error()};
  sqlite3_busy_timeout(reader->raw(), static_cast<int>(options.busy_timeout.count()));
  auto backend = std::make_unique<SqliteBackend>(file, std::move(*db), std::move(*reader));
  if (auto prepared = backend->prepare_statements(); !prepared) return Unexpected<Error>{prepared.error()};
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace sipbox::store
