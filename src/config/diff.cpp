// The difference between two running trees, as the Change records appliers and the
// audit log see.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

std::string path_of(const lyd_node* node) {
  char* text = lyd_path(node, LYD_PATH_STD, nullptr, 0);
  std::string out = text ? text : "";
  std::free(text);
  return out;
}

std::string value_of(const lyd_node* node) {
  if (!node->schema || !(node->schema->nodetype & LYD_NODE_TERM)) return {};
  const char* value = lyd_get_value(node);
  return value ? value : "";
}

const char* diff_op(const lyd_node* node) {
  const lyd_meta* meta = lyd_find_meta(node->meta, nullptr, "yang:operation");
  return meta ? lyd_get_meta_value(meta) : nullptr;
}

// A created or deleted subtree: the node itself, then every leaf below it (keys are
// in the paths already), so an applier owning a deeper subtree still sees its part.
void whole_subtree(const lyd_node* node, Change::Kind kind, std::vector<Change>& out) {
  const lyd_node* elem = nullptr;
  LYD_TREE_DFS_BEGIN(node, elem) {
    bool is_root = elem == node;
    bool is_term = elem->schema && (elem->schema->nodetype & LYD_NODE_TERM);
    if (is_root || (is_term && !lysc_is_key(elem->schema))) {
      Change change;
      change.kind = kind;
      change.path = path_of(elem);
      (kind == Change::Kind::Create ? change.new_value : change.old_value) = value_of(elem);
      out.push_back(std::move(change));
    }
    LYD_TREE_DFS_END(node, elem);
  }
}

void walk(const lyd_node* node, std::vector<Change>& out) {
  for (; node; node = node->next) {
    const char* op = diff_op(node);
    if (op && std::strcmp(op, "create") == 0) {
      whole_subtree(node, Change::Kind::Create, out);
    } else if (op && std::strcmp(op, "delete") == 0) {
      whole_subtree(node, Change::Kind::Delete, out);
    } else if (op && std::strcmp(op, "replace") == 0) {
      Change change;
      change.kind = Change::Kind::Replace;
      change.path = path_of(node);
      change.new_value = value_of(node);
      if (const lyd_meta* orig = lyd_find_meta(node->meta, nullptr, "yang:orig-value"))
        change.old_value = lyd_get_meta_value(orig);
      // A leaf that only lost or gained its default flag has not changed value.
      bool is_leaf = node->schema && node->schema->nodetype == LYS_LEAF;
      if (!is_leaf || change.old_value != change.new_value) out.push_back(std::move(change));
      walk(lyd_child(node), out);
    } else {
      walk(lyd_child(node), out);
    }
  }
}

}  // namespace

std::vector<Change> diff_changes(const lyd_node* before, const lyd_node* after) {
  std::vector<Change> out;
  lyd_node* diff = nullptr;
  // With defaults compared too, a leaf going back to its default is a replace with the
  // default value, not a bare delete the applier would have to interpret.
  if (lyd_diff_siblings(before, after, LYD_DIFF_DEFAULTS, &diff) != LY_SUCCESS) {
    lyd_free_all(diff);
    return out;
  }
  walk(diff, out);
  lyd_free_all(diff);
  return out;
}

std::vector<Change> reverse_changes(std::span<const Change> changes) {
  std::vector<Change> out(changes.rbegin(), changes.rend());
  for (Change& change : out) {
    if (change.kind == Change::Kind::Create) change.kind = Change::Kind::Delete;
    else if (change.kind == Change::Kind::Delete) change.kind = Change::Kind::Create;
    std::swap(change.old_value, change.new_value);
  }
  return out;
}

bool path_in_subtree(std::string_view path, std::string_view subtree) {
  if (subtree.empty() || subtree == "/") return true;
  if (path.substr(0, subtree.size()) != subtree) return false;
  return path.size() == subtree.size() || path[subtree.size()] == '/' || path[subtree.size()] == '[';
}

}  // namespace sipbox::config
