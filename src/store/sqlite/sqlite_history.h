// Internal: the append-only history tables of the SQLite backend (incidents, quality
// records): their writes, run by the writer in its batch transaction, and their queries,
// run on a separate read-only connection so a REST request never waits for a commit.
#pragma once

#include <cstdint>
#include <vector>

#include "store/backend.h"
#include "store/sqlite/sqlite_db.h"

namespace sipbox::store::sqlite {

inline std::int64_t unix_seconds(Time t) { return static_cast<std::int64_t>(t.time_since_epoch().count()); }
inline Time from_unix_seconds(std::int64_t s) { return Time(std::chrono::seconds(s)); }

class HistoryTables {
 public:
  Status prepare(Connection& writer, Connection& reader);

  // Writer thread, inside the batch transaction. SQLITE_DONE on success.
  int apply(const op::AppendIncident& o);
  int apply(const op::PurgeIncidents& o);
  int apply(const op::AppendQuality& o);
  int apply(const op::PurgeQuality& o);

  // The caller serializes use of the reader connection.
  Result<std::vector<Incident>> query(const IncidentQuery& query);
  Result<std::vector<QualityRecord>> query(const QualityQuery& query);

 private:
  Connection* reader_ = nullptr;
  Statement append_incident_, purge_incidents_, query_incidents_;
  Statement append_quality_, purge_quality_, query_quality_;
};

}  // namespace sipbox::store::sqlite
