// Candidate, commit, discard-changes and locks (RFC 6241 7.5, 7.6, 8.3).
#include "tests/unit/config/fixture.h"

namespace sipbox::config::testing {
namespace {

using CandidateTest = StoreTest;

TEST_F(CandidateTest, CandidateEditReachesRunningOnlyAtCommit) {
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>", Datastore::Candidate));
  EXPECT_EQ(running(kSipPort), "5060");
  auto candidate = store_->get_config(Datastore::Candidate, Encoding::Xml);
  ASSERT_TRUE(candidate);
  EXPECT_NE(candidate->find("<sip-port>5070</sip-port>"), std::string::npos);
  ASSERT_TRUE(store_->commit(admin_));
  EXPECT_EQ(running(kSipPort), "5070");
  reopen();
  EXPECT_EQ(running(kSipPort), "5070");
}

TEST_F(CandidateTest, CandidateEditsAreNotValidatedUntilCommit) {
  // RFC 6241 8.3: an intermediate candidate may be invalid.
  ASSERT_TRUE(edit("<system><listeners><sip-port>5061</sip-port></listeners></system>", Datastore::Candidate));
  auto check = store_->validate(Datastore::Candidate);
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().app_tag, "port-clash");
  ASSERT_TRUE(edit("<system><listeners><tls-port>5062</tls-port></listeners></system>", Datastore::Candidate));
  ASSERT_TRUE(store_->validate(Datastore::Candidate));
  ASSERT_TRUE(store_->commit(admin_));
  EXPECT_EQ(running(kSipPort), "5061");
  EXPECT_EQ(running(kTlsPort), "5062");
}

TEST_F(CandidateTest, CommitOfAnInvalidCandidateLeavesRunningUntouched) {
  std::string before = read_file(dir_.path() / "running.xml");
  ASSERT_TRUE(edit("<system><listeners><sip-port>5061</sip-port></listeners></system>", Datastore::Candidate));
  auto result = store_->commit(admin_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "operation-failed");
  EXPECT_EQ(result.error().app_tag, "port-clash");
  EXPECT_EQ(running(kSipPort), "5060");
  EXPECT_EQ(read_file(dir_.path() / "running.xml"), before);
}

TEST_F(CandidateTest, DiscardChangesRestoresRunning) {
  ASSERT_TRUE(edit("<system><name>draft</name></system>", Datastore::Candidate));
  ASSERT_TRUE(store_->discard_changes(admin_));
  auto candidate = store_->get_config(Datastore::Candidate, Encoding::Xml);
  ASSERT_TRUE(candidate);
  EXPECT_EQ(candidate->find("draft"), std::string::npos);
  ASSERT_TRUE(store_->commit(admin_));  // nothing to commit
  EXPECT_EQ(running("/sipbox-test:system/name"), "sipbox");
}

TEST_F(CandidateTest, AnUntouchedCandidateFollowsRunning) {
  ASSERT_TRUE(edit("<system><name>live</name></system>"));
  auto candidate = store_->get_config(Datastore::Candidate, Encoding::Xml, "/sipbox-test:system/name");
  ASSERT_TRUE(candidate);
  EXPECT_NE(candidate->find("live"), std::string::npos);
}

TEST_F(CandidateTest, CopyConfigBetweenDatastores) {
  ASSERT_TRUE(edit("<system><name>saved</name></system>"));
  ASSERT_TRUE(store_->copy_config(admin_, Datastore::Startup, Datastore::Running));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "startup.xml"));
  ASSERT_TRUE(edit("<system><name>later</name></system>"));
  reopen();
  auto startup = store_->get_config(Datastore::Startup, Encoding::Xml);
  ASSERT_TRUE(startup);
  EXPECT_NE(startup->find("saved"), std::string::npos);
  ASSERT_TRUE(store_->copy_config(admin_, Datastore::Running, Datastore::Startup));
  EXPECT_EQ(running("/sipbox-test:system/name"), "saved");
  // candidate -> running goes through validation like a commit.
  ASSERT_TRUE(edit("<system><listeners><sip-port>5061</sip-port></listeners></system>", Datastore::Candidate));
  auto invalid = store_->copy_config(admin_, Datastore::Running, Datastore::Candidate);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().app_tag, "port-clash");
  EXPECT_FALSE(store_->copy_config(admin_, Datastore::Running, Datastore::Running));
}

