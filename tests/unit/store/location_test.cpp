// Registrar bindings (issue 4): every field round-trips, upsert replaces by (aor, contact),
// removals, expiry at load and purge; refreshes are written lazily, never resurrect a
// removed binding, and never hold back a new one.
#include <sqlite3.h>

#include <functional>
#include <optional>
#include <thread>

#include "fixture.h"

namespace sipbox::store::test {
namespace {

TEST(LocationStore, EveryFieldRoundTripsThroughReopen) {
  TempDir dir;
  Binding full = sample_binding(1);
  Binding minimal;  // empty strings, no path, zeros: "absent" must stay absent
  minimal.aor = "sip:bob@example.com";
  minimal.contact = "sip:bob@198.51.100.1";
  minimal.q = 0;
  minimal.expires_at = kNow + std::chrono::seconds(1);
  Binding extreme = sample_binding(2);
  extreme.received.port = 65535;
  extreme.reg_id = 4294967295u;
  extreme.cseq = 4294967295u;
  extreme.q = 1000;
  extreme.path = {"<sip:a,b@x;lr>", "", "[\"json\"]"};
  extreme.expires_at = Time::max();
  {
    auto store = open_or_die(dir.db());
    store->location().upsert(full);
    store->location().upsert(minimal);
    store->location().upsert(extreme);
    ASSERT_TRUE(store->close());
  }
  auto store = open_or_die(dir.db());
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  // Ordered by (aor, contact).
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[0], minimal);
  EXPECT_EQ((*loaded)[1], full);
  EXPECT_EQ((*loaded)[2], extreme);
}

TEST(LocationStore, UpsertReplacesTheSameAorAndContact) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding first = sample_binding(1);
  Binding refreshed = first;
  refreshed.cseq += 1;
  refreshed.expires_at += std::chrono::minutes(5);
  refreshed.received.port = 5099;
  refreshed.path.clear();
  Binding other_contact = first;
  other_contact.contact = "sip:user1@203.0.113.5";
  store->location().upsert(first);
  store->location().upsert(refreshed);
  store->location().upsert(other_contact);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], refreshed);  // "sip:user1@192..." sorts before "sip:user1@203..."
  EXPECT_EQ((*loaded)[1], other_contact);
}

TEST(LocationStore, RemoveOneContactAndRemoveAllOfAnAor) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding a1 = sample_binding(1);
  Binding a2 = a1;
  a2.contact = "sip:user1@203.0.113.5";
  Binding b = sample_binding(2);
  Binding c = sample_binding(3);
  for (const auto& x : {a1, a2, b, c}) store->location().upsert(x);
  store->location().remove(a1.aor, a1.contact);
  store->location().remove(b.aor, "sip:not-registered@example.com");  // no such binding: no effect
  store->location().remove_all(c.aor);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], a2);
  EXPECT_EQ((*loaded)[1], b);
}

TEST(LocationStore, ExpiredBindingsAreSkippedAtLoadAndPurged) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding expired = sample_binding(1, kNow - std::chrono::seconds(1));
  Binding expiring_now = sample_binding(2, kNow);  // expires_at <= now counts as expired
  Binding live = sample_binding(3, kNow + std::chrono::seconds(1));
  for (const auto& x : {expired, expiring_now, live}) store->location().upsert(x);

  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], live);

  // Skipped is not deleted: an earlier "now" still sees them until the purge.
  auto earlier = store->location().load_all(kNow - std::chrono::hours(1));
  ASSERT_TRUE(earlier);
  EXPECT_EQ(earlier->size(), 3u);
  store->location().purge_expired(kNow);
  earlier = store->location().load_all(kNow - std::chrono::hours(1));
  ASSERT_TRUE(earlier);
  ASSERT_EQ(earlier->size(), 1u);
  EXPECT_EQ((*earlier)[0], live);
}

TEST(LocationStore, OperationsApplyInTheOrderTheyWereEnqueued) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding b = sample_binding(1);
  store->location().upsert(b);
  store->location().remove(b.aor, b.contact);
  Binding back = b;
  back.cseq = 1;
  store->location().upsert(back);
  store->location().remove_all("sip:someone-else@example.com");
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].cseq, 1u);
}

// ---- Refreshes (LocationStore::refresh) ----

