// The edit-config engine (RFC 6241 7.2): applies an edit tree, whose nodes may carry
// nc:operation attributes, to a copy of the target datastore.
#include <cstring>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

constexpr const char* kNetconfNs = "urn:ietf:params:xml:ns:netconf:base:1.0";

std::string node_path(const lyd_node* node) {
  char* text = lyd_path(node, LYD_PATH_STD, nullptr, 0);
  std::string out = text ? text : "";
  std::free(text);
  return out;
}

Unexpected<ConfigError> edit_fail(std::string tag, std::string message, std::string path,
                                  std::string type = "application") {
  ConfigError e;
  e.tag = std::move(tag);
  e.type = std::move(type);
  e.message = std::move(message);
  e.path = std::move(path);
  return {std::move(e)};
}

std::optional<EditOp> op_named(std::string_view name) {
  if (name == "merge") return EditOp::Merge;
  if (name == "replace") return EditOp::Replace;
  if (name == "create") return EditOp::Create;
  if (name == "delete") return EditOp::Delete;
  if (name == "remove") return EditOp::Remove;
  if (name == "none") return EditOp::None;
  return std::nullopt;
}

class Engine {
 public:
  Engine(const ly_ctx* ctx, TreePtr& root) : ctx_(ctx), root_(root) {
    netconf_ = ly_ctx_get_module_implemented(ctx, "ietf-netconf");
  }

  bool changed() const { return changed_; }

  // Applies the edit siblings starting at `edit` under `parent` (null: top level).
  ConfigResult<void> siblings(lyd_node* parent, const lyd_node* edit, EditOp inherited) {
    for (const lyd_node* e = edit; e; e = e->next) {
      if (parent && e->schema && lysc_is_key(e->schema)) continue;  // matched with the list entry
      if (auto done = node(parent, e, inherited); !done) return done;
    }
    return {};
  }

  // default-operation replace: the <config> content replaces the whole datastore
  // (RFC 6241 7.2), so top-level nodes the edit does not name go away.
  void drop_unnamed_top_level(const lyd_node* edit) {
    for (lyd_node* t = root_.get(); t;) {
      lyd_node* next = t->next;
      bool named = false;
      for (const lyd_node* e = edit; e && !named; e = e->next) named = e->schema == t->schema;
      if (!named) remove(t);
      t = next;
    }
  }

 private:
  ConfigResult<EditOp> op_of(const lyd_node* e, EditOp inherited) const {
    const char* value = nullptr;
    if (e->schema) {
      if (const lyd_meta* meta = lyd_find_meta(e->meta, netconf_, "operation")) value = lyd_get_meta_value(meta);
    } else {
      for (const lyd_attr* a = reinterpret_cast<const lyd_node_opaq*>(e)->attr; a; a = a->next) {
        if (std::strcmp(a->name.name, "operation") != 0) continue;
        const char* module = a->name.module_ns;  // same member as module_name for JSON
        if (module && (std::strcmp(module, kNetconfNs) == 0 || std::strcmp(module, "ietf-netconf") == 0))
          value = a->value;
      }
    }
    if (!value) return inherited;
    if (auto op = op_named(value)) return *op;
    return edit_fail("bad-attribute", std::string("unknown operation \"") + value + "\"", node_path(e), "protocol");
  }

  lyd_node* first_child(lyd_node* parent) const { return parent ? lyd_child(parent) : root_.get(); }

  // The schema node of an opaque edit node (an empty leaf in a delete, pitfall 12).
  const lysc_node* opaque_schema(lyd_node* parent, const lyd_node* e) const {
    auto* opaq = reinterpret_cast<const lyd_node_opaq*>(e);
    const lys_module* module = nullptr;
    if (opaq->format == LY_VALUE_XML && opaq->name.module_ns) {
      module = ly_ctx_get_module_implemented_ns(ctx_, opaq->name.module_ns);
    } else if (opaq->format == LY_VALUE_JSON && opaq->name.module_name) {
      module = ly_ctx_get_module_implemented(ctx_, opaq->name.module_name);
    } else if (parent) {
      module = parent->schema->module;
    }
    if (!module) return nullptr;
    return lys_find_child(parent ? parent->schema : nullptr, module, opaq->name.name, 0, 0, 0);
  }

