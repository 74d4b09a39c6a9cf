// The security module's daily summary (app/security_service.h): once per local day, a
// count per message and per source of the previous day's incidents from the store.
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "app/security_service.h"
#include "tests/unit/temp_dir.h"

namespace sipbox::app {
namespace {

using namespace std::chrono_literals;

// Local midnight at the start of the day `days` after today.
security::WallClock::time_point midnight(int days) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mday += days;
  tm.tm_isdst = -1;
  return security::WallClock::from_time_t(std::mktime(&tm));
}

store::Incident incident(security::WallClock::time_point at, std::string source, std::string message) {
  store::Incident i;
  i.at = std::chrono::time_point_cast<store::Time::duration>(at);
  i.source = std::move(source);
  i.message = std::move(message);
  i.count = 1;
  i.action = "alert";
  return i;
}

TEST(DailySummary, once_per_local_day_counts_the_previous_days_incidents) {
  test_support::TempDir dir;
  auto store = store::open_sqlite_store(dir.path() / "sipbox.db");
  ASSERT_TRUE(store) << store.error().message;
  const auto today = midnight(0);
  auto& incidents = (*store)->incidents();
  incidents.append(incident(today - 1h, "192.0.2.9", "yesterday's"));  // not in today's summary
  incidents.append(incident(today + 1h, "192.0.2.1", "REGISTER flood"));
  incidents.append(incident(today + 2h, "192.0.2.1", "REGISTER flood"));
  incidents.append(incident(today + 3h, "192.0.2.2", "scanner"));
  incidents.append(incident(midnight(1) + 1min, "192.0.2.3", "tomorrow's"));
  ASSERT_TRUE((*store)->flush());

  NotificationSettings settings;
  settings.syslog = false;
  SecurityReporter reporter(**store, NftablesSettings{}, settings);
  EXPECT_EQ(reporter.daily_summary(today + 12h), std::nullopt);  // the day it started: nothing due

  const auto summary = reporter.daily_summary(midnight(1) + 1min);
  ASSERT_TRUE(summary);
  const auto json = nlohmann::json::parse(*summary);
  EXPECT_EQ(json["type"], "daily-summary");
  EXPECT_EQ(json["incidents"], 3);
  EXPECT_EQ(json["by_message"], (nlohmann::json{{"REGISTER flood", 2}, {"scanner", 1}}));
  EXPECT_EQ(json["by_source"], (nlohmann::json{{"192.0.2.1", 2}, {"192.0.2.2", 1}}));

  EXPECT_EQ(reporter.daily_summary(midnight(1) + 2min), std::nullopt);  // once a day
  const auto next = reporter.daily_summary(midnight(2) + 1min);
  ASSERT_TRUE(next);
  EXPECT_EQ(nlohmann::json::parse(*next)["by_message"], (nlohmann::json{{"tomorrow's", 1}}));
}

TEST(DailySummary, turned_off_it_says_nothing) {
  test_support::TempDir dir;
  auto store = store::open_sqlite_store(dir.path() / "sipbox.db");
  ASSERT_TRUE(store);
  NotificationSettings settings;
  settings.syslog = false;
  settings.daily_summary = false;
  SecurityReporter reporter(**store, NftablesSettings{}, settings);
  EXPECT_EQ(reporter.daily_summary(midnight(1) + 1min), std::nullopt);
}

}  // namespace
}  // namespace sipbox::app
