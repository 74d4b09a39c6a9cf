#include "web/api_path.h"

namespace sipbox::web {
namespace {

// RFC 7950 6.2: identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_" / "-" / ".")
bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (const char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const std::size_t at = text.find(sep);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

std::optional<std::string> xpath_literal(std::string_view value) {
  if (value.find('\'') == std::string_view::npos) return "'" + std::string(value) + "'";
  if (value.find('"') == std::string_view::npos) return "\"" + std::string(value) + "\"";
  return std::nullopt;
}

config::ConfigResult<ApiPath> parse_api_path(std::string_view encoded, const SchemaLookup& schema) {
  ApiPath out;
  if (encoded.empty() || encoded == "/") return out;
  if (encoded.front() != '/') return config::config_fail("invalid-value", "api-path must start with '/'");
  encoded.remove_prefix(1);
  if (encoded.back() == '/') encoded.remove_suffix(1);

  const std::vector<std::string_view> segments = split(encoded, '/');
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view segment = segments[i];
    const bool last = i + 1 == segments.size();
    if (segment.empty()) return config::config_fail("invalid-value", "empty node name in api-path", out.xpath);
    const std::size_t eq = segment.find('=');
    const auto identifier = percent_decode(segment.substr(0, eq));
    if (!identifier) return config::config_fail("invalid-value", "malformed percent-encoding in api-path", out.xpath);

    // RFC 8040 3.5.3: api-identifier = [module-name ":"] identifier; the first node, and
    // any node whose module differs from its parent's, must be qualified.
    std::string_view module;
    std::string_view name = *identifier;
    if (const std::size_t colon = name.find(':'); colon != std::string_view::npos) {
      module = name.substr(0, colon);
      name = name.substr(colon + 1);
      if (!is_identifier(module)) {
        return config::config_fail("invalid-value", "invalid module name '" + std::string(module) + "' in api-path",
                                   out.xpath);
      }
    } else if (i == 0) {
      return config::config_fail("invalid-value",
                                 "the first node of an api-path must name its module: module:" + std::string(name));
    }
    if (!is_identifier(name)) {
      return config::config_fail("invalid-value", "invalid node name '" + std::string(name) + "' in api-path",
                                 out.xpath);
    }
    // Canonical form (RFC 7951 4): qualified only where the module changes.
    if (!module.empty() && module == out.module) module = {};
    const std::string step = module.empty() ? std::string(name) : std::string(module) + ":" + std::string(name);
    out.schema_path += "/" + step;
    out.xpath += "/" + step;
    if (!module.empty()) out.module = std::string(module);
    out.name = std::string(name);
    out.steps.push_back(PathStep{std::string(module), std::string(name)});

    const auto node = schema ? schema(out.schema_path) : std::nullopt;
    if (!node) {
      return config::config_fail("unknown-element", "no schema node " + out.schema_path, out.schema_path);
    }
    out.node = *node;
    out.key_values.clear();
    out.instance = eq != std::string_view::npos;

    if (!out.instance) {
      if (node->kind == SchemaNode::Kind::List && !node->keys.empty() && !last) {
        return config::config_fail("invalid-value",
                                   "list " + out.schema_path + " needs its key values (" + step + "=...)", out.xpath);
      }
      continue;
    }
    // list-instance = api-identifier "=" key-value *("," key-value); a ',' inside a
    // key value arrives as %2C, so split first, then decode.
    for (const std::string_view raw : split(segment.substr(eq + 1), ',')) {
      auto value = percent_decode(raw);
      if (!value) return config::config_fail("invalid-value", "malformed percent-encoding in key value", out.xpath);
      out.key_values.push_back(std::move(*value));
    }
    if (node->kind == SchemaNode::Kind::LeafList) {
      if (out.key_values.size() != 1) {
        return config::config_fail("invalid-value", "leaf-list " + out.schema_path + " takes one value", out.xpath);
      }
      const auto literal = xpath_literal(out.key_values[0]);
      if (!literal) return config::config_fail("invalid-value", "value holds both ' and \"", out.xpath);
      out.xpath += "[.=" + *literal + "]";
      continue;
    }
    if (node->kind != SchemaNode::Kind::List || node->keys.empty()) {
      return config::config_fail("invalid-value", out.schema_path + " is not a list with keys: '=' not allowed",
                                 out.xpath);
    }
    if (out.key_values.size() != node->keys.size()) {
      std::string names;
      for (const auto& key : node->keys) names += (names.empty() ? "" : ",") + key;
      return config::config_fail("invalid-value",
                                 "list " + out.schema_path + " takes " + std::to_string(node->keys.size()) +
                                     " key value(s) (" + names + "), got " + std::to_string(out.key_values.size()),
                                 out.xpath);
    }
    for (std::size_t k = 0; k < node->keys.size(); ++k) {
      const auto literal = xpath_literal(out.key_values[k]);
      if (!literal) return config::config_fail("invalid-value", "key value holds both ' and \"", out.xpath);
      out.xpath += "[" + node->keys[k] + "=" + *literal + "]";
    }
  }
  return out;
}

std::string api_path_child(std::string_view parent_encoded, std::string_view module_prefix, std::string_view name,
                           const std::vector<std::string>& key_values) {
  std::string out(parent_encoded);
  if (!out.empty() && out.back() == '/') out.pop_back();
  out += '/';
  if (!module_prefix.empty()) out += std::string(module_prefix) + ":";
  out += name;
  for (std::size_t i = 0; i < key_values.size(); ++i) {
    out += i == 0 ? '=' : ',';
    out += percent_encode(key_values[i]);
  }
  return out;
}

}  // namespace sipbox::web
