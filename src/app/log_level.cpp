#include "app/log_level.h"

#include <spdlog/spdlog.h>

namespace sipbox::app {
namespace {

spdlog::level::level_enum level_from_name(std::string_view name) {
  if (name == "critical") return spdlog::level::critical;
  if (name == "error") return spdlog::level::err;
  if (name == "warning") return spdlog::level::warn;
  if (name == "debug") return spdlog::level::debug;
  if (name == "trace") return spdlog::level::trace;
  return spdlog::level::info;
}

}  // namespace

void LogLevelApplier::apply_now(const config::Snapshot& running) {
  spdlog::set_level(level_from_name(running.value(std::string(kSubtree)).value_or("info")));
}

Status LogLevelApplier::apply(const config::Snapshot& next, std::span<const config::Change>) {
  const std::string level = next.value(std::string(kSubtree)).value_or("info");
  spdlog::set_level(level_from_name(level));
  spdlog::info("log level is now {}", level);
  return {};
}

}  // namespace sipbox::app
