#include "app/config_access.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "app/control_client.h"
#include "app/control_protocol.h"
#include "app/data_dir_lock.h"
#include "quality/quality.h"

namespace sipbox::app {
namespace {

// Session ids of the local tool; the daemon numbers its own.
constexpr std::uint32_t kLocalSession = 1;

std::string login_name() {
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "cli";
}

class LocalAccess final : public ConfigAccess {
 public:
  LocalAccess(DataDirLock lock, std::unique_ptr<config::ConfigStore> store)
      : lock_(std::move(lock)), store_(std::move(store)), session_{kLocalSession, login_name(), "cli"} {}

  config::ConfigResult<std::string> get(std::string_view xpath, config::Encoding encoding,
                                        config::WithDefaults with_defaults) override {
    return store_->get_config(config::Datastore::Running, encoding, xpath, with_defaults);
  }
  config::ConfigResult<void> set(std::string_view xpath, std::string_view value) override {
    return store_->set_leaf(session_, xpath, value);
  }
  config::ConfigResult<void> merge(std::string_view data, config::Encoding encoding) override {
    return store_->edit_config(session_, config::Datastore::Running, data, encoding);
  }
  config::ConfigResult<void> remove(std::string_view xpath) override {
    return store_->edit_path(session_, config::Datastore::Running, xpath, config::ConfigStore::PathEdit::Delete, "",
                             config::Encoding::Json);
  }
  config::ConfigResult<void> replace(std::string_view data, config::Encoding encoding) override {
    return store_->replace_running(session_, data, encoding);
  }
  config::ConfigResult<void> validate(std::string_view data, config::Encoding encoding) override {
    return store_->validate_text(data, encoding);
  }
  config::ConfigResult<std::vector<config::Change>> diff(std::string_view data, config::Encoding encoding) override {
    return store_->diff(data, encoding);
  }
  std::optional<config::Snapshot> local_running() override { return store_->running(); }
  void check_locally(std::string subtree, config::Applier& check) override {
    store_->add_applier(std::move(subtree), &check);
  }

 private:
  DataDirLock lock_;
  std::unique_ptr<config::ConfigStore> store_;
  config::Session session_;
};

class RemoteAccess final : public ConfigAccess {
 public:
  explicit RemoteAccess(std::unique_ptr<ControlClient> client) : client_(std::move(client)) {}

  config::ConfigResult<std::string> get(std::string_view xpath, config::Encoding encoding,
                                        config::WithDefaults with_defaults) override {
    auto r = call({{"op", "get"}, {"xpath", xpath}, {"encoding", encoding_name(encoding)},
                   {"with_defaults", with_defaults_name(with_defaults)}});
    if (!r) return Unexpected<config::ConfigError>{r.error()};
    return r->value("data", std::string());
  }
  config::ConfigResult<void> set(std::string_view xpath, std::string_view value) override {
    return done(call({{"op", "set"}, {"xpath", xpath}, {"value", value}}));
  }
  config::ConfigResult<void> merge(std::string_view data, config::Encoding encoding) override {
    return done(call({{"op", "merge"}, {"data", data}, {"encoding", encoding_name(encoding)}}));
  }
  config::ConfigResult<void> remove(std::string_view xpath) override {
    return done(call({{"op", "delete"}, {"xpath", xpath}}));
  }
  config::ConfigResult<void> replace(std::string_view data, config::Encoding encoding) override {
    return done(call({{"op", "replace"}, {"data", data}, {"encoding", encoding_name(encoding)}}));
  }
  config::ConfigResult<void> validate(std::string_view data, config::Encoding encoding) override {
    return done(call({{"op", "validate"}, {"data", data}, {"encoding", encoding_name(encoding)}}));
  }
  config::ConfigResult<std::vector<config::Change>> diff(std::string_view data, config::Encoding encoding) override {
    auto r = call({{"op", "diff"}, {"data", data}, {"encoding", encoding_name(encoding)}});
    if (!r) return Unexpected<config::ConfigError>{r.error()};
    std::vector<config::Change> changes;
    for (const auto& c : r->value("data", nlohmann::json::array())) {
      config::Change change;
      const std::string op = c.value("op", "");
      change.kind = op == "create" ? config::Change::Kind::Create
                    : op == "delete" ? config::Change::Kind::Delete
                                     : config::Change::Kind::Replace;
      change.path = c.value("path", "");
      change.old_value = c.value("old", "");
      change.new_value = c.value("new", "");
      changes.push_back(std::move(change));
    }
    return changes;
  }

