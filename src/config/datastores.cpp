// The operations that change a datastore: edits, copies, commit, and the one path
// every change to running takes (validate, appliers, persist, swap, audit).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

EditOp edit_op(DefaultOperation op) {
  switch (op) {
    case DefaultOperation::Replace: return EditOp::Replace;
    case DefaultOperation::None: return EditOp::None;
    case DefaultOperation::Merge: break;
  }
  return EditOp::Merge;
}

Unexpected<ConfigError> not_supported(std::string message) {
  ConfigError e;
  e.tag = "operation-not-supported";
  e.type = "protocol";
  e.message = std::move(message);
  return {std::move(e)};
}

// "/m:a/b[k='x/y']/c" -> "/m:a/b[k='x/y']"; "/m:a" -> "".
std::string parent_path(std::string_view path) {
  std::size_t last = std::string_view::npos;
  int depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[') {
      ++depth;
    } else if (c == ']') {
      --depth;
    } else if (c == '/' && depth == 0) {
      last = i;
    }
  }
  return last == std::string_view::npos || last == 0 ? std::string() : std::string(path.substr(0, last));
}

// Unlinks and frees `node`, keeping `tree` pointing at the first top-level sibling.
void remove_node(TreePtr& tree, lyd_node* node) {
  lyd_node* root = tree.release();
  if (node == root) root = node->next;
  lyd_free_tree(node);
  tree.reset(root);
}

}  // namespace

ConfigResult<void> ConfigStore::Impl::install_running(const Session& session, TreePtr next,
                                                      std::string_view operation) {
  std::vector<Change> changes = diff_changes(running->tree.get(), next.get());
  Tree next_tree = make_tree(std::move(next));
  Snapshot next_snapshot(next_tree);
  Snapshot old_snapshot(running);

  struct Called {
    Applier* applier;
    std::vector<Change> changes;
  };
  std::vector<Called> called;
  auto roll_back = [&] {
    for (auto it = called.rbegin(); it != called.rend(); ++it) {
      auto reverse = reverse_changes(it->changes);
      (void)it->applier->apply(old_snapshot, reverse);  // best effort: it accepted these before
    }
  };
  for (auto& [subtree, applier] : appliers) {
    std::vector<Change> mine;
    for (const Change& change : changes)
      if (path_in_subtree(change.path, subtree)) mine.push_back(change);
    if (mine.empty()) continue;
    if (Status applied = applier->apply(next_snapshot, mine); !applied) {
      roll_back();
      ConfigError error;
      error.message = applied.error().message;
      error.path = mine.front().path;
      return Unexpected<ConfigError>{std::move(error)};
    }
    called.push_back({applier, std::move(mine)});
  }
  auto text = print_tree(next_tree->tree.get(), Encoding::Xml, WithDefaults::Explicit);
  if (Status saved = write_file_atomic(file_of(Datastore::Running), text); !saved) {
    roll_back();
    return config_fail("operation-failed", saved.error().message);
  }
  running = std::move(next_tree);
  if (!candidate_modified) candidate = running;  // an untouched candidate follows running
  // The change is in effect and saved; a failing audit write must not undo it.
  (void)append_audit(options.data_dir / "audit.log", session, Datastore::Running, operation, changes);
  return {};
}

void ConfigStore::Impl::install_candidate(const Session& session, TreePtr next, bool modified,
                                          std::string_view operation) {
  std::vector<Change> changes = diff_changes(candidate->tree.get(), next.get());
  candidate = make_tree(std::move(next));
  candidate_modified = modified;
  if (modified) candidate_modified_by = session.id;
  (void)append_audit(options.data_dir / "audit.log", session, Datastore::Candidate, operation, changes);
}

ConfigResult<void> ConfigStore::Impl::install_startup(const Session& session, TreePtr next,
                                                      std::string_view operation) {
  std::vector<Change> changes = diff_changes(startup ? startup->tree.get() : nullptr, next.get());
  auto text = print_tree(next.get(), Encoding::Xml, WithDefaults::Explicit);
  if (Status saved = write_file_atomic(file_of(Datastore::Startup), text); !saved)
    return config_fail("operation-failed", saved.error().message);
  startup = make_tree(std::move(next));
  (void)append_audit(options.data_dir / "audit.log", session, Datastore::Startup, operation, changes);
  return {};
}

ConfigResult<void> ConfigStore::Impl::finish_edit(const Session& session, Datastore target, TreePtr work,
                                                  bool changed, TestOption test_option, std::string_view operation) {
  if (target == Datastore::Candidate) {
    // RFC 6241 8.3: candidate edits are validated at validate or commit time.
    lyd_node* root = work.release();
    lyd_new_implicit_all(&root, ctx.get(), LYD_IMPLICIT_NO_STATE, nullptr);
    work.reset(root);
    if (test_option == TestOption::TestOnly) return validate_tree(ctx.get(), work);
    if (changed) install_candidate(session, std::move(work), true, operation);
    return {};
  }
  // Running is always valid: test-option `set` validates too.
  if (!changed && test_option != TestOption::TestOnly) return {};
  if (auto valid = validate_tree(ctx.get(), work); !valid) return valid;
  if (test_option == TestOption::TestOnly || !changed) return {};
  return install_running(session, std::move(work), operation);
}

