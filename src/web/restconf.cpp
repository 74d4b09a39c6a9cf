// RESTCONF (RFC 8040) over the ConfigStore: the same validation, appliers and audit log
// as NETCONF, because every edit goes through ConfigStore (edit_path and friends).
#include "web/restconf.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "web/restconf_errors.h"
#include "web/subtree.h"

namespace sipbox::web {
namespace {

using config::ConfigError;
using config::Encoding;
using Json = nlohmann::ordered_json;

constexpr std::string_view kJson = "application/yang-data+json";
constexpr std::string_view kXml = "application/yang-data+xml";
constexpr std::string_view kAllow = "GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE";
constexpr std::string_view kYangLibraryVersion = "2019-01-04";  // RFC 8525
constexpr std::string_view kRestconfNs = "urn:ietf:params:xml:ns:yang:ietf-restconf";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A media type without its parameters, in lower case.
std::string media_type(std::string_view value) { return lower(trim(value.substr(0, value.find(';')))); }

std::optional<Encoding> encoding_of(std::string_view type) {
  if (type == kJson || type == "application/json" || type == "application/yang-data") return Encoding::Json;
  if (type == kXml || type == "application/xml" || type == "text/xml") return Encoding::Xml;
  return std::nullopt;
}

// RFC 8040 5.2: JSON unless the client asks for XML; nullopt when it accepts neither.
std::optional<Encoding> response_encoding(std::string_view accept) {
  if (trim(accept).empty()) return Encoding::Json;
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    const std::string type = media_type(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    if (auto encoding = encoding_of(type)) return encoding;
    if (type == "*/*" || type == "application/*") return Encoding::Json;
  }
  return std::nullopt;
}

std::string content_type(Encoding encoding) { return std::string(encoding == Encoding::Xml ? kXml : kJson); }

Response error_response(const ConfigError& error, Encoding encoding, int status = 0) {
  Response response;
  response.status = status != 0 ? status : restconf_status(error);
  response.content_type = content_type(encoding);
  response.body = restconf_error_document(error, encoding);
  if (response.status == 405) response.headers.emplace_back("Allow", std::string(kAllow));
  return response;
}

Response error_response(std::string tag, std::string message, Encoding encoding, int status = 0,
                        std::string path = {}) {
  ConfigError error;
  error.tag = std::move(tag);
  error.message = std::move(message);
  error.path = std::move(path);
  return error_response(error, encoding, status);
}

Response no_content() { return Response{204, {}, {}, {}, false}; }

// RFC 6243 / RFC 8040 4.8.9.
std::optional<config::WithDefaults> parse_with_defaults(std::string_view value) {
  if (value == "report-all") return config::WithDefaults::ReportAll;
  if (value == "trim") return config::WithDefaults::Trim;
  if (value == "explicit") return config::WithDefaults::Explicit;
  if (value == "report-all-tagged") return config::WithDefaults::ReportAllTagged;
  return std::nullopt;
}

// RFC 8040 4.8.2: keep `depth` levels of data nodes below (and counting) the target.
void prune(Json& object, int level, int depth) {
  for (auto it = object.begin(); it != object.end();) {
    Json& child = it.value();
    const bool list = child.is_array() && !child.empty() && child.front().is_object();
    if (level + 1 > depth) {
      it = object.erase(it);
      continue;
    }
    if (child.is_object()) prune(child, level + 1, depth);
    if (list) {
      for (Json& entry : child) prune(entry, level + 1, depth);
    }
    ++it;
  }
}

// For JSON documents that name one node: its member name and value.
struct Member {
  std::string module;  // empty when unqualified
  std::string name;
  const Json* value = nullptr;
};

std::optional<Member> single_member(const Json& doc) {
  if (!doc.is_object() || doc.size() != 1) return std::nullopt;
  Member member;
  const std::string& key = doc.begin().key();
  const std::size_t colon = key.find(':');
  member.module = colon == std::string::npos ? std::string() : key.substr(0, colon);
  member.name = colon == std::string::npos ? key : key.substr(colon + 1);
  member.value = &doc.begin().value();
  return member;
}

std::string json_scalar(const Json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

const Json* list_entry(const Json& value) {
  if (value.is_object()) return &value;
  if (value.is_array() && value.size() == 1 && value.front().is_object()) return &value.front();
  return nullptr;
}

// The same container with its content taken out.
std::string empty_container(const std::string& printed, Encoding encoding) {
  if (encoding == Encoding::Xml) {
    const std::size_t tag_end = printed.find('>');
    if (tag_end == std::string::npos) return printed;
    return printed.substr(0, printed[tag_end - 1] == '/' ? tag_end - 1 : tag_end) + "/>\n";
  }
  Json doc = Json::parse(printed, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.size() != 1) return printed;
  doc.begin().value() = Json::object();
  return doc.dump(2) + "\n";
}

}  // namespace

struct Restconf::Context {
  AdminAccount account;
  Encoding out = Encoding::Json;  // response encoding
  Encoding in = Encoding::Json;   // request body encoding
  config::Session session;
  std::optional<Json> json;  // the parsed request body (JSON only)
};

// The body to hand to the store: for the datastore, RFC 8040 3.3.1's "ietf-restconf:data"
// wrapper (what GET returns) is taken off, so a GET answer can be PUT back.
std::string Restconf::body_of(const Request& request, const Context& ctx, const ApiPath& target) {
  if (!target.is_datastore() || !ctx.json) return request.body;
  const auto member = single_member(*ctx.json);
  if (!member || member->module != "ietf-restconf" || member->name != "data") return request.body;
  return member->value->dump();
}

Restconf::Restconf(config::ConfigStore& store, SchemaLookup schema)
    : store_(store), schema_(std::move(schema)), authenticator_(config_account_lookup(store)) {}

Response Restconf::host_meta(const Request& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return Response{405, "text/plain", "method not allowed\n", {{"Allow", "GET, HEAD"}}, false};
  }
  return Response{200,
                  "application/xrd+xml",
                  "<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n"
                  "  <Link rel=\"restconf\" href=\"/restconf\"/>\n</XRD>\n",
                  {},
                  false};
}

Response Restconf::handle(const Request& request) {
  Context ctx;
  const auto accepted = response_encoding(request.header("accept"));
  ctx.out = accepted.value_or(Encoding::Json);

  // RFC 8040 2.5: every request is authenticated; Basic over the admin accounts.
  const auto account = authenticator_.authenticate(request.header("authorization"));
  if (!account) {
    Response response = error_response("access-denied", "authentication required", ctx.out, 401);
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"sipbox\"");
    return response;
  }
  ctx.account = *account;
  if (!accepted) return error_response("invalid-value", "Accept names no RESTCONF media type", ctx.out, 406);

