// A small program for tests/integration/restconf_test.py: a ConfigStore on a data dir,
// admin accounts added through ConfigStore::set_leaf, and the HTTP server with RESTCONF
// on ADDRESS:PORT until SIGTERM or SIGINT (exit 0). Prints "listening PORT" once ready.
//
//   restconf_test_server --data-dir DIR --yang-dir DIR [--yang-dir DIR...] [--port N]
//       [--address A] [--admin NAME PASSWORD ROLE]...

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/passwords.h"
#include "web/web.h"

namespace {

namespace cfg = sipbox::config;
namespace web = sipbox::web;

struct Admin {
  std::string name, password, role;
};

int usage(const std::string& why) {
  std::cerr << "restconf_test_server: " << why
            << "\nusage: restconf_test_server --data-dir DIR --yang-dir DIR... [--port N] [--address A]"
               " [--admin NAME PASSWORD ROLE]...\n";
  return 2;
}

bool set(cfg::ConfigStore& store, const std::string& path, const std::string& value) {
  const cfg::Session local{0, "", "cli"};
  auto r = store.set_leaf(local, path, value);
  if (!r) {
    std::cerr << "restconf_test_server: set " << path << ": " << r.error().message << " (" << r.error().path << ")\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  cfg::Options store_options;
  std::vector<Admin> admins;
  std::string address = "127.0.0.1";
  long port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto need = [&](int n) { return i + n < argc; };
    if (arg == "--data-dir" && need(1)) {
      store_options.data_dir = argv[++i];
    } else if (arg == "--yang-dir" && need(1)) {
      store_options.yang_dirs.emplace_back(argv[++i]);
    } else if (arg == "--port" && need(1)) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--address" && need(1)) {
      address = argv[++i];
    } else if (arg == "--admin" && need(3)) {
      admins.push_back({argv[i + 1], argv[i + 2], argv[i + 3]});
      i += 3;
    } else {
      return usage("bad argument " + arg);
    }
  }
  if (store_options.data_dir.empty() || store_options.yang_dirs.empty() || port < 0 || port > 65535) {
    return usage("--data-dir and --yang-dir are required");
  }

  auto store = cfg::ConfigStore::open(store_options);
  if (!store) {
    std::cerr << "restconf_test_server: " << store.error().message << "\n";
    return 1;
  }
  for (const auto& a : admins) {
    auto hash = cfg::hash_password(a.password);
    if (!hash) {
      std::cerr << "restconf_test_server: " << hash.error().message << "\n";
      return 1;
    }
    const std::string base = "/sipbox-system:system/admin[name='" + a.name + "']/";
    if (!set(**store, base + "password-hash", *hash) || !set(**store, base + "role", a.role)) return 1;
  }

  boost::asio::io_context io;
  web::HttpServer server;
  web::add_restconf(server, **store);
  auto bound = server.start(io, address, static_cast<std::uint16_t>(port));
  if (!bound) {
    std::cerr << "restconf_test_server: " << bound.error().message << "\n";
    return 1;
  }
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    server.stop();
    io.stop();
  });
  std::cout << "listening " << *bound << std::endl;
  io.run();
  std::cout << "stopped" << std::endl;
  return 0;
}
