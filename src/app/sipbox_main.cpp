// sipbox: the command-line tool (DESIGN.md section 4). Each subcommand lives in its own
// file and is registered here, in one explicit list.
#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "base/version.h"

int main(int argc, char** argv) {
  CLI::App app{"sipbox: command-line tool of the sipbox SIP communication server"};
  app.set_version_flag("--version", sipbox::kVersion);
  app.require_subcommand(1);
  sipbox::app::GlobalOptions global;
  app.add_option("--data-dir", global.data_dir,
                 "Data directory of the sipboxd to talk to (or to edit while it is stopped)")
      ->capture_default_str();
  app.add_option("--yang-dir", global.yang_dir, "Directory of sipbox's YANG modules (default: built-in)");
  int exit_code = 0;
  sipbox::app::add_parse_command(app, exit_code);
  sipbox::app::add_config_command(app, global, exit_code);
  sipbox::app::add_account_commands(app, global, exit_code);
  sipbox::app::add_emodel_command(app, exit_code);
  sipbox::app::add_status_command(app, global, exit_code);
  sipbox::app::add_rules_command(app, global, exit_code);
  sipbox::app::add_bans_command(app, global, exit_code);
  sipbox::app::add_capture_command(app, global, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
