// NETCONF server: libnetconf2 2.0 set-up, SSH authentication against admin accounts,
// host key, accept and poll threads, shutdown. The RPC handlers are in netconf_rpc.cpp.
// See shared/notes/netconf.md for the recipe and the pitfalls referred to below.
#include "config/netconf_server.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>

#include "config/netconf_internal.h"
#include "config/passwords.h"
#include "config/store_impl.h"

namespace sipbox::config {
namespace {

constexpr const char* kEndpoint = "sipbox";
constexpr const char* kHostKeyName = "hostkey";

// Poll back-off (pitfall 5): nc_ps_poll with a timeout spins internally (poll + 100 us
// sleeps), so workers poll with timeout 0 and sleep themselves: briefly while requests
// are flowing, longer once the sessions have been quiet for a while.
constexpr auto kBusySleep = std::chrono::microseconds(500);
constexpr auto kIdleSleep = std::chrono::milliseconds(10);
constexpr auto kNoSessionsSleep = std::chrono::milliseconds(20);  // pitfall 4
constexpr std::int64_t kBusyWindowMs = 250;
constexpr int kAcceptTimeoutMs = 200;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// libnetconf2 2.0 keeps its server configuration in process-wide variables: this is
// the single slot for the one NetconfServer a process may run (the one global here,
// forced by libnetconf2's C API; all other state is reached through user-data and
// session-data pointers).
std::atomic<bool>& instance_slot() {
  static std::atomic<bool> taken{false};
  return taken;
}

void free_session_data(void* data) { delete static_cast<SessionData*>(data); }

void attach_session_data(NetconfServer::Impl* server, nc_session* session) {
  nc_session_set_data(session, new SessionData{server});
}

// Per-thread libyang log options (pitfall 16): keep the last error for the rpc-error,
// print nothing (a client's bad edit is not a server error).
class QuietLibyangLog {
 public:
  QuietLibyangLog() { ly_temp_log_options(&options_); }
  ~QuietLibyangLog() { ly_temp_log_options(nullptr); }
  QuietLibyangLog(const QuietLibyangLog&) = delete;
  QuietLibyangLog& operator=(const QuietLibyangLog&) = delete;

 private:
  std::uint32_t options_ = LY_LOSTORE_LAST;
};

// --- authentication (pitfall 7: with callbacks set, system accounts are never used) ---

std::string admin_path(const std::string& user, const char* leaf) {
  return "/sipbox-system:system/admin[name=" + xpath_literal(user) + "]/" + leaf;
}

int password_auth(const nc_session* session, const char* password, void* user_data) {
  auto* server = static_cast<NetconfServer::Impl*>(user_data);
  const char* user = nc_session_get_username(session);
  if (!user || !password) return 1;
  const auto hash = server->store.running().value(admin_path(user, "password-hash"));
  if (!hash) return 1;
  return verify_password(*hash, password) ? 0 : 1;
}

bool key_line_matches(const std::string& line, ssh_key offered) {
  // "<type> <base64> [comment]"; tolerate authorized_keys options before the type.
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    const ssh_keytypes_e type = ssh_key_type_from_name(word.c_str());
    if (type == SSH_KEYTYPE_UNKNOWN) continue;
    std::string base64;
    if (!(in >> base64)) return false;
    ssh_key key = nullptr;
    if (ssh_pki_import_pubkey_base64(base64.c_str(), type, &key) != SSH_OK) return false;
    const bool same = ssh_key_cmp(key, offered, SSH_KEY_CMP_PUBLIC) == 0;
    ssh_key_free(key);
    return same;
  }
  return false;
}

int pubkey_auth(const nc_session* session, ssh_key key, void* user_data) {
  auto* server = static_cast<NetconfServer::Impl*>(user_data);
  const char* user = nc_session_get_username(session);
  if (!user || !key) return 1;
  for (const auto& line : server->store.running().values(admin_path(user, "ssh-public-key"))) {
    if (key_line_matches(line, key)) return 0;
  }
  return 1;
}

int interactive_auth(const nc_session*, const ssh_message, void*) { return 1; }  // never offered

int hostkey_path(const char* name, void* user_data, char** privkey_path, char** privkey_data,
                 NC_SSH_KEY_TYPE* privkey_type) {
  auto* server = static_cast<NetconfServer::Impl*>(user_data);
  if (!name || std::strcmp(name, kHostKeyName) != 0) return 1;
  *privkey_path = strdup(server->options.host_key.c_str());
  *privkey_data = nullptr;
  *privkey_type = NC_SSH_KEY_UNKNOWN;
  return *privkey_path ? 0 : 1;
}

// Pitfall 8: ed25519 via libssh; the file is created 0600 before libssh writes it.
Status ensure_host_key(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return {};
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create SSH host key " + path.string() + ": " + std::strerror(errno));
  ::close(fd);
  ssh_key key = nullptr;
  int rc = ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key);
  if (rc == SSH_OK) rc = ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str());
  ssh_key_free(key);
  if (rc != SSH_OK) {
    std::filesystem::remove(path, ec);
    return fail("cannot generate SSH host key " + path.string());
  }
  ::chmod(path.c_str(), 0600);
  return {};
}

