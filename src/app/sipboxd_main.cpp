// sipboxd: the sipbox server process. It takes the data directory (one daemon per
// directory), loads the configuration model, and serves SIP, the control socket for the
// sipbox tool, NETCONF over SSH and HTTP (RESTCONF, the REST API, /metrics) until
// SIGTERM or SIGINT, then exits 0.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <chrono>
#include <csignal>
#include <filesystem>

#include "app/ban_admin.h"
#include "app/capture_service.h"
#include "app/config_access.h"
#include "app/control_protocol.h"
#include "app/control_server.h"
#include "app/daemon_options.h"
#include "app/data_dir_lock.h"
#include "app/log_level.h"
#include "app/media_service.h"
#include "app/security_api.h"
#include "app/periodic.h"
#include "app/security_service.h"
#include "app/sip_service.h"
#include "app/status.h"
#include "base/version.h"
#include "config/config.h"
#include "config/netconf_server.h"
#include "core/core.h"
#include "store/store.h"
#include "web/web.h"

namespace {

namespace app = sipbox::app;
namespace config = sipbox::config;

// A listener setting: the command-line override for this run, else the configuration.
template <class T>
T setting(const std::optional<T>& flag, const config::Snapshot& running, const std::string& xpath, T fallback) {
  if (flag) return *flag;
  const auto value = running.value(xpath);
  if (!value) return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return *value;
  } else {
    return static_cast<T>(std::stoul(*value));
  }
}

// Operational data for NETCONF <get> (module sipbox-state).
std::string state_xml(std::chrono::steady_clock::time_point started) {
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
  return std::string("<state xmlns=\"urn:sipbox:yang:sipbox-state\"><version>") + sipbox::kVersion +
         "</version><uptime-seconds>" + std::to_string(uptime) + "</uptime-seconds></state>";
}