  void remove(lyd_node* node) {
    if (!node->parent && root_.get() == node) {
      lyd_node* next = node->next;
      lyd_unlink_tree(node);
      lyd_free_tree(node);
      (void)root_.release();
      root_.reset(next);
    } else {
      lyd_free_tree(node);
    }
    changed_ = true;
  }

  // Copies `e` (without its children, but with list keys) into the target under `parent`.
  ConfigResult<lyd_node*> insert_copy(lyd_node* parent, const lyd_node* e) {
    lyd_node* copy = nullptr;
    auto* inner = reinterpret_cast<lyd_node_inner*>(parent);
    if (lyd_dup_single(e, inner, LYD_DUP_NO_META, &copy) != LY_SUCCESS)
      return Unexpected<ConfigError>{ly_error(ctx_, "cannot copy the edit")};
    if (!parent) {
      lyd_node* first = root_.release();
      lyd_insert_sibling(first, copy, &first);
      root_.reset(first);
    }
    changed_ = true;
    return copy;
  }

  // create/replace: `e` and its subtree become the target's (after removing `existing`).
  ConfigResult<void> build(lyd_node* parent, const lyd_node* e, lyd_node* existing, EditOp op) {
    if (existing) remove(existing);
    auto copy = insert_copy(parent, e);
    if (!copy) return Unexpected<ConfigError>{copy.error()};
    if (e->schema->nodetype & LYD_NODE_INNER) return siblings(*copy, lyd_child(e), op);
    return {};
  }

  ConfigResult<void> node(lyd_node* parent, const lyd_node* e, EditOp inherited) {
    auto op_result = op_of(e, inherited);
    if (!op_result) return Unexpected<ConfigError>{op_result.error()};
    EditOp op = *op_result;

    const lysc_node* schema = e->schema;
    if (!schema) {
      // Only an empty leaf to delete or remove may fail the typed parse.
      schema = opaque_schema(parent, e);
      if (!schema || schema->nodetype != LYS_LEAF || lyd_child(e) || (op != EditOp::Delete && op != EditOp::Remove))
        return edit_fail("invalid-value", "", node_path(e));  // replaced by the strict parse's error
    }
    lyd_node* match = nullptr;
    if (e->schema && (schema->nodetype & (LYS_LIST | LYS_LEAFLIST)))
      lyd_find_sibling_first(first_child(parent), e, &match);
    else
      lyd_find_sibling_val(first_child(parent), schema, nullptr, 0, &match);
    // A node that exists only as a default is not there (RFC 6243 explicit basic mode).
    bool present = match && !(match->flags & LYD_DEFAULT);

    switch (op) {
      case EditOp::Delete:
        if (!present) return edit_fail("data-missing", "the data to delete does not exist", node_path(e));
        remove(match);
        return {};
      case EditOp::Remove:
        if (present) remove(match);
        return {};
      case EditOp::Create:
        if (present) return edit_fail("data-exists", "the data to create already exists", node_path(match));
        return build(parent, e, match, op);
      case EditOp::Replace:
        return build(parent, e, match, op);
      case EditOp::Merge:
      case EditOp::None:
        break;
    }

    if (schema->nodetype == LYS_LEAF) {
      if (op == EditOp::None) return {};
      if (!match) return build(parent, e, nullptr, op);
      LY_ERR rc = lyd_change_term(match, lyd_get_value(e));
      if (rc == LY_SUCCESS || rc == LY_EEXIST) changed_ = true;
      else if (rc != LY_ENOT) return Unexpected<ConfigError>{ly_error(ctx_, "cannot set the value")};
      return {};
    }
    if (schema->nodetype & (LYS_LEAFLIST | LYD_NODE_ANY)) {
      if (op == EditOp::None || (present && schema->nodetype == LYS_LEAFLIST)) return {};
      return build(parent, e, match, EditOp::Replace);
    }
    // Containers and list entries: descend, creating the node if needed.
    if (match) return siblings(match, lyd_child(e), op);
    bool changed_before = changed_;
    auto copy = insert_copy(parent, e);
    if (!copy) return Unexpected<ConfigError>{copy.error()};
    lyd_node* created = *copy;
    changed_ = false;
    auto done = siblings(created, lyd_child(e), op);
    if (done && op == EditOp::None && !changed_) {
      // With operation none, a level the edit only passes through is not created.
      remove(created);
      changed_ = changed_before;
    } else {
      changed_ = true;
    }
    return done;
  }

