// The daemon's log level follows /sipbox-system:system/log-level, applied live: the
// first configuration setting owned by a module through ConfigStore's Applier.
#pragma once

#include <string_view>

#include "config/config.h"

namespace sipbox::app {

class LogLevelApplier final : public config::Applier {
 public:
  static constexpr std::string_view kSubtree = "/sipbox-system:system/log-level";
  // Sets the level from a configuration (at start-up).
  static void apply_now(const config::Snapshot& running);
  Status apply(const config::Snapshot& next, std::span<const config::Change> changes) override;
};

}  // namespace sipbox::app
