// The location service: AOR normalization (RFC 3261 10.3 step 5), ordering, expiry, and
// persistence through a real SQLite store (issue 4: bindings survive a restart); which
// changes are persisted at once (upsert) and which lazily (refresh).
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "registrar_fixture.h"
#include "store/store.h"
#include "tests/unit/temp_dir.h"

namespace sipbox::registrar::test {
namespace {

using test_support::TempDir;

std::string aor_of(std::string_view text) {
  auto uri = sip::parse_uri(text);
  EXPECT_TRUE(uri);
  auto aor = normalize_aor(*uri);
  return aor ? *aor : "error: " + aor.error().message;
}

TEST(Location, rfc3261_10_3_step5_aor_is_canonical) {
  EXPECT_EQ(aor_of("sip:alice@Example.COM"), "sip:alice@example.com");
  EXPECT_EQ(aor_of("sip:%61lice@example.com:5070;transport=tcp?subject=x"), "sip:alice@example.com");
  EXPECT_EQ(aor_of("SIPS:Alice@example.com"), "sips:Alice@example.com");  // user stays case-sensitive
  EXPECT_EQ(aor_of("sip:example.com"), "error: address-of-record has no user part");
  EXPECT_EQ(aor_of("tel:+15551234"), "error: address-of-record is not a sip or sips URI");
}

Update one_contact(std::string contact, std::uint32_t expires, std::string call_id, std::uint32_t cseq) {
  Update u;
  u.aor = "sip:alice@example.com";
  u.call_id = std::move(call_id);
  u.cseq = cseq;
  u.received = Source{"udp", "192.0.2.10", 5060, "udp0"};
  ContactUpdate c;
  c.contact = std::move(contact);
  c.expires = expires;
  u.contacts.push_back(std::move(c));
  return u;
}

TEST(Location, rfc3261_19_1_4_equivalent_contact_refreshes_the_same_binding) {
  Location location;
  const auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  EXPECT_EQ(location.apply(one_contact("sip:alice@Phone.example.com:5060;transport=tcp", 600, "a", 1), now).added, 1u);
  const auto r =
      location.apply(one_contact("sip:alice@phone.EXAMPLE.com:5060;TRANSPORT=TCP;newparam=5", 600, "b", 1), now);
  EXPECT_EQ(r.added, 0u);
  EXPECT_EQ(r.refreshed, 1u);
  EXPECT_EQ(location.binding_count(), 1u);
  // 19.1.4: an explicit default port is a different URI, so a different binding.
  EXPECT_EQ(location.apply(one_contact("sip:alice@phone.example.com;transport=tcp", 600, "b", 2), now).added, 1u);
}

TEST(Location, ContactOnTheSourceAddressIsNotBehindNat) {
  Location location;
  const auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  (void)location.apply(one_contact("sip:alice@192.0.2.10", 600, "a", 1), now);  // default port 5060
  const auto found = location.lookup("sip:alice@example.com", now);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].behind_nat);
  EXPECT_FALSE(found[0].send_to_source);  // UDP: the Contact itself is reachable
}

