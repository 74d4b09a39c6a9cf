// The store as a whole: asynchronous batched writes, flush, back-pressure, close and
// reopen, and the errors open() gives for files it cannot use.
#include <sqlite3.h>

#include <fstream>
#include <thread>
#include <vector>

#include "fixture.h"

namespace sipbox::store::test {
namespace {

using namespace std::chrono_literals;

TEST(Store, WritesAreAsynchronousAndFlushDoesNotWaitForTheBatchDelay) {
  TempDir dir;
  StoreOptions options;
  options.max_batch_delay = 10s;  // the writer would sit on a lone operation this long
  auto store = open_or_die(dir.db(), options);
  store->location().upsert(sample_binding(1));
  EXPECT_EQ(store->stats().committed, 0u);
  EXPECT_EQ(store->stats().queue_depth, 1u);
  // flush() cuts the batch delay short: with a deadline below that delay it succeeds.
  ASSERT_TRUE(store->flush(5s));
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_EQ(stats.enqueued, 1u);
  EXPECT_EQ(stats.committed, 1u);
  EXPECT_EQ(stats.batches, 1u);
}

TEST(Store, ManyOperationsFromManyThreadsAreCommittedInFewBatches) {
  TempDir dir;
  StoreOptions options;
  options.max_batch = 500;
  auto store = open_or_die(dir.db(), options);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) store->location().upsert(sample_binding(t * kPerThread + i));
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(store->flush());
  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.enqueued, std::uint64_t{kThreads * kPerThread});
  EXPECT_EQ(stats.committed, stats.enqueued);
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_GE(stats.batches, std::uint64_t{kThreads * kPerThread / 500});
  EXPECT_LT(stats.batches, std::uint64_t{kThreads * kPerThread / 10});  // batched, not one per op
  EXPECT_EQ(stats.write_errors, 0u);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->size(), std::size_t{kThreads * kPerThread});
}

TEST(Store, AboveTheHighWatermarkProducersWaitAndNothingIsLost) {
  TempDir dir;
  StoreOptions options;
  options.high_watermark = 10;
  options.max_batch = 5;
  auto store = open_or_die(dir.db(), options);
  for (int i = 0; i < 2000; ++i) store->location().upsert(sample_binding(i));
  ASSERT_TRUE(store->flush());
  const StoreStats stats = store->stats();
  EXPECT_GT(stats.backpressure_waits, 0u);
  EXPECT_EQ(stats.committed, 2000u);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->size(), 2000u);
}

TEST(Store, DestructionWritesWhatIsQueuedAndCloseRefusesLaterWrites) {
  TempDir dir;
  {
    StoreOptions options;
    options.max_batch_delay = 10s;
    auto store = open_or_die(dir.db(), options);
    for (int i = 0; i < 100; ++i) store->location().upsert(sample_binding(i));
  }  // no flush, no close: the destructor drains the queue
  auto store = open_or_die(dir.db());
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->size(), 100u);
  ASSERT_TRUE(store->verify());

  ASSERT_TRUE(store->close());
  ASSERT_TRUE(store->close());  // idempotent
  store->location().upsert(sample_binding(1000));
  EXPECT_EQ(store->stats().rejected, 1u);
  EXPECT_NE(store->stats().last_error.find("closed"), std::string::npos);
}

TEST(Store, OpenStoreUsesSipboxDbInTheDataDirectory) {
  TempDir dir;
  StoreConfig config;
  config.data_dir = dir.path();
  auto store = open_store(config);
  ASSERT_TRUE(store) << store.error().message;
  (*store)->bans().upsert(Ban{"192.0.2.1", kNow + 1h, "test", 1, 1});
  ASSERT_TRUE((*store)->close());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "sipbox.db"));

  config.backend = StoreConfig::Backend::postgresql;
  config.postgresql_conninfo = "host=db.example.net";
  auto pg = open_store(config);
  ASSERT_FALSE(pg);
  EXPECT_NE(pg.error().message.find("postgresql"), std::string::npos);
}

TEST(Store, AFileThatIsNotADatabaseIsRefusedWithAClearError) {
  TempDir dir;
  std::ofstream(dir.db()) << "this is a text file, not a database, and it is long enough to have a header";
  auto store = open_sqlite_store(dir.db());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find(dir.db().string()), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find("not a usable SQLite database"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find("move it aside"), std::string::npos) << store.error().message;
}

TEST(Store, ADamagedDatabaseIsRefusedAtOpen) {
  TempDir dir;
  {
    auto store = open_or_die(dir.db());
    for (int i = 0; i < 2000; ++i) store->location().upsert(sample_binding(i));
    ASSERT_TRUE(store->close());
  }
  // Overwrite pages in the middle of the file (b-tree pages of the location table).
  const auto size = std::filesystem::file_size(dir.db());
  ASSERT_GT(size, 4u * 4096u);
  {
    std::fstream f(dir.db(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2 / 4096 * 4096));
    const std::string garbage(2 * 4096, '\x55');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto store = open_sqlite_store(dir.db());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("not a usable SQLite database"), std::string::npos) << store.error().message;
}

TEST(Store, AMissingDirectoryGivesAnError) {
  TempDir dir;
  auto store = open_sqlite_store(dir.path() / "no-such-dir" / "sipbox.db");
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("cannot open"), std::string::npos) << store.error().message;
}

TEST(Store, ANewerSchemaIsRefused) {
  TempDir dir;
  ASSERT_TRUE(open_or_die(dir.db())->close());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = open_sqlite_store(dir.db());
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos) << store.error().message;
}

TEST(Store, ProcessCrashDurabilityModeAlsoRoundTrips) {
  TempDir dir;
  StoreOptions options;
  options.durability = StoreOptions::Durability::process_crash;
  {
    auto store = open_or_die(dir.db(), options);
    store->location().upsert(sample_binding(7));
  }
  auto loaded = open_or_die(dir.db(), options)->location().load_all(kNow);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], sample_binding(7));
}

}  // namespace
}  // namespace sipbox::store::test

namespace sipbox::store::test {
namespace {

// Another process (the sipbox CLI, sqlite3) holding the write lock longer than
// busy_timeout is a transient failure: the batch waits and is retried, not lost.
TEST(Store, ABatchBlockedByAnotherWriterIsRetriedNotLost) {
  TempDir dir;
  StoreOptions options;
  options.busy_timeout = 20ms;
  options.max_batch_delay = 1ms;
  auto store = open_or_die(dir.db(), options);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  store->location().upsert(sample_binding(1));
  auto blocked = store->flush(300ms);
  ASSERT_FALSE(blocked);
  EXPECT_NE(blocked.error().message.find("locked"), std::string::npos) << blocked.error().message;
  EXPECT_GT(store->stats().write_errors, 0u);
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  ASSERT_TRUE(store->flush(10s));
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], sample_binding(1));
}

}  // namespace
}  // namespace sipbox::store::test
