// The ban table and the Guard's built-in detectors (rules are tested in their own files).
#include <gtest/gtest.h>

#include "security/security.h"

namespace sipbox::security {
namespace {

using namespace std::chrono_literals;

Address ip(const char* text) { return boost::asio::ip::make_address(text); }

struct RecordingReporter : Reporter {
  std::vector<Detection> detections;
  std::vector<BanEntry> bans;
  std::vector<BanEntry> unbans;
  void detected(const Detection& d) override { detections.push_back(d); }
  void banned(const BanEntry& b) override { bans.push_back(b); }
  void unbanned(const BanEntry& b) override { unbans.push_back(b); }
};

// Owns what a Guard refers to.
struct GuardFixture : ::testing::Test {
  BanTable table;
  RecordingReporter reporter;
  std::unique_ptr<Guard> guard;
  Clock::time_point now = Clock::now();
  std::vector<std::string> texts;  // keep parsed messages' bytes alive
  std::vector<std::unique_ptr<sip::Message>> messages;

  void make(SecuritySettings settings = {}) { guard = std::make_unique<Guard>(std::move(settings), table, reporter); }

  const sip::Message* request(const std::string& method, const std::string& extra = {}) {
    texts.push_back(method + " sip:bob@test.example SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bK" +
                    std::to_string(texts.size()) +
                    "\r\nFrom: <sip:a@test.example>;tag=1\r\nTo: <sip:bob@test.example>\r\nCall-ID: c" +
                    std::to_string(texts.size()) + "\r\nCSeq: 1 " + method + "\r\n" + extra +
                    "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
    auto m = std::make_unique<sip::Message>();
    EXPECT_TRUE(sip::parse_message(texts.back(), sip::Framing::Datagram, *m));
    messages.push_back(std::move(m));
    return messages.back().get();
  }

  Verdict send(const char* source, const sip::Message* message) {
    Packet p;
    p.message = message;
    p.bytes = message ? message->bytes() : std::string_view("garbage");
    p.src = ip(source);
    p.src_port = 5060;
    p.dst = ip("127.0.0.1");
    p.dst_port = 5060;
    return guard->inspect(p, now);
  }
};

TEST(Prefix, ParsesAndMatches) {
  auto host = parse_prefix("192.0.2.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->length, 32u);
  EXPECT_EQ(host->text(), "192.0.2.7");
  auto net = parse_prefix("10.1.0.0/16");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->contains(ip("10.1.200.3")));
  EXPECT_FALSE(net->contains(ip("10.2.0.1")));
  EXPECT_TRUE(net->contains(ip("::ffff:10.1.0.9")));  // an IPv4 peer on a dual-stack socket
  auto v6 = parse_prefix("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("2001:db8:1::5")));
  EXPECT_FALSE(v6->contains(ip("2001:db9::5")));
  EXPECT_FALSE(v6->contains(ip("10.1.0.1")));
  EXPECT_FALSE(parse_prefix("10.0.0.0/33"));
  EXPECT_FALSE(parse_prefix("not an address"));
  EXPECT_FALSE(parse_prefix("10.0.0.0/"));
}

TEST(BanTable, HostsAndPrefixesExpire) {
  BanTable table;
  const auto t0 = WallClock::now();
  EXPECT_FALSE(table.is_banned(ip("192.0.2.7"), t0));
  table.ban(BanEntry{*parse_prefix("192.0.2.7"), t0 + 10s, "test", 0, 1});
  table.ban(BanEntry{*parse_prefix("198.51.100.0/24"), t0 + 20s, "net", 0, 1});
  EXPECT_TRUE(table.is_banned(ip("192.0.2.7"), t0));
  EXPECT_FALSE(table.is_banned(ip("192.0.2.8"), t0));
  EXPECT_TRUE(table.is_banned(ip("198.51.100.77"), t0));
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.list(t0).size(), 2u);
  // A shorter ban does not shorten a longer one.
  table.ban(BanEntry{*parse_prefix("192.0.2.7"), t0 + 1s, "again", 0, 2});
  EXPECT_EQ(table.find(*parse_prefix("192.0.2.7"))->until, t0 + 10s);
  const auto expired = table.expire(t0 + 15s);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].prefix.text(), "192.0.2.7");
  EXPECT_FALSE(table.is_banned(ip("192.0.2.7"), t0 + 15s));
  EXPECT_TRUE(table.unban(*parse_prefix("198.51.100.0/24")));
  EXPECT_FALSE(table.unban(*parse_prefix("198.51.100.0/24")));
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(GuardFixture, RegisterFloodBansTheSourceOnlyAndTheBanIsCheckedBeforeParsing) {
  SecuritySettings s;
  s.flood.register_threshold = 10;
  s.flood.any_threshold = 1000;
  make(s);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(send("127.0.0.3", request("REGISTER")), Verdict::Pass) << i;
  EXPECT_EQ(send("127.0.0.3", request("REGISTER")), Verdict::Drop);
  ASSERT_EQ(reporter.bans.size(), 1u);
  EXPECT_EQ(reporter.bans[0].prefix.text(), "127.0.0.3");
  EXPECT_EQ(reporter.bans[0].reason, "REGISTER flood");
  ASSERT_EQ(reporter.detections.size(), 1u);
  EXPECT_EQ(reporter.detections[0].action, "ban 600 s");
  EXPECT_EQ(guard->before_parse(ip("127.0.0.3"), WallClock::now()), Verdict::Drop);
  EXPECT_EQ(guard->before_parse(ip("127.0.0.2"), WallClock::now()), Verdict::Pass);
  EXPECT_EQ(send("127.0.0.2", request("REGISTER")), Verdict::Pass);
  EXPECT_EQ(guard->stats().banned_dropped, 1u);
}

TEST_F(GuardFixture, RepeatOffendersGetLongerBansUpToTheMaximum) {
  SecuritySettings s;
  s.flood.register_threshold = 2;
  s.default_ban = 100s;
  s.repeat_factor = 3;
  s.max_ban = 500s;
  make(s);
  std::vector<std::chrono::seconds> durations;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) (void)send("127.0.0.3", request("REGISTER"));
    ASSERT_EQ(reporter.detections.size(), static_cast<std::size_t>(round + 1));
    EXPECT_TRUE(guard->unban(*parse_prefix("127.0.0.3")));
    now += 60s;  // a new window
  }
  EXPECT_EQ(reporter.detections[0].action, "ban 100 s");
  EXPECT_EQ(reporter.detections[1].action, "ban 300 s");
  EXPECT_EQ(reporter.detections[2].action, "ban 500 s");
  EXPECT_EQ(reporter.unbans.size(), 3u);
}

