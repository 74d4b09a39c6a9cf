// edit-config semantics (RFC 6241 7.2) and validation errors as rpc-error fields.
#include "tests/unit/config/fixture.h"

namespace sipbox::config::testing {
namespace {

using EditConfigTest = StoreTest;

TEST_F(EditConfigTest, MergeChangesOneLeafAndKeepsTheRest) {
  ASSERT_TRUE(edit("<system><listeners><tls-port>5071</tls-port></listeners></system>"));
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  EXPECT_EQ(running(kSipPort), "5070");
  EXPECT_EQ(running(kTlsPort), "5071");
}

TEST_F(EditConfigTest, MergeOfAnExistingLeafDoesNotDuplicateIt) {
  // Pitfall 13: leaves are matched by schema, not by value.
  ASSERT_TRUE(edit("<system><name>a</name></system>"));
  ASSERT_TRUE(edit("<system><name>b</name></system>"));
  EXPECT_EQ(store_->running().count("/sipbox-test:system/name"), 1u);
  EXPECT_EQ(running("/sipbox-test:system/name"), "b");
}

TEST_F(EditConfigTest, MergeCreatesListEntriesAndMergesIntoExistingOnes) {
  populate();
  ASSERT_TRUE(edit("<users><user><name>alice</name><alias>al</alias></user></users>"));
  auto snapshot = store_->running();
  EXPECT_EQ(snapshot.count("/sipbox-test:users/user"), 2u);
  EXPECT_EQ(snapshot.value("/sipbox-test:users/user[name='alice']/extension"), "100");
  EXPECT_EQ(snapshot.values("/sipbox-test:users/user[name='alice']/alias"), std::vector<std::string>{"al"});
}

TEST_F(EditConfigTest, ReplaceSwapsTheWholeListEntry) {
  populate();
  ASSERT_TRUE(edit("<users><user nc:operation=\"replace\"><name>bob</name><extension>102</extension></user></users>"));
  auto snapshot = store_->running();
  EXPECT_EQ(snapshot.value("/sipbox-test:users/user[name='bob']/extension"), "102");
  EXPECT_EQ(snapshot.count("/sipbox-test:users/user[name='bob']/alias"), 0u);
  EXPECT_EQ(snapshot.count("/sipbox-test:users/user"), 2u);
}

TEST_F(EditConfigTest, CreateOfExistingDataIsDataExistsWithPath) {
  populate();
  auto result = edit("<users><user nc:operation=\"create\"><name>alice</name></user></users>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "data-exists");
  EXPECT_EQ(result.error().path, "/sipbox-test:users/user[name='alice']");
  ASSERT_TRUE(edit("<users><user nc:operation=\"create\"><name>carol</name><extension>102</extension></user></users>"));
  EXPECT_EQ(running("/sipbox-test:users/user[name='carol']/extension"), "102");
}

TEST_F(EditConfigTest, DeleteOfMissingDataIsDataMissingWithPath) {
  populate();
  auto result = edit("<users><user nc:operation=\"delete\"><name>zoe</name></user></users>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "data-missing");
  EXPECT_EQ(result.error().path, "/sipbox-test:users/user[name='zoe']");
  ASSERT_TRUE(edit("<users><user nc:operation=\"delete\"><name>bob</name></user></users>"));
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 1u);
}

TEST_F(EditConfigTest, DeleteOfAnEmptyLeafRestoresItsDefault) {
  // Pitfall 12: <sip-port nc:operation="delete"/> fails the typed parse.
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  auto result = edit("<system><listeners><sip-port nc:operation=\"delete\"/></listeners></system>");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(running(kSipPort), "5060");
}

TEST_F(EditConfigTest, DeleteOfALeafThatIsOnlyADefaultIsDataMissing) {
  // Pitfall 14 / RFC 6243 explicit basic mode: a default is not there.
  auto result = edit("<system><listeners><sip-port nc:operation=\"delete\"/></listeners></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "data-missing");
  EXPECT_EQ(result.error().path, "/sipbox-test:system/listeners/sip-port");
}

TEST_F(EditConfigTest, AnEmptyLeafOutsideADeleteIsStillABadValue) {
  auto result = edit("<system><listeners><sip-port/></listeners></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "invalid-value");
  EXPECT_NE(result.error().message.find("uint16"), std::string::npos) << result.error().message;
}

TEST_F(EditConfigTest, RemoveOfMissingDataIsFine) {
  ASSERT_TRUE(edit("<users><user nc:operation=\"remove\"><name>zoe</name></user></users>"));
  populate();
  ASSERT_TRUE(edit("<users><user nc:operation=\"remove\"><name>alice</name></user></users>"));
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 1u);
}

TEST_F(EditConfigTest, LeafListEntriesAreAddedAndDeletedOneByOne) {
  ASSERT_TRUE(edit("<security><whitelist>10.0.0.1</whitelist><whitelist>10.0.0.2</whitelist></security>"));
  ASSERT_TRUE(edit("<security><whitelist>10.0.0.1</whitelist></security>"));  // merge: no duplicate
  ASSERT_TRUE(edit("<security><whitelist nc:operation=\"delete\">10.0.0.2</whitelist></security>"));
  EXPECT_EQ(store_->running().values("/sipbox-test:security/whitelist"), std::vector<std::string>{"10.0.0.1"});
}

TEST_F(EditConfigTest, DefaultOperationNoneTouchesOnlyWhatHasAnOperation) {
  populate();
  auto done = edit(
      "<users><user><name>alice</name><extension>999</extension></user>"
      "<user nc:operation=\"create\"><name>carol</name></user></users>",
      Datastore::Running, DefaultOperation::None);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running("/sipbox-test:users/user[name='alice']/extension"), "100");
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user[name='carol']"), 1u);
  // A level the edit only passes through is not created.
  ASSERT_TRUE(edit("<users><user><name>dave</name></user></users>", Datastore::Running, DefaultOperation::None));
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user[name='dave']"), 0u);
}

TEST_F(EditConfigTest, DefaultOperationReplaceReplacesTheDatastore) {
  populate();
  ASSERT_TRUE(edit("<system><name>fresh</name></system>", Datastore::Running, DefaultOperation::Replace));
  auto snapshot = store_->running();
  EXPECT_EQ(snapshot.value("/sipbox-test:system/name"), "fresh");
  EXPECT_EQ(snapshot.count("/sipbox-test:users/user"), 0u);
  EXPECT_EQ(snapshot.count("/sipbox-test:routing/trunk"), 0u);
}

TEST_F(EditConfigTest, SeveralTopLevelElementsInOneEdit) {
  ASSERT_TRUE(edit("<system><name>x</name></system><security><enabled>false</enabled></security>"));
  EXPECT_EQ(running("/sipbox-test:system/name"), "x");
  EXPECT_EQ(running("/sipbox-test:security/enabled"), "false");
}

TEST_F(EditConfigTest, OutOfRangePortIsInvalidValueAndChangesNothing) {
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  std::string file_before = read_file(dir_.path() / "running.xml");
  auto result = edit("<system><name>other</name><listeners><sip-port>80</sip-port></listeners></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "invalid-value");
  EXPECT_EQ(result.error().type, "application");
  EXPECT_EQ(result.error().path, kSipPort);
  EXPECT_EQ(result.error().message, "Unsatisfied range - value \"80\" is out of the allowed range.");
  EXPECT_EQ(running(kSipPort), "5070");
  EXPECT_EQ(running("/sipbox-test:system/name"), "sipbox");
  EXPECT_EQ(read_file(dir_.path() / "running.xml"), file_before);
}

TEST_F(EditConfigTest, PatternViolationIsInvalidValue) {
  auto result = edit("<system><name>a b</name></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "invalid-value");
  EXPECT_EQ(result.error().path, "/sipbox-test:system/name");
}

TEST_F(EditConfigTest, MustViolationCarriesTheModelsAppTag) {
  auto result = edit("<system><listeners><sip-port>5061</sip-port></listeners></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "operation-failed");
  EXPECT_EQ(result.error().app_tag, "port-clash");
  EXPECT_EQ(result.error().message, "tls-port must differ from sip-port");
  EXPECT_EQ(result.error().path, kTlsPort);
  EXPECT_EQ(running(kSipPort), "5060");
}

TEST_F(EditConfigTest, DanglingLeafrefIsRefused) {
  populate();
  auto result = edit("<routing><route><prefix>01</prefix><trunk>nowhere</trunk></route></routing>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "data-missing");
  EXPECT_EQ(result.error().app_tag, "instance-required");
  EXPECT_EQ(result.error().path, "/sipbox-test:routing/route[prefix='01']/trunk");
  // Deleting a trunk a route still names is refused the same way.
  result = edit("<routing><trunk nc:operation=\"delete\"><name>t1</name></trunk></routing>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().app_tag, "instance-required");
  EXPECT_EQ(store_->running().count("/sipbox-test:routing/trunk"), 2u);
}

TEST_F(EditConfigTest, UniqueViolationIsRefused) {
  populate();
  auto result = edit("<users><user><name>carol</name><extension>100</extension></user></users>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "operation-failed");
  EXPECT_EQ(result.error().app_tag, "data-not-unique");
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 2u);
}

TEST_F(EditConfigTest, MissingMandatoryLeafIsDataMissing) {
  auto result = edit("<routing><trunk><name>t9</name></trunk></routing>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "data-missing");
  EXPECT_EQ(result.error().path, "/sipbox-test:routing/trunk/host");
}

TEST_F(EditConfigTest, UnknownElementIsRefused) {
  auto result = edit("<system><colour>red</colour></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "unknown-element");
  EXPECT_EQ(result.error().path, "/sipbox-test:system");
}

TEST_F(EditConfigTest, BadOperationAttributeIsRefused) {
  auto result = edit("<system nc:operation=\"frobnicate\"><name>x</name></system>");
  ASSERT_FALSE(result);
  EXPECT_EQ(running("/sipbox-test:system/name"), "sipbox");
}

TEST_F(EditConfigTest, TestOnlyValidatesWithoutApplying) {
  auto good = store_->edit_config(admin_, Datastore::Running,
                                  xml("<system><listeners><sip-port>5070</sip-port></listeners></system>"),
                                  Encoding::Xml, DefaultOperation::Merge, TestOption::TestOnly);
  ASSERT_TRUE(good);
  EXPECT_EQ(running(kSipPort), "5060");
  auto bad = store_->edit_config(admin_, Datastore::Running,
                                 xml("<system><listeners><sip-port>5061</sip-port></listeners></system>"),
                                 Encoding::Xml, DefaultOperation::Merge, TestOption::TestOnly);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().app_tag, "port-clash");
}

TEST_F(EditConfigTest, JsonEditsWithOperationMetadata) {
  auto merged = store_->edit_config(admin_, Datastore::Running,
                                    R"({"sipbox-test:system":{"listeners":{"sip-port":5070}},)"
                                    R"("sipbox-test:users":{"user":[{"name":"eve","extension":"200"}]}})",
                                    Encoding::Json);
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(running(kSipPort), "5070");
  auto deleted = store_->edit_config(
      admin_, Datastore::Running,
      R"({"sipbox-test:users":{"user":[{"name":"eve","@":{"ietf-netconf:operation":"delete"}}]}})", Encoding::Json);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 0u);
  auto bad = store_->edit_config(admin_, Datastore::Running,
                                 R"({"sipbox-test:system":{"listeners":{"sip-port":80}}})", Encoding::Json);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().tag, "invalid-value");
}

TEST_F(EditConfigTest, EditConfigCannotTargetStartup) {
  auto result = edit("<system><name>x</name></system>", Datastore::Startup);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().tag, "operation-not-supported");
}

// ---- RESTCONF-style edits -----------------------------------------------------------

using EditPathTest = StoreTest;
using PathEdit = ConfigStore::PathEdit;

TEST_F(EditPathTest, PatchMergesIntoTheResource) {
  populate();
  auto done = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users/user[name='alice']", PathEdit::Merge,
                                R"({"sipbox-test:user":[{"name":"alice","alias":["al"]}]})", Encoding::Json);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running("/sipbox-test:users/user[name='alice']/extension"), "100");
  EXPECT_EQ(running("/sipbox-test:users/user[name='alice']/alias"), "al");
}

TEST_F(EditPathTest, PutReplacesOrCreatesTheResource) {
  populate();
  auto done = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users/user[name='bob']", PathEdit::Replace,
                                R"({"sipbox-test:user":[{"name":"bob","extension":"300"}]})", Encoding::Json);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running("/sipbox-test:users/user[name='bob']/extension"), "300");
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user[name='bob']/alias"), 0u);
  done = store_->edit_path(admin_, Datastore::Running, kSipPort, PathEdit::Replace, R"({"sipbox-test:sip-port":5090})",
                           Encoding::Json);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running(kSipPort), "5090");
  auto wrong = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users/user[name='bob']", PathEdit::Replace,
                                 R"({"sipbox-test:user":[{"name":"rob"}]})", Encoding::Json);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().tag, "invalid-value");
}

