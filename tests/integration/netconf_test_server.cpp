// A small program for tests/integration/netconf_test.py: a ConfigStore on a data dir,
// admin accounts added through ConfigStore::set_leaf, and the NETCONF server on
// ADDRESS:PORT until SIGTERM or SIGINT (exit 0). Prints "listening PORT" once ready.
//
//   netconf_test_server --data-dir DIR --port N --yang-dir DIR [--yang-dir DIR...]
//       [--address A] [--host-key FILE] [--admin NAME PASSWORD ROLE]...
//       [--pubkey NAME PUBLIC_KEY_FILE]...
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/netconf_server.h"
#include "config/passwords.h"

namespace {

namespace cfg = sipbox::config;

struct Admin {
  std::string name, password, role;
};
struct Key {
  std::string name, file;
};

int usage(const char* why) {
  std::cerr << "netconf_test_server: " << why
            << "\nusage: netconf_test_server --data-dir DIR --port N --yang-dir DIR... [--address A] [--host-key FILE]"
               " [--admin NAME PASSWORD ROLE]... [--pubkey NAME FILE]...\n";
  return 2;
}

std::string admin_path(const std::string& name, const char* leaf) {
  return "/sipbox-system:system/admin[name='" + name + "']/" + leaf;
}

bool set(cfg::ConfigStore& store, const std::string& path, const std::string& value) {
  const cfg::Session local{0, "", "cli"};
  auto r = store.set_leaf(local, path, value);
  if (!r) {
    std::cerr << "netconf_test_server: set " << path << ": " << r.error().message << " (" << r.error().path << ")\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  cfg::Options store_options;
  cfg::NetconfOptions nc;
  nc.address = "127.0.0.1";
  std::vector<Admin> admins;
  std::vector<Key> keys;
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto need = [&](int n) { return i + n < argc; };
    if (arg == "--data-dir" && need(1))
      store_options.data_dir = argv[++i];
    else if (arg == "--yang-dir" && need(1))
      store_options.yang_dirs.emplace_back(argv[++i]);
    else if (arg == "--port" && need(1))
      port = std::strtol(argv[++i], nullptr, 10);
    else if (arg == "--address" && need(1))
      nc.address = argv[++i];
    else if (arg == "--host-key" && need(1))
      nc.host_key = argv[++i];
    else if (arg == "--admin" && need(3)) {
      admins.push_back({argv[i + 1], argv[i + 2], argv[i + 3]});
      i += 3;
    } else if (arg == "--pubkey" && need(2)) {
      keys.push_back({argv[i + 1], argv[i + 2]});
      i += 2;
    } else {
      return usage(("bad argument " + arg).c_str());
    }
  }
  if (store_options.data_dir.empty() || store_options.yang_dirs.empty() || port <= 0 || port > 65535)
    return usage("--data-dir, --yang-dir and --port are required");
  nc.port = static_cast<std::uint16_t>(port);
  if (nc.host_key.empty()) nc.host_key = store_options.data_dir / "netconf_host_key";

  // Block the stop signals before any thread starts, so that only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto store = cfg::ConfigStore::open(store_options);
  if (!store) {
    std::cerr << "netconf_test_server: " << store.error().message << "\n";
    return 1;
  }
  for (const auto& a : admins) {
    auto hash = cfg::hash_password(a.password);
    if (!hash) {
      std::cerr << "netconf_test_server: " << hash.error().message << "\n";
      return 1;
    }
    if (!set(**store, admin_path(a.name, "password-hash"), *hash) || !set(**store, admin_path(a.name, "role"), a.role))
      return 1;
  }
  for (const auto& k : keys) {
    std::ifstream in(k.file);
    std::string line;
    if (!std::getline(in, line)) {
      std::cerr << "netconf_test_server: cannot read " << k.file << "\n";
      return 1;
    }
    if (!set(**store, admin_path(k.name, "ssh-public-key"), line)) return 1;
  }

  auto server = cfg::NetconfServer::start(**store, nc);
  if (!server) {
    std::cerr << "netconf_test_server: " << server.error().message << "\n";
    return 1;
  }
  // Operational data for <get>, as sipboxd will provide it.
  const auto started = std::chrono::steady_clock::now();
  (*server)->set_state_provider([started] {
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    return "<state xmlns=\"urn:sipbox:yang:sipbox-state\"><version>netconf-test</version><uptime-seconds>" +
           std::to_string(up.count()) + "</uptime-seconds></state>";
  });
  std::cout << "listening " << nc.port << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*server)->stop();
  server->reset();
  store->reset();
  std::cout << "stopped" << std::endl;
  return 0;
}
