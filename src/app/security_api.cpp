#include "app/security_api.h"

#include <nlohmann/json.hpp>

#include "app/api_query.h"
#include "app/ban_admin.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

constexpr std::string_view kBans = "security/bans";

web::Response ok(const json& body, int status = 200) {
  return web::json_response(body.dump(2, ' ', false, json::error_handler_t::replace) + "\n", status);
}

// A control-style reply ({"ok", "data"} or {"ok", "error"}) as an HTTP response.
web::Response from_reply(const json& reply, int success_status = 200) {
  if (reply.value("ok", false)) return ok(reply.value("data", json()), success_status);
  const json error = reply.value("error", json::object());
  const std::string tag = error.value("tag", std::string());
  return web::api_error(tag == "data-missing"    ? 404
                        : tag == "invalid-value" ? 400
                                                 : 500,
                        error.value("message", std::string("failed")));
}

// Everything after "/api/v1/security/bans/", percent-decoded; "" for the collection.
std::optional<std::string> item_of(const web::Request& request) {
  const std::string_view path = request.path;
  const auto at = path.find(kBans);
  std::string_view rest = at == std::string_view::npos ? std::string_view() : path.substr(at + kBans.size());
  while (rest.starts_with('/')) rest.remove_prefix(1);
  return web::percent_decode(rest);
}

// Reads the query parameters into `out` (limit, offset); an error response when bad.
std::optional<web::Response> read_query(const web::Request& request, Query& out) {
  auto query = web::parse_query(request.query);
  if (!query) return web::api_error(400, "malformed query string");
  out = std::move(*query);
  return std::nullopt;
}

}  // namespace

std::vector<web::ApiResource> security_api(security::Guard& guard, const security::BanTable& table,
                                           store::Store& store) {
  web::ApiResource bans;
  bans.name = std::string(kBans);
  bans.get = [&guard, &table](const web::Request& request) {
    auto item = item_of(request);
    if (!item) return web::api_error(400, "malformed address escape");
    if (!item->empty()) {
      auto prefix = security::parse_prefix(*item);
      if (!prefix) return web::api_error(400, "bad address '" + *item + "': " + prefix.error().message);
      auto found = table.find(*prefix);
      const auto now = security::WallClock::now();
      if (!found || found->until <= now) return web::api_error(404, "no ban for " + prefix->text());
      return ok(ban_json(*found, now));
    }
    Query query;
    if (auto error = read_query(request, query)) return *error;
    store::Page page;
    page.limit = 1000;
    if (auto error = read_page(query, page)) return *error;
    return from_reply(
        *execute_ban_op(guard, table, {{"op", "bans.list"}, {"limit", page.limit}, {"offset", page.offset}}));
  };
  bans.post = [&guard, &table](const web::Request& request) {
    auto item = item_of(request);
    if (!item || !item->empty()) return web::api_error(405, "POST to /api/v1/security/bans");
    json body = json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return web::api_error(400, "the body must be a JSON object");
    if (!body.contains("address") || !body["address"].is_string())
      return web::api_error(400, "address (a string) is required");
    json op{{"op", "bans.add"}, {"address", body["address"]}};
    if (body.contains("duration_seconds")) op["duration_seconds"] = body["duration_seconds"];
    if (body.contains("reason")) op["reason"] = body["reason"];
    return from_reply(*execute_ban_op(guard, table, op), 201);
  };
  bans.remove = [&guard, &table](const web::Request& request) {
    auto item = item_of(request);
    if (!item) return web::api_error(400, "malformed address escape");
    if (item->empty()) return web::api_error(405, "DELETE /api/v1/security/bans/{address}");
    return from_reply(*execute_ban_op(guard, table, {{"op", "bans.del"}, {"address", *item}}));
  };

  web::ApiResource incidents;
  incidents.name = "security/incidents";
  incidents.get = [&store](const web::Request& request) {
    if (request.path.find("security/incidents/") != std::string::npos) return web::api_error(404, "no such resource");
    Query query;
    if (auto error = read_query(request, query)) return *error;
    store::IncidentQuery q;
    if (auto error = read_page(query, q.page)) return *error;
    for (const auto& [key, value] : query) {
      if (key == "since" || key == "until") {
        auto at = parse_time(value);
        if (!at) return web::api_error(400, key + ": '" + value + "' is not ISO 8601 or unix seconds");
        (key == "since" ? q.since : q.until) = *at;
      } else if (key == "source") {
        auto prefix = security::parse_prefix(value);
        if (!prefix || prefix->length != (prefix->network.is_v4() ? 32u : 128u))
          return web::api_error(400, "source: '" + value + "' is not an IP address");
        q.source = prefix->text();
      } else if (key == "sid") {
        auto sid = unsigned_number(value);
        if (!sid || *sid > 0xffffffffULL) return web::api_error(400, "sid: '" + value + "' is not a rule sid");
        q.sid = static_cast<std::uint32_t>(*sid);
      } else if (key != "limit" && key != "offset") {
        return web::api_error(400, "unknown filter '" + key + "' (since, until, source, sid, limit, offset)");
      }
    }
    auto found = store.incidents().query(q);
    if (!found) return web::api_error(500, found.error().message);
    json out = json::array();
    for (const store::Incident& i : *found) out.push_back(incident_json(i));
    return ok(out);
  };
  return {std::move(bans), std::move(incidents)};
}

}  // namespace sipbox::app