  const std::string& method = request.method;
  if (method == "OPTIONS") {
    return Response{200,
                    {},
                    {},
                    {{"Allow", std::string(kAllow)}, {"Accept-Patch", std::string(kJson) + ", " + std::string(kXml)}},
                    false};
  }
  const bool read = method == "GET" || method == "HEAD";
  const bool write = method == "PUT" || method == "PATCH" || method == "POST" || method == "DELETE";
  if (!read && !write) return error_response("operation-not-supported", "method " + method + " not supported", ctx.out);
  if (write && ctx.account.role != Role::Admin) {
    return error_response("access-denied", "account '" + ctx.account.name + "' may only read", ctx.out);
  }

  std::string_view path = request.path;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/restconf/data" || path.starts_with("/restconf/data/")) return data(request, ctx);
  if (!read) return error_response("operation-not-supported", "the resource is read-only", ctx.out);
  if (path == "/restconf") {
    if (ctx.out == Encoding::Xml) {
      return Response{200,
                      content_type(ctx.out),
                      "<restconf xmlns=\"" + std::string(kRestconfNs) +
                          "\"><data/><operations/><yang-library-version>" + std::string(kYangLibraryVersion) +
                          "</yang-library-version></restconf>\n",
                      {},
                      false};
    }
    return Response{200,
                    content_type(ctx.out),
                    "{\"ietf-restconf:restconf\":{\"data\":{},\"operations\":{},\"yang-library-version\":\"" +
                        std::string(kYangLibraryVersion) + "\"}}\n",
                    {},
                    false};
  }
  if (path == "/restconf/yang-library-version") {
    if (ctx.out == Encoding::Xml) {
      return Response{200,
                      content_type(ctx.out),
                      "<yang-library-version xmlns=\"" + std::string(kRestconfNs) + "\">" +
                          std::string(kYangLibraryVersion) + "</yang-library-version>\n",
                      {},
                      false};
    }
    return Response{200,
                    content_type(ctx.out),
                    "{\"ietf-restconf:yang-library-version\":\"" + std::string(kYangLibraryVersion) + "\"}\n",
                    {},
                    false};
  }
  if (path == "/restconf/operations") {
    if (ctx.out == Encoding::Xml) {
      return Response{
          200, content_type(ctx.out), "<operations xmlns=\"" + std::string(kRestconfNs) + "\"/>\n", {}, false};
    }
    return Response{200, content_type(ctx.out), "{\"ietf-restconf:operations\":{}}\n", {}, false};
  }
  return error_response("invalid-value", "no such resource", ctx.out, 404);
}

