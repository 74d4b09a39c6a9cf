// Opening, persistence, reads (XPath, with-defaults), export/import, set, snapshots.
#include <thread>

#include "tests/unit/config/fixture.h"

namespace sipbox::config::testing {
namespace {

TEST_F(StoreTest, DefaultsAreCreatedOnFirstOpen) {
  EXPECT_EQ(running(kSipPort), "5060");
  EXPECT_EQ(running(kTlsPort), "5061");
  EXPECT_EQ(running("/sipbox-test:security/enabled"), "true");
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "running.xml"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "startup.xml"));
  EXPECT_TRUE(store_->validate(Datastore::Running));
}

TEST_F(StoreTest, RunningSurvivesAReopen) {
  populate();
  ASSERT_TRUE(edit("<system><listeners><sip-port>5070</sip-port></listeners></system>"));
  reopen();
  EXPECT_EQ(running(kSipPort), "5070");
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 2u);
}

TEST_F(StoreTest, AtomicWritesLeaveOnlyCompleteFiles) {
  for (int port = 5070; port < 5080; ++port) ASSERT_TRUE(store_->set_leaf(admin_, kSipPort, std::to_string(port)));
  ASSERT_TRUE(store_->copy_config(admin_, Datastore::Startup, Datastore::Running));
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"audit.log", "running.xml", "startup.xml"}));
  std::string saved = read_file(dir_.path() / "running.xml");
  EXPECT_NE(saved.find("<sip-port>5079</sip-port>"), std::string::npos) << saved;
  EXPECT_TRUE(store_->validate_text(saved, Encoding::Xml));
  EXPECT_EQ(std::filesystem::status(dir_.path() / "running.xml").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
}

TEST_F(StoreTest, AHandWrittenFileWithAMistakeNamesTheLineAndPath) {
  store_.reset();
  write_file(dir_.path() / "running.xml",
             "<system xmlns=\"urn:sipbox:test\">\n"
             "  <listeners>\n"
             "    <sip-port>80</sip-port>\n"
             "  </listeners>\n"
             "</system>\n");
  auto opened = ConfigStore::open(options());
  ASSERT_FALSE(opened);
  const std::string& message = opened.error().message;
  EXPECT_NE(message.find("running.xml:3"), std::string::npos) << message;
  EXPECT_NE(message.find("/sipbox-test:system/listeners/sip-port"), std::string::npos) << message;
  EXPECT_NE(message.find("out of the allowed range"), std::string::npos) << message;

  write_file(dir_.path() / "running.xml", "<system xmlns=\"urn:sipbox:test\">\n  <colour>red</colour>\n</system>\n");
  opened = ConfigStore::open(options());
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("colour"), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find(":2"), std::string::npos) << opened.error().message;
}

TEST_F(StoreTest, OpenNeedsTheModel) {
  auto opened = ConfigStore::open(Options{dir_.path(), {dir_.path() / "nowhere"}});
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("nowhere"), std::string::npos);
}

TEST_F(StoreTest, TheRealModelLoads) {
  std::filesystem::path yang = SIPBOX_YANG_DIR;
  bool present = false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(yang, ec))
    present |= entry.path().filename().string().starts_with("sipbox-");
  if (!present) GTEST_SKIP() << "no sipbox-*.yang in " << yang;
  TempDir data;
  auto opened = ConfigStore::open(Options{data.path(), {yang}});
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE((*opened)->validate(Datastore::Running));
}

