// RESTCONF (RFC 8040) handlers over the ConfigStore. Registered on an HttpServer by
// add_restconf() (web.h); declared here for tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "web/api_path.h"
#include "web/auth.h"
#include "web/web.h"

namespace sipbox::web {

class Restconf {
 public:
  Restconf(config::ConfigStore& store, SchemaLookup schema);

  // Everything under /restconf.
  Response handle(const Request& request);
  // GET /.well-known/host-meta (RFC 8040 3.1, RFC 6415): where the RESTCONF root is.
  static Response host_meta(const Request& request);

 private:
  struct Context;
  Response data(const Request& request, Context& ctx);
  Response get_data(const Request& request, Context& ctx, const ApiPath& target);
  std::optional<Response> check_body_is_target(const Context& ctx, const ApiPath& target) const;
  Response put_data(const Request& request, Context& ctx, const ApiPath& target);
  Response patch_data(const Request& request, Context& ctx, const ApiPath& target);
  Response post_data(const Request& request, Context& ctx, const ApiPath& target, std::string_view encoded_path);
  Response delete_data(Context& ctx, const ApiPath& target);
  static std::string body_of(const Request& request, const Context& ctx, const ApiPath& target);

  config::ConfigStore& store_;
  SchemaLookup schema_;
  Authenticator authenticator_;
  // RESTCONF sessions get ids from 2^31 up, away from libnetconf2's small ones.
  std::atomic<std::uint32_t> next_session_{0x80000000u};
};

// The admin accounts of the running configuration (sipbox-system:system/admin).
AccountLookup config_account_lookup(const config::ConfigStore& store);

}  // namespace sipbox::web