using namespace std::chrono_literals;

// What a restart after kill -9 would find: the binding's expiry in the file as committed,
// read without the flush load_all does; nullopt when there is no row.
std::optional<std::int64_t> expiry_on_disk(const std::filesystem::path& db, const Binding& b) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    throw std::runtime_error("cannot open " + db.string());
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(raw, "SELECT expires_at FROM location WHERE aor = ?1 AND contact = ?2", -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, b.aor.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(stmt, 2, b.contact.c_str(), -1, SQLITE_TRANSIENT);
  std::optional<std::int64_t> expiry;
  if (sqlite3_step(stmt) == SQLITE_ROW) expiry = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return expiry;
}

std::int64_t unix_seconds(Time t) { return t.time_since_epoch().count(); }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The periodic re-registration of sample_binding(n): later expiry, next CSeq.
Binding refreshed(Binding b, int times = 1) {
  b.expires_at += std::chrono::minutes(times);
  b.cseq += static_cast<std::uint32_t>(times);
  return b;
}

StoreOptions refreshes_held_for(std::chrono::seconds interval) {
  StoreOptions options;
  options.refresh_interval = interval;
  return options;
}

std::vector<Binding> load(Store& store) {
  auto loaded = store.location().load_all(kNow);
  if (!loaded) throw std::runtime_error(loaded.error().message);
  return std::move(*loaded);
}

TEST(LocationStoreRefresh, IsHeldCoalescedAndWrittenByFlush) {
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding first = sample_binding(1);
  store->location().upsert(first);
  ASSERT_TRUE(store->flush());
  for (int i = 1; i <= 100; ++i) store->location().refresh(refreshed(first, i));
  StoreStats stats = store->stats();
  EXPECT_EQ(stats.refreshes, 100u);
  EXPECT_EQ(stats.refreshes_pending, 1u);
  EXPECT_EQ(stats.refreshes_coalesced, 99u);
  EXPECT_EQ(stats.queue_depth, 0u);  // held beside the queue, not in it
  EXPECT_EQ(expiry_on_disk(dir.db(), first), unix_seconds(first.expires_at));

  ASSERT_TRUE(store->flush());
  stats = store->stats();
  EXPECT_EQ(stats.refreshes_pending, 0u);
  EXPECT_EQ(stats.refreshes_queued, 1u);
  EXPECT_EQ(stats.refreshes_written, 1u);
  EXPECT_EQ(stats.committed, 2u);  // the upsert and one refresh for the hundred
  EXPECT_EQ(load(*store), std::vector<Binding>{refreshed(first, 100)});
}

TEST(LocationStoreRefresh, IsWrittenByCloseAndByTheDestructor) {
  TempDir dir;
  const Binding one = sample_binding(1);
  const Binding two = sample_binding(2);
  {
    auto store = open_or_die(dir.db(), refreshes_held_for(1h));
    store->location().upsert(one);
    store->location().upsert(two);
    ASSERT_TRUE(store->flush());
    store->location().refresh(refreshed(one));
    ASSERT_TRUE(store->close());
    store->location().refresh(refreshed(one, 2));  // after close: refused, like any write
    EXPECT_EQ(store->stats().rejected, 1u);
    EXPECT_EQ(store->stats().refreshes, 1u);
  }
  {
    auto store = open_or_die(dir.db(), refreshes_held_for(1h));
    store->location().refresh(refreshed(two));
  }  // no close: the destructor writes it
  auto store = open_or_die(dir.db());
  EXPECT_EQ(load(*store), (std::vector<Binding>{refreshed(one), refreshed(two)}));
}