TEST_F(StoreTest, XPathFilterSelectsNodesWithTheirParents) {
  populate();
  auto selected = store_->get_config(Datastore::Running, Encoding::Xml, "/sipbox-test:users/user[name='bob']");
  ASSERT_TRUE(selected) << selected.error().message;
  EXPECT_NE(selected->find("<users xmlns=\"urn:sipbox:test\">"), std::string::npos) << *selected;
  EXPECT_NE(selected->find("<name>bob</name>"), std::string::npos);
  EXPECT_NE(selected->find("<alias>robert</alias>"), std::string::npos);
  EXPECT_EQ(selected->find("alice"), std::string::npos);
  EXPECT_EQ(selected->find("routing"), std::string::npos);

  auto leaves = store_->get_config(Datastore::Running, Encoding::Json, "/sipbox-test:users/user/extension");
  ASSERT_TRUE(leaves);
  EXPECT_NE(leaves->find("\"100\""), std::string::npos) << *leaves;
  EXPECT_NE(leaves->find("\"101\""), std::string::npos);
  EXPECT_EQ(leaves->find("robert"), std::string::npos);

  auto bad = store_->get_config(Datastore::Running, Encoding::Xml, "/sipbox-test:users/user[");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().tag, "invalid-value");
}

TEST_F(StoreTest, WithDefaultsModes) {
  // tls-port set explicitly to its default value; sip-port left as a default.
  ASSERT_TRUE(edit("<system><listeners><tls-port>5061</tls-port></listeners></system>"));
  auto get = [&](WithDefaults mode) { return store_->get_config(Datastore::Running, Encoding::Xml, {}, mode).value(); };
  std::string explicit_mode = get(WithDefaults::Explicit);
  EXPECT_EQ(explicit_mode.find("sip-port"), std::string::npos) << explicit_mode;
  EXPECT_NE(explicit_mode.find("<tls-port>5061</tls-port>"), std::string::npos);
  std::string all = get(WithDefaults::ReportAll);
  EXPECT_NE(all.find("<sip-port>5060</sip-port>"), std::string::npos) << all;
  EXPECT_NE(all.find("<enabled>true</enabled>"), std::string::npos);
  std::string tagged = get(WithDefaults::ReportAllTagged);
  EXPECT_NE(tagged.find("ncwd:default=\"true\">5060</sip-port>"), std::string::npos) << tagged;
  std::string trim = get(WithDefaults::Trim);
  EXPECT_EQ(trim.find("tls-port"), std::string::npos) << trim;
  EXPECT_EQ(trim.find("sip-port"), std::string::npos);
}

TEST_F(StoreTest, ExportImportExportIsByteIdentical) {
  populate();
  ASSERT_TRUE(store_->set_leaf(admin_, kSipPort, "5070"));
  for (Encoding encoding : {Encoding::Xml, Encoding::Json}) {
    std::string exported = store_->get_config(Datastore::Running, encoding).value();
    auto imported = store_->replace_running(admin_, exported, encoding);
    ASSERT_TRUE(imported) << imported.error().message;
    EXPECT_EQ(store_->get_config(Datastore::Running, encoding).value(), exported);
  }
  // An import replaces: what the file does not name is gone.
  auto imported = store_->replace_running(admin_, xml("<system><name>restored</name></system>"), Encoding::Xml);
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 0u);
  EXPECT_EQ(running(kSipPort), "5060");
}

TEST_F(StoreTest, AnInvalidImportChangesNothing) {
  populate();
  std::string before = store_->get_config(Datastore::Running, Encoding::Xml).value();
  auto result = store_->replace_running(
      admin_, xml("<routing><route><prefix>1</prefix><trunk>gone</trunk></route></routing>"), Encoding::Xml);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().app_tag, "instance-required");
  EXPECT_EQ(store_->get_config(Datastore::Running, Encoding::Xml).value(), before);
  auto check = store_->validate_text("<system xmlns=\"urn:sipbox:test\"><name>a b</name></system>", Encoding::Xml);
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().tag, "invalid-value");
  EXPECT_EQ(check.error().path, "/sipbox-test:system/name");
}

