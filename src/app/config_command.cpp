// sipbox config get|set|delete|validate|export|import|diff (DESIGN.md section 4).
#include <fstream>
#include <iostream>
#include <iterator>

#include "app/commands.h"
#include "app/config_access.h"
#include "app/security_service.h"

namespace sipbox::app {
namespace {

struct ConfigOptions {
  std::string xpath;
  std::string value;
  std::string file;
  bool json = false;
  bool all = false;  // with defaults
};

Result<std::string> read_text(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A file's encoding: by extension, else by its first character.
config::Encoding encoding_of(const std::string& path, const std::string& text) {
  if (path.ends_with(".json")) return config::Encoding::Json;
  if (path.ends_with(".xml")) return config::Encoding::Xml;
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{' ? config::Encoding::Json : config::Encoding::Xml;
}

int report(const config::ConfigError& error) {
  std::cerr << "sipbox: refused: " << describe(error) << '\n';
  return 1;
}

int run(const std::string& action, const ConfigOptions& o, const GlobalOptions& global) {
  auto access = open_config_access(global.data_dir, yang_dirs(global.yang_dir));
  if (!access) {
    std::cerr << "sipbox: " << access.error().message << '\n';
    return 1;
  }
  ConfigAccess& config = **access;
  RuleCheck rule_check;
  config.check_locally(std::string(SecurityApplier::kSubtree), rule_check);
  const config::Encoding encoding = o.json ? config::Encoding::Json : config::Encoding::Xml;
  if (action == "get" || action == "export") {
    auto text = config.get(action == "get" ? o.xpath : "", encoding,
                           o.all ? config::WithDefaults::ReportAll : config::WithDefaults::Explicit);
    if (!text) return report(text.error());
    std::cout << *text;
    if (!text->empty() && text->back() != '\n') std::cout << '\n';
    return 0;
  }
  if (action == "set") {
    auto r = config.set(o.xpath, o.value);
    return r ? 0 : report(r.error());
  }
  if (action == "delete") {
    auto r = config.remove(o.xpath);
    return r ? 0 : report(r.error());
  }
  auto text = read_text(o.file);
  if (!text) {
    std::cerr << "sipbox: " << text.error().message << '\n';
    return 1;
  }
  const config::Encoding file_encoding = encoding_of(o.file, *text);
  if (action == "validate") {
    auto r = config.validate(*text, file_encoding);
    if (!r) return report(r.error());
    std::cout << o.file << ": valid\n";
    return 0;
  }
  if (action == "import") {
    auto r = config.replace(*text, file_encoding);
    return r ? 0 : report(r.error());
  }
  auto changes = config.diff(*text, file_encoding);  // diff
  if (!changes) return report(changes.error());
  for (const config::Change& c : *changes) {
    switch (c.kind) {
      case config::Change::Kind::Create:
        std::cout << "+ " << c.path << (c.new_value.empty() ? "" : " = " + c.new_value) << '\n';
        break;
      case config::Change::Kind::Delete:
        std::cout << "- " << c.path << (c.old_value.empty() ? "" : " = " + c.old_value) << '\n';
        break;
      case config::Change::Kind::Replace:
        std::cout << "~ " << c.path << " = " << c.old_value << " -> " << c.new_value << '\n';
        break;
    }
  }
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("config",
                                     "Read and edit the configuration (the YANG model in yang/). Works "
                                     "against a running sipboxd and against a stopped data directory.");
  cmd->require_subcommand(1);
  auto options = std::make_shared<ConfigOptions>();
  auto add = [&](const std::string& name, const std::string& help) {
    CLI::App* sub = cmd->add_subcommand(name, help);
    sub->callback([name, options, &global, &exit_code] { exit_code = run(name, *options, global); });
    return sub;
  };
  CLI::App* get = add("get", "Print the running configuration, or the part selected by XPATH");
  get->add_option("xpath", options->xpath, "XPath, e.g. /sipbox-system:system/listeners");
  get->add_flag("--json", options->json, "RFC 7951 JSON instead of XML");
  get->add_flag("--all", options->all, "Include default values");
  CLI::App* set = add("set", "Set one leaf (creating its parents), validated like every edit");
  set->add_option("xpath", options->xpath, "Path of the leaf, e.g. /sipbox-system:system/listeners/sip-port")
      ->required();
  set->add_option("value", options->value, "New value")->required();
  CLI::App* del = add("delete",
                      "Delete a leaf (it reverts to its default), a leaf-list entry or a list entry, "
                      "validated like every edit; refused when it is not there");
  del->add_option("xpath", options->xpath,
                  "Path of what goes, e.g. \"/sipbox-security:security/whitelist[.='192.0.2.0/24']\"")
      ->required();
  CLI::App* validate = add("validate", "Check a configuration file against the model without applying it");
  validate->add_option("file", options->file, "XML or JSON file ('-': standard input)")->required();
  CLI::App* exp = add("export", "Print the whole configuration: a backup that `config import` restores");
  exp->add_flag("--json", options->json, "RFC 7951 JSON instead of XML");
  CLI::App* imp = add("import",
                      "Replace the whole configuration with a file (validated first; nothing changes "
                      "when it is refused)");
  imp->add_option("file", options->file, "XML or JSON file ('-': standard input)")->required();
  CLI::App* diff = add("diff", "Show what importing a file would change (+ created, - deleted, ~ changed)");
  diff->add_option("file", options->file, "XML or JSON file ('-': standard input)")->required();
}

}  // namespace sipbox::app