Response Restconf::data(const Request& request, Context& ctx) {
  std::string_view encoded = request.path;
  encoded.remove_prefix(std::string_view("/restconf/data").size());
  auto target = parse_api_path(encoded, schema_);
  if (!target) return error_response(target.error(), ctx.out);

  ctx.session = config::Session{next_session_++, ctx.account.name, "restconf"};
  const std::string& method = request.method;
  if (method == "GET" || method == "HEAD") return get_data(request, ctx, *target);
  if (!request.query.empty()) {
    return error_response("invalid-value", "query parameters are not supported on " + method, ctx.out);
  }
  if (method == "DELETE") return delete_data(ctx, *target);

  // A request body: RFC 8040 5.2 media types; 415 for anything else.
  const std::string type = media_type(request.header("content-type"));
  const auto in = type.empty() ? std::optional<Encoding>(Encoding::Json) : encoding_of(type);
  if (!in) return error_response("invalid-value", "unsupported Content-Type " + type, ctx.out, 415);
  ctx.in = *in;
  if (trim(request.body).empty()) return error_response("malformed-message", "the request has no body", ctx.out);
  if (ctx.in == Encoding::Json) {
    Json doc = Json::parse(request.body, nullptr, false);
    if (doc.is_discarded()) return error_response("malformed-message", "the body is not valid JSON", ctx.out);
    ctx.json = std::move(doc);
  }
  if (method == "PUT") return put_data(request, ctx, *target);
  if (method == "PATCH") return patch_data(request, ctx, *target);
  return post_data(request, ctx, *target, encoded);
}

