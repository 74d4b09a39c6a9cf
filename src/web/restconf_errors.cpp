#include "web/restconf_errors.h"

#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace sipbox::web {

int restconf_status(const config::ConfigError& error) {
  static constexpr std::pair<std::string_view, int> kTable[] = {
      {"in-use", 409},
      {"invalid-value", 400},
      {"too-big", 413},  // a request too big; a response too big would be 400
      {"missing-attribute", 400},
      {"bad-attribute", 400},
      {"unknown-attribute", 400},
      {"bad-element", 400},
      {"unknown-element", 400},
      {"unknown-namespace", 400},
      {"access-denied", 403},
      {"lock-denied", 409},
      {"resource-denied", 409},
      {"rollback-failed", 500},
      {"data-exists", 409},
      {"data-missing", 409},
      {"operation-not-supported", 405},
      {"operation-failed", 500},
      {"partial-operation", 500},
      {"malformed-message", 400},
  };
  for (const auto& [tag, status] : kTable) {
    if (tag == error.tag) return status;
  }
  return 500;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string restconf_error_document(const config::ConfigError& error, config::Encoding encoding) {
  const std::string type = error.type.empty() ? "application" : error.type;
  if (encoding == config::Encoding::Xml) {
    std::string out = "<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\"><error><error-type>" +
                      xml_escape(type) + "</error-type><error-tag>" + xml_escape(error.tag) + "</error-tag>";
    if (!error.app_tag.empty()) out += "<error-app-tag>" + xml_escape(error.app_tag) + "</error-app-tag>";
    if (!error.path.empty()) out += "<error-path>" + xml_escape(error.path) + "</error-path>";
    if (!error.message.empty()) out += "<error-message>" + xml_escape(error.message) + "</error-message>";
    return out + "</error></errors>\n";
  }
  nlohmann::ordered_json entry = {{"error-type", type}, {"error-tag", error.tag}};
  if (!error.app_tag.empty()) entry["error-app-tag"] = error.app_tag;
  if (!error.path.empty()) entry["error-path"] = error.path;
  if (!error.message.empty()) entry["error-message"] = error.message;
  if (error.tag == "lock-denied" && error.lock_holder != 0) {
    entry["error-info"] = {{"session-id", error.lock_holder}};
  }
  nlohmann::ordered_json doc;
  doc["ietf-restconf:errors"]["error"] = nlohmann::ordered_json::array({entry});
  // Invalid UTF-8 in a message (echoed user input) must not throw.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace sipbox::web