TEST_F(EditPathTest, PostCreatesAChildAndRefusesAnExistingOne) {
  populate();
  auto done = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users", PathEdit::Create,
                                R"({"sipbox-test:user":[{"name":"carol","extension":"102"}]})", Encoding::Json);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running("/sipbox-test:users/user[name='carol']/extension"), "102");
  auto again = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users", PathEdit::Create,
                                 R"({"sipbox-test:user":[{"name":"carol"}]})", Encoding::Json);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().tag, "data-exists");
  EXPECT_EQ(again.error().path, "/sipbox-test:users/user[name='carol']");
}

TEST_F(EditPathTest, DeleteRemovesTheResourceOrSaysDataMissing) {
  populate();
  ASSERT_TRUE(store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users/user[name='bob']", PathEdit::Delete,
                                {}, Encoding::Json));
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 1u);
  auto missing = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:users/user[name='bob']",
                                   PathEdit::Delete, {}, Encoding::Json);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().tag, "data-missing");
  auto dflt = store_->edit_path(admin_, Datastore::Running, kSipPort, PathEdit::Delete, {}, Encoding::Json);
  ASSERT_FALSE(dflt);
  EXPECT_EQ(dflt.error().tag, "data-missing");
  // Deleting what a leafref needs is refused by validation.
  auto needed = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:routing/trunk[name='t1']",
                                  PathEdit::Delete, {}, Encoding::Json);
  ASSERT_FALSE(needed);
  EXPECT_EQ(needed.error().app_tag, "instance-required");
}

TEST_F(EditPathTest, XmlBodiesWork) {
  auto done = store_->edit_path(admin_, Datastore::Running, "/sipbox-test:system/name", PathEdit::Replace,
                                "<name xmlns=\"urn:sipbox:test\">edge1</name>", Encoding::Xml);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(running("/sipbox-test:system/name"), "edge1");
}

}  // namespace
}  // namespace sipbox::config::testing
