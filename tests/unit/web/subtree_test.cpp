#include "web/subtree.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sipbox::web {
namespace {

std::vector<PathStep> steps(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<PathStep> out;
  for (const auto& [module, name] : list) out.push_back(PathStep{module, name});
  return out;
}

TEST(Subtree, json_cuts_out_the_target_with_its_module) {
  const std::string printed = R"({"sipbox-system:system":{"listeners":{"sip-port":5070,"tls-port":5071}}})";
  auto out = extract_json(printed, steps({{"sipbox-system", "system"}, {"", "listeners"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(nlohmann::json::parse(*out),
            nlohmann::json::parse(R"({"sipbox-system:listeners":{"sip-port":5070,"tls-port":5071}})"));
  out = extract_json(printed, steps({{"sipbox-system", "system"}, {"", "listeners"}, {"", "sip-port"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(nlohmann::json::parse(*out), nlohmann::json::parse(R"({"sipbox-system:sip-port":5070})"));
  EXPECT_FALSE(extract_json(printed, steps({{"sipbox-system", "system"}, {"", "nothing"}})));
  EXPECT_FALSE(extract_json("not json", steps({{"sipbox-system", "system"}})));
}

TEST(Subtree, json_list_entries_and_augments) {
  const std::string printed = R"({"sipbox-routing:trunk":[{"name":"t1","host":"h","other:extra":{"x":1}}]})";
  auto entry = extract_json(printed, steps({{"sipbox-routing", "trunk"}}));
  ASSERT_TRUE(entry);
  EXPECT_EQ(nlohmann::json::parse(*entry).at("sipbox-routing:trunk").at(0).at("name"), "t1");
  auto extra = extract_json(printed, steps({{"sipbox-routing", "trunk"}, {"other", "extra"}}));
  ASSERT_TRUE(extra);
  EXPECT_EQ(nlohmann::json::parse(*extra), nlohmann::json::parse(R"({"other:extra":{"x":1}})"));
  // Unqualified in the path but from another module: not the same node.
  EXPECT_FALSE(extract_json(printed, steps({{"sipbox-routing", "trunk"}, {"", "extra"}})));
}

TEST(Subtree, xml_target_gets_its_namespace) {
  const std::string printed =
      "<system xmlns=\"urn:sipbox:system\">\n  <!-- c -->\n  <hostname>h</hostname>\n"
      "  <listeners>\n    <sip-port>5070</sip-port>\n    <empty/>\n  </listeners>\n</system>\n";
  auto out = extract_xml(printed, steps({{"sipbox-system", "system"}, {"", "listeners"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "<listeners xmlns=\"urn:sipbox:system\">\n    <sip-port>5070</sip-port>\n    <empty/>\n  </listeners>\n");
  out = extract_xml(printed, steps({{"sipbox-system", "system"}, {"", "listeners"}, {"", "empty"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "<empty xmlns=\"urn:sipbox:system\"/>\n");
  out = extract_xml(printed, steps({{"sipbox-system", "system"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->find("<system xmlns=\"urn:sipbox:system\">"), 0u);
  EXPECT_FALSE(extract_xml(printed, steps({{"sipbox-system", "system"}, {"", "none"}})));
  EXPECT_FALSE(extract_xml("<a><b>", steps({{"m", "a"}, {"", "b"}})));
}

}  // namespace
}  // namespace sipbox::web
