#include "store/sqlite/sqlite_schema.h"

#include <array>
#include <string>
#include <string_view>

namespace sipbox::store::sqlite {

namespace {

// Append only: a released migration is never edited, a change is a new entry. Times are
// Unix seconds (UTC); text columns are NOT NULL with "" for "absent", so equality in the
// WHERE clauses never meets NULL.
constexpr std::array<std::string_view, 2> kMigrations = {
    // 1: registrar bindings (issue 4) and bans (issue 5).
    R"sql(
CREATE TABLE location (
  aor                TEXT    NOT NULL,
  contact            TEXT    NOT NULL,
  received_transport TEXT    NOT NULL,
  received_address   TEXT    NOT NULL,
  received_port      INTEGER NOT NULL,
  received_socket    TEXT    NOT NULL,
  path               TEXT    NOT NULL,  -- JSON array of Path header values, in order
  instance           TEXT    NOT NULL,
  reg_id             INTEGER NOT NULL,
  q                  INTEGER NOT NULL,  -- thousandths
  call_id            TEXT    NOT NULL,
  cseq               INTEGER NOT NULL,
  expires_at         INTEGER NOT NULL,
  user_agent         TEXT    NOT NULL,
  PRIMARY KEY (aor, contact)
) WITHOUT ROWID;
CREATE INDEX location_expires_at ON location (expires_at);

CREATE TABLE ban (
  prefix   TEXT    NOT NULL PRIMARY KEY,
  until    INTEGER NOT NULL,
  reason   TEXT    NOT NULL,
  sid      INTEGER NOT NULL,
  offences INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ban_until ON ban (until);
)sql",
    // 2: security incidents (issue 5) and speech-quality records (issue 6): history,
    // queried newest first by time range.
    R"sql(
CREATE TABLE incident (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  source  TEXT    NOT NULL,
  sid     INTEGER NOT NULL,
  message TEXT    NOT NULL,
  count   INTEGER NOT NULL,
  action  TEXT    NOT NULL
);
CREATE INDEX incident_at ON incident (at);
CREATE INDEX incident_source ON incident (source, at);

CREATE TABLE quality (
  id             INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  call_id        TEXT    NOT NULL,
  src_address    TEXT    NOT NULL,
  src_port       INTEGER NOT NULL,
  dst_address    TEXT    NOT NULL,
  dst_port       INTEGER NOT NULL,
  codec          TEXT    NOT NULL,
  packets        INTEGER NOT NULL,
  loss_percent   REAL    NOT NULL,
  jitter_mean_ms REAL    NOT NULL,
  jitter_max_ms  REAL    NOT NULL,
  burst_ratio    REAL    NOT NULL,
  delay_ms       REAL    NOT NULL,
  r              REAL    NOT NULL,
  mos            REAL    NOT NULL
);
CREATE INDEX quality_at ON quality (at);
CREATE INDEX quality_call_id ON quality (call_id);
)sql",
};

Result<int> current_version(Connection& db) {
  auto text = db.query_text("SELECT version FROM schema_version");
  if (!text) return Unexpected<Error>{text.error()};
  if (text->empty()) return 0;
  try {
    return std::stoi(*text);
  } catch (const std::exception&) {
    return fail("schema_version holds '" + *text + "', not a number");
  }
}

}  // namespace

int latest_schema_version() { return static_cast<int>(kMigrations.size()); }

Status migrate(Connection& db) {
  // IMMEDIATE: take the write lock before reading the version, so two processes opening
  // a new file at once do not both run migration 1.
  if (auto begun = db.exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                           "cannot create the schema_version table");
      !begun) {
    (void)db.exec("ROLLBACK", "rollback");
    return begun;
  }
  auto version = current_version(db);
  if (!version) {
    (void)db.exec("ROLLBACK", "rollback");
    return fail("cannot read the schema version: " + version.error().message);
  }
  if (*version > latest_schema_version()) {
    (void)db.exec("ROLLBACK", "rollback");
    return fail("the database has schema version " + std::to_string(*version) + ", newer than this sipboxd supports (" +
                std::to_string(latest_schema_version()) + "); run the newer sipboxd or restore a backup");
  }
  for (int next = *version + 1; next <= latest_schema_version(); ++next) {
    const std::string sql = std::string(kMigrations[static_cast<std::size_t>(next - 1)]) +
                            "; DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (" +
                            std::to_string(next) + "); COMMIT; BEGIN IMMEDIATE";
    if (auto applied = db.exec(sql, "migration to schema version " + std::to_string(next) + " failed"); !applied) {
      (void)db.exec("ROLLBACK", "rollback");
      return applied;
    }
  }
  return db.exec("COMMIT", "cannot commit the schema");
}

}  // namespace sipbox::store::sqlite
