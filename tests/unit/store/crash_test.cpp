// "Nothing is lost" (DESIGN.md 3): a child process writes bindings, flushes, keeps
// writing and is killed with SIGKILL in the middle of it. Every flushed binding must be
// back, intact, and the file must pass PRAGMA integrity_check.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <thread>

#include "fixture.h"

namespace sipbox::store::test {
namespace {

constexpr int kFlushed = 3000;

// The child: never returns into GoogleTest.
[[noreturn]] void write_then_keep_writing(const std::filesystem::path& db, int ready_fd) {
  auto store = open_sqlite_store(db);
  if (!store) _exit(2);
  for (int i = 0; i < kFlushed; ++i) (*store)->location().upsert(sample_binding(i));
  if (!(*store)->flush()) _exit(3);
  if (write(ready_fd, "F", 1) != 1) _exit(4);
  // Keep the writer busy: new rows, replaced rows, removed rows, until killed.
  for (int i = kFlushed;; ++i) {
    Binding b = sample_binding(i);
    (*store)->location().upsert(b);
    if (i % 3 == 0) (*store)->location().remove(b.aor, b.contact);
    if (i % 1000 == 0) (void)(*store)->flush();
  }
}

// Forks a child that runs `body` with the write end of a pipe: it writes one byte there
// when it reached `what`, then goes on until killed (it never returns into GoogleTest).
// Returns once the byte arrived.
void start_child(const std::function<void(int ready_fd)>& body, const char* what, pid_t& child) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    body(fds[1]);
    _exit(5);
  }
  close(fds[1]);
  pollfd ready{fds[0], POLLIN, 0};
  ASSERT_EQ(poll(&ready, 1, 60'000), 1) << "the child never reported " << what;
  char byte = 0;
  ASSERT_EQ(read(fds[0], &byte, 1), 1) << "the child died before " << what;
  close(fds[0]);
}

void sigkill(pid_t child) {
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
}

void crash_and_check(std::chrono::milliseconds kill_after) {
  TempDir dir;
  pid_t child = -1;
  start_child([&](int ready_fd) { write_then_keep_writing(dir.db(), ready_fd); }, "its flush", child);
  if (::testing::Test::HasFatalFailure()) return;
  std::this_thread::sleep_for(kill_after);
  sigkill(child);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = open_sqlite_store(dir.db());
  ASSERT_TRUE(store) << store.error().message;
  auto verified = (*store)->verify();
  ASSERT_TRUE(verified) << verified.error().message;
  auto loaded = (*store)->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  std::map<std::string, const Binding*> by_aor;
  for (const auto& b : *loaded) by_aor[b.aor] = &b;
  for (int i = 0; i < kFlushed; ++i) {
    const Binding expected = sample_binding(i);
    auto it = by_aor.find(expected.aor);
    ASSERT_NE(it, by_aor.end()) << "flushed binding " << i << " lost";
    ASSERT_EQ(*it->second, expected) << "flushed binding " << i << " damaged";
  }
  // The rows written after the flush are whatever had been committed: none may be
  // half-written (each loaded row equals what the child wrote for its number).
  for (const auto& b : *loaded) {
    const int n = std::stoi(b.aor.substr(std::string("sip:user").size()));
    EXPECT_EQ(b, sample_binding(n));
  }
  ::testing::Test::RecordProperty("rows_after_crash", static_cast<int>(loaded->size()));
}

TEST(StoreCrash, FlushedBindingsSurviveSigkillDuringWrites) {
  for (auto delay : {std::chrono::milliseconds(20), std::chrono::milliseconds(150), std::chrono::milliseconds(400)}) {
    SCOPED_TRACE("killed " + std::to_string(delay.count()) + " ms after the flush");
    crash_and_check(delay);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Refreshes are held up to refresh_interval (here an hour) and lost with the process; new
// bindings are not held: they are committed within the batch delay, without a flush, and
// survive. The refreshed bindings come back with the expiry they had before.
TEST(StoreCrash, NewBindingsSurviveSigkillWhileRefreshesAreHeld) {
  constexpr int kOld = 100;
  constexpr int kNew = 100;
  const auto refreshed = [](int i) {
    Binding b = sample_binding(i);
    b.expires_at += std::chrono::hours(1);
    return b;
  };
  TempDir dir;
  pid_t child = -1;
  start_child(
      [&](int ready_fd) {
        StoreOptions options;
        options.refresh_interval = std::chrono::hours(1);
        auto store = open_sqlite_store(dir.db(), options);
        if (!store) _exit(2);
        for (int i = 0; i < kOld; ++i) (*store)->location().upsert(sample_binding(i));
        if (!(*store)->flush()) _exit(3);
        for (int i = 0; i < kOld; ++i) (*store)->location().refresh(refreshed(i));
        for (int i = kOld; i < kOld + kNew; ++i) (*store)->location().upsert(sample_binding(i));
        // No flush: wait for the writer on its own, as a daemon would not call one.
        while ((*store)->stats().committed < kOld + kNew) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        if (write(ready_fd, "C", 1) != 1) _exit(4);
        for (;;) pause();
      },
      "its new bindings committed", child);
  if (::testing::Test::HasFatalFailure()) return;
  sigkill(child);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = open_sqlite_store(dir.db());
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->verify());
  auto loaded = (*store)->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), std::size_t{kOld + kNew});
  for (const auto& b : *loaded) {
    const int n = std::stoi(b.aor.substr(std::string("sip:user").size()));
    EXPECT_EQ(b, sample_binding(n)) << "binding " << n;
  }
}

}  // namespace
}  // namespace sipbox::store::test
