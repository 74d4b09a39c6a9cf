// NETCONF RPC handlers: each operation is parsed by libnetconf2, validated here
// (pitfall 10), checked against the caller's role and delegated to ConfigStore;
// ConfigError becomes an rpc-error with the same tag, type, path, message and app-tag.
#include <libyang/libyang.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/netconf_internal.h"
#include "config/store_impl.h"

namespace sipbox::config {
namespace {

// ---------------------------------------------------------------- errors

NC_ERR tag_of(std::string_view tag) {
  static constexpr std::pair<std::string_view, NC_ERR> kTags[] = {
      {"in-use", NC_ERR_IN_USE},
      {"invalid-value", NC_ERR_INVALID_VALUE},
      {"too-big", NC_ERR_TOO_BIG},
      {"missing-attribute", NC_ERR_MISSING_ATTR},
      {"bad-attribute", NC_ERR_BAD_ATTR},
      {"unknown-attribute", NC_ERR_UNKNOWN_ATTR},
      {"missing-element", NC_ERR_MISSING_ELEM},
      {"bad-element", NC_ERR_BAD_ELEM},
      {"unknown-element", NC_ERR_UNKNOWN_ELEM},
      {"unknown-namespace", NC_ERR_UNKNOWN_NS},
      {"access-denied", NC_ERR_ACCESS_DENIED},
      {"lock-denied", NC_ERR_LOCK_DENIED},
      {"resource-denied", NC_ERR_RES_DENIED},
      {"rollback-failed", NC_ERR_ROLLBACK_FAILED},
      {"data-exists", NC_ERR_DATA_EXISTS},
      {"data-missing", NC_ERR_DATA_MISSING},
      {"operation-not-supported", NC_ERR_OP_NOT_SUPPORTED},
      {"operation-failed", NC_ERR_OP_FAILED},
      {"malformed-message", NC_ERR_MALFORMED_MSG},
  };
  for (const auto& [name, value] : kTags)
    if (name == tag) return value;
  return NC_ERR_OP_FAILED;
}

NC_ERR_TYPE type_of(std::string_view type) {
  if (type == "transport") return NC_ERR_TYPE_TRAN;
  if (type == "rpc") return NC_ERR_TYPE_RPC;
  if (type == "protocol") return NC_ERR_TYPE_PROT;
  return NC_ERR_TYPE_APP;
}

// The last name of a data path: "/m:a/b[k='v']" -> "b".
std::string element_of(std::string_view path) {
  std::string out;
  int depth = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '[') ++depth;
    if (depth == 0 && c == '/') out.clear();
    if (depth == 0 && c != '/' && c != '[' && c != ']') out.push_back(c);
    if (c == ']') --depth;
  }
  if (const auto colon = out.find(':'); colon != std::string::npos) out.erase(0, colon + 1);
  return out;
}

lyd_node* make_error(const ly_ctx* ctx, NC_ERR tag, NC_ERR_TYPE type, const ConfigError& e) {
  const std::string element = element_of(e.path);
  switch (tag) {
    case NC_ERR_LOCK_DENIED:
      return nc_err(ctx, tag, e.lock_holder);
    case NC_ERR_DATA_EXISTS:
    case NC_ERR_DATA_MISSING:
    case NC_ERR_MALFORMED_MSG:
      return nc_err(ctx, tag);
    case NC_ERR_MISSING_ATTR:
    case NC_ERR_BAD_ATTR:
    case NC_ERR_UNKNOWN_ATTR:
      return nc_err(ctx, tag, type, "operation", element.c_str());
    case NC_ERR_MISSING_ELEM:
    case NC_ERR_BAD_ELEM:
    case NC_ERR_UNKNOWN_ELEM:
      return nc_err(ctx, tag, type, element.c_str());
    case NC_ERR_UNKNOWN_NS:
      return nc_err(ctx, tag, type, element.c_str(), "");
    default:
      return nc_err(ctx, tag, type);
  }
}

