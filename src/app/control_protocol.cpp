#include "app/control_protocol.h"

namespace sipbox::app {

nlohmann::json error_to_json(const config::ConfigError& e) {
  return {{"tag", e.tag}, {"type", e.type}, {"path", e.path}, {"message", e.message}, {"app_tag", e.app_tag}};
}

config::ConfigError error_from_json(const nlohmann::json& j) {
  config::ConfigError e;
  e.tag = j.value("tag", "operation-failed");
  e.type = j.value("type", "application");
  e.path = j.value("path", "");
  e.message = j.value("message", "");
  e.app_tag = j.value("app_tag", "");
  return e;
}

std::string encoding_name(config::Encoding encoding) { return encoding == config::Encoding::Json ? "json" : "xml"; }

config::Encoding encoding_from_name(const std::string& name) {
  return name == "json" ? config::Encoding::Json : config::Encoding::Xml;
}

std::string with_defaults_name(config::WithDefaults mode) {
  switch (mode) {
    case config::WithDefaults::ReportAll: return "report-all";
    case config::WithDefaults::ReportAllTagged: return "report-all-tagged";
    case config::WithDefaults::Trim: return "trim";
    case config::WithDefaults::Explicit: break;
  }
  return "explicit";
}

config::WithDefaults with_defaults_from_name(const std::string& name) {
  if (name == "report-all") return config::WithDefaults::ReportAll;
  if (name == "report-all-tagged") return config::WithDefaults::ReportAllTagged;
  if (name == "trim") return config::WithDefaults::Trim;
  return config::WithDefaults::Explicit;
}

nlohmann::json changes_to_json(const std::vector<config::Change>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : changes) {
    const char* kind = c.kind == config::Change::Kind::Create   ? "create"
                       : c.kind == config::Change::Kind::Delete ? "delete"
                                                                : "replace";
    out.push_back({{"op", kind}, {"path", c.path}, {"old", c.old_value}, {"new", c.new_value}});
  }
  return out;
}

namespace {

template <class T>
nlohmann::json reply(const config::ConfigResult<T>& result) {
  if (!result) return {{"ok", false}, {"error", error_to_json(result.error())}};
  if constexpr (std::is_same_v<T, void>) {
    return {{"ok", true}};
  } else if constexpr (std::is_same_v<T, std::string>) {
    return {{"ok", true}, {"data", *result}};
  } else {
    return {{"ok", true}, {"data", changes_to_json(*result)}};
  }
}

}  // namespace

nlohmann::json execute_control_request(config::ConfigStore& store, const nlohmann::json& request,
                                       std::uint32_t session_id, const StatusProvider& status,
                                       const ControlHandler& handler) {
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string())
    return {{"ok", false}, {"error", error_to_json({"malformed-message", "rpc", "", "request has no op", "", 0})}};
  const config::Session session{session_id, request.value("user", std::string("cli")), "cli"};
  const std::string op = request["op"];
  const std::string xpath = request.value("xpath", "");
  const std::string data = request.value("data", "");
  const config::Encoding encoding = encoding_from_name(request.value("encoding", "xml"));
  if (op == "get")
    return reply(store.get_config(config::Datastore::Running, encoding, xpath,
                                  with_defaults_from_name(request.value("with_defaults", "explicit"))));
  if (op == "set") return reply(store.set_leaf(session, xpath, request.value("value", "")));
  if (op == "merge") return reply(store.edit_config(session, config::Datastore::Running, data, encoding));
  if (op == "delete")
    return reply(store.edit_path(session, config::Datastore::Running, xpath, config::ConfigStore::PathEdit::Delete,
                                 "", encoding));
  if (op == "replace") return reply(store.replace_running(session, data, encoding));
  if (op == "validate") return reply(store.validate_text(data, encoding));
  if (op == "diff") return reply(store.diff(data, encoding));
  if (op == "status" && status) return {{"ok", true}, {"data", status()}};
  if (handler) {
    if (auto reply = handler(request)) return std::move(*reply);
  }
  return {{"ok", false},
          {"error", error_to_json({"operation-not-supported", "rpc", "", "unknown op '" + op + "'", "", 0})}};
}

}  // namespace sipbox::app