TEST_F(StoreTest, DiffShowsWhatAnImportWouldChange) {
  populate();
  std::string exported = store_->get_config(Datastore::Running, Encoding::Xml).value();
  auto none = store_->diff(exported, Encoding::Xml);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(store_->set_leaf(admin_, kSipPort, "5070"));
  auto changes = store_->diff(exported, Encoding::Xml);
  ASSERT_TRUE(changes);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].path, kSipPort);
  EXPECT_EQ((*changes)[0].old_value, "5070");
  EXPECT_EQ((*changes)[0].new_value, "5060");
  EXPECT_FALSE(store_->diff("<system xmlns=\"urn:sipbox:test\"><name>a b</name></system>", Encoding::Xml));
}

TEST_F(StoreTest, SetLeafCreatesParentsAndValidates) {
  ASSERT_TRUE(store_->set_leaf(admin_, kSipPort, "5080"));
  EXPECT_EQ(running(kSipPort), "5080");
  ASSERT_TRUE(store_->set_leaf(admin_, "/sipbox-test:routing/trunk[name='t1']/host", "h1"));
  EXPECT_EQ(running("/sipbox-test:routing/trunk[name='t1']/port"), "5060");
  ASSERT_TRUE(store_->set_leaf(admin_, "/sipbox-test:security/whitelist", "10.1.1.1"));
  EXPECT_EQ(running("/sipbox-test:security/whitelist"), "10.1.1.1");

  auto range = store_->set_leaf(admin_, kSipPort, "80");
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().tag, "invalid-value");
  EXPECT_EQ(range.error().path, kSipPort);
  auto clash = store_->set_leaf(admin_, kSipPort, "5061");
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().app_tag, "port-clash");
  auto mandatory = store_->set_leaf(admin_, "/sipbox-test:routing/trunk[name='t2']/port", "5070");
  ASSERT_FALSE(mandatory);
  EXPECT_EQ(mandatory.error().tag, "data-missing");
  EXPECT_EQ(running(kSipPort), "5080");
}

TEST_F(StoreTest, SnapshotsAreImmutableAndOutliveTheStore) {
  populate();
  Snapshot before = store_->running();
  ASSERT_TRUE(store_->set_leaf(admin_, kSipPort, "5070"));
  EXPECT_EQ(before.value(kSipPort), "5060");
  EXPECT_EQ(store_->running().value(kSipPort), "5070");
  EXPECT_EQ(before.values("/sipbox-test:users/user/extension"), (std::vector<std::string>{"100", "101"}));
  EXPECT_EQ(before.count("/sipbox-test:users/user"), 2u);
  const auto users = before.entries("/sipbox-test:users/user");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(Snapshot::field(users[0], "extension"), "100");
  EXPECT_EQ(Snapshot::field(users[1], "extension"), "101");
  EXPECT_EQ(Snapshot::field(users[0], "no-such-leaf"), "");
  EXPECT_EQ(before.value("/sipbox-test:users/user[name='nobody']/extension"), std::nullopt);
  EXPECT_EQ(before.value("not an xpath ["), std::nullopt);
  EXPECT_NE(before.print(Encoding::Json, WithDefaults::Explicit, "/sipbox-test:users").find("\"robert\""),
            std::string::npos);
  store_.reset();
  EXPECT_EQ(before.value(kSipPort), "5060");
  Snapshot empty;
  EXPECT_EQ(empty.value(kSipPort), std::nullopt);
  EXPECT_EQ(empty.print(Encoding::Xml), "");
}

TEST_F(StoreTest, ConcurrentEditsAndReadsAreSafe) {
  populate();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Session session{static_cast<std::uint32_t>(10 + t), "u", "netconf"};
      for (int i = 0; i < 20; ++i) {
        std::string name = "c" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(store_->edit_config(session, Datastore::Running,
                                        xml("<users><user><name>" + name + "</name></user></users>"), Encoding::Xml));
        EXPECT_GE(store_->running().count("/sipbox-test:users/user"), 2u);
        EXPECT_TRUE(store_->get_config(Datastore::Running, Encoding::Json));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(store_->running().count("/sipbox-test:users/user"), 82u);
}

}  // namespace
}  // namespace sipbox::config::testing