nc_server_reply* error_reply(const ly_ctx* ctx, const ConfigError& e) {
  const NC_ERR tag = tag_of(e.tag);
  lyd_node* err = make_error(ctx, tag, type_of(e.type), e);
  // nc_err refuses some tag/type pairs that RFC 6241 Appendix A rules out.
  if (!err) err = make_error(ctx, tag, NC_ERR_TYPE_APP, e);
  if (!err) err = nc_err(ctx, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP);
  if (!err) return nullptr;
  if (!e.message.empty()) nc_err_set_msg(err, e.message.c_str(), "en");
  if (!e.path.empty()) nc_err_set_path(err, e.path.c_str());
  if (!e.app_tag.empty()) nc_err_set_app_tag(err, e.app_tag.c_str());
  return nc_server_reply_err(err);
}

ConfigError make_config_error(std::string tag, std::string message, std::string type = "application",
                              std::string path = {}) {
  ConfigError e;
  e.tag = std::move(tag);
  e.type = std::move(type);
  e.message = std::move(message);
  e.path = std::move(path);
  return e;
}

// libyang's last error (store_impl.h's mapping) with the tag and type given.
ConfigError libyang_error(const ly_ctx* ctx, std::string tag, std::string type, std::string_view fallback) {
  ConfigError e = ly_error(ctx, fallback);
  e.tag = std::move(tag);
  e.type = std::move(type);
  return e;
}

// ---------------------------------------------------------------- helpers

struct Call {
  NetconfServer::Impl& server;
  nc_session* session;
  lyd_node* rpc;
  Session who;

  const ly_ctx* ctx() const { return server.ctx; }
  nc_server_reply* fail(const ConfigError& e) const { return error_reply(server.ctx, e); }
  nc_server_reply* fail(std::string tag, std::string message, std::string type = "application") const {
    return fail(make_config_error(std::move(tag), std::move(message), std::move(type)));
  }
  nc_server_reply* done(const ConfigResult<void>& r) const { return r ? nc_server_reply_ok() : fail(r.error()); }
};

lyd_node* child(const lyd_node* parent, const char* name) {
  lyd_node* node = nullptr;
  return lyd_find_path(parent, name, 0, &node) == LY_SUCCESS ? node : nullptr;
}

std::string child_value(const lyd_node* parent, const char* name) {
  const lyd_node* node = child(parent, name);
  const char* value = node ? lyd_get_value(node) : nullptr;
  return value ? value : "";
}

// The datastore named inside <source>/<target>, or the inline <config>.
struct Where {
  enum Kind { Missing, Store, Config, Url } kind = Missing;
  Datastore datastore = Datastore::Running;
  const lyd_node* config = nullptr;
};

Where where(const lyd_node* rpc, const char* container) {
  Where w;
  const lyd_node* c = child(rpc, container);
  if (!c) return w;
  for (const lyd_node* n = lyd_child(c); n; n = n->next) {
    if (!n->schema) continue;
    const std::string_view name = n->schema->name;
    if (name == "running")
      w = {Where::Store, Datastore::Running, nullptr};
    else if (name == "candidate")
      w = {Where::Store, Datastore::Candidate, nullptr};
    else if (name == "startup")
      w = {Where::Store, Datastore::Startup, nullptr};
    else if (name == "config")
      w = {Where::Config, Datastore::Running, n};
    else if (name == "url")
      w = {Where::Url, Datastore::Running, nullptr};
    if (w.kind != Where::Missing) break;
  }
  return w;
}

std::string any_text(const lyd_node* any) {
  char* text = nullptr;
  if (lyd_any_value_str(any, &text) != LY_SUCCESS || !text) return {};
  std::string out(text);
  std::free(text);
  return out;
}

NC_WD_MODE with_defaults_of(const lyd_node* rpc) {
  const std::string mode = child_value(rpc, "ietf-netconf-with-defaults:with-defaults");
  if (mode == "report-all") return NC_WD_ALL;
  if (mode == "report-all-tagged") return NC_WD_ALL_TAG;
  if (mode == "trim") return NC_WD_TRIM;
  return NC_WD_EXPLICIT;
}

// An owned copy of a datastore; default nodes keep LYD_DEFAULT, so libnetconf2 prints
// the reply in any with-defaults mode.
ConfigResult<TreePtr> load(const Call& call, Datastore ds) { return call.server.store.impl().select(ds); }

// ---------------------------------------------------------------- filters

// One element of a subtree filter, typed (schema) or opaque.
struct FilterNode {
  std::string name;
  const lys_module* module = nullptr;  // nullptr: namespace unknown to the server
  std::string text;
};