Response Restconf::get_data(const Request& request, Context& ctx, const ApiPath& target) {
  auto with_defaults = config::WithDefaults::Explicit;
  std::optional<int> depth;
  bool nonconfig_only = false;
  const auto query = parse_query(request.query);
  if (!query) return error_response("invalid-value", "malformed query string", ctx.out);
  for (const auto& [name, value] : *query) {
    if (name == "with-defaults") {
      const auto wd = parse_with_defaults(value);
      if (!wd)
        return error_response("invalid-value", "with-defaults must be report-all, trim, explicit or report-all-tagged",
                              ctx.out);
      with_defaults = *wd;
    } else if (name == "depth") {
      if (value == "unbounded") continue;
      int n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 65535) {
        return error_response("invalid-value", "depth must be 1..65535 or unbounded", ctx.out);
      }
      if (ctx.out == Encoding::Xml)
        return error_response("invalid-value", "depth is supported with JSON only", ctx.out);
      depth = n;
    } else if (name == "content") {
      if (value != "all" && value != "config" && value != "nonconfig") {
        return error_response("invalid-value", "content must be config, nonconfig or all", ctx.out);
      }
      nonconfig_only = value == "nonconfig";  // the model holds configuration only, so far
    } else {
      return error_response("invalid-value", "unsupported query parameter " + name, ctx.out);
    }
  }

  const config::Snapshot snapshot = store_.running();
  // RFC 8040 4.3: a data resource that does not exist is 404 with invalid-value.
  if (!target.is_datastore() && (nonconfig_only || snapshot.count(target.xpath) == 0)) {
    return error_response("invalid-value", "no data at " + target.xpath, ctx.out, 404, target.xpath);
  }
  std::string body = nonconfig_only ? std::string() : snapshot.print(ctx.out, with_defaults, target.xpath);
  if (target.is_datastore()) {
    // RFC 8040 3.3.1: the datastore is the "data" node of ietf-restconf.
    if (ctx.out == Encoding::Xml) {
      body = "<data xmlns=\"" + std::string(kRestconfNs) + "\">" + body + "</data>\n";
    } else {
      const std::size_t open = body.find('{');
      const std::size_t close = body.rfind('}');
      const std::string inner =
          open == std::string::npos || close <= open ? "" : body.substr(open + 1, close - open - 1);
      body = "{\"ietf-restconf:data\":{" + inner + "}}\n";
    }
  }
  if (!target.is_datastore() && !nonconfig_only) {
    auto cut = ctx.out == Encoding::Xml ? extract_xml(body, target.steps) : extract_json(body, target.steps);
    if (!cut && target.node.kind == SchemaNode::Kind::Container) {
      // A container holding only defaults is not printed in explicit/trim mode, yet it
      // exists: answer it empty (its namespace comes from a report-all print).
      const std::string all = snapshot.print(ctx.out, config::WithDefaults::ReportAll, target.xpath);
      cut = ctx.out == Encoding::Xml ? extract_xml(all, target.steps) : extract_json(all, target.steps);
      if (cut) cut = empty_container(*cut, ctx.out);
    }
    if (!cut) return error_response("invalid-value", "no data at " + target.xpath, ctx.out, 404, target.xpath);
    body = std::move(*cut);
  }
  if (depth) {
    Json doc = Json::parse(body, nullptr, false);
    if (!doc.is_discarded()) {
      prune(doc, 0, *depth);
      body = doc.dump(2) + "\n";
    }
  }
  return Response{200, content_type(ctx.out), std::move(body), {}, false};
}

// RFC 8040 4.5, 4.6.1: a PUT or PATCH body is the target resource itself.
std::optional<Response> Restconf::check_body_is_target(const Context& ctx, const ApiPath& target) const {
  const auto member = single_member(*ctx.json);
  if (!member || member->name != target.name || (!member->module.empty() && member->module != target.module)) {
    return error_response("invalid-value",
                          "the body must hold exactly the target node " + target.module + ":" + target.name, ctx.out,
                          0, target.xpath);
  }
  return std::nullopt;
}

Response Restconf::put_data(const Request& request, Context& ctx, const ApiPath& target) {
  if (ctx.json && !target.is_datastore()) {
    // RFC 8040 4.5: the body is the target resource itself, with the same key values.
    if (auto refused = check_body_is_target(ctx, target)) return *refused;
    const auto member = single_member(*ctx.json);
    if (target.instance && target.node.kind == SchemaNode::Kind::List) {
      const Json* entry = list_entry(*member->value);
      if (entry == nullptr) {
        return error_response("invalid-value", "the body must hold one list entry", ctx.out, 0, target.xpath);
      }
      for (std::size_t k = 0; k < target.node.keys.size(); ++k) {
        const auto it = entry->find(target.node.keys[k]);
        if (it != entry->end() && json_scalar(*it) != target.key_values[k]) {
          return error_response("invalid-value", "key " + target.node.keys[k] + " in the body differs from the URI",
                                ctx.out, 0, target.xpath);
        }
      }
    }
  }
  // RFC 8040 4.5: PUT on the datastore replaces all of it (edit_path with an empty path).
  const bool existed = target.is_datastore() || store_.running().count(target.xpath) > 0;
  auto done = store_.edit_path(ctx.session, config::Datastore::Running, target.xpath,
                               config::ConfigStore::PathEdit::Replace, body_of(request, ctx, target), ctx.in);
  if (!done) return error_response(done.error(), ctx.out);
  if (existed) return no_content();
  return Response{201, {}, {}, {{"Location", request.path}}, false};
}

