#include "app/security_service.h"

#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

namespace sipbox::app {
namespace {

const std::string kSecurity = "/sipbox-security:security/";

// An entry's field by name (config::Snapshot::field).
constexpr auto field = &config::Snapshot::field;

template <class T>
T number(const config::Snapshot& s, const std::string& path, T fallback) {
  const auto value = s.value(kSecurity + path);
  if (!value) return fallback;
  try {
    return static_cast<T>(std::stod(*value));
  } catch (const std::exception&) {
    return fallback;
  }
}

bool flag(const config::Snapshot& s, const std::string& path, bool fallback) {
  const auto value = s.value(kSecurity + path);
  return value ? *value == "true" : fallback;
}

// Runs `argv` (no shell: the URL is the operator's, not ours to interpret) with `input`
// on its standard input; its output is discarded. Returns the exit status.
int run_with_input(const std::vector<std::string>& argv, const std::string& input) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[0]);
  if (spawned != 0) {
    close(pipe_fds[1]);
    return -1;
  }
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = write(pipe_fds[1], input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  close(pipe_fds[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string iso8601(std::chrono::sys_seconds t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

store::Time to_store_time(security::WallClock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::seconds>(t);
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

}  // namespace

security::SecuritySettings security_settings(const config::Snapshot& s) {
  security::SecuritySettings out;
  out.enabled = flag(s, "enabled", true);
  const std::string action = s.value(kSecurity + "ban-action").value_or("drop");
  out.ban_action = action == "reject-403"   ? security::SecuritySettings::BanAction::Reject403
                   : action == "reject-503" ? security::SecuritySettings::BanAction::Reject503
                                            : security::SecuritySettings::BanAction::Drop;
  out.default_ban = std::chrono::seconds(number<long>(s, "default-ban-duration", 600));
  out.repeat_factor = number<double>(s, "repeat-offender-factor", 2);
  out.max_ban = std::chrono::seconds(number<long>(s, "max-ban-duration", 86400));
  for (const std::string& p : s.values(kSecurity + "whitelist"))
    if (auto prefix = security::parse_prefix(p)) out.whitelist.push_back(*prefix);
  const std::string d = "detectors/";
  out.flood.enabled = flag(s, d + "flood/enabled", true);
  out.flood.window = std::chrono::seconds(number<long>(s, d + "flood/window-seconds", 5));
  out.flood.register_threshold = number<std::uint32_t>(s, d + "flood/register-threshold", 50);
  out.flood.invite_threshold = number<std::uint32_t>(s, d + "flood/invite-threshold", 50);
  out.flood.options_threshold = number<std::uint32_t>(s, d + "flood/options-threshold", 50);
  out.flood.any_threshold = number<std::uint32_t>(s, d + "flood/any-threshold", 250);
  out.brute_force.enabled = flag(s, d + "brute-force/enabled", true);
  out.brute_force.window = std::chrono::seconds(number<long>(s, d + "brute-force/window-seconds", 60));
  out.brute_force.per_source = number<std::uint32_t>(s, d + "brute-force/failures-per-source", 10);
  out.brute_force.per_user = number<std::uint32_t>(s, d + "brute-force/failures-per-user", 20);
  out.enumeration.enabled = flag(s, d + "enumeration/enabled", true);
  out.enumeration.window = std::chrono::seconds(number<long>(s, d + "enumeration/window-seconds", 60));
  out.enumeration.distinct_unknown_users = number<std::uint32_t>(s, d + "enumeration/distinct-unknown-users", 10);
  out.scanner.enabled = flag(s, d + "scanner/enabled", true);
  out.scanner.user_agent_patterns = s.values(kSecurity + d + "scanner/user-agent-pattern");
  out.malformed.enabled = flag(s, d + "malformed/enabled", true);
  out.malformed.window = std::chrono::seconds(number<long>(s, d + "malformed/window-seconds", 60));
  out.malformed.threshold = number<std::uint32_t>(s, d + "malformed/threshold", 20);
  out.toll_fraud.enabled = flag(s, d + "toll-fraud/enabled", true);
  out.toll_fraud.premium_prefixes = s.values(kSecurity + d + "toll-fraud/premium-prefix");
  out.toll_fraud.international_prefixes = s.values(kSecurity + d + "toll-fraud/international-prefix");
  return out;
}

security::RuleVariables rule_variables(const config::Snapshot& running,
                                       const std::vector<core::BoundListener>& listeners) {
  security::RuleVariables out{{"HOME_NET", "any"}, {"EXTERNAL_NET", "any"}};
  std::vector<std::string> addresses, ports;
  bool any_address = false;
  for (const core::BoundListener& l : listeners) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(l.address, ec);
    if (!ec && address.is_unspecified()) any_address = true;
    if (std::find(addresses.begin(), addresses.end(), l.address) == addresses.end()) addresses.push_back(l.address);
    const std::string port = std::to_string(l.port);
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  out["SIP_PROXY"] = any_address || addresses.empty() ? "any" : join(addresses);
  out["SIP_PORT"] = ports.empty() ? "any" : join(ports);
  for (const auto& entry : running.entries(kSecurity + "rule-variable"))
    out[field(entry, "name")] = field(entry, "value");
  return out;
}

Status RuleCheck::apply(const config::Snapshot& next, std::span<const config::Change>) {
  auto rules = compile_rules(next, rule_variables(next, {}));
  if (!rules) return fail(rules.error().message);
  return {};
}

Result<std::shared_ptr<security::RuleSet>> compile_rules(const config::Snapshot& running,
                                                         const security::RuleVariables& variables,
                                                         std::vector<std::string>* skipped) {
  std::vector<std::shared_ptr<const security::CompiledRule>> rules;
  for (const auto& entry : running.entries(kSecurity + "rule")) {
    if (field(entry, "enabled") == "false") continue;
    auto rule = security::compile_rule(field(entry, "text"), variables);
    if (!rule) {
      std::string why = "rule " + field(entry, "sid") + ": column " + std::to_string(rule.error().column) + ": " +
                        rule.error().reason;
      if (!skipped) return fail(std::move(why));
      skipped->push_back(std::move(why));
      continue;
    }
    rules.push_back(std::move(*rule));
  }
  return std::make_shared<security::RuleSet>(std::move(rules));
}

Status SecurityApplier::apply(const config::Snapshot& next, std::span<const config::Change>) {
  auto rules = compile_rules(next, rule_variables(next, listeners_));
  if (!rules) return fail(rules.error().message);
  guard_.set_settings(security_settings(next));
  guard_.set_rules(std::move(*rules));
  return {};
}

BackgroundQueue::BackgroundQueue() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  });
}

BackgroundQueue::~BackgroundQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void BackgroundQueue::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    // Bounded: under an attack of many sources the oldest log/nft work is what waits.
    if (tasks_.size() >= 100000) return;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

NftablesSettings nftables_settings(const config::Snapshot& s) {
  NftablesSettings out;
  out.enabled = flag(s, "nftables/enabled", false);
  out.table = s.value(kSecurity + "nftables/table").value_or(out.table);
  out.set = s.value(kSecurity + "nftables/set").value_or(out.set);
  out.set_ipv6 = s.value(kSecurity + "nftables/set-ipv6").value_or(out.set_ipv6);
  return out;
}

NotificationSettings notification_settings(const config::Snapshot& s) {
  NotificationSettings out;
  out.syslog = flag(s, "notifications/syslog", true);
  out.webhook_url = s.value(kSecurity + "notifications/webhook-url").value_or("");
  out.daily_summary = flag(s, "notifications/daily-summary", true);
  return out;
}

SecurityReporter::SecurityReporter(store::Store& store, NftablesSettings nft, NotificationSettings notifications)
    : store_(store), nft_(std::move(nft)), notifications_(std::move(notifications)) {
  if (notifications_.syslog) openlog("sipboxd", LOG_PID, LOG_AUTH);
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  summarized_day_ = tm.tm_yday;
}

void SecurityReporter::post(std::string json) {
  if (notifications_.webhook_url.empty()) return;
  background_.post([url = notifications_.webhook_url, json = std::move(json)] {
    const int status = run_with_input({"curl", "-sS", "--max-time", "10", "-X", "POST", "-H",
                                       "Content-Type: application/json", "--data-binary", "@-", "--fail", url},
                                      json);
    if (status != 0) spdlog::warn("security: webhook {} failed (curl exit status {})", url, status);
  });
}

std::optional<std::string> SecurityReporter::daily_summary(security::WallClock::time_point now) {
  const std::time_t t = security::WallClock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_yday == summarized_day_) return std::nullopt;
  summarized_day_ = tm.tm_yday;
  if (!notifications_.daily_summary) return std::nullopt;
  // The previous local day: from yesterday's midnight to today's.
  std::tm midnight = tm;
  midnight.tm_hour = midnight.tm_min = midnight.tm_sec = 0;
  const auto today =
      std::chrono::time_point_cast<std::chrono::seconds>(security::WallClock::from_time_t(std::mktime(&midnight)));
  store::IncidentQuery query;
  query.since = today - std::chrono::hours(24);
  query.until = today;
  query.page.limit = 100000;
  auto incidents = store_.incidents().query(query);
  if (!incidents) {
    spdlog::error("security: daily summary: {}", incidents.error().message);
    return std::nullopt;
  }
  std::map<std::string, std::uint64_t> by_message, by_source;
  for (const store::Incident& i : *incidents) {
    ++by_message[i.message];
    ++by_source[i.source];
  }
  spdlog::info("security: daily summary for the day before {}: {} incidents from {} sources", iso8601(today),
               incidents->size(), by_source.size());
  for (const auto& [message, count] : by_message) spdlog::info("security:   {} x {}", count, message);
  nlohmann::json summary{{"type", "daily-summary"},       {"since", iso8601(query.since)},
                         {"until", iso8601(query.until)}, {"incidents", incidents->size()},
                         {"by_message", by_message},      {"by_source", by_source}};
  std::string text = summary.dump();
  post(text);
  return text;
}

SecurityReporter::~SecurityReporter() {
  if (nft_.enabled)
    nft("flush set inet " + nft_.table + " " + nft_.set + "\nflush set inet " + nft_.table + " " + nft_.set_ipv6 +
        "\n");
}

void SecurityReporter::nft(std::string script) {
  background_.post([script = std::move(script)] {
    FILE* pipe = popen("nft -f - 2>&1", "w");
    if (!pipe) {
      spdlog::error("nftables: cannot run nft");
      return;
    }
    std::fwrite(script.data(), 1, script.size(), pipe);
    if (const int status = pclose(pipe); status != 0)
      spdlog::warn("nftables: nft exited with {} for: {}", status, script);
  });
}

Status SecurityReporter::start() {
  if (!nft_.enabled) return {};
  const std::string t = "inet " + nft_.table;
  nft("add table " + t + "\nadd set " + t + " " + nft_.set + " { type ipv4_addr; flags interval, timeout; }\nadd set " +
      t + " " + nft_.set_ipv6 + " { type ipv6_addr; flags interval, timeout; }\nadd chain " + t +
      " input { type filter hook input priority -10; policy accept; }\nflush chain " + t + " input\nadd rule " + t +
      " input ip saddr @" + nft_.set + " drop\nadd rule " + t + " input ip6 saddr @" + nft_.set_ipv6 + " drop\n");
  return {};
}

void SecurityReporter::detected(const security::Detection& d) {
  const std::string source = d.source.to_string();
  spdlog::warn("security: {} from {} (sid {}, count {}): {}", d.message, source, d.sid, d.count, d.action);
  store::Incident incident;
  incident.at = to_store_time(d.at);
  incident.source = source;
  incident.sid = d.sid;
  incident.message = d.message;
  incident.count = d.count;
  incident.action = d.action;
  nlohmann::json json{{"type", "incident"},   {"at", iso8601(incident.at)}, {"source", source},  {"sid", d.sid},
                      {"message", d.message}, {"count", d.count},           {"action", d.action}};
  store_.incidents().append(std::move(incident));
  post(json.dump());
  if (notifications_.syslog) {
    background_.post([line = d.message + " from " + source + " (sid " + std::to_string(d.sid) + "): " + d.action] {
      ::syslog(LOG_WARNING, "%s", line.c_str());
    });
  }
}

void SecurityReporter::banned(const security::BanEntry& ban) {
  store_.bans().upsert(store::Ban{ban.prefix.text(), to_store_time(ban.until), ban.reason, ban.sid, ban.offences});
  if (!nft_.enabled) return;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(ban.until - security::WallClock::now()).count();
  if (left <= 0) return;
  const std::string& set = ban.prefix.network.is_v4() ? nft_.set : nft_.set_ipv6;
  nft("add element inet " + nft_.table + " " + set + " { " + ban.prefix.text() + " timeout " + std::to_string(left) +
      "s }\n");
}

void SecurityReporter::unbanned(const security::BanEntry& ban) {
  store_.bans().remove(ban.prefix.text());
  spdlog::info("security: ban of {} ended", ban.prefix.text());
  if (!nft_.enabled) return;
  const std::string& set = ban.prefix.network.is_v4() ? nft_.set : nft_.set_ipv6;
  // The kernel drops the element when its own timeout ends, usually just before the tick
  // that ends the ban here; adding it again first (in the same transaction) makes the
  // delete succeed whether it is still there or not.
  const std::string element = "inet " + nft_.table + " " + set + " { " + ban.prefix.text();
  nft("add element " + element + " timeout 1s }\ndelete element " + element + " }\n");
}

Result<std::size_t> restore_bans(store::Store& store, security::BanTable& table, security::Reporter& reporter) {
  auto bans = store.bans().load_all(store::now_seconds());
  if (!bans) return fail(bans.error().message);
  for (const store::Ban& b : *bans) {
    auto prefix = security::parse_prefix(b.prefix);
    if (!prefix) continue;
    security::BanEntry entry{*prefix, b.until, b.reason, b.sid, b.offences};
    reporter.banned(table.ban(std::move(entry)));
  }
  return bans->size();
}

}  // namespace sipbox::app