FilterNode describe(const ly_ctx* ctx, const lyd_node* node, const lys_module* parent_module) {
  FilterNode f;
  if (node->schema) {
    f.name = node->schema->name;
    f.module = node->schema->module;
    if (node->schema->nodetype & LYD_NODE_TERM) {
      const char* v = lyd_get_value(node);
      f.text = v ? v : "";
    }
  } else {
    const auto* opaq = reinterpret_cast<const lyd_node_opaq*>(node);
    f.name = opaq->name.name ? opaq->name.name : "";
    const char* ns = opaq->format == LY_VALUE_XML ? opaq->name.module_ns : nullptr;
    f.module = ns && *ns ? ly_ctx_get_module_implemented_ns(ctx, ns) : parent_module;
    if (opaq->format == LY_VALUE_JSON && opaq->name.module_name)
      f.module = ly_ctx_get_module_implemented(ctx, opaq->name.module_name);
    f.text = opaq->value ? opaq->value : "";
  }
  const auto first = f.text.find_first_not_of(" \t\r\n");
  f.text =
      first == std::string::npos ? std::string() : f.text.substr(first, f.text.find_last_not_of(" \t\r\n") - first + 1);
  return f;
}

// RFC 6241 6.2: containment nodes recurse, content-match nodes become predicates (and
// are selected themselves), selection nodes select; a node with only content-match
// children is selected whole.
void subtree_paths(const ly_ctx* ctx, const lyd_node* node, const std::string& base, const lys_module* parent_module,
                   std::vector<std::string>& out) {
  const FilterNode f = describe(ctx, node, parent_module);
  if (!f.module) return;  // unknown namespace: selects nothing
  const std::string step = base + "/" + f.module->name + ":" + f.name;
  const lyd_node* children = lyd_child(node);
  if (!children) {
    out.push_back(f.text.empty() ? step : step + "[.=" + xpath_literal(f.text) + "]");
    return;
  }
  std::string predicates;
  std::vector<std::string> matches;
  std::vector<const lyd_node*> others;
  for (const lyd_node* c = children; c; c = c->next) {
    const FilterNode cf = describe(ctx, c, f.module);
    if (!lyd_child(c) && !cf.text.empty() && cf.module) {
      const std::string name = std::string(cf.module->name) + ":" + cf.name;
      predicates += "[" + name + "=" + xpath_literal(cf.text) + "]";
      matches.push_back(name);
    } else {
      others.push_back(c);
    }
  }
  const std::string selected = step + predicates;
  if (others.empty()) {
    out.push_back(selected);
    return;
  }
  for (const auto& m : matches) out.push_back(selected + "/" + m);
  for (const lyd_node* c : others) subtree_paths(ctx, c, selected, f.module, out);
}

// nullopt: no filter (everything); "": a filter that selects nothing.
ConfigResult<std::optional<std::string>> read_filter(const Call& call) {
  const lyd_node* filter = child(call.rpc, "filter");
  if (!filter) return std::optional<std::string>();
  const lys_module* nc = call.server.netconf_module;
  const lyd_meta* type = lyd_find_meta(filter->meta, nc, "type");
  const std::string kind = type ? lyd_get_meta_value(type) : "subtree";
  if (kind == "xpath") {
    const lyd_meta* select = lyd_find_meta(filter->meta, nc, "select");
    if (!select)
      return Unexpected<ConfigError>{make_config_error("missing-attribute", "XPath filter without select", "protocol")};
    return std::optional<std::string>(lyd_get_meta_value(select));
  }
  const auto* any = reinterpret_cast<const lyd_node_any*>(filter);
  TreePtr parsed;
  const lyd_node* content = nullptr;
  if (any->value_type == LYD_ANYDATA_DATATREE) {
    content = any->value.tree;
  } else if (any->value.str && *any->value.str) {
    lyd_node* tree = nullptr;
    clear_ly_errors(call.ctx());
    if (lyd_parse_data_mem(call.ctx(), any->value.str, LYD_XML, LYD_PARSE_ONLY | LYD_PARSE_OPAQ, 0, &tree) !=
        LY_SUCCESS)
      return Unexpected<ConfigError>{libyang_error(call.ctx(), "invalid-value", "protocol", "bad subtree filter")};
    parsed.reset(tree);
    content = tree;
  }
  std::vector<std::string> paths;
  for (const lyd_node* n = content; n; n = n->next) subtree_paths(call.ctx(), n, "", nullptr, paths);
  std::string xpath;
  for (const auto& p : paths) xpath += (xpath.empty() ? "" : " | ") + p;
  return std::optional<std::string>(xpath);
}

