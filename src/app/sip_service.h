// sipboxd's SIP side: the users and domains of the configuration as the registrar's and
// proxy's Directory (kept current by a config Applier), and the core's settings read from
// the model (/sipbox-system, /sipbox-routing) with the command-line overrides applied.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "app/daemon_options.h"
#include "config/config.h"
#include "core/core.h"
#include "registrar/registrar.h"

namespace sipbox::app {

class ConfigDirectory final : public registrar::Directory, public config::Applier {
 public:
  static constexpr std::string_view kUsers = "/sipbox-users:user";
  static constexpr std::string_view kDomains = "/sipbox-domains:domain";
  static constexpr std::string_view kDefaultDomain = "/sipbox-domains:default-domain";

  explicit ConfigDirectory(const config::Snapshot& running);

  bool is_local_domain(std::string_view domain) const override;
  std::string realm(std::string_view domain) const override;
  std::optional<registrar::UserRecord> user(std::string_view user, std::string_view domain) const override;
  // /sipbox-domains:default-domain, else the only domain when there is exactly one.
  std::string default_domain() const override;
  // Reloads users and domains from the new configuration (also on a rollback).
  Status apply(const config::Snapshot& next, std::span<const config::Change> changes) override;

  std::size_t user_count() const;

 private:
  struct Data {
    std::unordered_map<std::string, std::string> realms;  // domain (lower case) -> realm
    std::unordered_map<std::string, registrar::UserRecord> users;  // "user@domain"
    std::string default_domain;
  };
  static std::shared_ptr<const Data> load(const config::Snapshot& snapshot);
  std::shared_ptr<const Data> data() const;

  mutable std::mutex mutex_;
  std::shared_ptr<const Data> data_;
};

// CoreSettings from the running configuration, the flags (DESIGN.md 4: --bind,
// --sip-port N gives UDP+TCP N, TLS N+1 and WebSocket N+2) and the data directory (TLS
// files relative to it; a self-signed pair is made when absent).
Result<core::CoreSettings> core_settings(const config::Snapshot& running, const DaemonOptions& options);

}  // namespace sipbox::app
