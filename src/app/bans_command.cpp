// sipbox bans list|del|add: the bans of the intrusion prevention system. With sipboxd
// running the daemon executes them against its Guard (control ops "bans.list",
// "bans.del", "bans.add"), so the ban table, the store and nftables change together;
// with it stopped the tool edits the bans table of DIR/sipbox.db under the data
// directory lock, and sipboxd restores them at start.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/ban_admin.h"
#include "app/commands.h"
#include "app/control_client.h"
#include "app/data_dir_lock.h"
#include "security/rules.h"
#include "store/store.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

struct BansOptions {
  std::string address;
  std::string duration = "10min";
  std::string reason = "manual";
  bool json_output = false;
};

int failed(const std::string& message) {
  std::cerr << "sipbox: " << message << '\n';
  return 1;
}

// The daemon's reply, or the stopped store's.
Result<json> execute(const GlobalOptions& global, const json& request) {
  if (auto client = ControlClient::connect(global.data_dir)) return client->call(request);
  auto lock = DataDirLock::acquire(global.data_dir);
  if (!lock) return fail(lock.error().message + " (sipboxd starting or stopping? try again)");
  auto data = store::open_store({store::StoreConfig::Backend::sqlite, global.data_dir, {}});
  if (!data) return fail("store: " + data.error().message);
  json reply = execute_ban_op_offline(**data, request);
  if (auto closed = (*data)->close(); !closed) return fail("store: " + closed.error().message);
  return reply;
}

std::string remaining_text(const json& remaining) {
  if (!remaining.is_number()) return "-";
  auto s = remaining.get<std::int64_t>();
  const auto h = s / 3600, m = s / 60 % 60;
  s %= 60;
  return (h > 0 ? std::to_string(h) + "h" : "") + (h > 0 || m > 0 ? std::to_string(m) + "m" : "") +
         std::to_string(s) + "s";
}

int run(const GlobalOptions& global, const std::string& op, const BansOptions& o) {
  json request{{"op", op}};
  if (op != "bans.list") request["address"] = o.address;
  if (op == "bans.add") {
    const auto duration = security::parse_duration(o.duration);
    if (!duration || duration->count() <= 0) return failed("bad duration '" + o.duration + "' (e.g. 600, 10min, 2h)");
    request["duration_seconds"] = duration->count();
    request["reason"] = o.reason;
  }
  auto reply = execute(global, request);
  if (!reply) return failed(reply.error().message);
  if (!reply->value("ok", false)) {
    const json error = reply->value("error", json::object());
    return failed(error.value("message", std::string("refused")));
  }
  const json data = reply->value("data", json());
  if (o.json_output) {
    std::cout << data.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
    return 0;
  }
  if (op == "bans.list") {
    for (const json& b : data)
      std::cout << b.value("address", std::string()) << "  until " << (b["until"].is_string() ? b["until"].get<std::string>() : "never")
                << " (" << remaining_text(b["remaining_seconds"]) << " left)  sid " << b.value("sid", 0u)
                << "  offences " << b.value("offences", 0u) << "  " << b.value("reason", std::string()) << '\n';
    if (data.empty()) std::cout << "no bans\n";
  } else if (op == "bans.del") {
    std::cout << "ban of " << data.value("address", o.address) << " lifted\n";
  } else {
    std::cout << data.value("address", o.address) << " banned until " << data.value("until", std::string()) << '\n';
  }
  return 0;
}

}  // namespace

void add_bans_command(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<BansOptions>();
  CLI::App* bans = app.add_subcommand(
      "bans", "Banned addresses and prefixes of the intrusion prevention system; sipboxd running or stopped");
  bans->require_subcommand(1);
  CLI::App* list = bans->add_subcommand(
      "list", "List the bans in force: address or prefix, until (UTC), remaining seconds, reason, sid, offences");
  list->add_flag("--json", options->json_output, "JSON output (as GET /api/v1/security/bans)");
  list->callback([options, &global, &exit_code] { exit_code = run(global, "bans.list", *options); });
  CLI::App* del = bans->add_subcommand("del", "Lift a ban (exit 1 when there is none for ADDR)");
  del->add_option("address", options->address, "Address or prefix as listed, e.g. 192.0.2.7 or 10.0.0.0/8")
      ->required();
  del->callback([options, &global, &exit_code] { exit_code = run(global, "bans.del", *options); });
  CLI::App* add = bans->add_subcommand("add", "Ban an address or prefix by hand (extends an existing ban)");
  add->add_option("address", options->address, "Address or prefix, e.g. 192.0.2.7, 2001:db8::/64")->required();
  add->add_option("--duration", options->duration, "How long: 600, 10min, 2h, 1d")->capture_default_str();
  add->add_option("--reason", options->reason, "Why (shown in bans list)")->capture_default_str();
  add->add_flag("--json", options->json_output, "JSON output");
  add->callback([options, &global, &exit_code] { exit_code = run(global, "bans.add", *options); });
}

}  // namespace sipbox::app
