// The sipbox tool's end of the control socket (DIR/control.sock; see control_protocol.h).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/result.h"

namespace sipbox::app {

class ControlClient {
 public:
  // Connects to the sipboxd serving `data_dir`; nullptr when none answers there (no
  // socket file, or one left by a daemon that is gone).
  static std::unique_ptr<ControlClient> connect(const std::filesystem::path& data_dir);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends one request and returns the daemon's reply, {"ok": true, ...} or {"ok": false,
  // "error": ...}; an error when the connection broke or the reply is not JSON.
  Result<nlohmann::json> call(const nlohmann::json& request);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace sipbox::app
