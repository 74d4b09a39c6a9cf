#include "store/sqlite/sqlite_history.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <string>

namespace sipbox::store::sqlite {

namespace {

template <class T>
T clamp_to(std::int64_t v) {
  return static_cast<T>(std::clamp<std::int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

std::uint64_t to_uint64(std::int64_t v) { return v < 0 ? 0 : static_cast<std::uint64_t>(v); }

std::int64_t to_int64(std::uint64_t v) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
}

// Binds in order and stops at the first failure; the statement is reset either way.
class Binder {
 public:
  explicit Binder(Statement& s) : s_(s) {}
  template <class T>
  Binder& operator()(T value) {
    ++index_;
    if (rc_ == SQLITE_OK) rc_ = s_.bind(index_, value);
    return *this;
  }
  int execute() {
    if (rc_ != SQLITE_OK) {
      s_.reset();
      return rc_;
    }
    return s_.execute();
  }

 private:
  Statement& s_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

constexpr std::string_view kIncidentColumns = "at, source, sid, message, count, action";
constexpr std::string_view kQualityColumns =
    "at, call_id, src_address, src_port, dst_address, dst_port, codec, packets, loss_percent, jitter_mean_ms, "
    "jitter_max_ms, burst_ratio, delay_ms, r, mos";

}  // namespace

Status HistoryTables::prepare(Connection& writer, Connection& reader) {
  reader_ = &reader;
  const std::string incident(kIncidentColumns);
  const std::string quality(kQualityColumns);
  struct Entry {
    Connection* db;
    Statement* target;
    std::string sql;
  };
  const Entry entries[] = {
      {&writer, &append_incident_, "INSERT INTO incident (" + incident + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&writer, &purge_incidents_, "DELETE FROM incident WHERE at < ?1"},
      {&reader, &query_incidents_,
       "SELECT id, " + incident +
           " FROM incident WHERE at >= ?1 AND at < ?2 AND (?3 = '' OR source = ?3) AND (?4 IS NULL OR sid = ?4)"
           " ORDER BY at DESC, id DESC LIMIT ?5 OFFSET ?6"},
      {&writer, &append_quality_,
       "INSERT INTO quality (" + quality +
           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"},
      {&writer, &purge_quality_, "DELETE FROM quality WHERE at < ?1"},
      {&reader, &query_quality_,
       "SELECT id, " + quality +
           " FROM quality WHERE at >= ?1 AND at < ?2 AND (?3 = '' OR src_address = ?3 OR dst_address = ?3)"
           " AND (?4 = '' OR call_id = ?4) AND (?5 IS NULL OR mos < ?5) ORDER BY at DESC, id DESC LIMIT ?6 OFFSET ?7"},
  };
  for (const auto& e : entries) {
    auto stmt = e.db->prepare(e.sql);
    if (!stmt) return fail("cannot prepare '" + e.sql + "': " + stmt.error().message);
    *e.target = std::move(*stmt);
  }
  return {};
}

int HistoryTables::apply(const op::AppendIncident& o) {
  const Incident& i = o.incident;
  return Binder(append_incident_)(unix_seconds(i.at))(std::string_view(i.source))(std::int64_t{i.sid})(
             std::string_view(i.message))(to_int64(i.count))(std::string_view(i.action))
      .execute();
}

int HistoryTables::apply(const op::PurgeIncidents& o) {
  return Binder(purge_incidents_)(unix_seconds(o.cutoff)).execute();
}

int HistoryTables::apply(const op::AppendQuality& o) {
  const QualityRecord& q = o.record;
  return Binder(append_quality_)(unix_seconds(q.at))(std::string_view(q.call_id))(std::string_view(q.src_address))(
             std::int64_t{q.src_port})(std::string_view(q.dst_address))(std::int64_t{q.dst_port})(
             std::string_view(q.codec))(to_int64(q.packets))(q.loss_percent)(q.jitter_mean_ms)(q.jitter_max_ms)(
             q.burst_ratio)(q.delay_ms)(q.r)(q.mos)
      .execute();
}

int HistoryTables::apply(const op::PurgeQuality& o) { return Binder(purge_quality_)(unix_seconds(o.cutoff)).execute(); }

Result<std::vector<Incident>> HistoryTables::query(const IncidentQuery& query) {
  Statement& s = query_incidents_;
  s.bind(1, unix_seconds(query.since));
  s.bind(2, unix_seconds(query.until));
  s.bind(3, std::string_view(query.source));
  if (query.sid) s.bind(4, std::int64_t{*query.sid});  // unbound is NULL: any sid
  s.bind(5, to_int64(query.page.limit));
  s.bind(6, to_int64(query.page.offset));
  std::vector<Incident> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    Incident i;
    i.id = s.column_int(0);
    i.at = from_unix_seconds(s.column_int(1));
    i.source = s.column_text(2);
    i.sid = clamp_to<std::uint32_t>(s.column_int(3));
    i.message = s.column_text(4);
    i.count = to_uint64(s.column_int(5));
    i.action = s.column_text(6);
    out.push_back(std::move(i));
  }
  s.reset();
  if (rc != SQLITE_DONE) return fail("cannot read incidents: " + reader_->last_message());
  return out;
}

Result<std::vector<QualityRecord>> HistoryTables::query(const QualityQuery& query) {
  Statement& s = query_quality_;
  s.bind(1, unix_seconds(query.since));
  s.bind(2, unix_seconds(query.until));
  s.bind(3, std::string_view(query.address));
  s.bind(4, std::string_view(query.call_id));
  if (query.mos_below) s.bind(5, *query.mos_below);
  s.bind(6, to_int64(query.page.limit));
  s.bind(7, to_int64(query.page.offset));
  std::vector<QualityRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    QualityRecord q;
    q.id = s.column_int(0);
    q.at = from_unix_seconds(s.column_int(1));
    q.call_id = s.column_text(2);
    q.src_address = s.column_text(3);
    q.src_port = clamp_to<std::uint16_t>(s.column_int(4));
    q.dst_address = s.column_text(5);
    q.dst_port = clamp_to<std::uint16_t>(s.column_int(6));
    q.codec = s.column_text(7);
    q.packets = to_uint64(s.column_int(8));
    q.loss_percent = s.column_double(9);
    q.jitter_mean_ms = s.column_double(10);
    q.jitter_max_ms = s.column_double(11);
    q.burst_ratio = s.column_double(12);
    q.delay_ms = s.column_double(13);
    q.r = s.column_double(14);
    q.mos = s.column_double(15);
    out.push_back(std::move(q));
  }
  s.reset();
  if (rc != SQLITE_DONE) return fail("cannot read quality records: " + reader_->last_message());
  return out;
}

}  // namespace sipbox::store::sqlite
