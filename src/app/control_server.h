// sipboxd's end of the control socket (see control_protocol.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <memory>

#include "app/control_protocol.h"
#include "base/result.h"
#include "config/config.h"

namespace sipbox::app {

class ControlServer {
 public:
  // Listens on `socket_path` (replacing a stale socket file), mode 0600. `status` answers
  // the "status" op, `handler` the daemon's own ops (bans); both run on the io_context's
  // thread.
  static Result<std::unique_ptr<ControlServer>> start(boost::asio::io_context& io, config::ConfigStore& store,
                                                      const std::filesystem::path& socket_path,
                                                      StatusProvider status = {}, ControlHandler handler = {});
  ~ControlServer();

 private:
  ControlServer(boost::asio::io_context& io, config::ConfigStore& store, std::filesystem::path path,
                StatusProvider status, ControlHandler handler);
  void accept();

  boost::asio::local::stream_protocol::acceptor acceptor_;
  config::ConfigStore& store_;
  std::filesystem::path path_;
  StatusProvider status_;
  ControlHandler handler_;
  std::uint32_t next_session_ = 0x40000000;  // apart from NETCONF and RESTCONF session ids
};

}  // namespace sipbox::app
