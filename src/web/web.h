// Public interface of the web module: one HTTP/1.1 server (Boost.Beast, kept inside
// http_server.cpp) on which the other modules register handlers by path prefix —
// RESTCONF (RFC 8040), the REST API (/api/v1), /metrics, and later the GUI's static
// files — without including Beast.
//
// Handlers run on the io_context thread that runs the server; they must not block for
// long (a ConfigStore edit, ~1-2 ms with fsync, is fine).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace boost::asio {
class io_context;
}

namespace sipbox::web {

struct Request {
  std::string method;                                        // as received: "GET", "PATCH", ...
  std::string target;                                        // the raw request-target
  std::string path;                                          // target before '?', still percent-encoded
  std::string query;                                         // target after '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  std::uint64_t connection_id = 0;  // unique per TCP connection of one server

  // The first header named `name` (lower case); empty when absent.
  std::string_view header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;  // no Content-Type header when empty
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  bool close = false;                                        // close the connection after it
};

using Handler = std::function<Response(const Request&)>;

struct Limits {
  std::size_t body_limit = 1024 * 1024;    // larger bodies get 413
  std::uint32_t header_limit = 16 * 1024;  // larger headers get 431
  std::chrono::seconds idle_timeout{60};   // keep-alive connection waiting for a request
  std::chrono::seconds io_timeout{30};     // reading one request, writing one response
  std::size_t max_connections = 256;       // more are accepted and closed at once
};

class HttpServer {
 public:
  explicit HttpServer(Limits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Requests whose path is `prefix` or lies below it ("/restconf" takes "/restconf/data"
  // but not "/restconfx") go to `handler`; the longest matching prefix wins. "/" takes
  // everything else. Register before start().
  void route(std::string prefix, Handler handler);

  // Listens on address:port (port 0: any free port) and serves on `io`. Returns the port.
  Result<std::uint16_t> start(boost::asio::io_context& io, const std::string& address, std::uint16_t port);
  // Closes the listener and every connection. Call it on the io_context's thread (or
  // with the io_context stopped).
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// RFC 3986 2.1: resolves %HH escapes; nullopt for a malformed escape. '+' stays '+'.
std::optional<std::string> percent_decode(std::string_view text);
// RFC 3986: escapes every octet outside the unreserved set.
std::string percent_encode(std::string_view text);
// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; nullopt for a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

// --- RESTCONF (RFC 8040) over the configuration store ---------------------------------

// What the api-path conversion needs from the schema (ConfigStore::schema_node in
// production; a table in unit tests).
using SchemaNode = config::ConfigStore::SchemaNode;
using SchemaLookup = std::function<std::optional<SchemaNode>(std::string_view schema_path)>;

// Registers /.well-known/host-meta and /restconf on `server`. Requests to /restconf are
// authenticated (HTTP Basic) against the admin accounts of the running configuration;
// viewers may only read. Edits go through ConfigStore::edit_path like NETCONF's, with a
// Session{via "restconf"}. `store` must outlive `server`.
void add_restconf(HttpServer& server, config::ConfigStore& store);

// --- Read-only resources: /metrics and the REST API (/api/v1) -------------------------

// GET and HEAD of exactly `path` answer render() as `content_type`, without a login: for
// what monitoring systems scrape (/metrics in the Prometheus text format), which must
// hold no secrets. Other methods get 405, deeper paths 404.
void add_public_resource(HttpServer& server, std::string path, std::string content_type,
                         std::function<std::string()> render);

// A JSON body with its Content-Type (application/json).
Response json_response(std::string body, int status = 200);

// A resource of the REST API: GET /api/v1/<name> (and paths below it, for items) calls
// `get`, which answers with json_response(); POST and DELETE call `post` and `remove`
// when given (405 otherwise). Only admins may POST or DELETE (403 for viewers).
struct ApiResource {
  std::string name;  // "status", "security/bans"
  Handler get;
  Handler post = {};
  Handler remove = {};
};

// {"error": {"status": STATUS, "message": MESSAGE}} as a JSON response.
Response api_error(int status, std::string_view message);

// Registers /api/v1 on `server` (DESIGN.md 4). Every request is authenticated like
// RESTCONF's (HTTP Basic against the admin accounts of the running configuration; 401
// with a challenge otherwise); viewers may read (GET, HEAD), admins may also change.
// GET /api/v1 lists the resource names. Errors are {"error": {"status", "message"}}.
// `store` must outlive `server`.
void add_rest_api(HttpServer& server, config::ConfigStore& store, std::vector<ApiResource> resources);

}  // namespace sipbox::web
