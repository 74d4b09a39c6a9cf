// Matching: header fields (protocol, addresses with lists, negation and variables, ports,
// direction, IPv6), every content modifier, pcre, the sip_* options, pass rules and what
// a match reports, all against real SIP messages parsed with sip::parse_message.
#include "rule_test_util.h"

namespace sipbox::security::test {
namespace {

class RegisterMatch : public ::testing::Test {
 protected:
  Sip reg{kRegister};
  Packet packet = packet_of(reg);
  bool on(std::string_view options) { return fires(any_rule(options), packet); }
};

TEST_F(RegisterMatch, content_is_case_sensitive_unless_nocase) {
  EXPECT_TRUE(on("content:\"REGISTER sip\";"));
  EXPECT_FALSE(on("content:\"register SIP\";"));
  EXPECT_TRUE(on("content:\"register SIP\"; nocase;"));
  EXPECT_TRUE(on("content:\"USER-AGENT: FRIENDLY-scanner\"; nocase;"));
  EXPECT_FALSE(on("content:\"friendly-scanners\"; nocase;"));
}

TEST_F(RegisterMatch, hex_bytes_and_escapes) {
  EXPECT_TRUE(on("content:\"|0d 0a|CSeq: 1 REGISTER|0D0A|\";"));
  EXPECT_TRUE(on("content:\"|52 45|GISTER\";"));
  EXPECT_FALSE(on("content:\"|0a 0a|\";"));
  EXPECT_TRUE(on("content:\"tag=1928301774|0d 0a|To\";"));
  EXPECT_TRUE(on("content:\"<sip\\:alice@\";"));
}

TEST_F(RegisterMatch, offset_and_depth_bound_the_search_from_the_start) {
  // "REGISTER sip:example.com": "sip:" starts at byte 9.
  EXPECT_TRUE(on("content:\"sip:\"; offset:9; depth:4;"));
  EXPECT_FALSE(on("content:\"sip:\"; offset:10; depth:20;"));
  EXPECT_TRUE(on("content:\"REGISTER\"; depth:8;"));
  EXPECT_FALSE(on("content:\"sip:\"; depth:12;"));
  EXPECT_TRUE(on("content:\"REGISTER sip:\"; depth:13;"));
  EXPECT_TRUE(on("content:\"REGISTER\"; offset:20;"));  // the one in "CSeq: 1 REGISTER"
  EXPECT_FALSE(on("content:\"REGISTER\"; offset:20; depth:100;"));
  EXPECT_FALSE(on("content:\"REGISTER\"; offset:65535;"));
}

TEST_F(RegisterMatch, distance_and_within_measure_from_the_previous_match) {
  // "REGISTER sip:example.com SIP/2.0": SIP/2.0 begins 17 bytes after REGISTER ends.
  EXPECT_TRUE(on("content:\"REGISTER\"; content:\"SIP/2.0\"; distance:0; within:30;"));
  EXPECT_TRUE(on("content:\"REGISTER\"; content:\"SIP/2.0\"; distance:17; within:7;"));
  EXPECT_FALSE(on("content:\"REGISTER\"; content:\"SIP/2.0\"; distance:18; within:12;"));
  EXPECT_FALSE(on("content:\"REGISTER sip\"; content:\"SIP/2.0\"; within:15;"));
  // "CSeq: 1 REGISTER": REGISTER is 3 bytes after "CSeq:".
  EXPECT_TRUE(on("content:\"CSeq:\"; content:\"REGISTER\"; distance:3; within:8;"));
  EXPECT_FALSE(on("content:\"CSeq:\"; content:\"REGISTER\"; distance:4; within:8;"));
  // A negative distance looks back: "1 REGISTER" ends the CSeq line.
  EXPECT_TRUE(on("content:\"REGISTER|0d 0a|Contact\"; content:\"1 REG\"; distance:-19; within:5;"));
}

TEST_F(RegisterMatch, a_later_occurrence_is_tried_when_a_relative_content_fails) {
  // The first "sip:" (the Request-URI) is followed by "example.com"; the From header's
  // "sip:alice" satisfies the relative content (Snort re-searches the earlier content).
  EXPECT_TRUE(on("content:\"sip:\"; content:\"alice\"; distance:0; within:5;"));
  EXPECT_FALSE(on("content:\"sip:\"; content:\"bob\"; distance:0; within:3;"));
  // Also through a negated content in between, which leaves the cursor where it was.
  EXPECT_TRUE(on("content:\"sip:\"; content:!\"zzz\"; content:\"alice\"; distance:0; within:5;"));
}

TEST_F(RegisterMatch, negated_content) {
  EXPECT_FALSE(on("content:!\"friendly-scanner\";"));
  EXPECT_TRUE(on("content:!\"sipvicious\";"));
  EXPECT_TRUE(on("content:\"REGISTER\"; content:!\"INVITE\"; distance:0;"));
  // Not within the first 30 bytes: the User-Agent is further on.
  EXPECT_TRUE(on("content:!\"friendly-scanner\"; depth:30;"));
  EXPECT_FALSE(on("content:\"CSeq: 1\"; content:!\"REGISTER\"; distance:0; within:20;"));
}

TEST_F(RegisterMatch, pcre_with_flags_and_relative) {
  EXPECT_TRUE(on("pcre:\"/^REGISTER\\s+sip:/\";"));
  EXPECT_TRUE(on("pcre:\"/user-agent:\\s*friendly-scanner/i\";"));
  EXPECT_FALSE(on("pcre:\"/user-agent:\\s*friendly-scanner/\";"));
  EXPECT_TRUE(on("pcre:\"/^CSeq:\\s*\\d+\\s+REGISTER\\r$/m\";"));
  EXPECT_FALSE(on("pcre:\"/^CSeq:/\";"));  // without m, ^ is the start of the packet
  EXPECT_TRUE(on("pcre:\"/ c s e q : /xi\";"));
  // R: relative to the end of the previous match; '^' anchors at that point.
  EXPECT_TRUE(on("content:\"CSeq:\"; pcre:\"/^\\s*\\d+\\s+REGISTER/R\";"));
  EXPECT_FALSE(on("content:\"CSeq:\"; pcre:\"/^\\d/R\";"));
  EXPECT_TRUE(on("pcre:!\"/INVITE/\";"));
  EXPECT_FALSE(on("pcre:!\"/REGISTER/\";"));
  // pcre then a relative content: the content measures from the end of the pcre match.
  EXPECT_TRUE(on("pcre:\"/Call-ID:\\s*/\"; content:\"a84b\"; distance:0; within:4;"));
}

TEST_F(RegisterMatch, sip_method) {
  EXPECT_TRUE(on("sip_method:REGISTER;"));
  EXPECT_TRUE(on("sip_method:INVITE,register;"));
  EXPECT_FALSE(on("sip_method:INVITE,OPTIONS;"));
  EXPECT_TRUE(on("sip_method:!INVITE;"));
  EXPECT_FALSE(on("sip_method:!INVITE,REGISTER;"));
}

TEST_F(RegisterMatch, sip_header_confines_content_to_the_header_fields) {
  EXPECT_TRUE(on("sip_header; content:\"User-Agent: friendly-scanner\";"));
  EXPECT_TRUE(on("sip_header; content:\"Content-Length: 0|0d 0a|\";"));  // the last header's line end is in
  EXPECT_FALSE(on("sip_header; content:\"REGISTER sip:\";"));             // the request line is not
  EXPECT_FALSE(on("sip_header; content:\"|0d 0a 0d 0a|\";"));             // nor the empty line
  EXPECT_TRUE(on("sip_header; content:\"Via\"; depth:3;"));              // offsets count from the first header
  EXPECT_TRUE(on("sip_header; pcre:\"/^Via:/\";"));
  EXPECT_TRUE(on("sip_header; content:\"Max-Forwards\"; pkt_data; content:\"REGISTER sip:\"; depth:13;"));
}

TEST_F(RegisterMatch, sip_options_need_a_parsed_message) {
  Packet raw = packet;
  raw.message = nullptr;
  for (std::string_view options : {"sip_method:REGISTER;", "sip_header; content:\"Via\";", "sip_body; content:!\"x\";"}) {
    EXPECT_TRUE(on(options)) << options;
    EXPECT_FALSE(fires(any_rule(options), raw)) << options;
  }
  EXPECT_TRUE(fires(any_rule("content:\"REGISTER sip\";"), raw));
}

TEST(SipBody, sip_body_searches_the_body_only) {
  Sip invite{kInvite};
  const Packet p = packet_of(invite);
  EXPECT_TRUE(fires(any_rule("sip_body; content:\"m=audio\";"), p));
  EXPECT_TRUE(fires(any_rule("sip_body; content:\"v=0\"; depth:3;"), p));
  EXPECT_FALSE(fires(any_rule("sip_body; content:\"INVITE\";"), p));
  EXPECT_TRUE(fires(any_rule("sip_body; pcre:\"/^c=IN IP4 (\\d+\\.){3}\\d+\\r$/m\";"), p));
  EXPECT_TRUE(fires(any_rule("sip_method:INVITE; sip_header; content:\"application/sdp\"; sip_body; content:\"RTP/AVP\";"), p));
  Sip reg{kRegister};
  EXPECT_FALSE(fires(any_rule("sip_body; content:\"v=0\";"), packet_of(reg)));
}

TEST(SipStatCode, codes_and_classes_match_responses_only) {
  Sip not_found{kNotFound};
  const Packet p = packet_of(not_found, "192.0.2.10", 5060, "203.0.113.5", 5062);
  EXPECT_TRUE(fires(any_rule("sip_stat_code:404;"), p));
  EXPECT_TRUE(fires(any_rule("sip_stat_code:4;"), p));
  EXPECT_TRUE(fires(any_rule("sip_stat_code:200,401,404;"), p));
  EXPECT_FALSE(fires(any_rule("sip_stat_code:5;"), p));
  EXPECT_FALSE(fires(any_rule("sip_stat_code:401;"), p));
  EXPECT_FALSE(fires(any_rule("sip_method:INVITE;"), p));  // sip_method is for requests
  Sip reg{kRegister};
  EXPECT_FALSE(fires(any_rule("sip_stat_code:4;"), packet_of(reg)));
}

// ---- the header ----

TEST(RuleHeader, protocol_and_ports) {
  Sip reg{kRegister};
  const Packet udp = packet_of(reg);
  const Packet tcp = packet_of(reg, "203.0.113.5", 5062, "192.0.2.10", 5060, false);
  EXPECT_TRUE(fires("alert udp any any -> any 5060 (sid:1;)", udp));
  EXPECT_FALSE(fires("alert udp any any -> any 5060 (sid:1;)", tcp));
  EXPECT_TRUE(fires("alert tcp any any -> any 5060 (sid:1;)", tcp));
  EXPECT_TRUE(fires("alert ip any any -> any 5060 (sid:1;)", tcp));
  EXPECT_TRUE(fires("alert udp any 5000: -> any :5060 (sid:1;)", udp));
  EXPECT_TRUE(fires("alert udp any 5062 -> any 5060:5061 (sid:1;)", udp));
  EXPECT_FALSE(fires("alert udp any any -> any 5061: (sid:1;)", udp));
  EXPECT_FALSE(fires("alert udp any !5062 -> any any (sid:1;)", udp));
  EXPECT_TRUE(fires("alert udp any [1024:65535,!5063] -> any $SIP_PORT (sid:1;)", udp));
  EXPECT_FALSE(fires("alert udp any ![5060:5070] -> any any (sid:1;)", udp));
  EXPECT_TRUE(fires("alert udp any any -> any [$SIP_PORT,!5061] (sid:1;)", udp));
}

TEST(RuleHeader, address_lists_negation_and_variables) {
  Sip reg{kRegister};
  const Packet from_outside = packet_of(reg, "203.0.113.5");
  const Packet from_home = packet_of(reg, "192.0.2.77");
  const std::string external = "alert udp !$HOME_NET any -> $SIP_PROXY $SIP_PORT (sid:1;)";
  EXPECT_TRUE(fires(external, from_outside));
  EXPECT_FALSE(fires(external, from_home));
  const std::string except = "alert udp [203.0.113.0/24,!203.0.113.5] any -> any any (sid:1;)";
  EXPECT_FALSE(fires(except, from_outside));
  EXPECT_TRUE(fires(except, packet_of(reg, "203.0.113.6")));
  EXPECT_FALSE(fires(except, from_home));
  // Only exclusions: everything else.
  const std::string only_not = "alert udp [!203.0.113.5,!198.51.100.0/24] any -> any any (sid:1;)";
  EXPECT_FALSE(fires(only_not, from_outside));
  EXPECT_FALSE(fires(only_not, packet_of(reg, "198.51.100.9")));
  EXPECT_TRUE(fires(only_not, from_home));
  // A nested list is one item: 10.0.0.0/8 except 10.1/16, or 192.0.2.77.
  const std::string nested = "alert udp [[10.0.0.0/8,!10.1.0.0/16],192.0.2.77] any -> any any (sid:1;)";
  EXPECT_TRUE(fires(nested, packet_of(reg, "10.2.3.4")));
  EXPECT_FALSE(fires(nested, packet_of(reg, "10.1.3.4")));
  EXPECT_TRUE(fires(nested, from_home));
  EXPECT_FALSE(fires(nested, from_outside));
  // Host bits below the prefix are ignored, as Snort does.
  EXPECT_TRUE(fires("alert udp 203.0.113.77/24 any -> any any (sid:1;)", from_outside));
  // The destination side: $SIP_PROXY is 192.0.2.10 and 2001:db8::10.
  EXPECT_FALSE(fires("alert udp any any -> $SIP_PROXY any (sid:1;)", packet_of(reg, "203.0.113.5", 5062, "192.0.2.11")));
}

TEST(RuleHeader, bidirectional_rules_match_either_way) {
  Sip reg{kRegister};
  const std::string rule = "alert udp 192.0.2.10 5060 <> 203.0.113.0/24 any (sid:1;)";
  EXPECT_TRUE(fires(rule, packet_of(reg, "203.0.113.5", 5062, "192.0.2.10", 5060)));
  EXPECT_TRUE(fires(rule, packet_of(reg, "192.0.2.10", 5060, "203.0.113.5", 5062)));
  EXPECT_FALSE(fires("alert udp 192.0.2.10 5060 -> 203.0.113.0/24 any (sid:1;)",
                     packet_of(reg, "203.0.113.5", 5062, "192.0.2.10", 5060)));
  EXPECT_FALSE(fires(rule, packet_of(reg, "203.0.113.5", 5062, "192.0.2.10", 5070)));
}

TEST(RuleHeader, ipv6_addresses) {
  Sip reg{kRegister};
  const Packet v6 = packet_of(reg, "2001:db8:1::5", 5062, "2001:db8::10", 5060);
  EXPECT_TRUE(fires("alert udp 2001:db8:1::/48 any -> $SIP_PROXY $SIP_PORT (sid:1;)", v6));
  EXPECT_FALSE(fires("alert udp 2001:db8:2::/48 any -> any any (sid:1;)", v6));
  EXPECT_TRUE(fires("alert udp [2001:db8::/32,!2001:db8:2::/48] any -> any any (sid:1;)", v6));
  EXPECT_FALSE(fires("alert udp 0.0.0.0/0 any -> any any (sid:1;)", v6));  // IPv4 prefixes never match IPv6
  EXPECT_TRUE(fires("alert udp ::/0 any -> any any (sid:1;)", v6));
  EXPECT_TRUE(fires("alert udp 2001:db8:1::5 any -> any any (sid:1;)", v6));
  // An IPv4-mapped source (dual-stack socket) counts as IPv4.
  const Packet mapped = packet_of(reg, "::ffff:203.0.113.5", 5062, "::ffff:192.0.2.10", 5060);
  EXPECT_TRUE(fires("alert udp 203.0.113.0/24 any -> 192.0.2.10 any (sid:1;)", mapped));
  EXPECT_FALSE(fires("alert udp ::/0 any -> any any (sid:1;)", mapped));
}

// ---- what evaluate() reports ----

TEST(RuleSetEvaluate, reports_the_rule_fields_in_rule_order) {
  Sip reg{kRegister};
  RuleSet set({compile_ok("drop udp any any -> any any (msg:\"scanner \\\"friendly\\\"\"; content:\"friendly-scanner\"; "
                          "classtype:attempted-recon; priority:2; sid:2000; rev:4; fwsam:src, 1h;)"),
               compile_ok("alert udp any any -> any any (msg:\"no match\"; content:\"sipvicious\"; sid:2001;)"),
               compile_ok("alert udp any any -> any any (msg:\"register\"; sip_method:REGISTER; sid:2002;)")});
  EXPECT_EQ(set.size(), 3u);
  const auto matches = set.evaluate(packet_of(reg), Clock::now());
  ASSERT_EQ(matches.size(), 2u);
  EXPECT_EQ(matches[0].sid, 2000u);
  EXPECT_EQ(matches[0].rev, 4u);
  EXPECT_EQ(matches[0].msg, "scanner \"friendly\"");
  EXPECT_EQ(matches[0].classtype, "attempted-recon");
  EXPECT_EQ(matches[0].priority, 2u);
  EXPECT_EQ(matches[0].action, RuleAction::Drop);
  EXPECT_EQ(matches[0].count, 1u);
  ASSERT_TRUE(matches[0].block);
  EXPECT_EQ(matches[0].block->whom, Track::BySrc);
  EXPECT_EQ(matches[0].block->duration, std::chrono::hours(1));
  EXPECT_EQ(matches[1].sid, 2002u);
  EXPECT_EQ(matches[1].priority, 0u);
  EXPECT_FALSE(matches[1].block);
}

TEST(RuleSetEvaluate, nothing_matching_returns_an_empty_vector_without_capacity) {
  Sip reg{kRegister};
  RuleSet set({compile_ok("alert udp any any -> any any (content:\"sipvicious\"; sid:1;)"),
               compile_ok("alert tcp any any -> any any (sid:2;)")});
  const auto matches = set.evaluate(packet_of(reg), Clock::now());
  EXPECT_TRUE(matches.empty());
  EXPECT_EQ(matches.capacity(), 0u);
  EXPECT_TRUE(RuleSet().evaluate(packet_of(reg), Clock::now()).empty());
}

TEST(RuleSetEvaluate, a_pass_rule_stops_evaluation) {
  Sip reg{kRegister};
  RuleSet set({compile_ok("alert udp any any -> any any (msg:\"before\"; sid:1;)"),
               compile_ok("pass udp 192.0.2.0/24 any -> any any (msg:\"trusted\"; sid:2;)"),
               compile_ok("drop udp any any -> any any (content:\"friendly-scanner\"; sid:3; fwsam:src;)")});
  const auto trusted = set.evaluate(packet_of(reg, "192.0.2.77"), Clock::now());
  ASSERT_EQ(trusted.size(), 2u);
  EXPECT_EQ(trusted[0].sid, 1u);
  EXPECT_EQ(trusted[1].sid, 2u);
  EXPECT_EQ(trusted[1].action, RuleAction::Pass);
  const auto other = set.evaluate(packet_of(reg, "203.0.113.5"), Clock::now());
  ASSERT_EQ(other.size(), 2u);
  EXPECT_EQ(other[1].sid, 3u);
  EXPECT_EQ(other[1].action, RuleAction::Drop);
}

TEST(RuleSetEvaluate, a_rule_without_options_matches_every_packet_of_its_header) {
  Sip reg{kRegister};
  Packet garbage = packet_of(reg);
  garbage.bytes = "\x01\x02not sip";
  garbage.message = nullptr;
  EXPECT_TRUE(fires("alert udp any any -> any any (sid:1;)", garbage));
  EXPECT_FALSE(fires("alert udp any any -> any any (content:\"REGISTER\"; sid:1;)", garbage));
}

}  // namespace
}  // namespace sipbox::security::test
