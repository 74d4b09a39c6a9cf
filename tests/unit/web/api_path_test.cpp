#include "web/api_path.h"

#include <gtest/gtest.h>

namespace sipbox::web {
namespace {

// The shape of the sipbox model the tests need: two-key list, leaf-list, containers.
std::optional<SchemaNode> schema(std::string_view path) {
  if (path == "/sipbox-system:system" || path == "/sipbox-system:system/listeners" ||
      path == "/sipbox-system:system/listeners/sip-port" || path == "/sipbox-system:system/admin/role")
    return SchemaNode{};
  if (path == "/sipbox-system:system/admin") return SchemaNode{SchemaNode::Kind::List, {"name"}};
  if (path == "/sipbox-system:system/admin/ssh-public-key") return SchemaNode{SchemaNode::Kind::LeafList, {}};
  if (path == "/sipbox-users:user") return SchemaNode{SchemaNode::Kind::List, {"name", "domain"}};
  if (path == "/sipbox-users:user/extension") return SchemaNode{};
  if (path == "/sipbox-routing:trunk") return SchemaNode{SchemaNode::Kind::List, {"name"}};
  if (path == "/sipbox-routing:trunk/sipbox-other:extra") return SchemaNode{};
  return std::nullopt;
}

ApiPath ok(std::string_view encoded) {
  auto result = parse_api_path(encoded, schema);
  EXPECT_TRUE(result) << encoded << ": " << (result ? "" : result.error().message);
  return result ? *result : ApiPath{};
}

std::string error_tag(std::string_view encoded) {
  auto result = parse_api_path(encoded, schema);
  EXPECT_FALSE(result) << encoded << " -> " << (result ? result->xpath : "");
  return result ? "" : result.error().tag;
}

TEST(ApiPath, rfc8040_3_5_3_datastore_root) {
  EXPECT_TRUE(ok("").is_datastore());
  EXPECT_TRUE(ok("/").is_datastore());
  EXPECT_EQ(ok("").xpath, "");
}

TEST(ApiPath, rfc8040_3_5_3_module_qualified_containers_and_leaves) {
  const ApiPath p = ok("/sipbox-system:system/listeners/sip-port");
  EXPECT_EQ(p.xpath, "/sipbox-system:system/listeners/sip-port");
  EXPECT_EQ(p.schema_path, "/sipbox-system:system/listeners/sip-port");
  EXPECT_EQ(p.module, "sipbox-system");
  EXPECT_EQ(p.name, "sip-port");
  ASSERT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps[0].module, "sipbox-system");
  EXPECT_EQ(p.steps[2].module, "");
  EXPECT_FALSE(p.instance);
  // A trailing slash names the same resource.
  EXPECT_EQ(ok("/sipbox-system:system/listeners/").xpath, "/sipbox-system:system/listeners");
  // Redundant qualification of a child is allowed, and dropped.
  EXPECT_EQ(ok("/sipbox-system:system/sipbox-system:listeners").xpath, "/sipbox-system:system/listeners");
}

TEST(ApiPath, rfc8040_3_5_3_list_keys_in_schema_order) {
  EXPECT_EQ(ok("/sipbox-system:system/admin=alice/role").xpath, "/sipbox-system:system/admin[name='alice']/role");
  const ApiPath p = ok("/sipbox-users:user=bob,example.com/extension");
  EXPECT_EQ(p.xpath, "/sipbox-users:user[name='bob'][domain='example.com']/extension");
  const ApiPath entry = ok("/sipbox-users:user=bob,example.com");
  EXPECT_TRUE(entry.instance);
  EXPECT_EQ(entry.key_values, (std::vector<std::string>{"bob", "example.com"}));
  EXPECT_EQ(entry.node.kind, SchemaNode::Kind::List);
}

TEST(ApiPath, rfc8040_3_5_3_percent_decoding_of_key_values) {
  // ',' inside a key is %2C; '/' is %2F; spaces %20: split first, then decode.
  EXPECT_EQ(ok("/sipbox-users:user=a%2Cb,example.com").xpath, "/sipbox-users:user[name='a,b'][domain='example.com']");
  EXPECT_EQ(ok("/sipbox-routing:trunk=carrier%2Fone").xpath, "/sipbox-routing:trunk[name='carrier/one']");
  EXPECT_EQ(ok("/sipbox-routing:trunk=my%20trunk").xpath, "/sipbox-routing:trunk[name='my trunk']");
  // Empty key values are key values (RFC 8040 3.5.3: "list=,b").
  EXPECT_EQ(ok("/sipbox-users:user=,example.com").xpath, "/sipbox-users:user[name=''][domain='example.com']");
  // A quote switches the literal's delimiter.
  EXPECT_EQ(ok("/sipbox-routing:trunk=o'brien").xpath, "/sipbox-routing:trunk[name=\"o'brien\"]");
  EXPECT_EQ(ok("/sipbox-routing:trunk=say%22hi%22").xpath, "/sipbox-routing:trunk[name='say\"hi\"']");
  // UTF-8 is decoded byte by byte.
  EXPECT_EQ(ok("/sipbox-routing:trunk=%C3%A9").key_values[0], "\xC3\xA9");
}

TEST(ApiPath, rfc8040_3_5_3_leaf_list_instance) {
  EXPECT_EQ(ok("/sipbox-system:system/admin=a/ssh-public-key=ssh-ed25519%20AAAA").xpath,
            "/sipbox-system:system/admin[name='a']/ssh-public-key[.='ssh-ed25519 AAAA']");
}

TEST(ApiPath, module_changes_are_kept_qualified) {
  EXPECT_EQ(ok("/sipbox-routing:trunk=t/sipbox-other:extra").xpath,
            "/sipbox-routing:trunk[name='t']/sipbox-other:extra");
  EXPECT_EQ(ok("/sipbox-routing:trunk=t/sipbox-other:extra").module, "sipbox-other");
}

TEST(ApiPath, errors) {
  EXPECT_EQ(error_tag("/system"), "invalid-value");                           // first node unqualified
  EXPECT_EQ(error_tag("/sipbox-system:nosuch"), "unknown-element");           // no such node
  EXPECT_EQ(error_tag("/sipbox-system:system//listeners"), "invalid-value");  // empty segment
  EXPECT_EQ(error_tag("/sipbox-users:user=bob"), "invalid-value");            // too few keys
  EXPECT_EQ(error_tag("/sipbox-users:user=a,b,c"), "invalid-value");          // too many keys
  EXPECT_EQ(error_tag("/sipbox-system:system=x"), "invalid-value");           // '=' on a container
  EXPECT_EQ(error_tag("/sipbox-system:system/admin/role"), "invalid-value");  // keys missing mid-path
  EXPECT_EQ(error_tag("/sipbox-routing:trunk=%zz"), "invalid-value");         // bad escape
  EXPECT_EQ(error_tag("/sipbox-routing:trunk=%4"), "invalid-value");          // truncated escape
  EXPECT_EQ(error_tag("/sipbox-routing:trunk=a'%22"), "invalid-value");       // both quotes
  EXPECT_EQ(error_tag("/1bad:system"), "invalid-value");                      // bad module name
  EXPECT_EQ(error_tag("/sipbox-system:sys[tem"), "invalid-value");            // not an identifier
  EXPECT_EQ(error_tag("sipbox-system:system"), "invalid-value");              // no leading '/'
  auto missing = parse_api_path("/sipbox-users:user=bob", schema);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("name,domain"), std::string::npos) << missing.error().message;
}

TEST(ApiPath, no_schema_lookup_refuses_every_node) {
  EXPECT_FALSE(parse_api_path("/sipbox-system:system", SchemaLookup{}));
}

TEST(ApiPath, child_paths_for_location_headers) {
  EXPECT_EQ(api_path_child("", "sipbox-routing", "route", {"r 1"}), "/sipbox-routing:route=r%201");
  EXPECT_EQ(api_path_child("/sipbox-users:user=a,b", "", "alias", {"x,y", "z"}),
            "/sipbox-users:user=a,b/alias=x%2Cy,z");
}

TEST(XpathLiteral, quotes) {
  EXPECT_EQ(*xpath_literal("abc"), "'abc'");
  EXPECT_EQ(*xpath_literal("a'b"), "\"a'b\"");
  EXPECT_FALSE(xpath_literal("a'\"b"));
}

}  // namespace
}  // namespace sipbox::web