int run(const app::DaemonOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  auto lock = app::DataDirLock::acquire(options.data_dir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  auto store = app::open_store(options.data_dir, app::yang_dirs(options.yang_dir));
  if (!store) {
    spdlog::error("configuration: {}", store.error().message);
    return 1;
  }
  const config::Snapshot running = (*store)->running();
  app::LogLevelApplier log_level;
  app::LogLevelApplier::apply_now(running);
  (*store)->add_applier(std::string(app::LogLevelApplier::kSubtree), &log_level);
  const std::string address =
      setting<std::string>(options.bind, running, "/sipbox-system:system/listeners/bind-address", "0.0.0.0");
  const auto http_port =
      setting<std::uint16_t>(options.http_port, running, "/sipbox-system:system/listeners/http-port", 8080);
  const auto netconf_port =
      setting<std::uint16_t>(options.netconf_port, running, "/sipbox-system:system/listeners/netconf-port", 830);

  // The store (bindings survive kill -9), the location service restored from it, the
  // users and domains of the configuration, and the SIP core.
  auto data = sipbox::store::open_store({sipbox::store::StoreConfig::Backend::sqlite, options.data_dir, {}});
  if (!data) {
    spdlog::error("store: {}", data.error().message);
    return 1;
  }
  sipbox::registrar::Location location(&(*data)->location());
  if (auto restored = location.restore((*data)->location(), sipbox::registrar::Clock::now()); !restored) {
    spdlog::error("restoring registrations: {}", restored.error().message);
    return 1;
  } else if (*restored > 0) {
    spdlog::info("{} registrations restored", *restored);
  }
  app::ConfigDirectory directory(running);
  (*store)->add_applier(std::string(app::ConfigDirectory::kUsers), &directory);
  (*store)->add_applier(std::string(app::ConfigDirectory::kDomains), &directory);
  (*store)->add_applier(std::string(app::ConfigDirectory::kDefaultDomain), &directory);
  auto sip_settings = app::core_settings(running, options);
  if (!sip_settings) {
    spdlog::error("{}", sip_settings.error().message);
    return 1;
  }
  // The intrusion prevention system: bans from the store, then the Guard in front of
  // the SIP core; the rules need the listeners ($SIP_PROXY, $SIP_PORT), so they follow.
  sipbox::security::BanTable bans;
  app::SecurityReporter security_reporter(**data, app::nftables_settings(running),
                                          app::notification_settings(running));
  if (auto s = security_reporter.start(); !s) spdlog::error("nftables: {}", s.error().message);
  if (auto restored = app::restore_bans(**data, bans, security_reporter); !restored) {
    spdlog::error("restoring bans: {}", restored.error().message);
    return 1;
  } else if (*restored > 0) {
    spdlog::info("{} bans restored", *restored);
  }
  sipbox::security::Guard guard(app::security_settings(running), bans, security_reporter);

  // The media relay and the quality records of its streams (and of passively monitored
  // ones); the proxy anchors calls on it as media/relay-mode says.
  auto media_settings = app::media_config(running, options, address);
  if (!media_settings) {
    spdlog::error("media: {}", media_settings.error().message);
    return 1;
  }
  app::QualityRecorder quality(data.value()->quality(), media_settings->monitoring);
  auto relay = sipbox::media::MediaRelay::start(media_settings->relay, quality);
  if (!relay) {
    spdlog::error("media relay: {}", relay.error().message);
    return 1;
  }
  sip_settings->relay = relay->get();
  sip_settings->media = media_settings->proxy;
  spdlog::info("media relay on ports {}-{} (relay-mode {})", media_settings->relay.port_min,
               media_settings->relay.port_max, running.value("/sipbox-media:media/relay-mode").value_or("nat-only"));
  auto sip = sipbox::core::Core::start(std::move(*sip_settings), directory, location, &guard);
  if (!sip) {
    spdlog::error("SIP: {}", sip.error().message);
    return 1;
  }
  for (const auto& l : (*sip)->listeners())
    spdlog::info("SIP over {} on {}:{}", sipbox::proxy::transport_name(l.kind), l.address, l.port);
  std::vector<std::string> bad_rules;
  auto rules = app::compile_rules(running, app::rule_variables(running, (*sip)->listeners()), &bad_rules);
  for (const std::string& why : bad_rules) spdlog::error("security: {} (left out)", why);
  if (rules) guard.set_rules(std::move(*rules));
  app::SecurityApplier security_applier(guard, (*sip)->listeners());
  (*store)->add_applier(std::string(app::SecurityApplier::kSubtree), &security_applier);

  // What `sipbox status`, GET /api/v1/status and GET /metrics report: a fresh snapshot
  // per request, taken on the main thread (the core collects from its workers).
  std::vector<app::ListenerInfo> listeners = app::sip_listeners((*sip)->listeners());
  const auto snapshot = [&] {
    app::StatusSnapshot s;
    s.version = sipbox::kVersion;
    s.uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    s.listeners = listeners;
    s.core = (*sip)->stats();
    s.store = (*data)->stats();
    s.media = quality.stats();
    s.media->relay = (*relay)->counters();
    return s;
  };

  // Passive mode (docs/monitoring.md): started on demand; its reports become quality
  // records like the relay's.
  app::CaptureService capture(**store, quality);

  boost::asio::io_context io;
  // Expired bindings leave memory and the store once a minute; bans end on time (and
  // leave nftables and the store).
  app::PeriodicTask purge(io, std::chrono::minutes(1), [&] { location.purge(sipbox::registrar::Clock::now()); });
  app::PeriodicTask security_tick(io, std::chrono::seconds(1),
                                  [&] { guard.tick(sipbox::security::WallClock::now()); });
  app::PeriodicTask security_summary(io, std::chrono::minutes(1),
                                     [&] { security_reporter.daily_summary(sipbox::security::WallClock::now()); });
  auto control = app::ControlServer::start(io, **store, options.data_dir / app::kControlSocketName,
                                           [&] { return app::status_json(snapshot()); },
                                           [&](const nlohmann::json& request) {
                                             if (auto reply = capture.execute(request)) return reply;
                                             return app::execute_ban_op(guard, bans, request);
                                           });
  if (!control) {
    spdlog::error("{}", control.error().message);
    return 1;
  }

  sipbox::web::HttpServer http;
  if (http_port != 0) {
    sipbox::web::add_restconf(http, **store);
    // Like Kamailio's xhttp_prom: scrapers need no login; the counters hold no secrets.
    sipbox::web::add_public_resource(http, "/metrics", "text/plain; version=0.0.4; charset=utf-8",
                                     [&] { return app::prometheus_text(snapshot()); });
    const auto status = [&](const sipbox::web::Request&) {
      const auto json = app::status_json(snapshot());
      return sipbox::web::json_response(json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    };
    std::vector<sipbox::web::ApiResource> api{{"status", status}};
    for (auto& resource : app::security_api(guard, bans, **data)) api.push_back(std::move(resource));
    for (auto& resource : app::capture_api(capture)) api.push_back(std::move(resource));
    for (auto& resource : app::quality_api((*data)->quality())) api.push_back(std::move(resource));
    sipbox::web::add_rest_api(http, **store, std::move(api));
    auto bound = http.start(io, address, http_port);
    if (!bound) {
      spdlog::error("HTTP on {}:{}: {}", address, http_port, bound.error().message);
      return 1;
    }
    listeners.push_back({"http", "tcp", address, *bound});
    spdlog::info("HTTP (RESTCONF, REST API, /metrics) on {}:{}", address, *bound);
  }

  std::unique_ptr<config::NetconfServer> netconf;
  if (netconf_port != 0) {
    config::NetconfOptions netconf_options;
    netconf_options.address = address;
    netconf_options.port = netconf_port;
    netconf_options.host_key = options.data_dir / "netconf_host_key";
    auto server = config::NetconfServer::start(**store, netconf_options);
    if (!server) {
      spdlog::error("NETCONF on {}:{}: {}", address, netconf_port, server.error().message);
      return 1;
    }
    netconf = std::move(*server);
    netconf->set_state_provider([started] { return state_xml(started); });
    listeners.push_back({"netconf", "ssh", address, netconf_port});
    spdlog::info("NETCONF over SSH on {}:{}", address, netconf_port);
  }

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) spdlog::info("signal {} received, stopping", signal);
    http.stop();
    purge.cancel();
    security_tick.cancel();
    security_summary.cancel();
    io.stop();
  });

  spdlog::info("sipboxd {} started (data dir {})", sipbox::kVersion,
               std::filesystem::absolute(options.data_dir).string());
  io.run();
  capture.stop();
  if (netconf) netconf->stop();
  (*sip)->stop();
  relay->reset();   // open streams end with their final reports ...
  quality.flush();  // ... which become records before the store closes
  control->reset();
  if (auto closed = (*data)->close(); !closed) spdlog::error("store: {}", closed.error().message);
  spdlog::info("sipboxd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"sipboxd: the sipbox SIP communication server"};
  app::DaemonOptions options;
  app::add_daemon_options(cli, options);
  cli.set_version_flag("--version", sipbox::kVersion);
  CLI11_PARSE(cli, argc, argv);
  return run(options);
}
