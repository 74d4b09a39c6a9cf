// Appliers (live apply with rollback) and the audit log.
#include <nlohmann/json.hpp>

#include "tests/unit/config/fixture.h"

namespace sipbox::config::testing {
namespace {

class RecordingApplier : public Applier {
 public:
  struct Call {
    std::vector<Change> changes;
    std::optional<std::string> sip_port;  // as seen in the snapshot handed over
  };

  Status apply(const Snapshot& next, std::span<const Change> changes) override {
    calls.push_back({{changes.begin(), changes.end()}, next.value(kSipPort)});
    if (refuse && calls.size() == 1) return fail("trunk t9 cannot be reached");
    return {};
  }

  bool refuse = false;
  std::vector<Call> calls;
};

class ApplyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store_->add_applier("/sipbox-test:system", &system_);
    store_->add_applier("/sipbox-test:routing", &routing_);
  }
  RecordingApplier system_;
  RecordingApplier routing_;
};

TEST_F(ApplyTest, AppliersSeeOnlyTheirSubtreeWithOldAndNewValues) {
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  ASSERT_EQ(system_.calls.size(), 1u);
  EXPECT_TRUE(routing_.calls.empty());
  const auto& changes = system_.calls[0].changes;
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, Change::Kind::Replace);
  EXPECT_EQ(changes[0].path, kSipPort);
  EXPECT_EQ(changes[0].old_value, "5060");
  EXPECT_EQ(changes[0].new_value, "5070");
  EXPECT_EQ(system_.calls[0].sip_port, "5070");  // the new tree, before it is swapped in

  ASSERT_TRUE(edit("<routing><trunk><name>t1</name><host>h</host></trunk></routing>"));
  ASSERT_EQ(routing_.calls.size(), 1u);
  EXPECT_EQ(system_.calls.size(), 1u);
  const auto& created = routing_.calls[0].changes;
  ASSERT_FALSE(created.empty());
  EXPECT_EQ(created[0].kind, Change::Kind::Create);
  EXPECT_EQ(created[0].path, "/sipbox-test:routing/trunk[name='t1']");
  bool saw_host = false;
  for (const auto& change : created)
    saw_host |= change.path == "/sipbox-test:routing/trunk[name='t1']/host" && change.new_value == "h";
  EXPECT_TRUE(saw_host);
}

TEST_F(ApplyTest, BackToTheDefaultIsAReplaceWithTheDefaultValue) {
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  ASSERT_TRUE(edit("<system><listeners><sip-port nc:operation=\"delete\"/></listeners></system>"));
  ASSERT_EQ(system_.calls.size(), 2u);
  ASSERT_EQ(system_.calls[1].changes.size(), 1u);
  EXPECT_EQ(system_.calls[1].changes[0].old_value, "5070");
  EXPECT_EQ(system_.calls[1].changes[0].new_value, "5060");
}

TEST_F(ApplyTest, ARefusingApplierRollsEverythingBack) {
  routing_.refuse = true;
  std::string file_before = read_file(dir_.path() / "running.xml");
  std::size_t audit_before = audit_lines();
  auto result = edit(
      "<system><listeners><sip-port>5070</sip-port></listeners></system>"
      "<routing><trunk><name>t9</name><host>h</host></trunk></routing>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "operation-failed");
  EXPECT_EQ(result.error().message, "trunk t9 cannot be reached");
  // Nothing changed: running, the file, the audit log.
  EXPECT_EQ(running(kSipPort), "5060");
  EXPECT_EQ(store_->running().count("/sipbox-test:routing/trunk"), 0u);
  EXPECT_EQ(read_file(dir_.path() / "running.xml"), file_before);
  EXPECT_EQ(audit_lines(), audit_before);
  // The applier that had accepted was called back with the old tree and reversed changes.
  ASSERT_EQ(system_.calls.size(), 2u);
  EXPECT_EQ(system_.calls[1].sip_port, "5060");
  ASSERT_EQ(system_.calls[1].changes.size(), 1u);
  EXPECT_EQ(system_.calls[1].changes[0].old_value, "5070");
  EXPECT_EQ(system_.calls[1].changes[0].new_value, "5060");
  // A later edit the applier accepts goes through.
  ASSERT_TRUE(edit("<routing><trunk><name>t9</name><host>h</host></trunk></routing>"));
  EXPECT_EQ(store_->running().count("/sipbox-test:routing/trunk"), 1u);
}

TEST_F(ApplyTest, CommitGoesThroughTheAppliers) {
  routing_.refuse = true;
  ASSERT_TRUE(edit("<routing><trunk><name>t1</name><host>h</host></trunk></routing>", Datastore::Candidate));
  EXPECT_TRUE(routing_.calls.empty());
  auto refused = store_->commit(admin_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(store_->running().count("/sipbox-test:routing/trunk"), 0u);
  ASSERT_TRUE(store_->commit(admin_));
  EXPECT_EQ(store_->running().count("/sipbox-test:routing/trunk"), 1u);
}

TEST_F(ApplyTest, AcceptedEditsAreAuditedAndRefusedOnesAreNot) {
  ASSERT_TRUE(store_->set_leaf(Session{7, "carol", "cli"}, kSipPort, "5070"));
  ASSERT_EQ(audit_lines(), 1u);
  EXPECT_FALSE(edit("<system><listeners><sip-port>80</sip-port></listeners></system>"));
  EXPECT_EQ(audit_lines(), 1u);
  ASSERT_TRUE(edit("<users><user><name>u1</name></user></users>"));
  ASSERT_EQ(audit_lines(), 2u);

  std::ifstream in(store_->audit_log_path());
  std::string line;
  std::getline(in, line);
  auto record = nlohmann::json::parse(line);
  EXPECT_EQ(record["user"], "carol");
  EXPECT_EQ(record["via"], "cli");
  EXPECT_EQ(record["datastore"], "running");
  std::string time = record["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2024-01-01T12:00:00.000Z
  EXPECT_EQ(time.back(), 'Z');
  ASSERT_EQ(record["diff"].size(), 1u);
  EXPECT_EQ(record["diff"][0]["op"], "replace");
  EXPECT_EQ(record["diff"][0]["path"], kSipPort);
  EXPECT_EQ(record["diff"][0]["value"], "5070");
  EXPECT_EQ(record["diff"][0]["old"], "5060");
  std::getline(in, line);
  record = nlohmann::json::parse(line);
  EXPECT_EQ(record["user"], "admin");
  EXPECT_EQ(record["diff"][0]["op"], "create");
  EXPECT_EQ(record["diff"][0]["path"], "/sipbox-test:users/user[name='u1']");
}

}  // namespace
}  // namespace sipbox::config::testing
