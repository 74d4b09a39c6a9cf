// sipbox rules add|list|del: the Snort-style rules of the intrusion prevention system
// (/sipbox-security:security/rule[sid]), edited through the same ConfigAccess as
// `sipbox config set`. With sipboxd running its SecurityApplier refuses a bad rule; with
// it stopped the tool compiles each rule itself first, so a bad rule is refused with its
// column and reason either way and nothing is written.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "app/commands.h"
#include "app/config_access.h"
#include "app/security_service.h"
#include "security/rules.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

constexpr const char* kRules = "/sipbox-security:security/rule";

struct RulesOptions {
  std::string text;
  std::string file;
  std::uint32_t sid = 0;
  bool disabled = false;
  bool json_output = false;
};

int failed(const std::string& message) {
  std::cerr << "sipbox: " << message << '\n';
  return 1;
}

struct NewRule {
  std::uint32_t sid = 0;
  std::string text;
  std::string where;  // "" or "FILE line N: "
};

// The sid:N; option of a rule's text; 0 when there is none.
std::uint32_t sid_of(const std::string& text) {
  static const std::regex kSid(R"((?:^|[;(\s])sid\s*:\s*([0-9]{1,10})\s*;)");
  std::smatch match;
  if (!std::regex_search(text, match, kSid)) return 0;
  const unsigned long long value = std::stoull(match[1].str());
  return value > 0xffffffffULL ? 0 : static_cast<std::uint32_t>(value);
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

int rules_add(ConfigAccess& config, const RulesOptions& o) {
  std::vector<NewRule> rules;
  if (!o.file.empty()) {
    std::ifstream in(o.file);
    if (!in) return failed("cannot read " + o.file);
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      line = trim(line);
      if (line.empty() || line[0] == '#') continue;
      rules.push_back({0, line, o.file + " line " + std::to_string(n) + ": "});
    }
  }
  if (!trim(o.text).empty()) rules.push_back({0, trim(o.text), ""});
  if (rules.empty()) return failed("rules add needs TEXT or --file FILE with at least one rule");
  const std::optional<config::Snapshot> running = config.local_running();
  const security::RuleVariables variables = running ? rule_variables(*running, {}) : security::RuleVariables{};
  json entries = json::array();
  for (NewRule& rule : rules) {
    rule.sid = sid_of(rule.text);
    if (rule.sid == 0) return failed("refused: " + rule.where + "the rule has no sid option (sid:N;)");
    if (running) {
      auto compiled = security::compile_rule(rule.text, variables);
      if (!compiled)
        return failed("refused: " + rule.where + "rule " + std::to_string(rule.sid) + ": column " +
                      std::to_string(compiled.error().column) + ": " + compiled.error().reason);
    }
    entries.push_back({{"sid", rule.sid}, {"text", rule.text}, {"enabled", !o.disabled}});
  }
  const json edit{{"sipbox-security:security", {{"rule", entries}}}};
  auto r = config.merge(edit.dump(), config::Encoding::Json);
  if (!r) return failed("refused: " + describe(r.error()));
  for (const NewRule& rule : rules) std::cout << "rule " << rule.sid << " added\n";
  return 0;
}

Result<json> list_rules(ConfigAccess& config) {
  auto text = config.get(kRules, config::Encoding::Json, config::WithDefaults::ReportAll);
  if (!text) return fail(describe(text.error()));
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return json::array();
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return fail("unreadable configuration output");
  const json security = doc.value("sipbox-security:security", json::object());
  return security.value("rule", json::array());
}

int rules_list(ConfigAccess& config, const RulesOptions& o) {
  auto rules = list_rules(config);
  if (!rules) return failed(rules.error().message);
  json out = json::array();
  for (const json& r : *rules) {
    std::uint32_t sid = 0;
    if (r.contains("sid") && r["sid"].is_number_unsigned()) sid = r["sid"].get<std::uint32_t>();
    out.push_back({{"sid", sid}, {"enabled", r.value("enabled", true)}, {"text", r.value("text", std::string())}});
  }
  if (o.json_output) {
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
    return 0;
  }
  for (const json& r : out)
    std::cout << r["sid"].get<std::uint32_t>() << (r["enabled"].get<bool>() ? "  enabled   " : "  disabled  ")
              << r["text"].get<std::string>() << '\n';
  return 0;
}

int rules_del(ConfigAccess& config, const RulesOptions& o) {
  auto rules = list_rules(config);
  if (!rules) return failed(rules.error().message);
  const bool present = std::any_of(rules->begin(), rules->end(), [&](const json& r) {
    return r.contains("sid") && r["sid"].is_number_unsigned() && r["sid"].get<std::uint32_t>() == o.sid;
  });
  if (!present) return failed("no rule " + std::to_string(o.sid));
  auto r = config.remove(std::string(kRules) + "[sid='" + std::to_string(o.sid) + "']");
  if (!r) return failed("refused: " + describe(r.error()));
  std::cout << "rule " << o.sid << " deleted\n";
  return 0;
}

void attach(CLI::App* sub, std::shared_ptr<RulesOptions> options, const GlobalOptions& global, int& exit_code,
            int (*action)(ConfigAccess&, const RulesOptions&)) {
  sub->callback([options, &global, &exit_code, action] {
    auto access = open_config_access(global.data_dir, yang_dirs(global.yang_dir));
    if (!access) {
      exit_code = failed(access.error().message);
      return;
    }
    exit_code = action(**access, *options);
  });
}

}  // namespace

void add_rules_command(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<RulesOptions>();
  CLI::App* rules = app.add_subcommand(
      "rules", "Snort-style rules of the intrusion prevention system (docs/security.md); sipboxd running or stopped");
  rules->require_subcommand(1);
  CLI::App* add = rules->add_subcommand(
      "add",
      "Add (or replace, by sid) rules: TEXT and/or --file FILE (one rule per line, # comments). Each needs "
      "sid:N;. A bad rule is refused with its column and reason, and then nothing is written");
  add->add_option("text", options->text, "The rule, e.g. 'alert udp any any -> any any (msg:\"x\"; sid:1000001;)'");
  add->add_option("--file", options->file, "Rules file to import")->check(CLI::ExistingFile);
  add->add_flag("--disabled", options->disabled, "Store the rules disabled");
  attach(add, options, global, exit_code, rules_add);
  CLI::App* list = rules->add_subcommand("list", "List the rules: sid, enabled, text");
  list->add_flag("--json", options->json_output, "JSON output: [{sid, enabled, text}]");
  attach(list, options, global, exit_code, rules_list);
  CLI::App* del = rules->add_subcommand("del", "Delete the rule with this sid");
  del->add_option("sid", options->sid, "Signature id")->required();
  attach(del, options, global, exit_code, rules_del);
}

}  // namespace sipbox::app
