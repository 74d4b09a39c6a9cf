#include "store/write_queue.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

namespace sipbox::store {

namespace {
// A failing disk is retried with a growing pause, so a full disk does not spin the CPU,
// but is noticed again within seconds once space is freed.
constexpr std::chrono::milliseconds kFirstRetryPause{100};
constexpr std::chrono::milliseconds kLongestRetryPause{5000};
}  // namespace

WriteQueue::WriteQueue(Backend& backend, const StoreOptions& options)
    : backend_(backend), options_(options), thread_([this] { run(); }) {}

WriteQueue::~WriteQueue() { (void)stop(std::chrono::seconds(30)); }

void WriteQueue::push(Op op) {
  std::unique_lock lock(mu_);
  (void)enqueue(std::move(op), lock);
}

bool WriteQueue::enqueue(Op op, std::unique_lock<std::mutex>& lock) {
  if (stopping_) {
    return refuse_closed();
  }
  if (pending_.size() >= options_.high_watermark) {
    ++stats_.backpressure_waits;
    space_cv_.wait(lock, [&] { return pending_.size() < options_.high_watermark || stopping_; });
    if (stopping_) {
      return refuse_closed();
    }
  }
  settle_refreshes(op);
  pending_.push_back(std::move(op));
  ++enqueued_;
  ++stats_.enqueued;
  // The writer sleeps either for the first operation or for a batch to fill.
  if (pending_.size() == 1 || pending_.size() == options_.max_batch) work_cv_.notify_one();
  return true;
}

// Called with the lock held, for a write that came after stop().
bool WriteQueue::refuse_closed() {
  ++stats_.rejected;
  stats_.last_error = "store is closed; write refused";
  return false;
}

void WriteQueue::refresh(Binding binding) {
  std::unique_lock lock(mu_);
  if (options_.refresh_interval.count() == 0) {
    if (enqueue(op::RefreshBinding{std::move(binding)}, lock)) {
      ++stats_.refreshes;
      ++stats_.refreshes_queued;
    }
    return;
  }
  if (stopping_) {
    refuse_closed();
    return;
  }
  ++stats_.refreshes;
  if (stats_.refreshes_pending == 0) {
    // The first one held starts the clock; the writer may be asleep without a deadline.
    refreshes_due_ = SteadyClock::now() + options_.refresh_interval;
    work_cv_.notify_one();
  }
  auto [held, added] = held_refreshes_[binding.aor].try_emplace(binding.contact);
  if (added) {
    ++stats_.refreshes_pending;
  } else {
    ++stats_.refreshes_coalesced;
  }
  held->second = std::move(binding);
}

// Called with the lock held, just before `op` joins the FIFO.
void WriteQueue::settle_refreshes(const Op& op) {
  if (held_refreshes_.empty()) return;
  if (const auto* upsert = std::get_if<op::UpsertBinding>(&op)) {
    drop_refreshes(upsert->binding.aor, &upsert->binding.contact);
  } else if (const auto* remove = std::get_if<op::RemoveBinding>(&op)) {
    drop_refreshes(remove->aor, &remove->contact);
  } else if (const auto* remove_all = std::get_if<op::RemoveAllBindings>(&op)) {
    drop_refreshes(remove_all->aor, nullptr);
  } else if (std::holds_alternative<op::PurgeBindings>(op)) {
    // The row still holds the expiry from before the refresh, which may have passed:
    // update it first, or the purge would delete a live binding and the refresh, an
    // update only, would not bring it back.
    queue_refreshes();
  }
}

// Every held refresh of `aor`, or only that of `contact` when given.
void WriteQueue::drop_refreshes(const std::string& aor, const std::string* contact) {
  auto found = held_refreshes_.find(aor);
  if (found == held_refreshes_.end()) return;
  std::size_t dropped = 0;
  if (contact == nullptr) {
    dropped = found->second.size();
  } else {
    dropped = found->second.erase(*contact);
  }
  if (contact == nullptr || found->second.empty()) held_refreshes_.erase(found);
  stats_.refreshes_pending -= dropped;
  stats_.refreshes_superseded += dropped;
}

// Called with the lock held. Not subject to the high watermark: the writer calls it too,
// and what is held is bounded anyway (one per binding).
void WriteQueue::queue_refreshes() {
  if (held_refreshes_.empty()) return;
  for (auto& [aor, contacts] : held_refreshes_)
    for (auto& [contact, binding] : contacts) pending_.push_back(op::RefreshBinding{std::move(binding)});
  const std::uint64_t n = stats_.refreshes_pending;
  held_refreshes_.clear();
  stats_.refreshes_pending = 0;
  stats_.refreshes_queued += n;
  stats_.enqueued += n;
  enqueued_ += n;
  work_cv_.notify_one();
}

Status WriteQueue::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  queue_refreshes();
  const std::uint64_t target = enqueued_;
  const std::uint64_t rejected_before = stats_.rejected;
  ++flushers_;
  work_cv_.notify_one();
  const bool done = done_cv_.wait_for(lock, timeout, [&] { return completed_ >= target || abandon_ || stopped_; }) &&
                    completed_ >= target;
  --flushers_;
  if (!done) {
    std::string message = "store: " + std::to_string(target - std::min(target, completed_)) +
                          " operations not written after " + std::to_string(timeout.count()) + " ms";
    if (!stats_.last_error.empty()) message += "; last error: " + stats_.last_error;
    return fail(std::move(message));
  }
  if (stats_.rejected != rejected_before) {
    return fail("store: " + std::to_string(stats_.rejected - rejected_before) +
                " operations were refused by the database: " + stats_.last_error);
  }
  return {};
}

