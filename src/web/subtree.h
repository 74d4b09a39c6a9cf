// Cutting the target resource out of a printed configuration. Snapshot::print(xpath)
// prints the selected nodes together with their ancestors (what NETCONF filters
// return); RESTCONF answers a GET with the target node alone (RFC 8040 3.5), e.g.
// {"sipbox-system:listeners":{...}} rather than {"sipbox-system:system":{"listeners":...}}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "web/api_path.h"

namespace sipbox::web {

// RFC 7951 JSON: {"<module>:<name>": value} of the last step; nullopt when not found.
std::optional<std::string> extract_json(std::string_view printed, const std::vector<PathStep>& steps);

// XML: the element(s) of the last step, each carrying its default namespace.
std::optional<std::string> extract_xml(std::string_view printed, const std::vector<PathStep>& steps);

}  // namespace sipbox::web