// The nodes of `tree` selected by `xpath`, with their ancestors (and list keys); an
// empty XPath (a filter without content) selects nothing.
ConfigResult<TreePtr> select(const TreePtr& tree, const std::string& xpath) {
  if (!tree || xpath.empty()) return TreePtr();
  return select_tree(tree.get(), xpath);
}

nc_server_reply* data_reply(const Call& call, TreePtr tree) {
  lyd_node* out = nullptr;
  if (lyd_dup_single(call.rpc, nullptr, 0, &out) != LY_SUCCESS) return call.fail("operation-failed", "out of memory");
  if (lyd_new_any(out, nullptr, "data", tree.get(), 1, LYD_ANYDATA_DATATREE, 1, nullptr) != LY_SUCCESS) {
    lyd_free_tree(out);
    return call.fail(libyang_error(call.ctx(), "operation-failed", "application", "cannot build the reply"));
  }
  tree.release();  // owned by the reply now
  return nc_server_reply_data(out, with_defaults_of(call.rpc), NC_PARAMTYPE_FREE);
}

nc_server_reply* filtered_reply(const Call& call, TreePtr tree) {
  auto filter = read_filter(call);
  if (!filter) return call.fail(filter.error());
  if (!filter->has_value()) return data_reply(call, std::move(tree));
  auto selected = select(tree, **filter);
  if (!selected) return call.fail(selected.error());
  return data_reply(call, std::move(*selected));
}

// ---------------------------------------------------------------- operations

nc_server_reply* get_config(const Call& call) {
  const Where source = where(call.rpc, "source");
  if (source.kind != Where::Store)
    return call.fail("operation-not-supported", "source must be running, candidate or startup");
  auto tree = load(call, source.datastore);
  if (!tree) return call.fail(tree.error());
  return filtered_reply(call, std::move(*tree));
}

nc_server_reply* get(const Call& call) {
  auto config = load(call, Datastore::Running);
  if (!config) return call.fail(config.error());
  lyd_node* all = config->release();
  auto merge = [&all](lyd_node* more) {
    if (more) lyd_merge_siblings(&all, more, LYD_MERGE_DESTRUCT);
  };
  // State: yang-library from the context, plus the daemon's provider.
  lyd_node* yanglib = nullptr;
  if (ly_ctx_get_yanglib_data(call.ctx(), &yanglib, "%u", ly_ctx_get_change_count(call.ctx())) == LY_SUCCESS)
    merge(yanglib);
  if (const std::string state = call.server.state_xml(); !state.empty()) {
    lyd_node* st = nullptr;
    clear_ly_errors(call.ctx());
    if (lyd_parse_data_mem(call.ctx(), state.c_str(), LYD_XML, LYD_PARSE_ONLY | LYD_PARSE_STRICT, 0, &st) !=
        LY_SUCCESS) {
      lyd_free_all(st);
      lyd_free_all(all);
      return call.fail(libyang_error(call.ctx(), "operation-failed", "application", "state data unavailable"));
    }
    merge(st);
  }
  return filtered_reply(call, TreePtr(all));
}

nc_server_reply* edit_config(const Call& call) {
  const Where target = where(call.rpc, "target");
  if (target.kind != Where::Store) return call.fail("operation-not-supported", "target must be running or candidate");
  const lyd_node* config = child(call.rpc, "config");
  if (!config) return call.fail("operation-not-supported", "only inline <config> is supported (no :url)");
  DefaultOperation dop = DefaultOperation::Merge;
  if (const std::string v = child_value(call.rpc, "default-operation"); v == "replace")
    dop = DefaultOperation::Replace;
  else if (v == "none")
    dop = DefaultOperation::None;
  TestOption test = TestOption::TestThenSet;
  if (const std::string v = child_value(call.rpc, "test-option"); v == "set")
    test = TestOption::Set;
  else if (v == "test-only")
    test = TestOption::TestOnly;
  ErrorOption error = ErrorOption::StopOnError;  // RFC 6241 default
  if (const std::string v = child_value(call.rpc, "error-option"); v == "rollback-on-error")
    error = ErrorOption::RollbackOnError;
  else if (v == "continue-on-error")
    error = ErrorOption::ContinueOnError;
  return call.done(
      call.server.store.edit_config(call.who, target.datastore, any_text(config), Encoding::Xml, dop, test, error));
}