// --- threads ---

void accept_loop(NetconfServer::Impl* server) {
  QuietLibyangLog quiet;
  while (!server->stopping.load()) {
    nc_session* session = nullptr;
    const NC_MSG_TYPE r = nc_accept(kAcceptTimeoutMs, &session);
    if (r == NC_MSG_HELLO && session) {
      attach_session_data(server, session);
      if (nc_ps_add_session(server->ps, session) != 0) nc_session_free(session, free_session_data);
      server->last_activity_ms.store(now_ms());
    } else if (r == NC_MSG_ERROR) {
      // A failed handshake or login; libnetconf2 has logged it. Do not spin on a
      // persistent error.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  nc_thread_destroy();
}

void worker_loop(NetconfServer::Impl* server) {
  QuietLibyangLog quiet;
  while (!server->stopping.load()) {
    nc_session* session = nullptr;
    const int r = nc_ps_poll(server->ps, 0, &session);
    if (r & NC_PSPOLL_NOSESSIONS) {
      std::this_thread::sleep_for(kNoSessionsSleep);
      continue;
    }
    if (r & (NC_PSPOLL_TIMEOUT | NC_PSPOLL_ERROR)) {
      const bool busy = now_ms() - server->last_activity_ms.load() < kBusyWindowMs;
      if (busy) {
        std::this_thread::sleep_for(kBusySleep);
      } else {
        std::this_thread::sleep_for(kIdleSleep);
      }
      continue;
    }
    server->last_activity_ms.store(now_ms());
    if ((r & NC_PSPOLL_SSH_CHANNEL) && session) {
      nc_session* channel = nullptr;
      if (nc_ps_accept_ssh_channel(server->ps, &channel) == NC_MSG_HELLO && channel) {
        attach_session_data(server, channel);
        if (nc_ps_add_session(server->ps, channel) != 0) nc_session_free(channel, free_session_data);
      }
    }
    if ((r & NC_PSPOLL_SESSION_TERM) && session) {
      server->store.release_locks(nc_session_get_id(session));
      nc_ps_del_session(server->ps, session);
      nc_session_free(session, free_session_data);
    }
  }
  nc_thread_destroy();
}

}  // namespace

std::string xpath_literal(const std::string& value) {
  if (value.find('\'') == std::string::npos) return "'" + value + "'";
  if (value.find('"') == std::string::npos) return "\"" + value + "\"";
  std::string out = "concat(";
  std::size_t start = 0;
  bool first = true;
  while (start <= value.size()) {
    const std::size_t quote = value.find('\'', start);
    const std::string part = value.substr(start, quote == std::string::npos ? std::string::npos : quote - start);
    if (!first) out += ", ";
    out += "'" + part + "'";
    first = false;
    if (quote == std::string::npos) break;
    out += ", \"'\"";
    start = quote + 1;
  }
  return out + ")";
}

std::optional<std::string> NetconfServer::Impl::role_of(const std::string& user) const {
  const Snapshot running = store.running();
  if (running.count("/sipbox-system:system/admin[name=" + xpath_literal(user) + "]") == 0) return std::nullopt;
  return running.value(admin_path(user, "role")).value_or("viewer");
}

std::string NetconfServer::Impl::state_xml() {
  std::function<std::string()> provider;
  {
    std::lock_guard lock(state_mutex);
    provider = state_provider;
  }
  return provider ? provider() : std::string();
}

NetconfServer::NetconfServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NetconfServer::~NetconfServer() { stop(); }

void NetconfServer::set_state_provider(std::function<std::string()> xml_of_state_for_get) {
  std::lock_guard lock(impl_->state_mutex);
  impl_->state_provider = std::move(xml_of_state_for_get);
}

void NetconfServer::stop() {
  Impl& s = *impl_;
  if (!s.owns_instance) return;
  s.stopping.store(true);
  for (auto& t : s.accept_threads) t.join();
  for (auto& t : s.workers) t.join();
  s.accept_threads.clear();
  s.workers.clear();
  if (s.ps) {
    for (std::uint16_t i = 0;; ++i) {
      nc_session* session = nc_ps_get_session(s.ps, i);
      if (!session) break;
      s.store.release_locks(nc_session_get_id(session));
    }
    nc_ps_clear(s.ps, 1, free_session_data);
    nc_ps_free(s.ps);
    s.ps = nullptr;
  }
  if (s.nc_initialized) {
    nc_set_global_rpc_clb(nullptr);
    nc_server_destroy();
    s.nc_initialized = false;
  }
  if (s.get_schema_node) {
    s.get_schema_node->priv = nullptr;
    s.get_schema_node = nullptr;
  }
  s.owns_instance = false;
  instance_slot().store(false);
}

Result<std::unique_ptr<NetconfServer>> NetconfServer::start(ConfigStore& store, NetconfOptions options) {
  if (options.host_key.empty()) return fail("NETCONF: no SSH host key path given");
  if (options.workers < 1 || options.accept_threads < 1)
    return fail("NETCONF: needs at least one worker and one accept thread");
  if (auto key = ensure_host_key(options.host_key); !key) return fail("NETCONF: " + key.error().message);

  bool expected = false;
  if (!instance_slot().compare_exchange_strong(expected, true))
    return fail("NETCONF: a server is already running in this process");
  auto impl = std::make_unique<Impl>(store, std::move(options));
  impl->owns_instance = true;
  std::unique_ptr<NetconfServer> server(new NetconfServer(std::move(impl)));
  Impl& s = *server->impl_;
  s.ctx = const_cast<ly_ctx*>(store.impl().context());  // libnetconf2 wants a mutable pointer; it only reads

  s.netconf_module = ly_ctx_get_module_implemented(s.ctx, "ietf-netconf");
  if (!s.netconf_module) return fail("NETCONF: ietf-netconf is not loaded in the configuration context");

  // Pitfall 2: our own <get-schema>, installed before nc_server_init, which would
  // otherwise install its broken default. Pitfall 3: the nc_set_rpc_callback macro does
  // not compile in C++.
  if (ly_ctx_get_module_implemented(s.ctx, "ietf-netconf-monitoring")) {
    if (const lysc_node* rpc = lys_find_path(s.ctx, nullptr, "/ietf-netconf-monitoring:get-schema", 0)) {
      s.get_schema_node = const_cast<lysc_node*>(rpc);
      s.get_schema_node->priv = reinterpret_cast<void*>(&netconf_get_schema_rpc);
    }
  }

  if (nc_server_init(s.ctx) != 0) return fail("NETCONF: libnetconf2 initialisation failed");
  s.nc_initialized = true;
  nc_set_global_rpc_clb(&netconf_dispatch_rpc);
  // Pitfall 6: without a hello timeout, a client that never sends <hello> holds an
  // accept thread forever.
  nc_server_set_hello_timeout(static_cast<std::uint16_t>(s.options.hello_timeout_s));
  nc_server_set_capab_withdefaults(NC_WD_EXPLICIT, NC_WD_ALL | NC_WD_ALL_TAG | NC_WD_TRIM | NC_WD_EXPLICIT);

  nc_server_ssh_set_hostkey_clb(&hostkey_path, &s, nullptr);
  nc_server_ssh_set_passwd_auth_clb(&password_auth, &s, nullptr);
  nc_server_ssh_set_pubkey_auth_clb(&pubkey_auth, &s, nullptr);
  nc_server_ssh_set_interactive_auth_clb(&interactive_auth, &s, nullptr);

  const std::string where = s.options.address + ":" + std::to_string(s.options.port);
  if (nc_server_add_endpt(kEndpoint, NC_TI_LIBSSH) != 0 ||
      nc_server_endpt_set_address(kEndpoint, s.options.address.c_str()) != 0)
    return fail("NETCONF: bad listen address " + s.options.address);
  if (nc_server_endpt_set_port(kEndpoint, s.options.port) != 0)
    return fail("NETCONF: cannot listen on " + where + " (in use?)");
  if (nc_server_ssh_endpt_add_hostkey(kEndpoint, kHostKeyName, -1) != 0 ||
      nc_server_ssh_endpt_set_auth_methods(kEndpoint, NC_SSH_AUTH_PUBLICKEY | NC_SSH_AUTH_PASSWORD) != 0 ||
      nc_server_ssh_endpt_set_auth_timeout(kEndpoint,
                                           static_cast<std::uint16_t>(std::max(s.options.hello_timeout_s, 1))) != 0)
    return fail("NETCONF: SSH endpoint set-up failed");

  s.ps = nc_ps_new();
  if (!s.ps) return fail("NETCONF: out of memory");
  for (int i = 0; i < s.options.workers; ++i) s.workers.emplace_back(worker_loop, &s);
  for (int i = 0; i < s.options.accept_threads; ++i) s.accept_threads.emplace_back(accept_loop, &s);
  return server;
}

}  // namespace sipbox::config