Response Restconf::patch_data(const Request& request, Context& ctx, const ApiPath& target) {
  // RFC 8040 4.6.1: a plain patch never creates its target.
  if (!target.is_datastore() && store_.running().count(target.xpath) == 0) {
    return error_response("data-missing", "no data at " + target.xpath, ctx.out, 404, target.xpath);
  }
  if (ctx.json && !target.is_datastore()) {
    if (auto refused = check_body_is_target(ctx, target)) return *refused;
  }
  auto done = store_.edit_path(ctx.session, config::Datastore::Running, target.xpath,
                               config::ConfigStore::PathEdit::Merge, body_of(request, ctx, target), ctx.in);
  return done ? no_content() : error_response(done.error(), ctx.out);
}

Response Restconf::post_data(const Request& request, Context& ctx, const ApiPath& target,
                             std::string_view encoded_path) {
  // RFC 8040 4.4.1: the body is one child of the target; 201 with its URI in Location.
  std::string location;
  std::optional<Member> member;
  if (ctx.json) {
    member = single_member(*ctx.json);
    if (!member) return error_response("invalid-value", "the body must hold exactly one child node", ctx.out);
    if (target.is_datastore() && member->module.empty()) {
      return error_response("invalid-value", "a top-level node must name its module", ctx.out);
    }
    const std::string qualified = member->module.empty() ? member->name : member->module + ":" + member->name;
    std::vector<std::string> keys;
    if (const auto child = schema_ ? schema_(target.schema_path + "/" + qualified) : std::nullopt;
        child && child->kind == SchemaNode::Kind::List) {
      const Json* entry = list_entry(*member->value);
      for (const auto& key : child->keys) {
        const auto it = entry != nullptr ? entry->find(key) : Json::const_iterator();
        if (entry == nullptr || it == entry->end()) {
          return error_response("missing-element", "the new " + member->name + " entry needs its key " + key, ctx.out);
        }
        keys.push_back(json_scalar(*it));
      }
    }
    const bool same_module = member->module.empty() || member->module == target.module;
    location =
        "/restconf/data" +
        api_path_child(encoded_path, same_module && !target.is_datastore() ? "" : member->module, member->name, keys);
  }

  auto done = store_.edit_path(ctx.session, config::Datastore::Running, target.xpath,
                               config::ConfigStore::PathEdit::Create, request.body, ctx.in);
  if (!done) return error_response(done.error(), ctx.out);
  Response response{201, {}, {}, {}, false};
  if (!location.empty()) response.headers.emplace_back("Location", location);
  return response;
}

Response Restconf::delete_data(Context& ctx, const ApiPath& target) {
  if (target.is_datastore()) {
    return error_response("operation-not-supported", "the datastore itself cannot be deleted", ctx.out);
  }
  auto done = store_.edit_path(ctx.session, config::Datastore::Running, target.xpath,
                               config::ConfigStore::PathEdit::Delete, {}, Encoding::Json);
  if (done) return no_content();
  // A missing target resource is 404 (RFC 7231 6.5.4; RFC 8040 4.3 does the same for GET);
  // the error-tag stays NETCONF's data-missing.
  if (done.error().tag == "data-missing") return error_response(done.error(), ctx.out, 404);
  return error_response(done.error(), ctx.out);
}

AccountLookup config_account_lookup(const config::ConfigStore& store) {
  return [&store](std::string_view name) -> std::optional<AdminAccount> {
    const auto literal = xpath_literal(name);
    if (!literal) return std::nullopt;
    const config::Snapshot running = store.running();
    const std::string base = "/sipbox-system:system/admin[name=" + *literal + "]";
    auto hash = running.value(base + "/password-hash");
    if (!hash) return std::nullopt;
    const auto role = running.value(base + "/role");
    return AdminAccount{std::string(name), role && *role == "admin" ? Role::Admin : Role::Viewer, std::move(*hash)};
  };
}

void add_restconf(HttpServer& server, config::ConfigStore& store) {
  SchemaLookup schema = [&store](std::string_view path) { return store.schema_node(path); };
  auto restconf = std::make_shared<Restconf>(store, std::move(schema));
  server.route("/restconf", [restconf](const Request& request) { return restconf->handle(request); });
  server.route("/.well-known/host-meta", &Restconf::host_meta);
}

}  // namespace sipbox::web