nc_server_reply* copy_config(const Call& call) {
  const Where target = where(call.rpc, "target");
  const Where source = where(call.rpc, "source");
  if (target.kind != Where::Store || (source.kind != Where::Store && source.kind != Where::Config))
    return call.fail("operation-not-supported", ":url is not supported");
  auto& store = call.server.store;
  if (source.kind == Where::Store) {
    if (source.datastore == target.datastore)
      return call.fail("invalid-value", "source and target are the same datastore", "protocol");
    return call.done(store.copy_config(call.who, target.datastore, source.datastore));
  }
  const std::string text = any_text(source.config);
  if (target.datastore == Datastore::Running) return call.done(store.replace_running(call.who, text, Encoding::Xml));
  return call.done(store.edit_config(call.who, target.datastore, text, Encoding::Xml, DefaultOperation::Replace));
}

nc_server_reply* delete_config(const Call& call) {
  const Where target = where(call.rpc, "target");
  if (target.kind != Where::Store) return call.fail("operation-not-supported", ":url is not supported");
  return call.done(call.server.store.delete_config(call.who, target.datastore));
}

nc_server_reply* validate(const Call& call) {
  const Where source = where(call.rpc, "source");
  if (source.kind == Where::Store) return call.done(call.server.store.validate(source.datastore));
  if (source.kind == Where::Config)
    return call.done(call.server.store.validate_text(any_text(source.config), Encoding::Xml));
  return call.fail("operation-not-supported", ":url is not supported");
}

nc_server_reply* lock(const Call& call, bool take) {
  const Where target = where(call.rpc, "target");
  if (target.kind != Where::Store) return call.fail("missing-element", "no target datastore", "protocol");
  return call.done(take ? call.server.store.lock(call.who, target.datastore)
                        : call.server.store.unlock(call.who, target.datastore));
}

nc_server_reply* kill_session(const Call& call) {
  const std::string text = child_value(call.rpc, "session-id");
  const auto id = static_cast<std::uint32_t>(std::strtoul(text.c_str(), nullptr, 10));
  if (id == call.who.id)
    return call.fail("invalid-value", "a session cannot kill itself (use close-session)", "protocol");
  nc_session* victim = nullptr;
  for (std::uint16_t i = 0;; ++i) {
    nc_session* s = nc_ps_get_session(call.server.ps, i);
    if (!s) break;
    if (nc_session_get_id(s) == id) {
      victim = s;
      break;
    }
  }
  if (!victim) return call.fail("invalid-value", "no session " + text, "protocol");
  // The poll loop sees the invalid status, reports SESSION_TERM and frees the session;
  // its locks go now so that the killer can take them at once.
  nc_session_set_term_reason(victim, NC_SESSION_TERM_KILLED);
  nc_session_set_killed_by(victim, call.who.id);
  nc_session_set_status(victim, NC_STATUS_INVALID);
  call.server.store.release_locks(id);
  return nc_server_reply_ok();
}

// Pitfall 10: libnetconf2 only parses RPC input; a <get-config> without <source>
// would reach the handler.
ConfigResult<void> validate_input(const Call& call) {
  clear_ly_errors(call.ctx());
  if (lyd_validate_op(call.rpc, nullptr, LYD_TYPE_RPC_YANG, nullptr) == LY_SUCCESS) return {};
  ConfigError e = ly_error(call.ctx(), "invalid RPC input");
  e.tag = e.tag == "data-missing" ? "missing-element" : "invalid-value";
  e.type = "protocol";
  return Unexpected<ConfigError>{std::move(e)};
}

Call make_call(lyd_node* rpc, nc_session* session, NetconfServer::Impl& server) {
  const char* user = nc_session_get_username(session);
  return Call{server, session, rpc, Session{nc_session_get_id(session), user ? user : "", "netconf"}};
}

NetconfServer::Impl* server_of(const nc_session* session) {
  auto* data = static_cast<SessionData*>(nc_session_get_data(session));
  return data ? data->server : nullptr;
}

}  // namespace

