// Registrar bindings (issue 4): every field round-trips, upsert replaces by (aor, contact),
// removals, expiry at load and purge.
#include "fixture.h"

namespace sipbox::store::test {
namespace {

TEST(LocationStore, EveryFieldRoundTripsThroughReopen) {
  TempDir dir;
  Binding full = sample_binding(1);
  Binding minimal;  // empty strings, no path, zeros: "absent" must stay absent
  minimal.aor = "sip:bob@example.com";
  minimal.contact = "sip:bob@198.51.100.1";
  minimal.q = 0;
  minimal.expires_at = kNow + std::chrono::seconds(1);
  Binding extreme = sample_binding(2);
  extreme.received.port = 65535;
  extreme.reg_id = 4294967295u;
  extreme.cseq = 4294967295u;
  extreme.q = 1000;
  extreme.path = {"<sip:a,b@x;lr>", "", "[\"json\"]"};
  extreme.expires_at = Time::max();
  {
    auto store = open_or_die(dir.db());
    store->location().upsert(full);
    store->location().upsert(minimal);
    store->location().upsert(extreme);
    ASSERT_TRUE(store->close());
  }
  auto store = open_or_die(dir.db());
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  // Ordered by (aor, contact).
  ASSERT_EQ(loaded->size(), 3u);
  EXPECT_EQ((*loaded)[0], minimal);
  EXPECT_EQ((*loaded)[1], full);
  EXPECT_EQ((*loaded)[2], extreme);
}

TEST(LocationStore, UpsertReplacesTheSameAorAndContact) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding first = sample_binding(1);
  Binding refreshed = first;
  refreshed.cseq += 1;
  refreshed.expires_at += std::chrono::minutes(5);
  refreshed.received.port = 5099;
  refreshed.path.clear();
  Binding other_contact = first;
  other_contact.contact = "sip:user1@203.0.113.5";
  store->location().upsert(first);
  store->location().upsert(refreshed);
  store->location().upsert(other_contact);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], refreshed);  // "sip:user1@192..." sorts before "sip:user1@203..."
  EXPECT_EQ((*loaded)[1], other_contact);
}

TEST(LocationStore, RemoveOneContactAndRemoveAllOfAnAor) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding a1 = sample_binding(1);
  Binding a2 = a1;
  a2.contact = "sip:user1@203.0.113.5";
  Binding b = sample_binding(2);
  Binding c = sample_binding(3);
  for (const auto& x : {a1, a2, b, c}) store->location().upsert(x);
  store->location().remove(a1.aor, a1.contact);
  store->location().remove(b.aor, "sip:not-registered@example.com");  // no such binding: no effect
  store->location().remove_all(c.aor);
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0], a2);
  EXPECT_EQ((*loaded)[1], b);
}

TEST(LocationStore, ExpiredBindingsAreSkippedAtLoadAndPurged) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding expired = sample_binding(1, kNow - std::chrono::seconds(1));
  Binding expiring_now = sample_binding(2, kNow);  // expires_at <= now counts as expired
  Binding live = sample_binding(3, kNow + std::chrono::seconds(1));
  for (const auto& x : {expired, expiring_now, live}) store->location().upsert(x);

  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0], live);

  // Skipped is not deleted: an earlier "now" still sees them until the purge.
  auto earlier = store->location().load_all(kNow - std::chrono::hours(1));
  ASSERT_TRUE(earlier);
  EXPECT_EQ(earlier->size(), 3u);
  store->location().purge_expired(kNow);
  earlier = store->location().load_all(kNow - std::chrono::hours(1));
  ASSERT_TRUE(earlier);
  ASSERT_EQ(earlier->size(), 1u);
  EXPECT_EQ((*earlier)[0], live);
}

TEST(LocationStore, OperationsApplyInTheOrderTheyWereEnqueued) {
  TempDir dir;
  auto store = open_or_die(dir.db());
  Binding b = sample_binding(1);
  store->location().upsert(b);
  store->location().remove(b.aor, b.contact);
  Binding back = b;
  back.cseq = 1;
  store->location().upsert(back);
  store->location().remove_all("sip:someone-else@example.com");
  auto loaded = store->location().load_all(kNow);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].cseq, 1u);
}

}  // namespace
}  // namespace sipbox::store::test