TEST_F(CandidateTest, OnlyStartupCanBeDeleted) {
  auto running_delete = store_->delete_config(admin_, Datastore::Running);
  ASSERT_FALSE(running_delete);
  EXPECT_EQ(running_delete.error().tag, "operation-not-supported");
  ASSERT_TRUE(store_->copy_config(admin_, Datastore::Startup, Datastore::Running));
  ASSERT_TRUE(store_->delete_config(admin_, Datastore::Startup));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "startup.xml"));
  auto copy = store_->copy_config(admin_, Datastore::Running, Datastore::Startup);
  ASSERT_FALSE(copy);
  EXPECT_EQ(copy.error().tag, "data-missing");
}

using LockTest = StoreTest;

TEST_F(LockTest, ASecondLockIsDeniedWithTheHoldersId) {
  ASSERT_TRUE(store_->lock(admin_, Datastore::Running));
  auto denied = store_->lock(other_, Datastore::Running);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().tag, "lock-denied");
  EXPECT_EQ(denied.error().lock_holder, admin_.id);
  EXPECT_FALSE(store_->lock(admin_, Datastore::Running));  // already held, even by itself
  ASSERT_TRUE(store_->lock(other_, Datastore::Candidate));  // locks are per datastore
}

TEST_F(LockTest, EditsFromOtherSessionsAreInUse) {
  ASSERT_TRUE(store_->lock(admin_, Datastore::Running));
  auto refused = edit("<system><name>x</name></system>", Datastore::Running, DefaultOperation::Merge, &other_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().tag, "in-use");
  EXPECT_FALSE(store_->set_leaf(other_, kSipPort, "5070"));
  EXPECT_FALSE(store_->replace_running(other_, "", Encoding::Xml));
  EXPECT_FALSE(store_->edit_path(other_, Datastore::Running, kSipPort, ConfigStore::PathEdit::Replace,
                                 R"({"sipbox-test:sip-port":5070})", Encoding::Json));
  ASSERT_TRUE(edit("<system><name>x</name></system>", Datastore::Running, DefaultOperation::Merge, &admin_));
  EXPECT_EQ(running("/sipbox-test:system/name"), "x");
  // The candidate is free, but committing it would change the locked running.
  ASSERT_TRUE(edit("<system><name>y</name></system>", Datastore::Candidate, DefaultOperation::Merge, &other_));
  auto commit = store_->commit(other_);
  ASSERT_FALSE(commit);
  EXPECT_EQ(commit.error().tag, "in-use");
}

TEST_F(LockTest, OnlyTheHolderCanUnlock) {
  ASSERT_TRUE(store_->lock(admin_, Datastore::Running));
  auto refused = store_->unlock(other_, Datastore::Running);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().tag, "operation-failed");
  ASSERT_TRUE(store_->unlock(admin_, Datastore::Running));
  EXPECT_FALSE(store_->unlock(admin_, Datastore::Running));  // not locked any more
  ASSERT_TRUE(store_->lock(other_, Datastore::Running));
}

TEST_F(LockTest, AModifiedCandidateCannotBeLocked) {
  ASSERT_TRUE(edit("<system><name>draft</name></system>", Datastore::Candidate, DefaultOperation::Merge, &other_));
  auto denied = store_->lock(admin_, Datastore::Candidate);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().tag, "lock-denied");
  ASSERT_TRUE(store_->discard_changes(admin_));
  ASSERT_TRUE(store_->lock(admin_, Datastore::Candidate));
  auto refused = edit("<system><name>x</name></system>", Datastore::Candidate, DefaultOperation::Merge, &other_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().tag, "in-use");
  EXPECT_FALSE(store_->discard_changes(other_));
}

TEST_F(LockTest, ReleaseLocksFreesEverythingASessionHeld) {
  ASSERT_TRUE(store_->lock(admin_, Datastore::Running));
  ASSERT_TRUE(store_->lock(admin_, Datastore::Candidate));
  ASSERT_TRUE(store_->lock(other_, Datastore::Startup));
  ASSERT_TRUE(edit("<system><name>draft</name></system>", Datastore::Candidate));
  store_->release_locks(admin_.id);
  ASSERT_TRUE(store_->lock(other_, Datastore::Running));
  // The candidate changes of the ended session are gone, so it can be locked again.
  ASSERT_TRUE(store_->lock(other_, Datastore::Candidate));
  auto candidate = store_->get_config(Datastore::Candidate, Encoding::Xml);
  ASSERT_TRUE(candidate);
  EXPECT_EQ(candidate->find("draft"), std::string::npos);
  EXPECT_FALSE(store_->lock(admin_, Datastore::Startup));  // other's lock stayed
}

}  // namespace
}  // namespace sipbox::config::testing