nc_server_reply* netconf_dispatch_rpc(lyd_node* rpc, nc_session* session) {
  NetconfServer::Impl* server = server_of(session);
  const ly_ctx* ctx = nc_session_get_ctx(session);
  if (!server || !rpc || !rpc->schema) return nc_server_reply_err(nc_err(ctx, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP));
  const Call call = make_call(rpc, session, *server);
  if (auto input = validate_input(call); !input) return call.fail(input.error());
  const std::string_view module = rpc->schema->module->name;
  const std::string_view name = rpc->schema->name;
  if (module != "ietf-netconf")
    return call.fail("operation-not-supported", "operation " + std::string(name) + " is not supported", "protocol");
  const bool read_only = name == "get" || name == "get-config";
  if (!read_only) {
    const auto role = server->role_of(call.who.user);
    if (role != "admin")
      return call.fail("access-denied",
                       role ? "account " + call.who.user + " may only read (role " + *role + ")"
                            : "account " + call.who.user + " does not exist any more",
                       "protocol");
  }
  if (name == "get") return get(call);
  if (name == "get-config") return get_config(call);
  if (name == "edit-config") return edit_config(call);
  if (name == "copy-config") return copy_config(call);
  if (name == "delete-config") return delete_config(call);
  if (name == "validate") return validate(call);
  if (name == "commit") return call.done(server->store.commit(call.who));
  if (name == "discard-changes") return call.done(server->store.discard_changes(call.who));
  if (name == "lock") return lock(call, true);
  if (name == "unlock") return lock(call, false);
  if (name == "kill-session") return kill_session(call);
  return call.fail("operation-not-supported", "operation " + std::string(name) + " is not supported", "protocol");
}

// Pitfall 2: libnetconf2's own <get-schema> is broken with libyang 2.1.30.
nc_server_reply* netconf_get_schema_rpc(lyd_node* rpc, nc_session* session) {
  const ly_ctx* ctx = nc_session_get_ctx(session);
  NetconfServer::Impl* server = server_of(session);
  if (!server) return nc_server_reply_err(nc_err(ctx, NC_ERR_OP_FAILED, NC_ERR_TYPE_APP));
  const Call call = make_call(rpc, session, *server);
  if (auto input = validate_input(call); !input) return call.fail(input.error());
  const std::string id = child_value(rpc, "identifier");
  const std::string version = child_value(rpc, "version");
  const std::string format = child_value(rpc, "format");
  LYS_OUTFORMAT out_format = LYS_OUT_YANG;
  if (format.ends_with("yin"))
    out_format = LYS_OUT_YIN;
  else if (!format.empty() && !format.ends_with("yang"))
    return call.fail("invalid-value", "schema format " + format + " is not supported", "protocol");

  char* text = nullptr;
  LY_ERR rc = LY_ENOTFOUND;
  const lys_module* module =
      version.empty() ? ly_ctx_get_module_latest(ctx, id.c_str()) : ly_ctx_get_module(ctx, id.c_str(), version.c_str());
  if (module) {
    rc = lys_print_mem(&text, module, out_format, 0);
  } else if (const lysp_submodule* sub =
                 ly_ctx_get_submodule(ctx, id.c_str(), version.empty() ? nullptr : version.c_str())) {
    ly_out* out = nullptr;
    rc = ly_out_new_memory(&text, 0, &out);
    if (rc == LY_SUCCESS) rc = lys_print_submodule(out, sub, out_format, 0, 0);
    ly_out_free(out, nullptr, 0);
  } else {
    return call.fail("invalid-value", "no schema " + id + (version.empty() ? "" : "@" + version), "protocol");
  }
  if (rc != LY_SUCCESS || !text) {
    std::free(text);
    return call.fail("operation-failed", "cannot print schema " + id);
  }
  lyd_node* reply = nullptr;
  if (lyd_dup_single(rpc, nullptr, 0, &reply) != LY_SUCCESS ||
      lyd_new_any(reply, nullptr, "data", text, 1, LYD_ANYDATA_STRING, 1, nullptr) != LY_SUCCESS) {
    std::free(text);
    lyd_free_tree(reply);
    return call.fail("operation-failed", "cannot build the reply");
  }
  return nc_server_reply_data(reply, NC_WD_EXPLICIT, NC_PARAMTYPE_FREE);
}

}  // namespace sipbox::config
