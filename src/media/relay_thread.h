// A relay thread (internal to src/media): one epoll set with the sockets of the streams
// it owns (a shard of the calls, by Call-ID hash), an eventfd for the commands that the
// control calls post, and a timerfd for interval reports and media timeouts. The packet
// path takes no lock: each round of epoll events runs the commands, then the timers,
// then the readable sockets, so streams change only between receive batches.
//
// The shard's Directory is what the control calls consult synchronously (allocate's
// idempotence, has_call, set_remote's checks). It has a mutex that the control calls
// and this thread's command handling take, never the packet path. Every directory
// change that the thread must follow is posted while holding that mutex, so commands
// arrive in directory order; a stream's id tells a stale command (the call ended in
// between) from a current one.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "media/relay.h"
#include "media/relay_net.h"
#include "media/relay_stream.h"

namespace sipbox::media::detail {

// What the control side knows of a stream.
struct StreamEntry {
  std::uint64_t id = 0;
  std::array<std::uint16_t, 2> ports{};  // per Side
  std::array<Family, 2> families{};
};

struct Directory {
  std::mutex mutex;
  std::map<std::string, std::map<unsigned, StreamEntry>, std::less<>> calls;
  std::atomic<std::uint64_t> call_count{0};
  std::atomic<std::uint64_t> stream_count{0};
  // Under `mutex`: the stream (call, index) with this id still exists.
  bool current(std::string_view call_id, unsigned index, std::uint64_t id) const;
  // Under `mutex`.
  void erase_call(std::string_view call_id);
};

struct Command {
  enum class Kind : std::uint8_t { add_stream, replace_side, set_remote, set_codec, set_held, end, stop };
  Kind kind = Kind::stop;
  std::string call_id;
  unsigned index = 0;
  std::uint64_t stream_id = 0;
  Side side = Side::offerer;
  std::array<BoundPair, 2> pairs;  // add_stream: both sides; replace_side: [0]
  bool pair_from_pool = false;     // replace_side: [0] is a new pool pair (else the side's port, rebound)
  SockAddr rtp;
  SockAddr rtcp;
  bool rtcp_mux = false;
  bool held = false;  // set_held
  CodecInfo codec;
  EndReason reason = EndReason::hangup;
  std::promise<void>* done = nullptr;  // end: set once the final reports are out
};

// Summed by MediaRelay::counters(); written by one relay thread.
struct alignas(64) ThreadCounters {
  std::atomic<std::uint64_t> packets_relayed{0};
  std::atomic<std::uint64_t> octets_relayed{0};
  std::atomic<std::uint64_t> packets_dropped{0};
  std::atomic<std::uint64_t> timeouts{0};
};

class RelayThread {
 public:
  RelayThread(const RelayOptions& options, RelayObserver& observer, PortPool& pool);
  ~RelayThread();
  RelayThread(const RelayThread&) = delete;
  RelayThread& operator=(const RelayThread&) = delete;

  Status open();  // epoll set, eventfd, timerfd
  void start();
  // Posts `stop` and joins: open streams end with `shutdown` (final reports).
  void stop();
  void post(Command command);
  bool is_current_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  Directory& directory() { return directory_; }
  const ThreadCounters& counters() const { return counters_; }

 private:
  static constexpr unsigned kBatch = 32;      // datagrams per recvmmsg/sendmmsg
  static constexpr std::size_t kSlot = 4096;  // larger datagrams are dropped (RTP stays under the MTU)
  static constexpr int kRounds = 4;           // recvmmsg rounds per readiness, then the next socket
  static constexpr int kEvents = 64;

  struct Call {
    std::map<unsigned, std::unique_ptr<Stream>> streams;
  };

  void run();
  void on_readable(SocketRef& ref);
  void flush(std::size_t count);
  void run_commands();
  void execute(Command& command);
  void add_stream(Command& command);
  void replace_side(Command& command);
  Stream* find(const Command& command);
  void end_call(std::string_view call_id, EndReason reason, bool notify);
  void retire(std::unique_ptr<Stream> stream);
  void on_tick();
  void watch(Stream& stream, Side side);
  void unwatch(const BoundPair& pair);
  void release(BoundPair pair);

  const RelayOptions& options_;
  RelayObserver& observer_;
  PortPool& pool_;
  Directory directory_;
  ThreadCounters counters_;
  UniqueFd epoll_;
  UniqueFd wakeup_;  // eventfd
  UniqueFd timer_;   // timerfd
  std::thread thread_;

  std::mutex queue_mutex_;
  std::vector<Command> queue_;
  std::vector<Command> running_;  // the batch being executed (keeps its capacity)

  // Owned by the thread.
  std::map<std::string, Call, std::less<>> calls_;
  std::vector<std::unique_ptr<Stream>> graveyard_;  // retired this round (see run())
  bool stopping_ = false;
  std::int64_t next_report_ns_ = 0;
  std::vector<std::uint8_t> storage_;  // kBatch slots of kSlot octets
  std::array<mmsghdr, kBatch> recv_msgs_{};
  std::array<iovec, kBatch> recv_iov_{};
  std::array<sockaddr_storage, kBatch> recv_from_{};
  struct alignas(cmsghdr) Control {
    char bytes[64];  // room for one SCM_TIMESTAMPNS (CMSG_SPACE(sizeof(timespec)) = 32)
  };
  std::array<Control, kBatch> recv_control_{};
  std::array<mmsghdr, kBatch> send_msgs_{};
  std::array<iovec, kBatch> send_iov_{};
  std::array<SockAddr, kBatch> send_to_{};
  std::array<int, kBatch> send_fd_{};
};

// CLOCK_MONOTONIC in ns: packet arrival, activity and report times.
std::int64_t monotonic_ns();

}  // namespace sipbox::media::detail
