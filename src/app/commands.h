// Subcommands of the sipbox tool. Each adds itself to the CLI11 app and, when run,
// stores its process exit code in `exit_code` (0 success, 1 refused or failed).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace sipbox::app {

// Options every subcommand that touches a data directory shares.
struct GlobalOptions {
  std::string data_dir = "var";
  std::string yang_dir;  // empty: the built-in location
};

// sipbox parse FILE... [--json] [--stream]: verdict per SIP message file.
void add_parse_command(CLI::App& app, int& exit_code);

// sipbox config get|set|validate|export|import|diff
void add_config_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// sipbox user add|del|list and sipbox admin add
void add_account_commands(CLI::App& app, const GlobalOptions& global, int& exit_code);

// sipbox emodel --codec C --loss P --burst-ratio B --delay-ms T [--model g107] [--json]
void add_emodel_command(CLI::App& app, int& exit_code);

// sipbox status [--json]: counters and gauges of the running daemon
void add_status_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// sipbox rules add TEXT|--file FILE, rules list [--json], rules del SID
void add_rules_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// sipbox bans list [--json], bans del ADDR, bans add ADDR [--duration D] [--reason R]
void add_bans_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

// sipbox capture start [--interface IF] | stop | status [--json]: passive monitoring in sipboxd
void add_capture_command(CLI::App& app, const GlobalOptions& global, int& exit_code);

}  // namespace sipbox::app
