#include "web/restconf_errors.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipbox::web {
namespace {

config::ConfigError error(std::string tag) {
  config::ConfigError e;
  e.tag = std::move(tag);
  return e;
}

TEST(RestconfErrors, rfc8040_7_status_table) {
  EXPECT_EQ(restconf_status(error("in-use")), 409);
  EXPECT_EQ(restconf_status(error("invalid-value")), 400);
  EXPECT_EQ(restconf_status(error("too-big")), 413);
  EXPECT_EQ(restconf_status(error("missing-attribute")), 400);
  EXPECT_EQ(restconf_status(error("bad-attribute")), 400);
  EXPECT_EQ(restconf_status(error("unknown-attribute")), 400);
  EXPECT_EQ(restconf_status(error("bad-element")), 400);
  EXPECT_EQ(restconf_status(error("unknown-element")), 400);
  EXPECT_EQ(restconf_status(error("unknown-namespace")), 400);
  EXPECT_EQ(restconf_status(error("access-denied")), 403);
  EXPECT_EQ(restconf_status(error("lock-denied")), 409);
  EXPECT_EQ(restconf_status(error("resource-denied")), 409);
  EXPECT_EQ(restconf_status(error("rollback-failed")), 500);
  EXPECT_EQ(restconf_status(error("data-exists")), 409);
  EXPECT_EQ(restconf_status(error("data-missing")), 409);
  EXPECT_EQ(restconf_status(error("operation-not-supported")), 405);
  EXPECT_EQ(restconf_status(error("operation-failed")), 500);
  EXPECT_EQ(restconf_status(error("partial-operation")), 500);
  EXPECT_EQ(restconf_status(error("malformed-message")), 400);
  EXPECT_EQ(restconf_status(error("no-such-tag")), 500);
}

TEST(RestconfErrors, rfc8040_7_1_json_document) {
  config::ConfigError e;
  e.tag = "invalid-value";
  e.path = "/sipbox-system:system/listeners/sip-port";
  e.message = "Unsatisfied range - value \"80\" is out of the allowed range.";
  e.app_tag = "port-clash";
  const auto doc = nlohmann::json::parse(restconf_error_document(e, config::Encoding::Json));
  const auto& entry = doc.at("ietf-restconf:errors").at("error").at(0);
  EXPECT_EQ(entry.at("error-type"), "application");
  EXPECT_EQ(entry.at("error-tag"), "invalid-value");
  EXPECT_EQ(entry.at("error-path"), e.path);
  EXPECT_EQ(entry.at("error-message"), e.message);
  EXPECT_EQ(entry.at("error-app-tag"), "port-clash");
}

TEST(RestconfErrors, json_document_survives_invalid_utf8) {
  config::ConfigError e = error("invalid-value");
  e.message = "bad \xff byte";
  EXPECT_FALSE(nlohmann::json::parse(restconf_error_document(e, config::Encoding::Json), nullptr, false).is_discarded());
}

TEST(RestconfErrors, rfc8040_7_1_xml_document) {
  config::ConfigError e = error("data-exists");
  e.path = "/sipbox-routing:route[name='r<1>']";
  e.message = "exists & more";
  const std::string xml = restconf_error_document(e, config::Encoding::Xml);
  EXPECT_NE(xml.find("<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\"><error>"), std::string::npos);
  EXPECT_NE(xml.find("<error-tag>data-exists</error-tag>"), std::string::npos);
  EXPECT_NE(xml.find("<error-path>/sipbox-routing:route[name=&apos;r&lt;1&gt;&apos;]</error-path>"), std::string::npos);
  EXPECT_NE(xml.find("<error-message>exists &amp; more</error-message>"), std::string::npos);
  EXPECT_EQ(xml.find("error-app-tag"), std::string::npos);
}

}  // namespace
}  // namespace sipbox::web
