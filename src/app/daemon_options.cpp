#include "app/daemon_options.h"

namespace sipbox::app {

void add_daemon_options(CLI::App& cli, DaemonOptions& o) {
  cli.add_option("--data-dir", o.data_dir, "Directory holding the configuration and the store (created when absent)")
      ->capture_default_str();
  cli.add_option("--yang-dir", o.yang_dir, "Directory of sipbox's YANG modules (default: the built-in location)");
  cli.add_option("--bind", o.bind, "Address every listener binds to, overriding the configuration (default 0.0.0.0)");
  cli.add_option("--sip-port", o.sip_port, "SIP port for UDP and TCP (TLS uses the next port, WebSocket the one after)")
      ->check(CLI::Range(0, 65535));
  cli.add_option("--http-port", o.http_port, "HTTP port: /restconf (GUI, /api/v1, /metrics to come) (0 disables)")
      ->check(CLI::Range(0, 65535));
  cli.add_option("--netconf-port", o.netconf_port, "NETCONF over SSH port (0 disables)")->check(CLI::Range(0, 65535));
  cli.add_option("--rtp-ports", o.rtp_ports, "RTP relay port range LO-HI")
      ->check([](const std::string& v) -> std::string {
        const auto dash = v.find('-');
        if (dash == std::string::npos) return "expected LO-HI";
        try {
          const int lo = std::stoi(v.substr(0, dash));
          const int hi = std::stoi(v.substr(dash + 1));
          if (lo < 1 || hi > 65535 || lo >= hi) return "expected 1 <= LO < HI <= 65535";
        } catch (const std::exception&) {
          return "expected LO-HI";
        }
        return {};
      });
}

}  // namespace sipbox::app
