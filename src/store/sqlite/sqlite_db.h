// Internal: small RAII wrappers over the SQLite C API (a connection and a prepared
// statement). Return codes stay visible because the backend classifies failures
// (transient vs. permanent) from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sipbox::store::sqlite {

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  int bind(int index, std::string_view text);
  int bind(int index, std::int64_t value);
  int bind(int index, double value);
  int step();     // SQLITE_ROW, SQLITE_DONE or an error code
  int execute();  // step() then reset(): for statements that return no rows
  void reset();   // also clears the bindings, ready for reuse
  std::int64_t column_int(int index);
  double column_double(int index);
  std::string column_text(int index);

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  Connection() = default;
  Connection(Connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Opens read-write, creating the file if it is missing; or read-only (for queries that
  // must not wait behind the writer: in WAL mode readers and the writer do not block).
  static Result<Connection> open(const std::filesystem::path& file, bool read_only = false);
  // Runs one or more statements that return no rows of interest; on failure the error
  // message starts with `what`.
  Status exec(std::string_view sql, std::string_view what);
  // Runs a statement whose first column of the first row is the answer (PRAGMAs).
  Result<std::string> query_text(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  int last_code() const;  // the extended result code of the last failure
  std::string last_message() const;
  sqlite3* raw() { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// The primary result code (SQLITE_BUSY, ...) of an extended one.
inline int primary_code(int code) { return code & 0xff; }

}  // namespace sipbox::store::sqlite
