// sipboxd's end of the control socket (see control_protocol.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <filesystem>
#include <memory>

#include "base/result.h"
#include "config/config.h"

namespace sipbox::app {

class ControlServer {
 public:
  // Listens on `socket_path` (replacing a stale socket file), mode 0600.
  static Result<std::unique_ptr<ControlServer>> start(boost::asio::io_context& io, config::ConfigStore& store,
                                                      const std::filesystem::path& socket_path);
  ~ControlServer();

 private:
  ControlServer(boost::asio::io_context& io, config::ConfigStore& store, std::filesystem::path path);
  void accept();

  boost::asio::local::stream_protocol::acceptor acceptor_;
  config::ConfigStore& store_;
  std::filesystem::path path_;
  std::uint32_t next_session_ = 0x40000000;  // apart from NETCONF and RESTCONF session ids
};

}  // namespace sipbox::app
