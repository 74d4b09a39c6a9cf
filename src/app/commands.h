// Subcommands of the sipbox tool. Each adds itself to the CLI11 app and, when run,
// stores its process exit code in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace sipbox::app {

// sipbox parse FILE... [--json] [--stream]: verdict per SIP message file.
void add_parse_command(CLI::App& app, int& exit_code);

}  // namespace sipbox::app
