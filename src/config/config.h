// Public interface of the config module: sipbox's one configuration model (YANG, in
// yang/) held as running, candidate and startup datastores, edited by NETCONF, RESTCONF,
// the CLI and the GUI through this one object. Only src/config/ includes libyang.
//
// Every edit goes: copy the target tree, apply the edit, validate the whole result with
// libyang, hand the changes to the modules that own the changed subtrees (Appliers),
// and only then swap the new tree in, persist it (write, fsync, rename) and write an
// audit record. If validation or any Applier fails, nothing changes anywhere and the
// caller gets the reason (YANG path and the rule broken).
//
// ConfigStore is thread-safe: NETCONF runs on libnetconf2's threads, HTTP on Asio.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sipbox::config {

enum class Datastore : std::uint8_t { Running, Candidate, Startup };
enum class Encoding : std::uint8_t { Xml, Json };                                       // Json is RFC 7951
enum class WithDefaults : std::uint8_t { Explicit, ReportAll, ReportAllTagged, Trim };  // RFC 6243

// NETCONF edit-config parameters (RFC 6241 7.2).
enum class DefaultOperation : std::uint8_t { Merge, Replace, None };
enum class TestOption : std::uint8_t { TestThenSet, Set, TestOnly };
enum class ErrorOption : std::uint8_t { RollbackOnError, StopOnError, ContinueOnError };

// One refused request, with the fields of a NETCONF rpc-error (RFC 6241 Appendix A),
// which RESTCONF errors (RFC 8040 7.1) and CLI messages reuse.
struct ConfigError {
  // invalid-value, too-big, missing-attribute, bad-attribute, unknown-attribute,
  // missing-element, bad-element, unknown-element, unknown-namespace, access-denied,
  // lock-denied, resource-denied, rollback-failed, data-exists, data-missing,
  // operation-not-supported, operation-failed, malformed-message
  std::string tag = "operation-failed";
  std::string type = "application";  // transport, rpc, protocol, application
  std::string path;                  // error-path: the offending data node, when known
  std::string message;               // error-message: what is wrong, for a person
  std::string app_tag;               // error-app-tag from the model (must/range), when any
  std::uint32_t lock_holder = 0;     // lock-denied: the session holding the lock
};
template <class T>
using ConfigResult = Result<T, ConfigError>;
inline Unexpected<ConfigError> config_fail(std::string tag, std::string message, std::string path = {}) {
  ConfigError e;
  e.tag = std::move(tag);
  e.message = std::move(message);
  e.path = std::move(path);
  return {std::move(e)};
}

// Who makes a request: locks belong to sessions; the audit log names the user.
struct Session {
  std::uint32_t id = 0;  // unique per client session; 0 is never a NETCONF session id
  std::string user;      // admin account name ("" for the local CLI run as the owner)
  std::string via;       // "netconf", "restconf", "cli", "gui"
};

// One changed data node, from libyang's diff of the old and new running trees.
struct Change {
  enum class Kind : std::uint8_t { Create, Delete, Replace };
  Kind kind = Kind::Replace;
  std::string path;       // data path, e.g. /sipbox-system:system/listeners/sip-port
  std::string old_value;  // leaves only
  std::string new_value;  // leaves only
};

// A read-only snapshot of a configuration tree. Cheap to copy (shared).
class Snapshot {
 public:
  Snapshot();
  ~Snapshot();
  Snapshot(const Snapshot&);
  Snapshot& operator=(const Snapshot&);

  // The canonical value of the first leaf (or leaf-list entry) matching `xpath`,
  // defaults included; nullopt when none matches.
  std::optional<std::string> value(std::string_view xpath) const;
  // The values of every leaf or leaf-list entry matching `xpath`, in document order.
  std::vector<std::string> values(std::string_view xpath) const;
  // Every list entry (or container) matching `xpath`, as its direct leaf children
  // (defaults included) by name; leaf-lists appear once per entry, in order. For reading
  // whole lists (users, domains) in one pass instead of one XPath per leaf.
  using Fields = std::vector<std::pair<std::string, std::string>>;
  std::vector<Fields> entries(std::string_view xpath) const;
  // The first value named `name` in an entry's fields; "" when there is none.
  static std::string field(const Fields& fields, std::string_view name);
  // The number of data nodes matching `xpath`.
  std::size_t count(std::string_view xpath) const;
  // The whole tree (or the subtree at `xpath`) printed in `encoding`.
  std::string print(Encoding encoding, WithDefaults with_defaults = WithDefaults::Explicit,
                    std::string_view xpath = {}) const;

