// The REST API under /api/v1 (logins as for RESTCONF) and the public read-only resources
// such as /metrics.
#include <memory>
#include <nlohmann/json.hpp>

#include "web/auth.h"
#include "web/restconf.h"
#include "web/web.h"

namespace sipbox::web {
namespace {

constexpr std::string_view kApiRoot = "/api/v1";
constexpr std::string_view kReadMethods = "GET, HEAD";

bool is_read(const Request& request) { return request.method == "GET" || request.method == "HEAD"; }

class RestApi {
 public:
  RestApi(config::ConfigStore& store, std::vector<ApiResource> resources)
      : authenticator_(config_account_lookup(store)), resources_(std::move(resources)) {}

  Response handle(const Request& request) {
    // Before anything else, so that an anonymous client learns not even which paths exist.
    const auto account = authenticator_.authenticate(request.header("authorization"));
    if (!account) {
      Response response = api_error(401, "authentication required");
      response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"sipbox\"");
      return response;
    }
    std::string_view rest = std::string_view(request.path).substr(kApiRoot.size());
    while (rest.starts_with('/')) rest.remove_prefix(1);
    if (rest.empty()) return with_method_check(request, [this] { return index(); });
    for (const ApiResource& resource : resources_) {
      const std::string_view name = resource.name;
      if (rest == name || (rest.starts_with(name) && rest[name.size()] == '/'))
        return dispatch(request, resource, account->role);
    }
    return api_error(404, "no such resource");
  }

 private:
  static Response dispatch(const Request& request, const ApiResource& resource, Role role) {
    if (is_read(request)) return resource.get(request);
    const Handler* handler = request.method == "POST" ? &resource.post : request.method == "DELETE" ? &resource.remove : nullptr;
    if (handler == nullptr || !*handler) {
      std::string allow(kReadMethods);
      if (resource.post) allow += ", POST";
      if (resource.remove) allow += ", DELETE";
      Response response = api_error(405, "method not allowed");
      response.headers.emplace_back("Allow", allow);
      return response;
    }
    if (role != Role::Admin) return api_error(403, "only admins may change this");
    return (*handler)(request);
  }

  template <class F>
  static Response with_method_check(const Request& request, F answer) {
    if (!is_read(request)) {
      Response response = api_error(405, "method not allowed");
      response.headers.emplace_back("Allow", std::string(kReadMethods));
      return response;
    }
    return answer();
  }

  Response index() const {
    nlohmann::json names = nlohmann::json::array();
    for (const ApiResource& resource : resources_) names.push_back(resource.name);
    return json_response(nlohmann::json{{"resources", names}}.dump() + "\n");
  }

  Authenticator authenticator_;
  std::vector<ApiResource> resources_;
};

}  // namespace

Response api_error(int status, std::string_view message) {
  const nlohmann::json body{{"error", {{"status", status}, {"message", message}}}};
  return json_response(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", status);
}

Response json_response(std::string body, int status) {
  return Response{status, "application/json", std::move(body), {}, false};
}

void add_public_resource(HttpServer& server, std::string path, std::string content_type,
                         std::function<std::string()> render) {
  server.route(path, [path, content_type, render = std::move(render)](const Request& request) {
    if (request.path != path) return Response{404, "text/plain", "not found\n", {}, false};
    if (!is_read(request))
      return Response{405, "text/plain", "method not allowed\n", {{"Allow", std::string(kReadMethods)}}, false};
    return Response{200, content_type, render(), {}, false};
  });
}

void add_rest_api(HttpServer& server, config::ConfigStore& store, std::vector<ApiResource> resources) {
  auto api = std::make_shared<RestApi>(store, std::move(resources));
  server.route(std::string(kApiRoot), [api](const Request& request) { return api->handle(request); });
}

}  // namespace sipbox::web
