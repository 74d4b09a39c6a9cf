// sipbox status [--json]: the running sipboxd's counters and gauges, asked over the
// control socket (the same JSON as GET /api/v1/status; docs/operations.md describes it).
// It needs the daemon: a stopped data directory has no live counters.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "app/commands.h"
#include "app/control_client.h"
#include "app/control_protocol.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

std::uint64_t number(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

const json& member(const json& object, const char* key) {
  static const json kEmpty = json::object();
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

std::string uptime_text(std::uint64_t seconds) {
  char buf[64];
  const auto days = seconds / 86400;
  if (days > 0) {
    std::snprintf(buf, sizeof buf, "%llud %02llu:%02llu:%02llu", static_cast<unsigned long long>(days),
                  static_cast<unsigned long long>(seconds / 3600 % 24),
                  static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60));
  }
  return buf;
}

// {"OPTIONS": 1, "REGISTER": 2} -> "OPTIONS 1, REGISTER 2"; "-" when empty.
std::string counts_text(const json& counts) {
  std::string out;
  for (const auto& [key, value] : counts.items()) {
    if (!out.empty()) out += ", ";
    out += key + " " + std::to_string(value.is_number_unsigned() ? value.get<std::uint64_t>() : 0);
  }
  return out.empty() ? "-" : out;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return text;
}

void print_summary(const json& s) {
  const auto n = [](const json& o, const char* k) { return std::to_string(number(o, k)); };
  std::cout << "sipboxd " << s.value("version", std::string("?")) << ", up " << uptime_text(number(s, "uptime_seconds"))
            << ", " << n(s, "workers") << " SIP workers\n";
  std::string listening;
  for (const json& l : s.value("listeners", json::array())) {
    if (!listening.empty()) listening += ", ";
    const std::string service = upper(l.value("service", std::string()));
    listening += service == "SIP" ? "SIP/" + upper(l.value("transport", std::string())) : service;
    const std::string address = l.value("address", std::string());
    listening += " " + (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
                 std::to_string(l.value("port", 0));
  }
  std::cout << "listening:        " << (listening.empty() ? "-" : listening) << '\n';
  const json& reg = member(s, "registrations");
  std::cout << "registrations:    " << n(reg, "bindings") << " bindings of " << n(reg, "aors")
            << " addresses of record\n";
  const json& dialogs = member(s, "dialogs");
  std::cout << "dialogs:          " << n(dialogs, "active") << " active (" << n(dialogs, "established")
            << " established, " << n(dialogs, "ended") << " ended)\n";
  const json& t = member(s, "transactions");
  std::cout << "transactions:     " << n(t, "live") << " live (" << n(t, "server_created") << " server and "
            << n(t, "client_created") << " client created, " << n(t, "timeouts") << " timed out)\n";
  const json& rt = member(s, "retransmissions");
  std::cout << "retransmissions:  " << n(rt, "sent") << " sent, " << n(rt, "absorbed") << " received and absorbed\n";
  const json& requests = member(s, "requests");
  const json& responses = member(s, "responses");
  std::cout << "requests in:      " << counts_text(member(requests, "received")) << '\n';
  std::cout << "requests out:     " << counts_text(member(requests, "sent")) << '\n';
  std::cout << "responses in:     " << counts_text(member(responses, "received")) << '\n';
  std::cout << "responses out:    " << counts_text(member(responses, "sent")) << '\n';
  const json& dropped = member(s, "dropped");
  const json& malformed = member(dropped, "malformed");
  std::cout << "malformed:        " << n(malformed, "answered") << " answered 400, " << n(malformed, "dropped")
            << " dropped\n";
  std::cout << "dropped:          " << n(dropped, "banned") << " from banned sources, " << n(dropped, "security")
            << " by security rules, " << n(dropped, "oversize") << " oversize, " << n(dropped, "framing")
            << " framing errors, " << n(dropped, "send_failures") << " send failures\n";
  const json& r = member(s, "registrar");
  std::cout << "registrar:        " << n(r, "requests") << " REGISTER: " << n(r, "accepted") << " accepted, "
            << n(r, "challenges") << " challenged, " << n(r, "auth_failures") << " wrong credentials, "
            << n(r, "rejected") << " rejected\n";
  const json& p = member(s, "proxy");
  std::cout << "proxy:            " << n(p, "requests_forwarded") << " requests and " << n(p, "responses_forwarded")
            << " responses forwarded, " << n(p, "challenges") << " challenged, " << n(p, "auth_failures")
            << " wrong credentials, " << n(p, "not_found") << " not found, " << n(p, "unavailable") << " unavailable\n";
  const json& tr = member(s, "transport");
  std::cout << "connections:      " << n(member(tr, "connections"), "open") << " open\n";
  if (s.contains("store")) {
    const json& st = member(s, "store");
    std::cout << "store:            " << n(st, "committed") << " writes committed, " << n(st, "queue_depth")
              << " queued, " << n(st, "write_errors") << " write errors";
    const std::string last_error = st.value("last_error", std::string());
    if (!last_error.empty()) std::cout << " (last: " << last_error << ")";
    std::cout << '\n';
  }
}

int run(const GlobalOptions& global, bool json_output) {
  const std::filesystem::path dir = global.data_dir;
  auto client = ControlClient::connect(dir);
  if (!client) {
    std::error_code ec;
    const bool socket_exists = std::filesystem::exists(dir / kControlSocketName, ec);
    std::cerr << "sipbox: sipboxd is not running ("
              << (socket_exists ? "nothing answers on " + (dir / kControlSocketName).string()
                                : "no control socket in " + dir.string())
              << ")\n";
    return 1;
  }
  auto reply = client->call({{"op", "status"}});
  if (!reply) {
    std::cerr << "sipbox: " << reply.error().message << '\n';
    return 1;
  }
  if (!reply->value("ok", false)) {
    std::cerr << "sipbox: " << member(*reply, "error").value("message", std::string("status refused")) << '\n';
    return 1;
  }
  const json& status = member(*reply, "data");
  if (json_output) {
    std::cout << status.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
  } else {
    print_summary(status);
  }
  return 0;
}

}  // namespace

void add_status_command(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto json_output = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "status",
      "Counters and gauges of the running sipboxd (requests, responses, transactions, registrations, "
      "dialogs, retransmissions, dropped messages); needs the daemon");
  cmd->add_flag("--json", *json_output, "Print the JSON object that GET /api/v1/status returns");
  cmd->callback([json_output, &global, &exit_code] { exit_code = run(global, *json_output); });
}

}  // namespace sipbox::app
