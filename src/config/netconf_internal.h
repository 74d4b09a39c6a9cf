// Internals shared by netconf_server.cpp (threads, SSH, sessions) and netconf_rpc.cpp
// (the RPC handlers). Not part of the config module's interface.
#pragma once

#include <nc_server.h>  // defines NC_ENABLED_SSH before the libnetconf2 headers

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "config/netconf_server.h"

namespace sipbox::config {

struct NetconfServer::Impl {
  Impl(ConfigStore& s, NetconfOptions o) : store(s), options(std::move(o)) {}

  ConfigStore& store;
  NetconfOptions options;
  ly_ctx* ctx = nullptr;                       // the store's context (schemas only; read-only here)
  const lys_module* netconf_module = nullptr;  // ietf-netconf, for the operation/type/select metadata
  nc_pollsession* ps = nullptr;
  bool nc_initialized = false;
  bool owns_instance = false;            // holds the one-server-per-process slot
  lysc_node* get_schema_node = nullptr;  // whose priv we set to our <get-schema> handler

  std::vector<std::thread> accept_threads;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};
  std::atomic<std::int64_t> last_activity_ms{0};  // steady clock, for the poll back-off

  std::mutex state_mutex;
  std::function<std::string()> state_provider;

  // The role of an admin account in the running configuration ("admin", "viewer"), or
  // nullopt when the account does not exist (any more).
  std::optional<std::string> role_of(const std::string& user) const;
  std::string state_xml();
};

// What libnetconf2 keeps for us on each session (nc_session_set_data).
struct SessionData {
  NetconfServer::Impl* server = nullptr;
};

// The RPC callbacks (netconf_rpc.cpp). libnetconf2's callbacks take no user data; the
// server is reached through the session's data (SessionData).
nc_server_reply* netconf_dispatch_rpc(lyd_node* rpc, nc_session* session);
nc_server_reply* netconf_get_schema_rpc(lyd_node* rpc, nc_session* session);

// XPath string literal for a value ('v', "v", or concat(...) when it holds both quotes).
std::string xpath_literal(const std::string& value);

}  // namespace sipbox::config
