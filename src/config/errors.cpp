// libyang's errors as NETCONF rpc-error fields.
#include <cstdlib>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// libyang 2.1 reports where an error is as text:
//   Schema location "/m:a/b", data location "/m:a/b[k='v']", line number 3.
// The data location is the error-path; the schema location is the fallback.
std::string location(std::string_view text) {
  for (std::string_view key : {"Data location \"", "data location \"", "Schema location \""}) {
    auto at = text.find(key);
    if (at == std::string_view::npos) continue;
    auto begin = at + key.size();
    auto end = text.find('"', begin);
    if (end == std::string_view::npos) continue;
    return std::string(text.substr(begin, end - begin));
  }
  return {};
}

}  // namespace

void clear_ly_errors(const ly_ctx* ctx) { ly_err_clean(const_cast<ly_ctx*>(ctx), nullptr); }

std::optional<int> ly_error_line(const ly_ctx* ctx) {
  const ly_err_item* item = ly_err_last(ctx);
  if (!item || !item->path) return std::nullopt;
  std::string_view text = item->path;
  for (std::string_view key : {"line number ", "Line number "}) {
    auto at = text.find(key);
    if (at != std::string_view::npos) return std::atoi(std::string(text.substr(at + key.size())).c_str());
  }
  return std::nullopt;
}

ConfigError ly_error(const ly_ctx* ctx, std::string_view fallback) {
  ConfigError error;
  const ly_err_item* item = ly_err_last(ctx);
  if (!item || !item->msg) {
    error.message = std::string(fallback);
    return error;
  }
  std::string_view message = item->msg;
  std::string_view app_tag = item->apptag ? item->apptag : "";
  error.message = std::string(message);
  if (item->path) error.path = location(item->path);
  error.app_tag = std::string(app_tag);

  if (app_tag == "instance-required" || starts_with(message, "Invalid leafref value")) {
    error.tag = "data-missing";  // RFC 7950 15.5
    error.app_tag = "instance-required";
  } else if (starts_with(message, "Mandatory node") || starts_with(message, "Mandatory choice")) {
    error.tag = "data-missing";
    if (starts_with(message, "Mandatory choice")) error.app_tag = "missing-choice";  // RFC 7950 15.6
  } else if (!app_tag.empty()) {
    error.tag = "operation-failed";  // must with error-app-tag, unique, min/max-elements
  } else if (starts_with(message, "Must condition")) {
    error.tag = "operation-failed";
    error.app_tag = "must-violation";  // RFC 7950 15.4
  } else if (starts_with(message, "Unsatisfied") || starts_with(message, "Invalid") ||
             message.find("does not satisfy") != std::string_view::npos ||
             message.find("is out of") != std::string_view::npos) {
    error.tag = "invalid-value";  // type, range, length, pattern, enum, identity
  } else if (message.find("not found as a child") != std::string_view::npos ||
             starts_with(message, "Unknown element") || starts_with(message, "No module")) {
    error.tag = "unknown-element";
  } else if (item->vecode == LYVE_SYNTAX || item->vecode == LYVE_SYNTAX_XML || item->vecode == LYVE_SYNTAX_JSON) {
    error.tag = "malformed-message";
  } else {
    error.tag = "operation-failed";
  }
  return error;
}

}  // namespace sipbox::config
