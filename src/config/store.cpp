// ConfigStore: opening the schema and the datastores, reads, validation and locks.
// The operations that change a datastore are in datastores.cpp.
#include <algorithm>
#include <fstream>
#include <set>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

constexpr const char* kIetfYangDir = "/usr/share/yuma/modules/ietf";

// "sipbox-system@2024-01-01.yang" -> "sipbox-system"; submodules are loaded by their
// module, so files whose first statement is `submodule` are skipped.
std::optional<std::string> module_name(const std::filesystem::path& file) {
  std::string name = file.filename().string();
  if (!name.starts_with("sipbox-") || !name.ends_with(".yang")) return std::nullopt;
  std::ifstream in(file);
  std::string word;
  while (in >> word) {
    if (word.starts_with("//")) {
      std::getline(in, word);
      continue;
    }
    if (word.starts_with("/*")) {
      while (word.find("*/") == std::string::npos && in >> word) {
      }
      continue;
    }
    if (word == "submodule") return std::nullopt;
    break;
  }
  name.resize(name.size() - 5);
  return name.substr(0, name.find('@'));
}

Unexpected<ConfigError> protocol_fail(std::string tag, std::string message, std::uint32_t holder = 0) {
  ConfigError e;
  e.tag = std::move(tag);
  e.type = "protocol";
  e.message = std::move(message);
  e.lock_holder = holder;
  return {std::move(e)};
}

}  // namespace

Result<std::unique_ptr<ConfigStore>> ConfigStore::open(const Options& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // Keep libyang's last error for the caller instead of printing every refused edit.
  ly_log_options(LY_LOSTORE_LAST);

  ly_ctx* raw = nullptr;
  if (ly_ctx_new(nullptr, LY_CTX_DISABLE_SEARCHDIR_CWD, &raw) != LY_SUCCESS) return fail("cannot create a libyang context");
  impl->ctx = ContextPtr(raw, ly_ctx_destroy);

  std::set<std::string> modules;
  for (const auto& dir : options.yang_dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return fail("YANG directory " + dir.string() + " does not exist");
    if (ly_ctx_set_searchdir(raw, dir.c_str()) != LY_SUCCESS) return fail("cannot search " + dir.string());
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (auto name = module_name(entry.path())) modules.insert(*name);
    }
  }
  if (std::filesystem::is_directory(kIetfYangDir)) ly_ctx_set_searchdir(raw, kIetfYangDir);

  // NETCONF needs these before anything uses the context: libnetconf2 derives the
  // capabilities from them, and the context must not change once sessions exist.
  const char* netconf_features[] = {"writable-running", "candidate", "rollback-on-error", "validate",
                                    "startup",          "xpath",     nullptr};
  impl->netconf = ly_ctx_load_module(raw, "ietf-netconf", nullptr, netconf_features);
  if (!impl->netconf) return fail("cannot load ietf-netconf: " + ly_error(raw, "not found").message);
  for (const char* name : {"ietf-netconf-with-defaults", "ietf-netconf-monitoring"}) {
    if (!ly_ctx_load_module(raw, name, nullptr, nullptr))
      return fail(std::string("cannot load ") + name + ": " + ly_error(raw, "not found").message);
  }
  if (modules.empty()) return fail("no sipbox-*.yang module in the YANG directories");
  const char* all_features[] = {"*", nullptr};
  for (const auto& name : modules) {
    clear_ly_errors(raw);
    if (!ly_ctx_load_module(raw, name.c_str(), nullptr, all_features))
      return fail("cannot load YANG module " + name + ": " + ly_error(raw, "not found").message);
  }

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return fail("cannot create " + options.data_dir.string() + ": " + ec.message());

  auto running_file = impl->file_of(Datastore::Running);
  if (std::filesystem::exists(running_file)) {
    auto tree = load_config_file(raw, running_file);
    if (!tree) return fail(tree.error().message);
    impl->running = impl->make_tree(std::move(tree).value());
  } else {
    TreePtr defaults;
    if (auto valid = validate_tree(raw, defaults); !valid) return fail("default configuration: " + valid.error().message);
    if (auto saved = write_file_atomic(running_file, print_tree(defaults.get(), Encoding::Xml, WithDefaults::Explicit));
        !saved)
      return fail(saved.error().message);
    impl->running = impl->make_tree(std::move(defaults));
  }
  auto startup_file = impl->file_of(Datastore::Startup);
  if (std::filesystem::exists(startup_file)) {
    auto tree = load_config_file(raw, startup_file);
    if (!tree) return fail(tree.error().message);
    impl->startup = impl->make_tree(std::move(tree).value());
  }
  impl->candidate = impl->running;
  return std::unique_ptr<ConfigStore>(new ConfigStore(std::move(impl)));
}

ConfigStore::ConfigStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConfigStore::~ConfigStore() = default;

Snapshot ConfigStore::running() const {
  std::lock_guard lock(impl_->mutex);
  return Snapshot(impl_->running);
}

std::filesystem::path ConfigStore::audit_log_path() const { return impl_->options.data_dir / "audit.log"; }

void ConfigStore::add_applier(std::string subtree, Applier* applier) {
  std::lock_guard lock(impl_->mutex);
  impl_->appliers.emplace_back(std::move(subtree), applier);
}