TEST(LocationStoreRefresh, IsWrittenOnItsOwnAfterTheInterval) {
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1s));
  const Binding b = sample_binding(1);
  store->location().upsert(b);
  ASSERT_TRUE(store->flush());
  const auto refreshed_at = std::chrono::steady_clock::now();
  store->location().refresh(refreshed(b));
  ASSERT_TRUE(eventually([&] { return store->stats().refreshes_written == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - refreshed_at, 1s);
  EXPECT_EQ(expiry_on_disk(dir.db(), b), unix_seconds(refreshed(b).expires_at));  // no flush needed
}

TEST(LocationStoreRefresh, ANewBindingIsWrittenWithoutWaitingForTheInterval) {
  // What survives kill -9: a new binding is committed within the batch delay while
  // refreshes of others are held for their hour.
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding old = sample_binding(1);
  store->location().upsert(old);
  ASSERT_TRUE(store->flush());
  store->location().refresh(refreshed(old));
  const Binding added = sample_binding(2);
  store->location().upsert(added);
  ASSERT_TRUE(eventually([&] { return expiry_on_disk(dir.db(), added).has_value(); }, 5s));
  EXPECT_EQ(expiry_on_disk(dir.db(), added), unix_seconds(added.expires_at));
  EXPECT_EQ(expiry_on_disk(dir.db(), old), unix_seconds(old.expires_at));  // still held
  EXPECT_EQ(store->stats().refreshes_pending, 1u);
}

TEST(LocationStoreRefresh, DoesNotBringBackABindingRemovedAfterIt) {
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding b = sample_binding(1);
  store->location().upsert(b);
  store->location().refresh(refreshed(b));
  store->location().remove(b.aor, b.contact);
  EXPECT_EQ(store->stats().refreshes_superseded, 1u);
  EXPECT_TRUE(load(*store).empty());
  EXPECT_EQ(store->stats().refreshes_written, 0u);
}

TEST(LocationStoreRefresh, NeverInsertsARow) {
  // Once queued, a refresh is an UPDATE: a binding removed by whatever means before it is
  // written stays removed. Interval 0 queues it at once, behind the removal.
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(0s));
  const Binding b = sample_binding(1);
  store->location().upsert(b);
  ASSERT_TRUE(store->flush());
  store->location().remove(b.aor, b.contact);
  store->location().refresh(refreshed(b));
  store->location().refresh(sample_binding(2));  // never upserted
  EXPECT_EQ(store->stats().refreshes_pending, 0u);
  EXPECT_TRUE(load(*store).empty());
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.refreshes_queued, 2u);
  EXPECT_EQ(stats.refreshes_written, 2u);  // written, and matched no row
  EXPECT_EQ(stats.rejected, 0u);
}

TEST(LocationStoreRefresh, RemoveAllDropsTheRefreshesOfThatAorOnly) {
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding desk = sample_binding(1);
  Binding mobile = desk;
  mobile.contact = "sip:user1@198.51.100.20:5060";
  const Binding other = sample_binding(2);
  for (const auto& b : {desk, mobile, other}) store->location().upsert(b);
  for (const auto& b : {desk, mobile, other}) store->location().refresh(refreshed(b));
  store->location().remove_all(desk.aor);
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.refreshes_superseded, 2u);
  EXPECT_EQ(stats.refreshes_pending, 1u);
  EXPECT_EQ(load(*store), std::vector<Binding>{refreshed(other)});
}

TEST(LocationStoreRefresh, ALaterUpsertOfTheSameBindingWins) {
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding b = sample_binding(1);
  store->location().upsert(b);
  store->location().refresh(refreshed(b));
  Binding moved = refreshed(b, 2);
  moved.received.port = 40999;  // a new NAT mapping: an upsert, not a refresh
  store->location().upsert(moved);
  EXPECT_EQ(store->stats().refreshes_superseded, 1u);
  EXPECT_EQ(load(*store), std::vector<Binding>{moved});
  // And the other way round: a refresh after the upsert is applied after it.
  store->location().refresh(refreshed(moved));
  EXPECT_EQ(load(*store), std::vector<Binding>{refreshed(moved)});
}

TEST(LocationStoreRefresh, APurgeWritesHeldRefreshesFirst) {
  // The row still has the expiry from before the refresh; purging by that expiry must not
  // delete a binding the refresh keeps alive.
  TempDir dir;
  auto store = open_or_die(dir.db(), refreshes_held_for(1h));
  const Binding b = sample_binding(1, kNow + 10s);
  store->location().upsert(b);
  ASSERT_TRUE(store->flush());
  Binding extended = b;
  extended.expires_at = kNow + 1h;
  store->location().refresh(extended);
  store->location().purge_expired(kNow + 20s);
  auto loaded = store->location().load_all(kNow + 20s);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(*loaded, std::vector<Binding>{extended});
}

}  // namespace
}  // namespace sipbox::store::test
