// RESTCONF api-path (RFC 8040 3.5.3) to the data path ConfigStore takes (libyang's
// JSON-style XPath: module-qualified where the module changes, list keys as predicates).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "web/web.h"

namespace sipbox::web {

struct PathStep {
  std::string module;  // as written in the api-path; empty when not qualified
  std::string name;
};

struct ApiPath {
  std::vector<PathStep> steps;          // one per api-path node
  std::string xpath;                    // "/sipbox-routing:routing/trunk[name='t1']"; empty for the datastore
  std::string schema_path;              // "/sipbox-routing:routing/trunk"
  std::string module;                   // the module of the target node (its JSON namespace)
  std::string name;                     // the target node's name; empty for the datastore
  SchemaNode node;                      // what the target node is
  std::vector<std::string> key_values;  // decoded keys of a list (or leaf-list) instance target
  bool instance = false;                // the target names one list or leaf-list entry

  bool is_datastore() const { return name.empty(); }
};

// `encoded` is what follows /restconf/data in the request path ("" or "/mod:a/b=k"), still
// percent-encoded: keys are split on ',' before they are decoded. Errors carry the tag
// RESTCONF answers with (invalid-value, unknown-element).
config::ConfigResult<ApiPath> parse_api_path(std::string_view encoded, const SchemaLookup& schema);

// An XPath 1.0 string literal for `value`: 'v', or "v" when it holds an apostrophe;
// nullopt when it holds both quote characters (XPath 1.0 has no escapes).
std::optional<std::string> xpath_literal(std::string_view value);

// The api-path of a child of `parent` (an ApiPath's encoded form), for Location headers.
std::string api_path_child(std::string_view parent_encoded, std::string_view module_prefix, std::string_view name,
                           const std::vector<std::string>& key_values);

}  // namespace sipbox::web