TEST_F(GuardFixture, WhitelistedSourcesAreNeverBanned) {
  SecuritySettings s;
  s.flood.register_threshold = 2;
  s.whitelist.push_back(*parse_prefix("127.0.0.0/24"));
  make(s);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(send("127.0.0.3", request("REGISTER")), Verdict::Pass);
  guard->auth_failure(ip("127.0.0.3"), "alice", now);
  EXPECT_TRUE(reporter.bans.empty());
  EXPECT_TRUE(reporter.detections.empty());
}

TEST_F(GuardFixture, ScannerIsBannedOnItsFirstMessage) {
  SecuritySettings s;
  s.scanner.user_agent_patterns = {"friendly-scanner", "sipcli/"};
  make(s);
  EXPECT_EQ(send("127.0.0.3", request("OPTIONS", "User-Agent: Friendly-Scanner\r\n")), Verdict::Drop);
  ASSERT_EQ(reporter.bans.size(), 1u);
  EXPECT_EQ(reporter.detections[0].message, "scanner (User-Agent 'friendly-scanner')");
  EXPECT_EQ(send("127.0.0.4", request("OPTIONS", "User-Agent: Linphone/5.0\r\n")), Verdict::Pass);
}

TEST_F(GuardFixture, MalformedBurstBansAfterTheThreshold) {
  SecuritySettings s;
  s.malformed.threshold = 3;
  make(s);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send("127.0.0.3", nullptr), Verdict::Pass);
  EXPECT_EQ(send("127.0.0.3", nullptr), Verdict::Drop);
  EXPECT_EQ(reporter.bans.size(), 1u);
}

TEST_F(GuardFixture, BruteForceCountsPerSourceAndEnumerationCountsDistinctUsers) {
  SecuritySettings s;
  s.brute_force.per_source = 3;
  s.enumeration.distinct_unknown_users = 2;
  make(s);
  for (int i = 0; i < 3; ++i) guard->auth_failure(ip("127.0.0.3"), "alice", now);
  EXPECT_TRUE(reporter.bans.empty());
  guard->auth_failure(ip("127.0.0.3"), "alice", now);
  ASSERT_EQ(reporter.bans.size(), 1u);
  // The same unknown user again and again is not enumeration; three different ones are.
  for (int i = 0; i < 5; ++i) guard->unknown_user(ip("127.0.0.4"), "100", now);
  EXPECT_EQ(reporter.bans.size(), 1u);
  guard->unknown_user(ip("127.0.0.4"), "101", now);
  guard->unknown_user(ip("127.0.0.4"), "102", now);
  ASSERT_EQ(reporter.bans.size(), 2u);
  EXPECT_EQ(reporter.bans[1].prefix.text(), "127.0.0.4");
}