Status WriteQueue::stop(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  if (stopped_) return {};
  stopping_ = true;
  queue_refreshes();
  ++flushers_;
  work_cv_.notify_all();
  space_cv_.notify_all();
  done_cv_.wait_until(lock, deadline, [&] { return completed_ >= enqueued_; });
  --flushers_;
  abandon_ = true;  // a writer still retrying a failing disk gives up now
  work_cv_.notify_all();
  lock.unlock();
  thread_.join();
  lock.lock();
  stopped_ = true;
  done_cv_.notify_all();
  if (completed_ < enqueued_) {
    return fail("store: " + std::to_string(enqueued_ - completed_) +
                " operations could not be written before closing; last error: " + stats_.last_error);
  }
  return {};
}

StoreStats WriteQueue::stats() const {
  std::lock_guard lock(mu_);
  StoreStats s = stats_;
  s.queue_depth = enqueued_ - completed_;
  return s;
}

void WriteQueue::run() {
  std::unique_lock lock(mu_);
  std::vector<Op> batch;
  batch.reserve(options_.max_batch);
  while (!abandon_) {
    wait_for_work(lock);
    if (pending_.empty() || abandon_) break;  // stopping and drained, or given up
    // Wait a little for more: one transaction (and one fsync) for many operations.
    if (pending_.size() < options_.max_batch && flushers_ == 0 && !stopping_) {
      work_cv_.wait_for(lock, options_.max_batch_delay,
                        [&] { return pending_.size() >= options_.max_batch || flushers_ > 0 || stopping_; });
    }
    const auto n = static_cast<std::ptrdiff_t>(std::min(pending_.size(), options_.max_batch));
    batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + n));
    pending_.erase(pending_.begin(), pending_.begin() + n);
    if (pending_.size() < options_.high_watermark) space_cv_.notify_all();
    commit(batch, lock);
    batch.clear();
  }
}

// Returns once there are operations to write or the queue is stopping; queues the held
// refreshes when they fall due, also while the writer is busy (checked between batches).
void WriteQueue::wait_for_work(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (!held_refreshes_.empty() && SteadyClock::now() >= refreshes_due_) queue_refreshes();
    if (!pending_.empty() || stopping_) return;
    if (held_refreshes_.empty()) {
      work_cv_.wait(lock);
    } else {
      work_cv_.wait_until(lock, refreshes_due_);
    }
  }
}

// Called and returns with the lock held; releases it while the backend works.
void WriteQueue::commit(std::vector<Op>& batch, std::unique_lock<std::mutex>& lock) {
  const std::size_t count = batch.size();
  auto pause = kFirstRetryPause;
  while (!batch.empty()) {
    lock.unlock();
    auto written = backend_.write(batch);
    lock.lock();
    if (written) {
      ++stats_.batches;
      stats_.committed += batch.size();
      stats_.refreshes_written += static_cast<std::uint64_t>(std::count_if(
          batch.begin(), batch.end(), [](const Op& o) { return std::holds_alternative<op::RefreshBinding>(o); }));
      break;
    }
    ++stats_.write_errors;
    stats_.last_error = written.error().message;
    if (written.error().bad_op && *written.error().bad_op < batch.size()) {
      ++stats_.rejected;
      batch.erase(batch.begin() + static_cast<std::ptrdiff_t>(*written.error().bad_op));
      continue;
    }
    if (work_cv_.wait_for(lock, pause, [&] { return abandon_; })) return;  // lost: stop() reports it
    pause = std::min(pause * 2, kLongestRetryPause);
  }
  completed_ += count;
  done_cv_.notify_all();
}

}  // namespace sipbox::store