  struct Impl;
  explicit Snapshot(std::shared_ptr<const Impl> impl);

 private:
  std::shared_ptr<const Impl> impl_;
};

// A module that owns a subtree of the configuration and applies changes to it live.
class Applier {
 public:
  virtual ~Applier() = default;
  // Called before a new running configuration takes effect, with the whole new tree
  // and the changes under this applier's subtree. An error refuses the whole edit:
  // appliers already called get apply(old tree, reverse changes) and nothing changes.
  // It runs with the store's lock held (edits are serialized): it must not call back
  // into the ConfigStore; `next` holds everything it needs.
  virtual Status apply(const Snapshot& next, std::span<const Change> changes) = 0;
};

struct Options {
  std::filesystem::path data_dir;                // running.xml, startup.xml, audit.log live here
  std::vector<std::filesystem::path> yang_dirs;  // where sipbox's and the IETF modules are
};

class ConfigStore {
 public:
  // Loads the schema and the persisted datastores (creating defaults when absent).
  static Result<std::unique_ptr<ConfigStore>> open(const Options& options);
  ~ConfigStore();
  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  Snapshot running() const;

  // get-config: the datastore (or the subtree selected by an XPath filter).
  ConfigResult<std::string> get_config(Datastore source, Encoding encoding, std::string_view xpath = {},
                                       WithDefaults with_defaults = WithDefaults::Explicit) const;

  // edit-config with the content of a <config> element (XML, operations given by
  // nc:operation attributes) or an RFC 7951 JSON document.
  ConfigResult<void> edit_config(const Session& session, Datastore target, std::string_view config, Encoding encoding,
                                 DefaultOperation default_operation = DefaultOperation::Merge,
                                 TestOption test_option = TestOption::TestThenSet,
                                 ErrorOption error_option = ErrorOption::RollbackOnError);

  // RESTCONF-style edit of the resource at `xpath` (a data path with list keys):
  // Merge (PATCH), Replace (PUT, creating when absent), Create (POST: data-exists when
  // present), Delete (DELETE: data-missing when absent). `body` holds the resource
  // (for PUT/PATCH) or the child to create (POST); unused for Delete.
  enum class PathEdit : std::uint8_t { Merge, Replace, Create, Delete };
  ConfigResult<void> edit_path(const Session& session, Datastore target, std::string_view xpath, PathEdit kind,
                               std::string_view body, Encoding encoding);

  // Sets one leaf (or adds one leaf-list entry), creating its parents: `config set`.
  ConfigResult<void> set_leaf(const Session& session, std::string_view xpath, std::string_view value);

  // Replaces the whole running configuration (config import); validated first.
  ConfigResult<void> replace_running(const Session& session, std::string_view config, Encoding encoding);

  // Validates a datastore, or a complete configuration given as text.
  ConfigResult<void> validate(Datastore source) const;
  ConfigResult<void> validate_text(std::string_view config, Encoding encoding) const;

  // The changes that replacing running with `config` would make (`sipbox config diff`).
  ConfigResult<std::vector<Change>> diff(std::string_view config, Encoding encoding) const;

  ConfigResult<void> copy_config(const Session& session, Datastore target, Datastore source);
  ConfigResult<void> delete_config(const Session& session, Datastore target);  // startup only
  ConfigResult<void> commit(const Session& session);                           // candidate -> running
  ConfigResult<void> discard_changes(const Session& session);                  // running -> candidate

  // RFC 6241 7.5/7.6: a lock is held by one session; edits from others get in-use.
  ConfigResult<void> lock(const Session& session, Datastore target);
  ConfigResult<void> unlock(const Session& session, Datastore target);
  void release_locks(std::uint32_t session_id);  // when a session ends

  // Appliers are called for changes at or below `subtree` (a schema path such as
  // "/sipbox-security:security"). The store does not own them.
  void add_applier(std::string subtree, Applier* applier);

  // The schema node at `schema_path` ("/sipbox-routing:trunk"): what a RESTCONF
  // api-path needs to know (list keys in schema order); nullopt when there is none.
  struct SchemaNode {
    enum class Kind : std::uint8_t { Other, Container, List, LeafList };
    Kind kind = Kind::Other;
    std::vector<std::string> keys;  // List only
  };
  std::optional<SchemaNode> schema_node(std::string_view schema_path) const;

  // Path of the audit log: one JSON object per line (time, user, via, datastore, diff).
  std::filesystem::path audit_log_path() const;

  struct Impl;
  Impl& impl() { return *impl_; }  // for adapters inside src/config (NETCONF)

 private:
  explicit ConfigStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::config
