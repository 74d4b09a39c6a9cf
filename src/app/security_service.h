// sipboxd's security side: the intrusion prevention settings and rules of the
// configuration (/sipbox-security:security) compiled for the Guard and kept current by an
// Applier that refuses a bad rule with its column and reason; and the Reporter that turns
// detections and bans into incidents and bans in the store, log and syslog lines, and
// nftables set elements.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/core.h"
#include "security/security.h"
#include "store/store.h"

namespace sipbox::app {

security::SecuritySettings security_settings(const config::Snapshot& running);

// The predefined rule variables (HOME_NET, EXTERNAL_NET: any; SIP_PROXY: the listening
// addresses; SIP_PORT: the SIP ports) with the configuration's rule-variable entries on top.
security::RuleVariables rule_variables(const config::Snapshot& running,
                                       const std::vector<core::BoundListener>& listeners);

// Every enabled rule of the configuration, compiled; the first bad one refuses all:
// "rule 1000001: column 37: unknown option 'conten'". With `skipped`, bad rules are left
// out instead and described there (start-up: a rule imported while sipboxd was stopped
// must not take the other rules down).
Result<std::shared_ptr<security::RuleSet>> compile_rules(const config::Snapshot& running,
                                                         const security::RuleVariables& variables,
                                                         std::vector<std::string>* skipped = nullptr);

class SecurityApplier final : public config::Applier {
 public:
  static constexpr std::string_view kSubtree = "/sipbox-security:security";
  SecurityApplier(security::Guard& guard, std::vector<core::BoundListener> listeners)
      : guard_(guard), listeners_(std::move(listeners)) {}
  Status apply(const config::Snapshot& next, std::span<const config::Change> changes) override;

 private:
  security::Guard& guard_;
  std::vector<core::BoundListener> listeners_;
};

// The rule check of SecurityApplier without a Guard, for the sipbox tool editing a
// stopped data directory: a bad rule is refused there too (SIP_PROXY and SIP_PORT are
// "any" then, as nothing listens).
class RuleCheck final : public config::Applier {
 public:
  Status apply(const config::Snapshot& next, std::span<const config::Change> changes) override;
};

// Runs blocking work (nft, syslog) off the SIP workers, in order.
class BackgroundQueue {
 public:
  BackgroundQueue();
  ~BackgroundQueue();  // runs what is queued, then joins
  void post(std::function<void()> task);

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

struct NftablesSettings {
  bool enabled = false;
  std::string table = "sipbox";
  std::string set = "banned";
  std::string set_ipv6 = "banned6";
};
NftablesSettings nftables_settings(const config::Snapshot& running);

// /sipbox-security:security/notifications.
struct NotificationSettings {
  bool syslog = true;
  std::string webhook_url;  // "" for none
  bool daily_summary = true;
};
NotificationSettings notification_settings(const config::Snapshot& running);

class SecurityReporter final : public security::Reporter {
 public:
  SecurityReporter(store::Store& store, NftablesSettings nft, NotificationSettings notifications);
  ~SecurityReporter() override;  // removes the nftables elements it added

  // Creates the nftables table, sets and drop rule (when enabled).
  Status start();
  void detected(const security::Detection& detection) override;
  void banned(const security::BanEntry& ban) override;
  void unbanned(const security::BanEntry& ban) override;
  // Called every minute: the first call of a new local day logs (and posts to the
  // webhook) a summary of the previous day's incidents, and returns its JSON text;
  // nullopt on the other calls (and when the summary is turned off).
  std::optional<std::string> daily_summary(security::WallClock::time_point now);

 private:
  void nft(std::string script);
  void post(std::string json);  // to the webhook, off the SIP workers

  store::Store& store_;
  NftablesSettings nft_;
  NotificationSettings notifications_;
  int summarized_day_ = -1;  // tm_yday of the last summary (or of the start)
  BackgroundQueue background_;
};

// Puts the store's bans back into the table (and nftables) at start.
Result<std::size_t> restore_bans(store::Store& store, security::BanTable& table, security::Reporter& reporter);

}  // namespace sipbox::app
