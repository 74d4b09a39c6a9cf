// sipbox user add|del|list (SIP accounts) and sipbox admin add (logins for the GUI,
// REST, RESTCONF and NETCONF). Both edit the configuration model; passwords are kept
// only as digests: HA1 per realm for SIP (MD5 and SHA-256), PBKDF2 for admins.
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/config_access.h"
#include "config/passwords.h"
#include "sip/digest.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

struct AccountOptions {
  std::string name;
  std::string password;
  std::string domain;
  std::string extension;
  std::string display_name;
  std::string role = "viewer";
  bool json_output = false;
};

// Names go into XPath predicates; quotes would end them early.
bool safe_for_xpath(const std::string& s) { return s.find_first_of("'\"") == std::string::npos; }

int refused(const config::ConfigError& e) {
  std::cerr << "sipbox: refused: " << describe(e) << '\n';
  return 1;
}

int failed(const std::string& message) {
  std::cerr << "sipbox: " << message << '\n';
  return 1;
}

// The entries of a top-level list as RFC 7951 JSON objects.
Result<json> list_entries(ConfigAccess& config, const std::string& xpath, const std::string& member) {
  auto text = config.get(xpath, config::Encoding::Json, config::WithDefaults::ReportAll);
  if (!text) return fail(describe(text.error()));
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) return json::array();
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return fail("unreadable configuration output");
  return doc.value(member, json::array());
}

int user_add(ConfigAccess& config, AccountOptions o) {
  if (o.name.empty() || o.password.empty()) return failed("user add needs NAME and --password");
  if (!safe_for_xpath(o.name) || !safe_for_xpath(o.domain)) return failed("names may not contain quotes");
  auto domains = list_entries(config, "/sipbox-domains:domain", "sipbox-domains:domain");
  if (!domains) return failed(domains.error().message);
  if (o.domain.empty()) {
    if (domains->empty()) return failed("no domain is configured: give one with --domain");
    o.domain = (*domains)[0].value("name", "");
  }
  std::string realm = o.domain;
  for (const json& d : *domains)
    if (d.value("name", "") == o.domain && d.contains("realm")) realm = d["realm"].get<std::string>();
  auto users = list_entries(config, "/sipbox-users:user", "sipbox-users:user");
  if (!users) return failed(users.error().message);
  for (const json& u : *users)
    if (u.value("name", "") == o.name && u.value("domain", "") == o.domain)
      return failed("user " + o.name + "@" + o.domain + " exists");
  json user{{"name", o.name},
            {"domain", o.domain},
            {"ha1-md5", sip::digest_ha1(sip::DigestAlgorithm::Md5, o.name, realm, o.password)},
            {"ha1-sha256", sip::digest_ha1(sip::DigestAlgorithm::Sha256, o.name, realm, o.password)}};
  if (!o.extension.empty()) user["extension"] = o.extension;
  if (!o.display_name.empty()) user["display-name"] = o.display_name;
  const json edit{{"sipbox-domains:domain", json::array({{{"name", o.domain}}})},
                  {"sipbox-users:user", json::array({user})}};
  auto r = config.merge(edit.dump(), config::Encoding::Json);
  if (!r) return refused(r.error());
  std::cout << "added " << o.name << "@" << o.domain << '\n';
  return 0;
}

int user_del(ConfigAccess& config, AccountOptions o) {
  if (!safe_for_xpath(o.name) || !safe_for_xpath(o.domain)) return failed("names may not contain quotes");
  if (o.domain.empty()) {
    auto users = list_entries(config, "/sipbox-users:user[name='" + o.name + "']", "sipbox-users:user");
    if (!users) return failed(users.error().message);
    if (users->size() != 1)
      return failed(users->empty() ? "no user " + o.name : "user " + o.name + " is in several domains: give --domain");
    o.domain = (*users)[0].value("domain", "");
  }
  auto r = config.remove("/sipbox-users:user[name='" + o.name + "'][domain='" + o.domain + "']");
  if (!r) return refused(r.error());
  std::cout << "deleted " << o.name << "@" << o.domain << '\n';
  return 0;
}

