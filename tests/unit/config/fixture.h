// Shared set-up for the config store tests: a temporary data dir and the test model
// (tests/unit/config/yang/sipbox-test.yang).
#pragma once

#include "tests/unit/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "config/config.h"

namespace sipbox::config::testing {

using sipbox::test_support::TempDir;


inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

// XML content of a <config> in the test model's namespace, with nc declared.
inline std::string xml(const std::string& body) {
  std::string out = body;
  // Every top-level element of the test model gets the namespaces.
  for (const char* top : {"<system", "<routing", "<users", "<security"}) {
    std::string from = top;
    std::string to = from + " xmlns=\"urn:sipbox:test\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\"";
    for (std::size_t at = out.find(from + ">"); at != std::string::npos; at = out.find(from + ">", at + to.size()))
      out.replace(at, from.size(), to);
    for (std::size_t at = out.find(from + " nc:"); at != std::string::npos; at = out.find(from + " nc:", at + to.size()))
      out.replace(at, from.size(), to);
  }
  return out;
}

constexpr const char* kSipPort = "/sipbox-test:system/listeners/sip-port";
constexpr const char* kTlsPort = "/sipbox-test:system/listeners/tls-port";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  void reopen() {
    store_.reset();
    auto opened = ConfigStore::open(options());
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(opened).value();
  }

  Options options() const { return Options{dir_.path(), {SIPBOX_TEST_YANG_DIR}}; }

  std::string running(const std::string& xpath) const { return store_->running().value(xpath).value_or("<none>"); }

  ConfigResult<void> edit(const std::string& body, Datastore target = Datastore::Running,
                          DefaultOperation op = DefaultOperation::Merge, const Session* session = nullptr) {
    return store_->edit_config(session ? *session : admin_, target, xml(body), Encoding::Xml, op);
  }

  // A small configuration: two trunks, a route, two users.
  void populate() {
    auto done = edit(
        "<routing><trunk><name>t1</name><host>sip.example.com</host></trunk>"
        "<trunk><name>t2</name><host>10.0.0.2</host><port>5070</port></trunk>"
        "<route><prefix>00</prefix><trunk>t1</trunk></route></routing>"
        "<users><user><name>alice</name><extension>100</extension></user>"
        "<user><name>bob</name><extension>101</extension><alias>robert</alias></user></users>");
    ASSERT_TRUE(done) << done.error().message;
  }

  std::size_t audit_lines() const {
    std::ifstream in(store_->audit_log_path());
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }

  TempDir dir_;
  std::unique_ptr<ConfigStore> store_;
  Session admin_{1, "admin", "netconf"};
  Session other_{2, "bob", "netconf"};
};

}  // namespace sipbox::config::testing