TEST(Location, ConcurrentRegistrationsOfOneAorFromManyWorkers) {
  // Workers shard by Call-ID, so one AOR's phones arrive on different threads at once.
  store::LocationStore* no_store = nullptr;
  Location location(no_store);
  const auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (std::uint32_t cseq = 1; cseq <= 200; ++cseq) {
        const std::string contact = "sip:alice@192.0.2." + std::to_string(w) + ":" + std::to_string(5060 + cseq % 5);
        Update u = one_contact(contact, 600, "call-" + std::to_string(w) + "-" + std::to_string(cseq % 5), cseq);
        u.max_contacts = 100;
        const auto r = location.apply(u, now);
        EXPECT_EQ(r.status, UpdateResult::Status::Ok);
        (void)location.lookup("sip:alice@example.com", now);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(location.binding_count(), 20u);  // 4 workers x 5 contacts, each refreshed in place
}

TEST(Location, ContactListedTwiceInOneRequestIsOneBinding) {
  Location location;
  const auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  Update u = one_contact("sip:alice@192.0.2.10", 600, "a", 1);
  u.contacts.push_back(u.contacts.front());
  u.contacts.back().expires = 300;
  const auto r = location.apply(u, now);
  EXPECT_EQ(r.status, UpdateResult::Status::Ok);
  ASSERT_EQ(r.current.size(), 1u);
  EXPECT_EQ(r.current[0].binding.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 300s);  // the last wins
}

TEST_F(RegistrarTest, BindingsSurviveARestartThroughTheSqliteStore) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const auto db = dir.path() / "sipbox.db";
  {
    auto store = store::open_sqlite_store(db);
    ASSERT_TRUE(store) << store.error().message;
    Location persistent(&(*store)->location());
    Registrar with_store{directory, persistent, auth, settings};
    Req r;
    r.contacts = {"<sip:alice@192.168.1.10:5060>;q=0.7", "<sip:alice@192.0.2.11:5060>;expires=600",
                  "<sip:alice@192.0.2.12:5060>"};
    r.extra = "Path: <sip:edge.example.net;lr>\r\nUser-Agent: TestPhone/1.0\r\n";
    const std::string nonce = nonce_of(send(r));
    ++r.cseq;
    const std::string bytes = request_text(r, credentials(r, nonce));
    sip::Message message;
    ASSERT_TRUE(sip::parse_message(bytes, sip::Framing::Datagram, message));
    const Source nat{"udp", "203.0.113.5", 40000, "udp:0.0.0.0:5060"};
    ASSERT_EQ(with_store.handle(message, nat, now).status, 200);
    // The third contact leaves again: the removal must reach the store too.
    r.contacts = {"<sip:alice@192.0.2.12:5060>;expires=0"};
    ++r.cseq;
    const std::string bytes2 = request_text(r, credentials(r, nonce, "00000002"));
    sip::Message message2;
    ASSERT_TRUE(sip::parse_message(bytes2, sip::Framing::Datagram, message2));
    ASSERT_EQ(with_store.handle(message2, nat, now).status, 200);
    ASSERT_TRUE((*store)->close());
  }
  auto store = store::open_sqlite_store(db);
  ASSERT_TRUE(store) << store.error().message;
  Location restored;
  const auto count = restored.restore((*store)->location(), now);
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 2u);
  const auto bindings = restored.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].binding.contact, "sip:alice@192.0.2.11:5060");
  EXPECT_EQ(bindings[0].binding.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 600s);
  EXPECT_EQ(bindings[1].binding.contact, "sip:alice@192.168.1.10:5060");
  EXPECT_EQ(bindings[1].binding.q, 700u);
  EXPECT_EQ(bindings[1].binding.path, std::vector<std::string>{"<sip:edge.example.net;lr>"});
  EXPECT_EQ(bindings[1].binding.user_agent, "TestPhone/1.0");
  EXPECT_EQ(bindings[1].binding.cseq, 2u);  // untouched by the later removal
  EXPECT_EQ(bindings[1].binding.received.address, "203.0.113.5");
  EXPECT_TRUE(bindings[1].behind_nat);
  // After the restart, the bindings expire and purge as before, in the store as well.
  EXPECT_EQ(restored.purge(now + 600s), 1u);
  Location purged(&(*store)->location());
  EXPECT_EQ(*purged.restore((*store)->location(), now + 600s), 1u);
  ASSERT_TRUE((*store)->close());
}

// ---- What goes to the store as an upsert, what as a lazy refresh ----

// Records each store call as "<call> <contact or aor>".
class RecordingStore final : public store::LocationStore {
 public:
  void upsert(store::Binding b) override { calls.push_back("upsert " + b.contact); }
  void refresh(store::Binding b) override { calls.push_back("refresh " + b.contact); }
  void remove(std::string, std::string contact) override { calls.push_back("remove " + contact); }
  void remove_all(std::string aor) override { calls.push_back("remove_all " + aor); }
  void purge_expired(store::Time) override { calls.push_back("purge"); }
  Result<std::vector<store::Binding>> load_all(store::Time) override { return std::vector<store::Binding>{}; }
  std::vector<std::string> calls;
};

TEST(Location, AReRegistrationThatOnlyExtendsTheBindingIsARefresh) {
  RecordingStore recorder;
  Location location(&recorder);
  auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  const std::string contact = "sip:alice@192.0.2.10:5062";
  (void)location.apply(one_contact(contact, 600, "a", 1), now);
  now += 300s;
  (void)location.apply(one_contact(contact, 600, "a", 2), now);  // the periodic refresh
  (void)location.apply(one_contact(contact, 600, "b", 1), now);  // rebooted: new Call-ID
  (void)location.apply(one_contact(contact, 300, "b", 2), now);  // expiry 300 s earlier
  EXPECT_EQ(recorder.calls, (std::vector<std::string>{"upsert " + contact, "refresh " + contact, "refresh " + contact,
                                                      "upsert " + contact}));
}

