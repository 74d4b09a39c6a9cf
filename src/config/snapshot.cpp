// Snapshot: read access to one immutable configuration tree.
#include "config/store_impl.h"

namespace sipbox::config {
namespace {

// The nodes `xpath` selects, in document order; empty on a bad XPath or empty tree.
template <class F>
void for_each_match(const Snapshot::Impl* impl, std::string_view xpath, F&& visit) {
  if (!impl || !impl->tree) return;
  ly_set* set = nullptr;
  clear_ly_errors(impl->ctx.get());
  if (lyd_find_xpath(impl->tree.get(), std::string(xpath).c_str(), &set) != LY_SUCCESS) return;
  for (std::uint32_t i = 0; i < set->count; ++i) {
    if (!visit(set->dnodes[i])) break;
  }
  ly_set_free(set, nullptr);
}

bool is_term(const lyd_node* node) { return node->schema && (node->schema->nodetype & LYD_NODE_TERM); }

}  // namespace

Snapshot::Snapshot() = default;
Snapshot::~Snapshot() = default;
Snapshot::Snapshot(const Snapshot&) = default;
Snapshot& Snapshot::operator=(const Snapshot&) = default;
Snapshot::Snapshot(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

std::optional<std::string> Snapshot::value(std::string_view xpath) const {
  std::optional<std::string> out;
  for_each_match(impl_.get(), xpath, [&](const lyd_node* node) {
    if (!is_term(node)) return true;
    out = lyd_get_value(node);
    return false;
  });
  return out;
}

std::vector<std::string> Snapshot::values(std::string_view xpath) const {
  std::vector<std::string> out;
  for_each_match(impl_.get(), xpath, [&](const lyd_node* node) {
    if (is_term(node)) out.emplace_back(lyd_get_value(node));
    return true;
  });
  return out;
}

std::string Snapshot::field(const Fields& fields, std::string_view name) {
  for (const auto& [key, value] : fields)
    if (key == name) return value;
  return {};
}

std::vector<Snapshot::Fields> Snapshot::entries(std::string_view xpath) const {
  std::vector<Fields> out;
  for_each_match(impl_.get(), xpath, [&](const lyd_node* node) {
    Fields& fields = out.emplace_back();
    const lyd_node* child = nullptr;
    LY_LIST_FOR(lyd_child(node), child) {
      if (is_term(child)) fields.emplace_back(child->schema->name, lyd_get_value(child));
    }
    return true;
  });
  return out;
}

std::size_t Snapshot::count(std::string_view xpath) const {
  std::size_t n = 0;
  for_each_match(impl_.get(), xpath, [&](const lyd_node*) { return ++n, true; });
  return n;
}

std::string Snapshot::print(Encoding encoding, WithDefaults with_defaults, std::string_view xpath) const {
  if (!impl_) return {};
  if (xpath.empty()) return print_tree(impl_->tree.get(), encoding, with_defaults);
  auto selected = select_tree(impl_->tree.get(), xpath);
  if (!selected) return {};
  return print_tree(selected->get(), encoding, with_defaults);
}

}  // namespace sipbox::config
