// Datastore files and tree printing/selection.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/store_impl.h"

namespace sipbox::config {
namespace {

LYD_FORMAT format_of(Encoding encoding) { return encoding == Encoding::Json ? LYD_JSON : LYD_XML; }

std::uint32_t wd_flag(WithDefaults with_defaults) {
  switch (with_defaults) {
    case WithDefaults::ReportAll: return LYD_PRINT_WD_ALL;
    case WithDefaults::ReportAllTagged: return LYD_PRINT_WD_ALL_TAG;
    case WithDefaults::Trim: return LYD_PRINT_WD_TRIM;
    case WithDefaults::Explicit: break;
  }
  return LYD_PRINT_WD_EXPLICIT;
}

Status errno_failure(std::string what, const std::filesystem::path& file) {
  return fail(what + " " + file.string() + ": " + std::strerror(errno));
}

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Status write_file_atomic(const std::filesystem::path& file, std::string_view content) {
  std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
  std::string temp = (dir / ("." + file.filename().string() + ".tmp.XXXXXX")).string();
  Fd out{::mkstemp(temp.data())};
  if (out.fd < 0) return errno_failure("cannot create a temporary file for", file);
  auto discard = [&](Status status) {
    ::unlink(temp.c_str());
    return status;
  };
  for (std::size_t done = 0; done < content.size();) {
    ssize_t n = ::write(out.fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard(errno_failure("cannot write", temp));
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(out.fd, 0600) != 0 || ::fsync(out.fd) != 0) return discard(errno_failure("cannot sync", temp));
  if (::close(out.fd) != 0) {
    out.fd = -1;
    return discard(errno_failure("cannot close", temp));
  }
  out.fd = -1;
  if (::rename(temp.c_str(), file.c_str()) != 0) return discard(errno_failure("cannot rename over", file));
  // The rename itself is durable only once the directory is synced.
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY)};
  if (d.fd < 0 || ::fsync(d.fd) != 0) return errno_failure("cannot sync directory", dir);
  return {};
}

ConfigResult<TreePtr> parse_config(const ly_ctx* ctx, std::string_view text, Encoding encoding) {
  clear_ly_errors(ctx);
  std::string data(text);  // libyang wants a terminated string
  lyd_node* tree = nullptr;
  if (lyd_parse_data_mem(ctx, data.c_str(), format_of(encoding), LYD_PARSE_STRICT | LYD_PARSE_NO_STATE,
                         LYD_VALIDATE_NO_STATE, &tree) != LY_SUCCESS) {
    lyd_free_all(tree);
    return Unexpected<ConfigError>{ly_error(ctx, "the configuration does not parse")};
  }
  TreePtr owned(tree);
  if (auto valid = validate_tree(ctx, owned); !valid) return Unexpected<ConfigError>{valid.error()};
  return owned;
}

Result<TreePtr> load_config_file(const ly_ctx* ctx, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read " + file.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  auto tree = parse_config(ctx, text.str(), Encoding::Xml);
  if (tree) return std::move(tree).value();
  const ConfigError& error = tree.error();
  std::string where = file.string();
  if (auto line = ly_error_line(ctx)) where += ":" + std::to_string(*line);
  std::string message = where + ": " + error.message;
  if (!error.path.empty()) message += " (at " + error.path + ")";
  return fail(std::move(message));
}

std::string print_tree(const lyd_node* tree, Encoding encoding, WithDefaults with_defaults) {
  char* text = nullptr;
  lyd_print_mem(&text, tree, format_of(encoding), LYD_PRINT_WITHSIBLINGS | wd_flag(with_defaults));
  std::string out = text ? text : "";
  std::free(text);
  return out;
}

TreePtr copy_tree(const lyd_node* tree) {
  lyd_node* copy = nullptr;
  if (tree) lyd_dup_siblings(tree, nullptr, LYD_DUP_RECURSIVE | LYD_DUP_WITH_FLAGS, &copy);
  return TreePtr(copy);
}

ConfigResult<TreePtr> select_tree(const lyd_node* tree, std::string_view xpath) {
  if (xpath.empty() || xpath == "/") return copy_tree(tree);
  if (!tree) return TreePtr{};
  const ly_ctx* ctx = LYD_CTX(tree);
  clear_ly_errors(ctx);
  ly_set* set = nullptr;
  if (lyd_find_xpath(tree, std::string(xpath).c_str(), &set) != LY_SUCCESS) {
    ConfigError error = ly_error(ctx, "invalid XPath");
    error.tag = "invalid-value";
    return Unexpected<ConfigError>{std::move(error)};
  }
  lyd_node* out = nullptr;
  for (std::uint32_t i = 0; i < set->count; ++i) {
    lyd_node* dup = nullptr;
    if (lyd_dup_single(set->dnodes[i], nullptr, LYD_DUP_RECURSIVE | LYD_DUP_WITH_PARENTS | LYD_DUP_WITH_FLAGS,
                       &dup) != LY_SUCCESS)
      continue;
    while (dup->parent) dup = lyd_parent(dup);
    lyd_merge_siblings(&out, dup, LYD_MERGE_DESTRUCT | LYD_MERGE_WITH_FLAGS);
  }
  ly_set_free(set, nullptr);
  return TreePtr(out);
}

ConfigResult<void> validate_tree(const ly_ctx* ctx, TreePtr& tree) {
  clear_ly_errors(ctx);
  lyd_node* root = tree.release();
  LY_ERR rc = lyd_validate_all(&root, ctx, LYD_VALIDATE_NO_STATE, nullptr);
  tree.reset(root);
  if (rc != LY_SUCCESS) return Unexpected<ConfigError>{ly_error(ctx, "the configuration is not valid")};
  return {};
}

}  // namespace sipbox::config
