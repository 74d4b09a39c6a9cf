// The batching writer's failure handling, against a scripted Backend: a transient failure
// keeps the whole batch and retries it; an operation the database refuses for good is
// dropped alone, counted, and reported by flush(); order is kept throughout.
#include "store/write_queue.h"

#include <mutex>
#include <vector>

#include "fixture.h"

namespace sipbox::store::test {
namespace {

using namespace std::chrono_literals;

// Records committed upserts by contact; fails as scripted.
class ScriptedBackend final : public Backend {
 public:
  Result<void, WriteFailure> write(std::span<const Op> ops) override {
    std::lock_guard lock(mu);
    ++attempts;
    if (transient_failures > 0) {
      --transient_failures;
      return Unexpected<WriteFailure>{WriteFailure{"disk full", std::nullopt}};
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const auto* up = std::get_if<op::UpsertBinding>(&ops[i]);
      if (up != nullptr && up->binding.contact == refused_contact) {
        return Unexpected<WriteFailure>{WriteFailure{"constraint failed", i}};
      }
    }
    for (const auto& o : ops) {
      if (const auto* up = std::get_if<op::UpsertBinding>(&o)) committed.push_back(up->binding.contact);
    }
    return {};
  }
  Result<std::vector<Binding>> load_bindings(Time) override { return std::vector<Binding>{}; }
  Result<std::vector<Ban>> load_bans(Time) override { return std::vector<Ban>{}; }
  Result<std::vector<Incident>> query_incidents(const IncidentQuery&) override { return std::vector<Incident>{}; }
  Result<std::vector<QualityRecord>> query_quality(const QualityQuery&) override {
    return std::vector<QualityRecord>{};
  }
  Status verify() override { return {}; }

  std::mutex mu;
  int attempts = 0;
  int transient_failures = 0;
  std::string refused_contact;
  std::vector<std::string> committed;
};

Op upsert(std::string contact) {
  Binding b;
  b.aor = "sip:a@example.com";
  b.contact = std::move(contact);
  return op::UpsertBinding{std::move(b)};
}

TEST(WriteQueue, TransientFailuresRetryTheWholeBatchUntilItCommits) {
  ScriptedBackend backend;
  backend.transient_failures = 2;
  StoreOptions options;
  options.max_batch_delay = 1ms;
  WriteQueue queue(backend, options);
  for (auto c : {"1", "2", "3"}) queue.push(upsert(c));
  ASSERT_TRUE(queue.flush(10s));  // 100 ms + 200 ms of pauses
  const StoreStats stats = queue.stats();
  EXPECT_EQ(stats.write_errors, 2u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(stats.committed, 3u);
  EXPECT_EQ(stats.last_error, "disk full");
  std::lock_guard lock(backend.mu);
  EXPECT_EQ(backend.committed, (std::vector<std::string>{"1", "2", "3"}));
}

TEST(WriteQueue, FlushTimesOutWithTheLastErrorWhileTheDiskFails) {
  ScriptedBackend backend;
  backend.transient_failures = 1'000'000;
  WriteQueue queue(backend, StoreOptions{});
  queue.push(upsert("1"));
  auto flushed = queue.flush(150ms);
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().message.find("1 operations not written"), std::string::npos) << flushed.error().message;
  EXPECT_NE(flushed.error().message.find("disk full"), std::string::npos) << flushed.error().message;
  EXPECT_EQ(queue.stats().queue_depth, 1u);
  auto stopped = queue.stop(50ms);  // gives up: reports the loss instead of hanging
  ASSERT_FALSE(stopped);
  EXPECT_NE(stopped.error().message.find("could not be written"), std::string::npos) << stopped.error().message;
}

TEST(WriteQueue, AnOperationRefusedForGoodIsDroppedAloneAndReported) {
  ScriptedBackend backend;
  backend.refused_contact = "bad";
  StoreOptions options;
  options.max_batch_delay = 1ms;
  WriteQueue queue(backend, options);
  for (auto c : {"1", "bad", "2"}) queue.push(upsert(c));
  auto flushed = queue.flush(10s);
  ASSERT_FALSE(flushed);
  EXPECT_NE(flushed.error().message.find("refused"), std::string::npos) << flushed.error().message;
  const StoreStats stats = queue.stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.committed, 2u);
  EXPECT_EQ(stats.queue_depth, 0u);
  {
    std::lock_guard lock(backend.mu);
    EXPECT_EQ(backend.committed, (std::vector<std::string>{"1", "2"}));
  }
  queue.push(upsert("3"));
  EXPECT_TRUE(queue.flush(10s));  // a later flush only reports its own window
}

}  // namespace
}  // namespace sipbox::store::test
