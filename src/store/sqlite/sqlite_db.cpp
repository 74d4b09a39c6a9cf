#include "store/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <limits>
#include <utility>

namespace sipbox::store::sqlite {

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

int Statement::bind(int index, std::string_view text) {
  // Our strings come from SIP messages, far below SQLite's 1 GB limit; refuse rather
  // than truncate if one ever is not.
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return SQLITE_TOOBIG;
  return sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

int Statement::bind(int index, std::int64_t value) { return sqlite3_bind_int64(stmt_, index, value); }

int Statement::bind(int index, double value) { return sqlite3_bind_double(stmt_, index, value); }

int Statement::step() { return sqlite3_step(stmt_); }

int Statement::execute() {
  const int rc = step();
  reset();
  return rc;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) { return sqlite3_column_int64(stmt_, index); }

double Statement::column_double(int index) { return sqlite3_column_double(stmt_, index); }

std::string Statement::column_text(int index) {
  const auto* text = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

Connection::~Connection() { sqlite3_close_v2(db_); }

Result<Connection> Connection::open(const std::filesystem::path& file, bool read_only) {
  sqlite3* db = nullptr;
  // NOMUTEX: the backend serializes access itself (one mutex around the connection).
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  Connection connection(db);  // closes db on every path, even a failed open
  if (rc != SQLITE_OK) {
    std::string reason = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return fail("store: cannot open " + file.string() + ": " + reason);
  }
  sqlite3_extended_result_codes(db, 1);
  return connection;
}

Status Connection::exec(std::string_view sql, std::string_view what) {
  const std::string text(sql);
  char* error = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = std::string(what) + ": " + (error != nullptr ? error : last_message());
    sqlite3_free(error);
    return fail(std::move(message));
  }
  return {};
}

Result<std::string> Connection::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return Unexpected<Error>{stmt.error()};
  const int rc = stmt->step();
  if (rc == SQLITE_ROW) return stmt->column_text(0);
  if (rc == SQLITE_DONE) return std::string();
  return fail(last_message());
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    return fail(last_message());
  }
  return Statement(stmt);
}

int Connection::last_code() const { return sqlite3_extended_errcode(db_); }

std::string Connection::last_message() const { return sqlite3_errmsg(db_); }

}  // namespace sipbox::store::sqlite
