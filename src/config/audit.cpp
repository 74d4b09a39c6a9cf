// The audit log: one JSON object per accepted change, appended and synced.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

const char* kind_name(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::Create: return "create";
    case Change::Kind::Delete: return "delete";
    case Change::Kind::Replace: break;
  }
  return "replace";
}

}  // namespace

std::string_view datastore_name(Datastore datastore) {
  switch (datastore) {
    case Datastore::Candidate: return "candidate";
    case Datastore::Startup: return "startup";
    case Datastore::Running: break;
  }
  return "running";
}

Status append_audit(const std::filesystem::path& file, const Session& session, Datastore datastore,
                    std::string_view operation, std::span<const Change> changes) {
  nlohmann::json diff = nlohmann::json::array();
  for (const Change& change : changes) {
    nlohmann::json entry = {{"op", kind_name(change.kind)}, {"path", change.path}};
    if (change.kind == Change::Kind::Delete) {
      if (!change.old_value.empty()) entry["value"] = change.old_value;
    } else if (!change.new_value.empty() || change.kind == Change::Kind::Replace) {
      entry["value"] = change.new_value;
    }
    if (change.kind == Change::Kind::Replace) entry["old"] = change.old_value;
    diff.push_back(std::move(entry));
  }
  nlohmann::json record = {{"time", now_iso8601()},
                           {"user", session.user},
                           {"via", session.via},
                           {"session", session.id},
                           {"datastore", datastore_name(datastore)},
                           {"operation", operation},
                           {"diff", std::move(diff)}};
  // Replace invalid UTF-8 rather than throw: values come from users.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot open " + file.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fdatasync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return fail("cannot write " + file.string() + ": " + std::strerror(saved));
  return {};
}

}  // namespace sipbox::config
