// Incidents (issue 5) and quality records (issue 6): append, query newest first with
// filters and paging, purge by age; and the schema migration that added them.
#include <sqlite3.h>

#include "fixture.h"

namespace sipbox::store::test {
namespace {

using namespace std::chrono_literals;

Incident incident(int n, std::string source, std::uint32_t sid) {
  return Incident{0,          kNow + std::chrono::seconds(n),   std::move(source),
                  sid,        "SIP DoS attempt(registerflood)", static_cast<std::uint64_t>(50 + n),
                  "ban 600 s"};
}

QualityRecord quality(int n, double mos) {
  QualityRecord q;
  q.at = kNow + std::chrono::seconds(n);
  q.call_id = "call-" + std::to_string(n / 2) + "@host";  // two directions per call
  q.src_address = n % 2 == 0 ? "192.0.2.1" : "2001:db8::2";
  q.src_port = 40000;
  q.dst_address = n % 2 == 0 ? "2001:db8::2" : "192.0.2.1";
  q.dst_port = 65535;
  q.codec = "PCMA";
  q.packets = 5'000'000'000ull;
  q.loss_percent = 1.25;
  q.jitter_mean_ms = 3.5;
  q.jitter_max_ms = 17.0625;
  q.burst_ratio = 1.3;
  q.delay_ms = 152.5;
  q.r = 81.234567890123;
  q.mos = mos;
  return q;
}

TEST(IncidentStore, RoundTripFiltersPagingAndPurge) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  for (int n = 0; n < 6; ++n)
    store->incidents().append(incident(n, n % 2 ? "192.0.2.66" : "192.0.2.77", n < 3 ? 1 : 2));
  ASSERT_TRUE(store->flush());

  auto all = store->incidents().query({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 6u);
  for (int k = 0; k < 6; ++k) {  // newest first, every field back, ids assigned
    Incident expected = incident(5 - k, (5 - k) % 2 ? "192.0.2.66" : "192.0.2.77", 5 - k < 3 ? 1 : 2);
    EXPECT_GT((*all)[k].id, 0);
    expected.id = (*all)[k].id;
    EXPECT_EQ((*all)[k], expected);
  }

  IncidentQuery q;
  q.source = "192.0.2.66";
  q.sid = 2;
  auto filtered = store->incidents().query(q);
  ASSERT_TRUE(filtered);
  ASSERT_EQ(filtered->size(), 2u);  // n = 5 and 3
  EXPECT_EQ((*filtered)[0].at, kNow + 5s);
  EXPECT_EQ((*filtered)[1].at, kNow + 3s);

  IncidentQuery window;
  window.since = kNow + 1s;
  window.until = kNow + 4s;  // at in [1, 4)
  window.page = {2, 1};      // skip the newest (3), take 2, 1
  auto paged = store->incidents().query(window);
  ASSERT_TRUE(paged);
  ASSERT_EQ(paged->size(), 2u);
  EXPECT_EQ((*paged)[0].at, kNow + 2s);
  EXPECT_EQ((*paged)[1].at, kNow + 1s);

  store->incidents().purge_before(kNow + 4s);
  ASSERT_TRUE(store->flush());
  auto kept = store->incidents().query({});
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->size(), 2u);
}

TEST(QualityStore, RoundTripFiltersAndReopen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.db());
    for (int n = 0; n < 4; ++n) store->quality().append(quality(n, 4.4 - n * 0.5));
    ASSERT_TRUE(store->close());
  }
  auto store = open_or_die(dir.db());
  auto all = store->quality().query({});
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  QualityRecord expected = quality(3, 4.4 - 3 * 0.5);
  expected.id = (*all)[0].id;
  EXPECT_EQ((*all)[0], expected);  // doubles are stored exactly (REAL is IEEE binary64)

  QualityQuery by_call;
  by_call.call_id = "call-1@host";
  auto call = store->quality().query(by_call);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->size(), 2u);

  QualityQuery poor;
  poor.mos_below = 3.5;          // n = 2 (3.4) and 3 (2.9)
  poor.address = "2001:db8::2";  // source or destination: matches every record
  auto low = store->quality().query(poor);
  ASSERT_TRUE(low);
  ASSERT_EQ(low->size(), 2u);
  EXPECT_DOUBLE_EQ((*low)[0].mos, 4.4 - 3 * 0.5);

  poor.address = "198.51.100.1";
  auto none = store->quality().query(poor);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// A file written by schema version 1 (bindings and bans only) gains the history tables
// at open, and keeps its rows.
TEST(StoreSchema, AVersion1FileIsMigratedAndKeepsItsRows) {
  TempDir dir;
  {
    auto store = open_or_die(dir.db());
    store->location().upsert(sample_binding(1));
    ASSERT_TRUE(store->close());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE incident; DROP TABLE quality; UPDATE schema_version SET version = 1", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = open_or_die(dir.db());
  store->incidents().append(incident(1, "192.0.2.9", 7));
  ASSERT_TRUE(store->flush());
  auto incidents = store->incidents().query({});
  ASSERT_TRUE(incidents) << incidents.error().message;
  EXPECT_EQ(incidents->size(), 1u);
  auto bindings = store->location().load_all(kNow);
  ASSERT_TRUE(bindings);
  ASSERT_EQ(bindings->size(), 1u);
  EXPECT_EQ((*bindings)[0], sample_binding(1));
}

}  // namespace
}  // namespace sipbox::store::test
