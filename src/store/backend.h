// Internal: what a database backend implements. The write queue, the batching and the
// public interfaces (queued_store.cpp) are shared by every backend; a backend only
// applies a batch of operations in one transaction and reads tables back. The SQLite
// backend lives in sqlite/; a PostgreSQL one (libpq) will implement the same class.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "store/store.h"

namespace sipbox::store {

namespace op {
struct UpsertBinding {
  Binding binding;
};
// An UPDATE of the row's other columns; no row, no effect (LocationStore::refresh).
struct RefreshBinding {
  Binding binding;
};
struct RemoveBinding {
  std::string aor;
  std::string contact;
};
struct RemoveAllBindings {
  std::string aor;
};
struct PurgeBindings {
  Time now;
};
struct UpsertBan {
  Ban ban;
};
struct RemoveBan {
  std::string prefix;
};
struct PurgeBans {
  Time now;
};
struct AppendIncident {
  Incident incident;
};
struct PurgeIncidents {
  Time cutoff;
};
struct AppendQuality {
  QualityRecord record;
};
struct PurgeQuality {
  Time cutoff;
};
}  // namespace op

// One queued write. New kinds of record add alternatives here.
using Op = std::variant<op::UpsertBinding, op::RefreshBinding, op::RemoveBinding, op::RemoveAllBindings,
                        op::PurgeBindings, op::UpsertBan, op::RemoveBan, op::PurgeBans, op::AppendIncident,
                        op::PurgeIncidents, op::AppendQuality, op::PurgeQuality>;

// Why a batch was not committed (it was rolled back).
struct WriteFailure {
  std::string message;
  // Set when that one operation can never succeed (for example a constraint the data
  // breaks): the queue drops it, counts it and retries the rest at once. Unset for
  // transient failures (disk full, I/O error, lock held too long): the whole batch is
  // retried after a pause.
  std::optional<std::size_t> bad_op;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // All or nothing, in order, in one transaction; durable on success (per
  // StoreOptions::durability). Called from the writer thread only.
  virtual Result<void, WriteFailure> write(std::span<const Op> ops) = 0;
  virtual Result<std::vector<Binding>> load_bindings(Time now) = 0;
  virtual Result<std::vector<Ban>> load_bans(Time now) = 0;
  // History queries may run on any thread while the writer works (a REST handler).
  virtual Result<std::vector<Incident>> query_incidents(const IncidentQuery& query) = 0;
  virtual Result<std::vector<QualityRecord>> query_quality(const QualityQuery& query) = 0;
  virtual Status verify() = 0;
};

}  // namespace sipbox::store
