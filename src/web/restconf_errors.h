// RESTCONF error reporting (RFC 8040 7 and 7.1): the status line for a NETCONF error-tag
// and the "ietf-restconf:errors" document in JSON (RFC 7951) or XML.
#pragma once

#include <string>

#include "config/config.h"

namespace sipbox::web {

// The RFC 8040 section 7 table. Where it allows several codes, the first is used:
// invalid-value 400 (the handlers answer 404 for a missing target, 406 for Accept),
// access-denied 403 (401 comes from authentication), operation-not-supported 405,
// operation-failed 500.
int restconf_status(const config::ConfigError& error);

// {"ietf-restconf:errors":{"error":[{"error-type":...,"error-tag":...,...}]}} or
// <errors xmlns="urn:ietf:params:xml:ns:yang:ietf-restconf">...</errors>.
std::string restconf_error_document(const config::ConfigError& error, config::Encoding encoding);

std::string xml_escape(std::string_view text);

}  // namespace sipbox::web