int user_list(ConfigAccess& config, const AccountOptions& o) {
  auto users = list_entries(config, "/sipbox-users:user", "sipbox-users:user");
  if (!users) return failed(users.error().message);
  if (o.json_output) {
    json out = json::array();
    for (const json& u : *users)
      out.push_back({{"name", u.value("name", "")},
                     {"domain", u.value("domain", "")},
                     {"extension", u.value("extension", "")},
                     {"enabled", u.value("enabled", true)}});
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  for (const json& u : *users)
    std::cout << u.value("name", "") << '@' << u.value("domain", "") << "  extension " << u.value("extension", "-")
              << (u.value("enabled", true) ? "" : "  (disabled)") << '\n';
  return 0;
}

int admin_add(ConfigAccess& config, const AccountOptions& o) {
  if (o.name.empty() || o.password.empty()) return failed("admin add needs NAME and --password");
  if (!safe_for_xpath(o.name)) return failed("names may not contain quotes");
  auto existing = config.get("/sipbox-system:system/admin[name='" + o.name + "']", config::Encoding::Json,
                             config::WithDefaults::Explicit);
  if (!existing) return refused(existing.error());
  if (existing->find("\"name\"") != std::string::npos) return failed("admin " + o.name + " exists");
  auto hash = config::hash_password(o.password);
  if (!hash) return failed(hash.error().message);
  const json edit{
      {"sipbox-system:system", {{"admin", json::array({{{"name", o.name}, {"role", o.role}, {"password-hash", *hash}}})}}}};
  auto r = config.merge(edit.dump(), config::Encoding::Json);
  if (!r) return refused(r.error());
  std::cout << "added admin " << o.name << " (" << o.role << ")\n";
  return 0;
}

using Action = int (*)(ConfigAccess&, AccountOptions);

void attach_action(CLI::App* sub, std::shared_ptr<AccountOptions> options, const GlobalOptions& global, int& exit_code,
          Action action) {
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

void add_account_commands(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<AccountOptions>();
  CLI::App* user = app.add_subcommand("user", "SIP accounts (passwords are stored as digest HA1 values only)");
  user->require_subcommand(1);
  CLI::App* add = user->add_subcommand("add", "Add a SIP account; its domain is created when new");
  add->add_option("name", options->name, "User part of the address (alice in sip:alice@example.com)")->required();
  add->add_option("--password", options->password, "Password for digest authentication")->required();
  add->add_option("--domain", options->domain, "Domain (default: the first configured domain)");
  add->add_option("--extension", options->extension, "Extension number (unique)");
  add->add_option("--display-name", options->display_name, "Display name");
  attach_action(add, options, global, exit_code, user_add);
  CLI::App* del = user->add_subcommand("del", "Delete a SIP account");
  del->add_option("name", options->name, "User name")->required();
  del->add_option("--domain", options->domain, "Domain (needed when the name exists in several)");
  attach_action(del, options, global, exit_code, user_del);
  CLI::App* list = user->add_subcommand("list", "List SIP accounts");
  list->add_flag("--json", options->json_output, "JSON output");
  attach_action(list, options, global, exit_code, [](ConfigAccess& c, AccountOptions o) { return user_list(c, o); });

  CLI::App* admin = app.add_subcommand(
      "admin", "Administrator logins for NETCONF and RESTCONF (the GUI and REST API will use the same)");
  admin->require_subcommand(1);
  CLI::App* admin_add_cmd = admin->add_subcommand("add", "Add an administrator login");
  admin_add_cmd->add_option("name", options->name, "Login name")->required();
  admin_add_cmd->add_option("--password", options->password, "Password (stored as a PBKDF2 hash)")->required();
  admin_add_cmd->add_option("--role", options->role, "admin (may edit) or viewer (may read)")
      ->check(CLI::IsMember({"admin", "viewer"}))
      ->capture_default_str();
  attach_action(admin_add_cmd, options, global, exit_code, [](ConfigAccess& c, AccountOptions o) { return admin_add(c, o); });
}

}  // namespace sipbox::app
