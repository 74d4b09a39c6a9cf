// Bans (issue 5): round trip, replace, remove, expiry; a ban without end stays.
#include "fixture.h"

namespace sipbox::store::test {
namespace {

Ban ban(std::string prefix, Time until, std::uint32_t offences = 1) {
  return Ban{std::move(prefix), until, "SIP DoS attempt(registerflood)", 1000001, offences};
}

TEST(BanStore, RoundTripReplaceRemoveAndExpiry) {
  TempDir dir;
  const Ban v4 = ban("192.0.2.7", kNow + std::chrono::minutes(10));
  const Ban v6 = ban("2001:db8::/64", Time::max());
  const Ban old = ban("198.51.100.9", kNow - std::chrono::seconds(5));
  Ban manual{"203.0.113.0/24", kNow + std::chrono::hours(24), "", 0, 0};
  {
    auto store = open_or_die(dir.db());
    for (const auto& b : {v4, v6, old, manual}) store->bans().upsert(b);
    ASSERT_TRUE(store->close());
  }
  auto store = open_or_die(dir.db());
  auto loaded = store->bans().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 3u);  // ordered by prefix; the expired one skipped
  EXPECT_EQ((*loaded)[0], v4);
  EXPECT_EQ((*loaded)[1], v6);
  EXPECT_EQ((*loaded)[2], manual);

  // A repeat offender: the same prefix again, longer and counted.
  const Ban repeat = ban("192.0.2.7", kNow + std::chrono::hours(1), 2);
  store->bans().upsert(repeat);
  store->bans().remove("2001:db8::/64");
  store->bans().purge_expired(kNow);
  loaded = store->bans().load_all(kNow - std::chrono::hours(1));
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], repeat);
  EXPECT_EQ((*loaded)[1], manual);
}

}  // namespace
}  // namespace sipbox::store::test
