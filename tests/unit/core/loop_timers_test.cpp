// LoopTimers: the worker's TimerService on a real io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <vector>

#include "core/worker.h"

namespace sipbox::core {
namespace {

using namespace std::chrono_literals;

TEST(LoopTimers, FireInDueOrderAndCancelledOnesNever) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  std::vector<int> fired;
  timers.schedule(30ms, [&] { fired.push_back(3); });
  const auto cancelled = timers.schedule(10ms, [&] { fired.push_back(-1); });
  timers.schedule(20ms, [&] { fired.push_back(2); });
  timers.schedule(5ms, [&] { fired.push_back(1); });  // earlier than the armed one: re-arms
  timers.cancel(cancelled);
  EXPECT_EQ(timers.pending(), 3u);
  io.run_for(200ms);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(LoopTimers, StaleHandlesDoNotCancelTheSlotsNextTimer) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  int first = 0, second = 0;
  const auto old = timers.schedule(1ms, [&] { ++first; });
  io.run_for(50ms);
  io.restart();
  ASSERT_EQ(first, 1);
  const auto reused = timers.schedule(5ms, [&] { ++second; });  // takes the freed slot
  EXPECT_NE(reused, old);
  timers.cancel(old);  // fired already: a no-op
  timers.cancel(old);
  io.run_for(50ms);
  EXPECT_EQ(second, 1);
}

TEST(LoopTimers, CallbacksMayScheduleAndCancel) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  std::vector<int> fired;
  LoopTimers::Handle victim = 0;
  timers.schedule(2ms, [&] {
    fired.push_back(1);
    timers.cancel(victim);
    timers.schedule(2ms, [&] { fired.push_back(3); });
  });
  victim = timers.schedule(3ms, [&] { fired.push_back(-1); });
  timers.schedule(1ms, [&] { fired.push_back(0); });
  io.run_for(100ms);
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 3}));
}

TEST(LoopTimers, CancelledTimersDoNotWakeTheLoop) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  std::vector<int> fired;
  timers.schedule(5ms, [&] { fired.push_back(1); });
  std::vector<LoopTimers::Handle> cancelled;
  for (int i = 0; i < 50; ++i)
    cancelled.push_back(timers.schedule(6ms + std::chrono::milliseconds(i / 10), [&] { fired.push_back(-1); }));
  timers.schedule(20ms, [&] { fired.push_back(2); });
  for (auto handle : cancelled) timers.cancel(handle);
  io.run_for(100ms);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_EQ(timers.alarms(), 2u);  // one per live timer, none for the 50 cancelled ones
}

TEST(LoopTimers, TimersDueTogetherShareOneWakeUp) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  int fired = 0;
  // Timers due within a few milliseconds of each other (the Timer J of REGISTERs under
  // load): one alarm for them all.
  for (int i = 0; i < 100; ++i) timers.schedule(10ms + std::chrono::milliseconds(i % 4), [&] { ++fired; });
  io.run_for(100ms);
  EXPECT_EQ(fired, 100);
  EXPECT_EQ(timers.alarms(), 1u);
}

TEST(LoopTimers, TimersOfASecondOrMoreAreDueAtTheNextGrain) {
  using Clock = LoopTimers::Clock;
  const Clock::time_point now{std::chrono::milliseconds(10'000'005)};
  EXPECT_EQ(LoopTimers::due_at(now, 999ms), now + 999ms);  // short ones as asked
  // 10,001,005 ms rounds up to the next multiple of 64 ms: 10,001,024 ms.
  EXPECT_EQ(LoopTimers::due_at(now, 1000ms), Clock::time_point{std::chrono::milliseconds(10'001'024)});
  const Clock::time_point on_grain{std::chrono::milliseconds(64 * 1000)};
  EXPECT_EQ(LoopTimers::due_at(on_grain, 32000ms), on_grain + 32000ms);  // on a grain already
  for (int d = 1000; d < 1200; d += 7) {
    const auto due = LoopTimers::due_at(now, std::chrono::milliseconds(d));
    EXPECT_GE(due, now + std::chrono::milliseconds(d));
    EXPECT_LT(due, now + std::chrono::milliseconds(d + 64));
  }
}

TEST(LoopTimers, LongTimersSpreadOverAGrainShareWakeUps) {
  boost::asio::io_context io;
  LoopTimers timers(io);
  int fired = 0, early = 0;
  // Transactions ending 1 s after they were answered, one every 2 ms (500 calls/s): about
  // two grains of them, where the 4 ms coalescing alone would wake up 30 times.
  const auto start = LoopTimers::Clock::now();
  for (int i = 0; i < 60; ++i) {
    const auto delay = 1000ms + std::chrono::milliseconds(2 * i);
    timers.schedule(delay, [&, delay] {
      ++fired;
      if (LoopTimers::Clock::now() < start + delay) ++early;
    });
  }
  io.run_for(1400ms);
  EXPECT_EQ(fired, 60);
  EXPECT_EQ(early, 0);
  EXPECT_LE(timers.alarms(), 3u);
}

TEST(LoopTimers, DestroyedWithPendingTimersRunsNone) {
  boost::asio::io_context io;
  int fired = 0;
  {
    LoopTimers timers(io);
    timers.schedule(1ms, [&] { ++fired; });
  }
  io.run_for(20ms);
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace sipbox::core
