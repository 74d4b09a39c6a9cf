// sipboxd: the sipbox server process. In this version it prepares its data directory,
// logs its version, and runs until SIGTERM or SIGINT, then exits 0.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <system_error>

#include "base/version.h"

int main(int argc, char** argv) {
  CLI::App app{"sipboxd: the sipbox SIP communication server"};
  std::string data_dir = "var";
  app.add_option("--data-dir", data_dir, "Directory holding the configuration and the store (created when absent)")
      ->capture_default_str();
  app.set_version_flag("--version", sipbox::kVersion);
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data directory {}: {}", data_dir, ec.message());
    return 1;
  }

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&io](const boost::system::error_code& error, int signal) {
    if (!error) spdlog::info("signal {} received, stopping", signal);
    io.stop();
  });

  spdlog::info("sipboxd {} started (data dir {})", sipbox::kVersion, std::filesystem::absolute(data_dir).string());
  io.run();
  spdlog::info("sipboxd stopped");
  return 0;
}
