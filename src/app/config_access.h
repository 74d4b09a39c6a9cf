// The sipbox tool's way to the configuration: through the control socket when sipboxd
// runs on the data directory, or directly (holding the data directory lock) when it
// does not. Commands do not care which.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace sipbox::app {

class ConfigAccess {
 public:
  virtual ~ConfigAccess() = default;
  virtual config::ConfigResult<std::string> get(std::string_view xpath, config::Encoding encoding,
                                                config::WithDefaults with_defaults) = 0;
  virtual config::ConfigResult<void> set(std::string_view xpath, std::string_view value) = 0;
  virtual config::ConfigResult<void> merge(std::string_view data, config::Encoding encoding) = 0;
  virtual config::ConfigResult<void> remove(std::string_view xpath) = 0;
  virtual config::ConfigResult<void> replace(std::string_view data, config::Encoding encoding) = 0;
  virtual config::ConfigResult<void> validate(std::string_view data, config::Encoding encoding) = 0;
  virtual config::ConfigResult<std::vector<config::Change>> diff(std::string_view data, config::Encoding encoding) = 0;
  // The running configuration when it is edited here, with sipboxd stopped (nothing then
  // checks what only the daemon's appliers check, such as security rules); nullopt
  // when the edits go to the daemon.
  virtual std::optional<config::Snapshot> local_running() { return std::nullopt; }
  // With sipboxd stopped, `check` refuses edits under `subtree` as the daemon's applier
  // would (security rules: the column and the reason); it must outlive this object.
  // Nothing to do when the edits go to the daemon: its appliers check them.
  virtual void check_locally(std::string subtree, config::Applier& check) {
    (void)subtree;
    (void)check;
  }
};

// Where sipbox's YANG modules are: `override` when given, else the source tree's yang/.
std::vector<std::filesystem::path> yang_dirs(const std::string& override);

// Opens the configuration of a data directory. A configuration created here for the
// first time is seeded with what YANG cannot default: the codec impairment table of
// ITU-T G.113 Appendix I (sipbox-media monitoring/codec).
Result<std::unique_ptr<config::ConfigStore>> open_store(const std::filesystem::path& data_dir,
                                                       const std::vector<std::filesystem::path>& yang);

Result<std::unique_ptr<ConfigAccess>> open_config_access(const std::filesystem::path& data_dir,
                                                         const std::vector<std::filesystem::path>& yang);

// "invalid-value at /sipbox-system:system/listeners/sip-port: Unsatisfied range ..."
std::string describe(const config::ConfigError& error);

}  // namespace sipbox::app