 private:
  static config::ConfigResult<void> done(const config::ConfigResult<nlohmann::json>& r) {
    if (!r) return Unexpected<config::ConfigError>{r.error()};
    return {};
  }

  config::ConfigResult<nlohmann::json> call(nlohmann::json request) {
    request["user"] = login_name();
    auto json = client_->call(request);
    if (!json) return config::config_fail("operation-failed", json.error().message);
    if (!json->value("ok", false))
      return Unexpected<config::ConfigError>{error_from_json(json->value("error", nlohmann::json::object()))};
    return std::move(*json);
  }

  std::unique_ptr<ControlClient> client_;
};

// RFC 7951 6.1: decimal64 values are JSON strings.
std::string decimal1(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

Status seed_codecs(config::ConfigStore& store) {
  nlohmann::json codecs = nlohmann::json::array();
  const quality::CodecTable defaults = quality::CodecTable::g113_defaults();
  for (const quality::CodecImpairment& c : defaults.entries()) {
    nlohmann::json entry{{"name", c.name}, {"ie", decimal1(c.ie)}, {"bpl", decimal1(c.bpl)}};
    if (c.payload_type) entry["payload-type"] = *c.payload_type;
    if (!c.description.empty()) entry["description"] = c.description;
    codecs.push_back(std::move(entry));
  }
  const nlohmann::json edit{{"sipbox-media:media", {{"monitoring", {{"codec", codecs}}}}}};
  auto r = store.edit_config({0, "sipbox", "first-start"}, config::Datastore::Running, edit.dump(),
                             config::Encoding::Json);
  if (!r) return fail("seeding the codec table: " + describe(r.error()));
  return {};
}

}  // namespace

Result<std::unique_ptr<config::ConfigStore>> open_store(const std::filesystem::path& data_dir,
                                                       const std::vector<std::filesystem::path>& yang) {
  const bool fresh = !std::filesystem::exists(data_dir / "running.xml");
  auto store = config::ConfigStore::open({data_dir, yang});
  if (!store) return Unexpected<Error>{store.error()};
  if (fresh) {
    if (auto seeded = seed_codecs(**store); !seeded) return Unexpected<Error>{seeded.error()};
  }
  return store;
}

std::vector<std::filesystem::path> yang_dirs(const std::string& override) {
  if (!override.empty()) return {override};
  return {SIPBOX_YANG_DIR};
}

Result<std::unique_ptr<ConfigAccess>> open_config_access(const std::filesystem::path& data_dir,
                                                         const std::vector<std::filesystem::path>& yang) {
  if (auto client = ControlClient::connect(data_dir))
    return std::unique_ptr<ConfigAccess>(new RemoteAccess(std::move(client)));
  auto lock = DataDirLock::acquire(data_dir);
  if (!lock) return fail(lock.error().message + " (sipboxd starting or stopping? try again)");
  auto store = open_store(data_dir, yang);
  if (!store) return fail(store.error().message);
  return std::unique_ptr<ConfigAccess>(new LocalAccess(std::move(*lock), std::move(*store)));
}

std::string describe(const config::ConfigError& error) {
  std::string out = error.tag;
  if (!error.path.empty()) out += " at " + error.path;
  if (!error.message.empty()) out += ": " + error.message;
  if (!error.app_tag.empty()) out += " (" + error.app_tag + ")";
  return out;
}

}  // namespace sipbox::app
