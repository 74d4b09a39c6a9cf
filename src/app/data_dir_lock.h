// The data directory belongs to one process at a time: the running sipboxd, or a
// sipbox command editing it while the daemon is stopped. An exclusive flock on
// DIR/sipboxd.lock says who; the kernel drops it when the holder exits or crashes.
#pragma once

#include <filesystem>

#include "base/result.h"

namespace sipbox::app {

class DataDirLock {
 public:
  // Takes the lock without waiting; fails when another process holds it.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir);
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace sipbox::app