ConfigResult<void> ConfigStore::Impl::edit_tree(const Session& session, Datastore target, const EditTree& edit,
                                                DefaultOperation default_op, TestOption test_option) {
  if (target == Datastore::Startup) return not_supported("edit-config cannot target startup; use copy-config");
  if (auto writable = check_writable(session, target); !writable) return writable;
  TreePtr work = copy_tree(tree_of(target)->tree.get());
  auto changed = apply_edit(ctx.get(), work, edit, edit_op(default_op));
  if (!changed) return Unexpected<ConfigError>{changed.error()};
  return finish_edit(session, target, std::move(work), *changed, test_option, "edit-config");
}

// error-option: whatever is asked, an edit is applied whole or not at all
// (rollback-on-error), the only behaviour that keeps running valid.
ConfigResult<void> ConfigStore::edit_config(const Session& session, Datastore target, std::string_view config,
                                            Encoding encoding, DefaultOperation default_operation,
                                            TestOption test_option, ErrorOption /*error_option*/) {
  auto edit = parse_edit(impl_->context(), config, encoding);
  if (!edit) return Unexpected<ConfigError>{edit.error()};
  std::lock_guard guard(impl_->mutex);
  return impl_->edit_tree(session, target, *edit, default_operation, test_option);
}

ConfigResult<void> ConfigStore::edit_path(const Session& session, Datastore target, std::string_view xpath,
                                          PathEdit kind, std::string_view body, Encoding encoding) {
  const ly_ctx* ctx = impl_->context();
  bool root = xpath.empty() || xpath == "/";
  std::string path(xpath);
  if (kind == PathEdit::Delete) {
    if (root) return not_supported("the whole datastore cannot be deleted");
    std::lock_guard guard(impl_->mutex);
    if (target == Datastore::Startup) return not_supported("edits cannot target startup");
    if (auto writable = impl_->check_writable(session, target); !writable) return writable;
    TreePtr work = copy_tree(impl_->tree_of(target)->tree.get());
    lyd_node* match = nullptr;
    clear_ly_errors(ctx);
    LY_ERR rc = work ? lyd_find_path(work.get(), path.c_str(), 0, &match) : LY_ENOTFOUND;
    if (rc != LY_SUCCESS && rc != LY_ENOTFOUND && rc != LY_EINCOMPLETE) {
      ConfigError error = ly_error(ctx, "invalid path");
      error.tag = "invalid-value";
      return Unexpected<ConfigError>{std::move(error)};
    }
    // LY_EINCOMPLETE sets `match` to the nearest existing parent: not the resource.
    if (rc != LY_SUCCESS || !match || (match->flags & LYD_DEFAULT)) return config_fail("data-missing", "the data to delete does not exist", path);
    remove_node(work, match);
    return impl_->finish_edit(session, target, std::move(work), true, TestOption::TestThenSet, "edit");
  }

  // Build the edit: the ancestors named by the path, then the body parsed under them.
  std::string parent = kind == PathEdit::Create ? path : parent_path(path);
  if (kind == PathEdit::Create && root) parent.clear();
  EditTree edit;
  lyd_node* parent_node = nullptr;
  clear_ly_errors(ctx);
  if (!parent.empty()) {
    lyd_node* top = nullptr;
    if (lyd_new_path2(nullptr, ctx, parent.c_str(), nullptr, 0, LYD_ANYDATA_STRING, 0, &top, &parent_node) !=
        LY_SUCCESS) {
      ConfigError error = ly_error(ctx, "invalid path");
      error.tag = "invalid-value";
      return Unexpected<ConfigError>{std::move(error)};
    }
    edit.tree.reset(top);
  }
  std::vector<lyd_node*> before;
  for (lyd_node* c = parent_node ? lyd_child(parent_node) : nullptr; c; c = c->next) before.push_back(c);
  std::string text(body);
  ly_in* in = nullptr;
  ly_in_new_memory(text.c_str(), &in);
  lyd_node* parsed = nullptr;
  LY_ERR rc = lyd_parse_data(ctx, parent_node, in, encoding == Encoding::Json ? LYD_JSON : LYD_XML,
                             LYD_PARSE_ONLY | LYD_PARSE_STRICT | LYD_PARSE_NO_STATE, 0, parent_node ? nullptr : &parsed);
  ly_in_free(in, 0);
  if (!parent_node) edit.tree.reset(parsed);
  if (rc != LY_SUCCESS) return Unexpected<ConfigError>{ly_error(ctx, "the body does not parse")};

  std::vector<lyd_node*> added;
  for (lyd_node* c = parent_node ? lyd_child(parent_node) : edit.tree.get(); c; c = c->next)
    if (std::find(before.begin(), before.end(), c) == before.end()) added.push_back(c);
  if (added.empty()) return config_fail("invalid-value", "the request body holds no data", path);

  DefaultOperation default_op = DefaultOperation::Merge;
  if (kind == PathEdit::Create) {
    for (lyd_node* node : added)
      if (auto marked = set_edit_op(ctx, node, EditOp::Create); !marked) return marked;
  } else if (root) {
    if (kind == PathEdit::Replace) default_op = DefaultOperation::Replace;
  } else {
    lyd_node* resource = nullptr;
    if (lyd_find_path(edit.tree.get(), path.c_str(), 0, &resource) != LY_SUCCESS)
      return config_fail("invalid-value", "the request body does not hold the resource " + path, path);
    if (kind == PathEdit::Replace)
      if (auto marked = set_edit_op(ctx, resource, EditOp::Replace); !marked) return marked;
  }
  std::lock_guard guard(impl_->mutex);
  return impl_->edit_tree(session, target, edit, default_op, TestOption::TestThenSet);
}