TEST(Location, ChangesThatDecideWhereRequestsGoAreUpserts) {
  const std::string contact = "sip:alice@192.0.2.10:5062";
  const auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  struct Case {
    const char* what;
    void (*change)(Update&);
  };
  const Case cases[] = {
      {"source port (NAT rebinding)", [](Update& u) { u.received.port = 40001; }},
      {"source transport", [](Update& u) { u.received.transport = "tcp"; }},
      {"local socket", [](Update& u) { u.received.socket = "udp1"; }},
      {"Path", [](Update& u) { u.path = {"<sip:edge.example.net;lr>"}; }},
      {"q", [](Update& u) { u.contacts[0].q = 500; }},
      {"User-Agent", [](Update& u) { u.user_agent = "Phone/2.0"; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    RecordingStore recorder;
    Location location(&recorder);
    (void)location.apply(one_contact(contact, 600, "a", 1), now);
    Update changed = one_contact(contact, 600, "a", 2);
    c.change(changed);
    EXPECT_EQ(location.apply(changed, now + 10s).refreshed, 1u);
    EXPECT_EQ(recorder.calls, (std::vector<std::string>{"upsert " + contact, "upsert " + contact}));
  }
}

TEST(Location, ANewKeyAnExpiredBindingAndARemovalAreNotRefreshes) {
  RecordingStore recorder;
  Location location(&recorder);
  auto now = Clock::time_point(std::chrono::seconds(1'800'000'000));
  (void)location.apply(one_contact("sip:alice@phone.example.com:5060", 600, "a", 1), now);
  // Equivalent URI written differently: the stored key changes.
  (void)location.apply(one_contact("sip:alice@PHONE.example.com:5060", 600, "a", 2), now);
  // Expired (the store may have purged the row, which a refresh would not bring back).
  now += 601s;
  (void)location.apply(one_contact("sip:alice@PHONE.example.com:5060", 600, "a", 3), now);
  (void)location.apply(one_contact("sip:alice@PHONE.example.com:5060", 0, "a", 4), now);
  EXPECT_EQ(recorder.calls, (std::vector<std::string>{
                                "upsert sip:alice@phone.example.com:5060", "remove sip:alice@phone.example.com:5060",
                                "upsert sip:alice@PHONE.example.com:5060", "upsert sip:alice@PHONE.example.com:5060",
                                "remove sip:alice@PHONE.example.com:5060"}));
}

// Through Registrar::handle and the SQLite store: the second REGISTER of the same contact
// is a refresh, one from a new NAT mapping an upsert; after close both are on disk.
TEST_F(RegistrarTest, ReRegistrationsReachTheStoreAsRefreshesOrUpserts) {
  TempDir dir;
  const auto db = dir.path() / "sipbox.db";
  auto store = store::open_sqlite_store(db);
  ASSERT_TRUE(store) << store.error().message;
  Location persistent(&(*store)->location());
  Registrar with_store{directory, persistent, auth, settings};
  Req r;
  auto register_from = [&](const Source& from) {
    const int status = registered_at(with_store, r, from).status;
    ++r.cseq;
    return status;
  };
  ASSERT_EQ(register_from(source), 200);
  EXPECT_EQ((*store)->stats().refreshes, 0u);
  now += 1000s;
  ASSERT_EQ(register_from(source), 200);
  EXPECT_EQ((*store)->stats().refreshes, 1u);
  EXPECT_EQ((*store)->stats().enqueued, 1u);  // the first upsert; the refresh is held
  Source rebound = source;
  rebound.port = 40123;
  now += 1000s;
  ASSERT_EQ(register_from(rebound), 200);
  EXPECT_EQ((*store)->stats().refreshes, 1u);
  EXPECT_EQ((*store)->stats().refreshes_superseded, 1u);
  EXPECT_EQ((*store)->stats().enqueued, 2u);
  now += 1000s;
  ASSERT_EQ(register_from(rebound), 200);
  ASSERT_TRUE((*store)->close());

  auto reopened = store::open_sqlite_store(db);
  ASSERT_TRUE(reopened) << reopened.error().message;
  Location restored;
  ASSERT_TRUE(restored.restore((*reopened)->location(), now));
  const auto bindings = restored.lookup("sip:alice@example.com", now);
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].binding.received, rebound);
  EXPECT_EQ(bindings[0].binding.expires_at, std::chrono::floor<std::chrono::seconds>(now) + 3600s);
  EXPECT_EQ(bindings[0].binding.cseq, r.cseq - 1);
}

}  // namespace
}  // namespace sipbox::registrar::test
