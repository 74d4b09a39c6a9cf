#include "app/ban_admin.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace sipbox::app {
namespace {

using nlohmann::json;
using security::WallClock;

json refused(std::string_view tag, std::string message) {
  return {{"ok", false}, {"error", {{"tag", tag}, {"type", "application"}, {"message", std::move(message)}}}};
}

json ban_fields(const std::string& prefix, store::Time until, const std::string& reason, std::uint32_t sid,
                std::uint32_t offences, WallClock::time_point now) {
  const bool forever = until == store::Time::max();
  json remaining = nullptr;
  if (!forever)
    remaining = std::max<std::int64_t>(
        0, (until - std::chrono::floor<std::chrono::seconds>(now)).count());
  return {{"address", prefix},
          {"until", forever ? json(nullptr) : json(iso8601_utc(until))},
          {"remaining_seconds", remaining},
          {"reason", reason},
          {"sid", sid},
          {"offences", offences}};
}

bool read_number(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

struct Args {
  std::size_t limit = 1000;
  std::size_t offset = 0;
  security::Prefix prefix;
  std::chrono::seconds duration{0};
  std::string reason;
};

// Reads what `op` needs from the request; an error reply when something is wrong.
std::optional<json> read_args(const std::string& op, const json& request, Args& args) {
  const auto count = [&](const char* key, std::size_t& out) -> bool {
    if (!request.contains(key)) return true;
    if (!request[key].is_number_integer() || request[key].get<std::int64_t>() < 0) return false;
    out = request[key].get<std::size_t>();
    return true;
  };
  if (op == "bans.list") {
    if (!count("limit", args.limit) || !count("offset", args.offset))
      return refused("invalid-value", "limit and offset must be non-negative integers");
    return std::nullopt;
  }
  const std::string address = request.value("address", std::string());
  auto prefix = security::parse_prefix(address);
  if (!prefix) return refused("invalid-value", "bad address '" + address + "': " + prefix.error().message);
  args.prefix = *prefix;
  if (op == "bans.add") {
    const auto& d = request.contains("duration_seconds") ? request["duration_seconds"] : json(600);
    if (!d.is_number_integer() || d.get<std::int64_t>() <= 0 || d.get<std::int64_t>() > 100LL * 366 * 86400)
      return refused("invalid-value", "duration_seconds must be a positive number of seconds");
    args.duration = std::chrono::seconds(d.get<std::int64_t>());
    if (request.contains("reason") && !request["reason"].is_string())
      return refused("invalid-value", "reason must be a string");
    args.reason = request.value("reason", std::string("manual"));
  }
  return std::nullopt;
}

template <class T>
json page(const std::vector<T>& all, const Args& args, WallClock::time_point now) {
  json out = json::array();
  for (std::size_t i = args.offset; i < all.size() && out.size() < args.limit; ++i) out.push_back(ban_json(all[i], now));
  return out;
}

}  // namespace

std::string iso8601_utc(std::chrono::sys_seconds seconds) {
  if (seconds == store::Time::max()) return "never";
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{seconds - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::sys_seconds> parse_time(std::string_view text) {
  std::int64_t unix_seconds = 0;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 12 || !read_number(text, unix_seconds)) return std::nullopt;
    return std::chrono::sys_seconds(std::chrono::seconds(unix_seconds));
  }
  // YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|(+|-)hh:mm]
  std::size_t pos = 0;
  const auto digits = [&](std::size_t n, int& out) {
    if (pos + n > text.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    pos += n;
    return true;
  };
  const auto expect = [&](char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  std::chrono::seconds offset{0};
  if (pos < text.size()) {
    if (!(expect('T') || expect('t') || expect(' '))) return std::nullopt;
    if (!digits(2, h) || !expect(':') || !digits(2, mi)) return std::nullopt;
    if (expect(':')) {
      if (!digits(2, s)) return std::nullopt;
      if (expect('.') || expect(',')) {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || s > 60) return std::nullopt;
    if (expect('Z') || expect('z')) {
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!digits(2, oh)) return std::nullopt;
      expect(':');
      if (!digits(2, om) || oh > 23 || om > 59) return std::nullopt;
      offset = std::chrono::seconds(sign * (oh * 3600 + om * 60));
    }
    if (pos != text.size()) return std::nullopt;
  }
  return std::chrono::sys_seconds(std::chrono::sys_days(ymd)) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s) - offset;
}

json ban_json(const security::BanEntry& ban, WallClock::time_point now) {
  return ban_fields(ban.prefix.text(), std::chrono::floor<std::chrono::seconds>(ban.until), ban.reason, ban.sid, ban.offences, now);
}

json ban_json(const store::Ban& ban, WallClock::time_point now) {
  return ban_fields(ban.prefix, ban.until, ban.reason, ban.sid, ban.offences, now);
}

json incident_json(const store::Incident& i) {
  return {{"id", i.id},           {"at", iso8601_utc(i.at)}, {"source", i.source}, {"sid", i.sid},
          {"message", i.message}, {"count", i.count},        {"action", i.action}};
}

std::optional<json> execute_ban_op(security::Guard& guard, const security::BanTable& table, const json& request) {
  const std::string op = request.value("op", std::string());
  if (op != "bans.list" && op != "bans.del" && op != "bans.add") return std::nullopt;
  Args args;
  if (auto error = read_args(op, request, args)) return error;
  const auto now = WallClock::now();
  if (op == "bans.list") {
    auto all = table.list(now);
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.prefix.text() < b.prefix.text(); });
    return json{{"ok", true}, {"data", page(all, args, now)}};
  }
  if (op == "bans.del") {
    const auto existing = table.find(args.prefix);
    if (!existing || existing->until <= now || !guard.unban(args.prefix))
      return refused("data-missing", "no ban for " + args.prefix.text());
    return json{{"ok", true}, {"data", ban_json(*existing, now)}};
  }
  if (guard.whitelisted(args.prefix.network))
    return refused("invalid-value", args.prefix.text() + " is whitelisted");
  return json{{"ok", true}, {"data", ban_json(guard.ban(args.prefix, args.duration, args.reason), now)}};
}

json execute_ban_op_offline(store::Store& store, const json& request) {
  const std::string op = request.value("op", std::string());
  if (op != "bans.list" && op != "bans.del" && op != "bans.add")
    return refused("operation-not-supported", "unknown op '" + op + "'");
  Args args;
  if (auto error = read_args(op, request, args)) return *error;
  const auto now = WallClock::now();
  auto all = store.bans().load_all(store::now_seconds());
  if (!all) return refused("operation-failed", all.error().message);
  const std::string key = args.prefix.text();
  const auto found = std::find_if(all->begin(), all->end(), [&](const store::Ban& b) { return b.prefix == key; });
  if (op == "bans.list") return json{{"ok", true}, {"data", page(*all, args, now)}};
  if (op == "bans.del") {
    if (found == all->end()) return refused("data-missing", "no ban for " + key);
    const json gone = ban_json(*found, now);
    store.bans().remove(key);
    if (auto flushed = store.flush(); !flushed) return refused("operation-failed", flushed.error().message);
    return json{{"ok", true}, {"data", gone}};
  }
  store::Ban ban{key, store::now_seconds() + args.duration, args.reason, 0, 1};
  if (found != all->end()) {
    ban.until = std::max(ban.until, found->until);
    ban.offences = found->offences;
  }
  store.bans().upsert(ban);
  if (auto flushed = store.flush(); !flushed) return refused("operation-failed", flushed.error().message);
  return json{{"ok", true}, {"data", ban_json(ban, now)}};
}

}  // namespace sipbox::app
