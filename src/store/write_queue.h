// Internal: the asynchronous, batched writer shared by every backend.
//
// Producers (SIP workers) push operations into one FIFO under a mutex held only for a
// push_back; the writer thread takes up to max_batch operations at a time (waiting up to
// max_batch_delay for a batch to fill, unless someone is flushing) and hands them to the
// backend as one transaction. One FIFO, not one per producer, because order matters
// across threads: an upsert and a later remove of the same contact must land in that
// order.
//
// Refreshes (LocationStore::refresh) are held beside the FIFO, the latest per binding,
// and moved into it all at once when the oldest has waited refresh_interval, or earlier
// when flush() or stop() is called or a purge is pushed. Pushing an upsert or remove of a
// binding drops its held refresh, under the same lock as the push, so a refresh never
// lands after a later change of its binding.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "store/backend.h"

namespace sipbox::store {

class WriteQueue {
 public:
  WriteQueue(Backend& backend, const StoreOptions& options);
  ~WriteQueue();  // stop(0): whatever is not written by then is reported lost
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Never fails; blocks only while the queue is above the high watermark.
  void push(Op op);
  // Holds the binding's refresh until it is due (see above); never blocks unless
  // refresh_interval is 0, which pushes it at once.
  void refresh(Binding binding);
  Status flush(std::chrono::milliseconds timeout);
  // Flushes up to the timeout, then stops the writer. Idempotent.
  Status stop(std::chrono::milliseconds timeout);
  StoreStats stats() const;

 private:
  using SteadyClock = std::chrono::steady_clock;
  // aor -> contact -> the latest refresh of that binding.
  using HeldRefreshes = std::unordered_map<std::string, std::unordered_map<std::string, Binding>>;

  // push() with the lock held; false when refused (closed).
  bool enqueue(Op op, std::unique_lock<std::mutex>& lock);
  bool refuse_closed();  // counts the refusal; always false
  void settle_refreshes(const Op& op);
  void drop_refreshes(const std::string& aor, const std::string* contact);
  void queue_refreshes();
  void wait_for_work(std::unique_lock<std::mutex>& lock);
  void run();
  void commit(std::vector<Op>& batch, std::unique_lock<std::mutex>& lock);

  Backend& backend_;
  const StoreOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer: work arrived, flush requested, stop
  std::condition_variable space_cv_;  // producers: queue went below the watermark
  std::condition_variable done_cv_;   // flushers: committed_ advanced
  std::deque<Op> pending_;
  HeldRefreshes held_refreshes_;
  SteadyClock::time_point refreshes_due_;  // when held_refreshes_ must be queued
  std::uint64_t enqueued_ = 0;             // sequence number of the last accepted operation
  std::uint64_t completed_ = 0;            // operations written or rejected, in FIFO order
  int flushers_ = 0;                       // threads waiting in flush(): do not wait to fill a batch
  bool stopping_ = false;                  // drain what is queued, then exit
  bool abandon_ = false;                   // give up retrying (stop timed out)
  bool stopped_ = false;
  StoreStats stats_;
  std::thread thread_;
};

}  // namespace sipbox::store