  const ly_ctx* ctx_;
  TreePtr& root_;
  const lys_module* netconf_ = nullptr;
  bool changed_ = false;
};

}  // namespace

ConfigResult<EditTree> parse_edit(const ly_ctx* ctx, std::string_view text, Encoding encoding) {
  std::string data(text);
  LYD_FORMAT format = encoding == Encoding::Json ? LYD_JSON : LYD_XML;
  constexpr std::uint32_t kOptions = LYD_PARSE_ONLY | LYD_PARSE_NO_STATE;
  clear_ly_errors(ctx);
  lyd_node* tree = nullptr;
  if (lyd_parse_data_mem(ctx, data.c_str(), format, kOptions | LYD_PARSE_STRICT, 0, &tree) == LY_SUCCESS)
    return EditTree{TreePtr(tree), std::nullopt};
  lyd_free_all(tree);
  ConfigError strict = ly_error(ctx, "the edit does not parse");
  // Pitfall 12: <port nc:operation="delete"/> fails the typed parse; parse opaque and
  // let the engine accept opaque nodes only as leaves to delete or remove.
  tree = nullptr;
  clear_ly_errors(ctx);
  if (lyd_parse_data_mem(ctx, data.c_str(), format, kOptions | LYD_PARSE_OPAQ, 0, &tree) != LY_SUCCESS) {
    lyd_free_all(tree);
    return Unexpected<ConfigError>{std::move(strict)};
  }
  TreePtr owned(tree);
  bool any_opaque = false;
  lyd_node* top = nullptr;
  LY_LIST_FOR(tree, top) {
    lyd_node* elem = nullptr;
    LYD_TREE_DFS_BEGIN(top, elem) {
      if (!elem->schema) any_opaque = true;
      LYD_TREE_DFS_END(top, elem);
    }
  }
  if (!any_opaque) return Unexpected<ConfigError>{std::move(strict)};
  return EditTree{std::move(owned), std::move(strict)};
}

ConfigResult<bool> apply_edit(const ly_ctx* ctx, TreePtr& target, const EditTree& edit, EditOp default_op) {
  Engine engine(ctx, target);
  if (default_op == EditOp::Replace) engine.drop_unnamed_top_level(edit.tree.get());
  auto done = engine.siblings(nullptr, edit.tree.get(), default_op);
  if (!done) {
    // An empty message marks an opaque node the engine refused: the strict parse's
    // error says what is wrong with it.
    if (done.error().message.empty() && edit.strict_error) return Unexpected<ConfigError>{*edit.strict_error};
    return Unexpected<ConfigError>{done.error()};
  }
  return engine.changed();
}

ConfigResult<void> set_edit_op(const ly_ctx* ctx, lyd_node* node, EditOp op) {
  static constexpr const char* kNames[] = {"merge", "replace", "create", "delete", "remove", "none"};
  const lys_module* netconf = ly_ctx_get_module_implemented(ctx, "ietf-netconf");
  clear_ly_errors(ctx);
  if (lyd_new_meta(ctx, node, netconf, "operation", kNames[static_cast<int>(op)], 0, nullptr) != LY_SUCCESS)
    return Unexpected<ConfigError>{ly_error(ctx, "cannot mark the edit")};
  return {};
}

}  // namespace sipbox::config
