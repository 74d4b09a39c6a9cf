// sipboxd's command line (DESIGN.md section 4). Everything else comes from the
// configuration in the data directory; these flags override it for one run.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace sipbox::app {

struct DaemonOptions {
  std::filesystem::path data_dir = "var";
  std::string yang_dir;                       // empty: the built-in location
  std::optional<std::string> bind;            // listening address for every listener
  std::optional<std::uint16_t> sip_port;      // UDP and TCP; TLS is this + 1
  std::optional<std::uint16_t> http_port;     // GUI, REST, RESTCONF, metrics
  std::optional<std::uint16_t> netconf_port;  // NETCONF over SSH
  std::optional<std::string> rtp_ports;       // "LO-HI"
};

void add_daemon_options(CLI::App& cli, DaemonOptions& options);

}  // namespace sipbox::app
