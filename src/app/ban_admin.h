// Administration of the intrusion prevention system shared by the sipbox tool, the
// control socket and the REST API (issue 5): bans as JSON, the "bans.list", "bans.del"
// and "bans.add" control ops executed by sipboxd against the Guard (so the ban table, the
// store and nftables change together), the same operations on a stopped data
// directory's store, and the time and address parsing of their arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "security/security.h"
#include "store/store.h"

namespace sipbox::app {

// "2024-05-01T12:00:00Z"; "never" for sys_seconds::max() (a ban without end).
std::string iso8601_utc(std::chrono::sys_seconds at);
// ISO 8601 ("2024-05-01", "2024-05-01T12:00:00Z", "...T12:00:00.5+02:00"; no zone: UTC)
// or unix seconds ("1714564800"); nullopt when malformed.
std::optional<std::chrono::sys_seconds> parse_time(std::string_view text);

// {"address", "until", "remaining_seconds", "reason", "sid", "offences"}
nlohmann::json ban_json(const security::BanEntry& ban, security::WallClock::time_point now);
nlohmann::json ban_json(const store::Ban& ban, security::WallClock::time_point now);
// {"id", "at", "source", "sid", "message", "count", "action"}
nlohmann::json incident_json(const store::Incident& incident);

// Executes "bans.list" ({"limit", "offset"}), "bans.del" ({"address"}) and "bans.add"
// ({"address", "duration_seconds", "reason"}) against the running daemon's Guard; the
// reply is {"ok": true, "data": ...} or {"ok": false, "error": {"tag", "message"}} with
// tag "invalid-value" (bad argument) or "data-missing" (no such ban). nullopt for other ops.
std::optional<nlohmann::json> execute_ban_op(security::Guard& guard, const security::BanTable& table,
                                             const nlohmann::json& request);

// The same three operations on a stopped data directory's store (the caller holds the
// data directory lock); same replies.
nlohmann::json execute_ban_op_offline(store::Store& store, const nlohmann::json& request);

}  // namespace sipbox::app