ConfigResult<void> ConfigStore::set_leaf(const Session& session, std::string_view xpath, std::string_view value) {
  const ly_ctx* ctx = impl_->context();
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, Datastore::Running); !writable) return writable;
  TreePtr work = copy_tree(impl_->running->tree.get());
  lyd_node* root = work.release();
  lyd_node* created = nullptr;
  clear_ly_errors(ctx);
  LY_ERR rc = lyd_new_path(root, ctx, std::string(xpath).c_str(), std::string(value).c_str(), LYD_NEW_PATH_UPDATE,
                           &created);
  if (!root) root = created;
  work.reset(root ? lyd_first_sibling(root) : nullptr);
  if (rc != LY_SUCCESS) {
    ConfigError error = ly_error(ctx, "cannot set the value");
    if (error.path.empty()) error.path = std::string(xpath);
    return Unexpected<ConfigError>{std::move(error)};
  }
  return impl_->finish_edit(session, Datastore::Running, std::move(work), true, TestOption::TestThenSet, "set");
}

ConfigResult<void> ConfigStore::replace_running(const Session& session, std::string_view config, Encoding encoding) {
  auto tree = parse_config(impl_->context(), config, encoding);
  if (!tree) return Unexpected<ConfigError>{tree.error()};
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, Datastore::Running); !writable) return writable;
  return impl_->install_running(session, std::move(tree).value(), "import");
}

// RFC 6241 7.3 with :candidate and :startup: any of the three to any other.
ConfigResult<void> ConfigStore::copy_config(const Session& session, Datastore target, Datastore source) {
  if (target == source) return config_fail("invalid-value", "source and target are the same datastore");
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, target); !writable) return writable;
  Tree from = impl_->tree_of(source);
  if (!from) return config_fail("data-missing", "the startup configuration does not exist");
  TreePtr work = copy_tree(from->tree.get());
  switch (target) {
    case Datastore::Candidate:
      impl_->install_candidate(session, std::move(work), source != Datastore::Running, "copy-config");
      return {};
    case Datastore::Startup:
      if (auto valid = validate_tree(impl_->context(), work); !valid) return valid;
      return impl_->install_startup(session, std::move(work), "copy-config");
    case Datastore::Running:
      break;
  }
  if (auto valid = validate_tree(impl_->context(), work); !valid) return valid;
  if (auto installed = impl_->install_running(session, std::move(work), "copy-config"); !installed) return installed;
  if (source == Datastore::Candidate) impl_->candidate = impl_->running, impl_->candidate_modified = false;
  return {};
}

// RFC 6241 7.4: only startup can be deleted; running never.
ConfigResult<void> ConfigStore::delete_config(const Session& session, Datastore target) {
  if (target != Datastore::Startup)
    return not_supported("only the startup datastore can be deleted (RFC 6241 7.4)");
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, target); !writable) return writable;
  if (!impl_->startup) return {};
  auto file = impl_->file_of(Datastore::Startup);
  if (::unlink(file.c_str()) != 0 && errno != ENOENT)
    return config_fail("operation-failed", "cannot delete " + file.string() + ": " + std::strerror(errno));
  std::vector<Change> changes = diff_changes(impl_->startup->tree.get(), nullptr);
  impl_->startup.reset();
  (void)append_audit(audit_log_path(), session, Datastore::Startup, "delete-config", changes);
  return {};
}

ConfigResult<void> ConfigStore::commit(const Session& session) {
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, Datastore::Running); !writable) return writable;
  if (auto writable = impl_->check_writable(session, Datastore::Candidate); !writable) return writable;
  if (!impl_->candidate_modified) return {};
  TreePtr work = copy_tree(impl_->candidate->tree.get());
  if (auto valid = validate_tree(impl_->context(), work); !valid) return valid;
  if (auto installed = impl_->install_running(session, std::move(work), "commit"); !installed) return installed;
  impl_->candidate = impl_->running;
  impl_->candidate_modified = false;
  return {};
}

ConfigResult<void> ConfigStore::discard_changes(const Session& session) {
  std::lock_guard guard(impl_->mutex);
  if (auto writable = impl_->check_writable(session, Datastore::Candidate); !writable) return writable;
  impl_->candidate = impl_->running;
  impl_->candidate_modified = false;
  return {};
}

}  // namespace sipbox::config