TEST_F(GuardFixture, TollFraudSignalForPremiumCallsFromANewSource) {
  SecuritySettings s;
  s.toll_fraud.premium_prefixes = {"0900"};
  make(s);
  EXPECT_TRUE(guard->call_attempt(ip("192.0.2.1"), "alice", "09001234", now));  // the account's first source
  EXPECT_TRUE(reporter.detections.empty());
  EXPECT_TRUE(guard->call_attempt(ip("198.51.100.9"), "alice", "200", now));  // new source, ordinary number
  EXPECT_TRUE(reporter.detections.empty());
  EXPECT_FALSE(guard->call_attempt(ip("203.0.113.5"), "alice", "09005555", now));
  ASSERT_EQ(reporter.detections.size(), 1u);
  EXPECT_EQ(reporter.detections[0].action, "refused 403");
  EXPECT_TRUE(reporter.bans.empty());
  // The home source may call premium numbers.
  EXPECT_TRUE(guard->call_attempt(ip("192.0.2.1"), "alice", "09007777", now));
}

TEST_F(GuardFixture, TollFraudSignalForCallsAboveTheAccountsLimit) {
  make(SecuritySettings{});
  guard->call_limit_reached(ip("203.0.113.5"), "alice@example.com", 2, 2);
  ASSERT_EQ(reporter.detections.size(), 1u);
  EXPECT_EQ(reporter.detections[0].message,
            "toll fraud signal: 'alice@example.com' calls while 2 calls are in progress (limit 2)");
  EXPECT_EQ(reporter.detections[0].count, 3u);
  EXPECT_EQ(reporter.detections[0].action, "refused 403");
  EXPECT_TRUE(reporter.bans.empty());

  SecuritySettings off;
  off.toll_fraud.enabled = false;
  make(off);
  reporter.detections.clear();
  guard->call_limit_reached(ip("203.0.113.5"), "alice@example.com", 2, 2);
  EXPECT_TRUE(reporter.detections.empty());
}

TEST_F(GuardFixture, DisabledGuardKeepsBansButEnforcesNone) {
  SecuritySettings s;
  s.enabled = false;
  s.flood.register_threshold = 1;
  make(s);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send("127.0.0.3", request("REGISTER")), Verdict::Pass);
  guard->ban(*parse_prefix("127.0.0.9"), 60s, "manual");
  EXPECT_EQ(guard->before_parse(ip("127.0.0.9"), WallClock::now()), Verdict::Pass);
  s.enabled = true;
  guard->set_settings(s);
  EXPECT_EQ(guard->before_parse(ip("127.0.0.9"), WallClock::now()), Verdict::Drop);
  guard->tick(WallClock::now() + 61s);
  EXPECT_EQ(guard->before_parse(ip("127.0.0.9"), WallClock::now() + 61s), Verdict::Pass);
  EXPECT_EQ(reporter.unbans.size(), 1u);
}

TEST_F(GuardFixture, WhitelistingABannedAddressLetsItThrough) {
  make();
  guard->ban(*parse_prefix("127.0.0.9"), 60s, "manual");
  EXPECT_EQ(guard->before_parse(ip("127.0.0.9"), WallClock::now()), Verdict::Drop);
  SecuritySettings s;
  s.whitelist.push_back(*parse_prefix("127.0.0.0/24"));
  guard->set_settings(s);
  EXPECT_EQ(guard->before_parse(ip("127.0.0.9"), WallClock::now()), Verdict::Pass);
}

TEST_F(GuardFixture, OffencesCarriedByARestoredBanLengthenTheNextOne) {
  SecuritySettings s;
  s.flood.register_threshold = 2;
  s.default_ban = 100s;
  make(s);
  // As restore_bans does at start: a ban from the store, third offence.
  table.ban(BanEntry{*parse_prefix("127.0.0.3"), WallClock::now() + 10s, "restored", 0, 3});
  guard->tick(WallClock::now());
  for (int i = 0; i < 3; ++i) (void)send("127.0.0.3", request("REGISTER"));
  ASSERT_EQ(reporter.bans.size(), 1u);
  EXPECT_EQ(reporter.bans[0].offences, 4u);
  EXPECT_EQ(reporter.detections[0].action, "ban 800 s");
}

}  // namespace
}  // namespace sipbox::security
