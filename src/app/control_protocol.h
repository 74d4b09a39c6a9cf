// The control socket (DIR/control.sock, mode 0600) through which the sipbox tool
// reaches a running sipboxd: one JSON object per line each way. Access is whoever may
// open the socket file, i.e. the data directory's owner.
//
// Request:  {"op": "get"|"set"|"merge"|"delete"|"replace"|"validate"|"diff"|"status",
//            "xpath": "...", "value": "...", "data": "...", "encoding": "xml"|"json",
//            "with_defaults": "explicit"|"report-all"|"report-all-tagged"|"trim", "user": "..."}
//           or an op of the daemon's handler ("bans.list", "bans.del", "bans.add": app/ban_admin.h)
// Response: {"ok": true, "data": "..."} or {"ok": false, "error": {tag, type, path, message, app_tag}}
//           ("status": data is the JSON object of app/status.h's status_json)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/config.h"

namespace sipbox::app {

constexpr const char* kControlSocketName = "control.sock";

nlohmann::json error_to_json(const config::ConfigError& error);
config::ConfigError error_from_json(const nlohmann::json& json);

std::string encoding_name(config::Encoding encoding);
config::Encoding encoding_from_name(const std::string& name);
std::string with_defaults_name(config::WithDefaults mode);
config::WithDefaults with_defaults_from_name(const std::string& name);

nlohmann::json changes_to_json(const std::vector<config::Change>& changes);

// The daemon's counters and gauges for the "status" op (status_json of a fresh snapshot).
using StatusProvider = std::function<nlohmann::json()>;

// Further ops the daemon executes itself (the bans of the Guard): the reply, or nullopt
// when the op is not one of them.
using ControlHandler = std::function<std::optional<nlohmann::json>(const nlohmann::json& request)>;

// Executes one control request against the store (the daemon's side). Without a status
// provider, "status" is refused as not supported; ops the store does not know go to
// `handler`.
nlohmann::json execute_control_request(config::ConfigStore& store, const nlohmann::json& request,
                                       std::uint32_t session_id, const StatusProvider& status = {},
                                       const ControlHandler& handler = {});

}  // namespace sipbox::app