ConfigResult<std::string> ConfigStore::get_config(Datastore source, Encoding encoding, std::string_view xpath,
                                                  WithDefaults with_defaults) const {
  auto selected = impl_->select(source, xpath);
  if (!selected) return Unexpected<ConfigError>{selected.error()};
  return print_tree(selected->get(), encoding, with_defaults);
}

ConfigResult<void> ConfigStore::validate(Datastore source) const {
  auto copy = impl_->select(source);
  if (!copy) return Unexpected<ConfigError>{copy.error()};
  return validate_tree(impl_->context(), *copy);
}

ConfigResult<void> ConfigStore::validate_text(std::string_view config, Encoding encoding) const {
  auto tree = parse_config(impl_->context(), config, encoding);
  if (!tree) return Unexpected<ConfigError>{tree.error()};
  return {};
}

std::optional<ConfigStore::SchemaNode> ConfigStore::schema_node(std::string_view schema_path) const {
  // The context never changes after open(), so no lock is needed.
  const lysc_node* node = lys_find_path(impl_->context(), nullptr, std::string(schema_path).c_str(), 0);
  if (node == nullptr || (node->nodetype & (LYS_RPC | LYS_ACTION | LYS_NOTIF))) return std::nullopt;
  SchemaNode out;
  if (node->nodetype == LYS_CONTAINER) out.kind = SchemaNode::Kind::Container;
  if (node->nodetype == LYS_LEAFLIST) out.kind = SchemaNode::Kind::LeafList;
  if (node->nodetype == LYS_LIST) {
    out.kind = SchemaNode::Kind::List;
    for (const lysc_node* child = lysc_node_child(node); child != nullptr; child = child->next)
      if (lysc_is_key(child)) out.keys.emplace_back(child->name);
  }
  return out;
}

ConfigResult<std::vector<Change>> ConfigStore::diff(std::string_view config, Encoding encoding) const {
  auto tree = parse_config(impl_->context(), config, encoding);
  if (!tree) return Unexpected<ConfigError>{tree.error()};
  Tree current;
  {
    std::lock_guard guard(impl_->mutex);
    current = impl_->running;
  }
  return diff_changes(current->tree.get(), tree->get());
}

// RFC 6241 7.5: a lock is refused while another session holds it, and on a candidate
// with uncommitted changes.
ConfigResult<void> ConfigStore::lock(const Session& session, Datastore target) {
  std::lock_guard guard(impl_->mutex);
  auto& holder = impl_->locks[static_cast<int>(target)];
  if (holder)
    return protocol_fail("lock-denied", "the " + std::string(datastore_name(target)) + " datastore is locked by session " +
                                            std::to_string(*holder), *holder);
  if (target == Datastore::Candidate && impl_->candidate_modified)
    return protocol_fail("lock-denied", "the candidate datastore has uncommitted changes",
                         impl_->candidate_modified_by);
  holder = session.id;
  return {};
}

ConfigResult<void> ConfigStore::unlock(const Session& session, Datastore target) {
  std::lock_guard guard(impl_->mutex);
  auto& holder = impl_->locks[static_cast<int>(target)];
  std::string name(datastore_name(target));
  if (!holder) return protocol_fail("operation-failed", "the " + name + " datastore is not locked");
  if (*holder != session.id)
    return protocol_fail("operation-failed", "the " + name + " datastore is locked by session " + std::to_string(*holder),
                         *holder);
  holder.reset();
  return {};
}

// A session that ends loses its locks; uncommitted changes to a candidate it had
// locked are discarded (RFC 6241 8.3.5.2).
void ConfigStore::release_locks(std::uint32_t session_id) {
  std::lock_guard guard(impl_->mutex);
  for (int i = 0; i < 3; ++i) {
    auto& holder = impl_->locks[i];
    if (!holder || *holder != session_id) continue;
    holder.reset();
    if (static_cast<Datastore>(i) == Datastore::Candidate && impl_->candidate_modified) {
      impl_->candidate = impl_->running;
      impl_->candidate_modified = false;
    }
  }
}

ConfigResult<TreePtr> ConfigStore::Impl::select(Datastore source, std::string_view xpath) const {
  Tree tree;
  {
    std::lock_guard guard(mutex);
    tree = source == Datastore::Running ? running : source == Datastore::Candidate ? candidate : startup;
  }
  // Installed trees never change, so the copy needs no lock.
  return select_tree(tree ? tree->tree.get() : nullptr, xpath);
}

std::optional<std::uint32_t> ConfigStore::Impl::lock_holder(Datastore datastore) const {
  std::lock_guard guard(mutex);
  return locks[static_cast<int>(datastore)];
}

Tree& ConfigStore::Impl::tree_of(Datastore datastore) {
  return datastore == Datastore::Running ? running : datastore == Datastore::Candidate ? candidate : startup;
}

std::filesystem::path ConfigStore::Impl::file_of(Datastore datastore) const {
  // The candidate lives in memory only: a restart starts it again from running.
  return options.data_dir / (datastore == Datastore::Startup ? "startup.xml" : "running.xml");
}

ConfigResult<void> ConfigStore::Impl::check_writable(const Session& session, Datastore datastore) const {
  const auto& holder = locks[static_cast<int>(datastore)];
  if (holder && *holder != session.id)
    return protocol_fail("in-use",
                         "the " + std::string(datastore_name(datastore)) + " datastore is locked by session " +
                             std::to_string(*holder),
                         *holder);
  return {};
}

}  // namespace sipbox::config
