// Internal to src/config: the state behind ConfigStore and Snapshot, and the helpers the
// .cpp files of this folder share. Only src/config/ includes this header (and libyang).
//
// For the NETCONF adapter (netconf_server.cpp):
//  - Run every datastore operation through the public ConfigStore methods: each takes
//    Impl::mutex itself, so never call them while holding it (std::mutex is not
//    recursive).
//  - Impl::context() is the libyang context. Every module (sipbox's, ietf-netconf with
//    its features, ietf-netconf-with-defaults, ietf-netconf-monitoring) is loaded by
//    ConfigStore::open() and the context never changes afterwards, so it can be used
//    without the mutex: pass it to nc_server_init(), parse RPCs, build replies.
//  - Impl::select() returns an owned copy of a datastore (or of the nodes an XPath
//    selects, with their parents), for nc_server_reply_data(); it locks internally.
//  - Impl::lock_holder() tells who holds a datastore lock (for <get> state data).
//  - When a session ends, call ConfigStore::release_locks(session id).
#pragma once

#include <libyang/libyang.h>

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace sipbox::config {

// Owns a whole data tree (every top-level sibling); null is the empty configuration.
struct TreeDeleter {
  void operator()(lyd_node* node) const { lyd_free_all(node); }
};
using TreePtr = std::unique_ptr<lyd_node, TreeDeleter>;
using ContextPtr = std::shared_ptr<ly_ctx>;

// An immutable, installed tree. Running and candidate are held as these, so a Snapshot
// is a shared_ptr copy and never sees a later edit. Holding the context keeps it alive
// as long as any snapshot exists (the store may be destroyed first).
struct Snapshot::Impl {
  Impl(ContextPtr context, TreePtr data) : ctx(std::move(context)), tree(std::move(data)) {}
  ContextPtr ctx;  // declared first: destroyed after the tree
  TreePtr tree;
};
using Tree = std::shared_ptr<const Snapshot::Impl>;

// ---- errors.cpp: libyang's last error as a ConfigError ---------------------------
// Tags follow RFC 6241 Appendix A and RFC 7950 section 15: invalid-value for type,
// range, pattern and length; operation-failed for must (app tag from the model or
// must-violation), unique (data-not-unique), min/max-elements; data-missing for
// mandatory nodes and leafrefs without a target (instance-required).
ConfigError ly_error(const ly_ctx* ctx, std::string_view fallback);
// The "line N" libyang reported with its last error, when any (for file messages).
std::optional<int> ly_error_line(const ly_ctx* ctx);
void clear_ly_errors(const ly_ctx* ctx);

// ---- persist.cpp: files and printing ----------------------------------------------
// Writes `content` to `file` so that a crash leaves the old or the new file: a temp
// file in the same directory, fsync, rename over, fsync the directory.
Status write_file_atomic(const std::filesystem::path& file, std::string_view content);
// Parses a whole configuration strictly and validates it (defaults added).
ConfigResult<TreePtr> parse_config(const ly_ctx* ctx, std::string_view text, Encoding encoding);
// Loads and validates a persisted datastore file; errors name the file and line.
Result<TreePtr> load_config_file(const ly_ctx* ctx, const std::filesystem::path& file);
// The tree printed with all its top-level siblings.
std::string print_tree(const lyd_node* tree, Encoding encoding, WithDefaults with_defaults);
// An owned copy of the nodes `xpath` selects (with their parents); empty xpath: all.
ConfigResult<TreePtr> select_tree(const lyd_node* tree, std::string_view xpath);
TreePtr copy_tree(const lyd_node* tree);
ConfigResult<void> validate_tree(const ly_ctx* ctx, TreePtr& tree);

// ---- edit.cpp: the edit-config engine (RFC 6241 7.2) -------------------------------
enum class EditOp : std::uint8_t { Merge, Replace, Create, Delete, Remove, None };
// Parses the content of <config> (XML) or an RFC 7951 document for editing: no
// validation, operation attributes kept, empty delete leaves accepted (opaque).
struct EditTree {
  TreePtr tree;
  std::optional<ConfigError> strict_error;  // set when `tree` holds opaque nodes
};
ConfigResult<EditTree> parse_edit(const ly_ctx* ctx, std::string_view text, Encoding encoding);
// Applies `edit` to `target` in place; `target` is a copy the caller throws away on
// error. Returns whether anything changed.
ConfigResult<bool> apply_edit(const ly_ctx* ctx, TreePtr& target, const EditTree& edit, EditOp default_op);
// Marks an edit node with an nc:operation attribute (RESTCONF PUT/POST).
ConfigResult<void> set_edit_op(const ly_ctx* ctx, lyd_node* node, EditOp op);

// ---- diff.cpp: old -> new as Change records ----------------------------------------
std::vector<Change> diff_changes(const lyd_node* before, const lyd_node* after);
std::vector<Change> reverse_changes(std::span<const Change> changes);
bool path_in_subtree(std::string_view path, std::string_view subtree);

// ---- audit.cpp --------------------------------------------------------------------
std::string_view datastore_name(Datastore datastore);
// One JSON object per line: time (ISO-8601 UTC), user, via, datastore, diff.
Status append_audit(const std::filesystem::path& file, const Session& session, Datastore datastore,
                    std::string_view operation, std::span<const Change> changes);

struct ConfigStore::Impl {
  Options options;
  ContextPtr ctx;
  const lys_module* netconf = nullptr;  // ietf-netconf: the "operation" annotation

  // Guards everything below. Trees are immutable once installed; edits work on copies.
  mutable std::mutex mutex;
  Tree running;
  Tree candidate;
  Tree startup;                 // null: no startup configuration
  bool candidate_modified = false;
  std::array<std::optional<std::uint32_t>, 3> locks;  // holder per Datastore
  std::uint32_t candidate_modified_by = 0;
  std::vector<std::pair<std::string, Applier*>> appliers;

  // The libyang context; fixed after open(), safe to use without the mutex.
  ly_ctx* context() const { return ctx.get(); }
  // An owned copy of `source` (or of what `xpath` selects); takes the mutex.
  ConfigResult<TreePtr> select(Datastore source, std::string_view xpath = {}) const;
  // Who holds the lock on `datastore`, if anyone; takes the mutex.
  std::optional<std::uint32_t> lock_holder(Datastore datastore) const;

  // ---- the rest requires `mutex` to be held ----
  Tree make_tree(TreePtr tree) const { return std::make_shared<const Snapshot::Impl>(ctx, std::move(tree)); }
  Tree& tree_of(Datastore datastore);
  // in-use when another session holds the lock on `datastore`.
  ConfigResult<void> check_writable(const Session& session, Datastore datastore) const;
  // Hands the changes to the appliers, persists, swaps `next` (validated) in as running
  // and writes the audit record. On any refusal nothing changes.
  ConfigResult<void> install_running(const Session& session, TreePtr next, std::string_view operation);
  // Replaces the candidate (not validated) and records the edit.
  void install_candidate(const Session& session, TreePtr next, bool modified, std::string_view operation);
  ConfigResult<void> install_startup(const Session& session, TreePtr next, std::string_view operation);
  ConfigResult<void> edit_tree(const Session& session, Datastore target, const EditTree& edit,
                               DefaultOperation default_op, TestOption test_option);
  // The common end of every edit: `work` is the edited copy of `target`.
  ConfigResult<void> finish_edit(const Session& session, Datastore target, TreePtr work, bool changed,
                                 TestOption test_option, std::string_view operation);
  std::filesystem::path file_of(Datastore datastore) const;
};

}  // namespace sipbox::config
