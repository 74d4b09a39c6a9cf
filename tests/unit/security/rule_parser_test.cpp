// compile_rule: what the Snort subset accepts, and for each kind of refusal the exact
// column (1-based, at the offending token) and reason.
#include "rule_test_util.h"

namespace sipbox::security::test {
namespace {

constexpr std::string_view kBesip =
    "alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (msg:\"SIP DoS attempt(registerflood)\"; "
    "content:\"REGISTER sip\"; detection_filter:track by_src, count 50, seconds 5; classtype:misc-attack; "
    "sid:1000001; rev:1; fwsam:src, 10min;)";

// The column of the first occurrence of `token` in `rule` (1-based), for readable tests.
std::size_t col(std::string_view rule, std::string_view token, std::size_t nth = 0) {
  std::size_t at = rule.find(token);
  while (nth-- > 0 && at != std::string_view::npos) at = rule.find(token, at + 1);
  EXPECT_NE(at, std::string_view::npos) << token;
  return at + 1;
}

RuleError refused(std::string_view rule, const RuleVariables& vars = sip_variables()) {
  auto r = compile_rule(rule, vars);
  EXPECT_FALSE(r.has_value()) << "accepted: " << rule;
  return r ? RuleError{} : r.error();
}

void expect_refused(std::string_view rule, std::size_t column, std::string_view reason,
                    const RuleVariables& vars = sip_variables()) {
  const RuleError e = refused(rule, vars);
  EXPECT_EQ(e.column, column) << rule << "\n  " << e.reason;
  EXPECT_EQ(e.reason, reason) << rule;
}

TEST(RuleParser, besip_register_flood_rule_compiles) {
  auto rule = compile_ok(kBesip);
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule_sid(*rule), 1000001u);
  EXPECT_EQ(rule_action(*rule), RuleAction::Alert);
  EXPECT_EQ(rule_msg(*rule), "SIP DoS attempt(registerflood)");
}

TEST(RuleParser, accepts_the_subset) {
  const std::string_view texts[] = {
           // the last option may omit its ';', spaces around ':' and ';'
           "drop tcp any any -> any 5060 (msg : \"x\" ; sid : 7 )",
           "pass ip 192.0.2.1 any <> any any (sid:2;)",
           "alert udp [10.0.0.0/8,!10.1.0.0/16] [1024:,!5060] -> $HOME_NET :1023 (sid:3;)",
           "alert udp ![192.0.2.0/24, 198.51.100.7] any -> [$SIP_PROXY,!192.0.2.99] $SIP_PORT (sid:4;)",
           "alert udp 2001:db8::/32 any -> [::1,fe80::/10] any (sid:5;)",
           "alert udp any any -> any any (content:\"a\\\"b\\;c\\\\d\\:e\\|f\"; content:!\"|0d 0a 0D0A|\"; sid:6;)",
           "alert udp any any -> any any (content:\"INVITE\"; nocase; offset:0; depth:10; content:\"SIP\"; "
           "distance:-3; within:100; fast_pattern; sid:8;)",
           "alert udp any any -> any any (pcre:\"/^REGISTER\\s+sip:[^;]+;x/ismxAEGR\"; pcre:!\"/a\\/b/\"; sid:9;)",
           "alert udp any any -> any any (sip_method:INVITE,REGISTER, options; sip_header; content:\"To\"; "
           "sip_body; content:\"v=0\"; pkt_data; content:\"SIP\"; sid:10;)",
           "alert udp any any -> any any (sip_method:!REGISTER; sid:11;)",
           "alert udp any any -> any any (sip_stat_code:200, 4; sid:12;)",
           "alert udp any any -> any any (threshold:type limit, track by_dst, count 1, seconds 60; "
           "detection_filter:seconds 1, count 2, track by_src; sid:13;)",
           "alert udp any any -> any any (classtype:attempted-dos; priority:2; reference:url,example.com; "
           "metadata:policy balanced-ips drop, service sip; rev:3; sid:14;)",
           "ALERT UDP any any -> any any (MSG:\"upper case keywords\"; SID:15;)",
  };
  for (std::string_view text : texts) {
    EXPECT_TRUE(compile_ok(text)) << text;
  }
}

TEST(RuleParser, nested_variables_resolve) {
  const RuleVariables vars{{"A", "[$B,!10.1.0.0/16]"}, {"B", "[10.0.0.0/8,$C]"}, {"C", "192.0.2.1"},
                           {"P", "[$Q,5080]"},           {"Q", "5060:5061"}};
  EXPECT_TRUE(compile_ok("alert udp $A $P -> !$A any (sid:1;)", vars));
  EXPECT_TRUE(check_variable("[$B,!10.1.0.0/16]", vars));
  EXPECT_TRUE(check_variable("5060:5061", vars));
  EXPECT_FALSE(check_variable("[10.0.0.0/8,5060:]", vars));
}

// ---- refusals: one test per kind, exact column and reason ----

TEST(RuleRefusal, unbalanced_parentheses) {
  const std::string open = "alert udp any any -> any any (msg:\"x\"; sid:1;";
  expect_refused(open, col(open, "("), "unbalanced parentheses: the '(' of the options is never closed");
  const std::string extra = "alert udp any any -> any any (msg:\"x\"; sid:1;))";
  expect_refused(extra, extra.size(), "unbalanced parentheses: ')' without '('");
  const std::string after = "alert udp any any -> any any (sid:1;) extra";
  expect_refused(after, col(after, "extra"), "text after the closing ')' of the options");
}

TEST(RuleRefusal, unknown_option) {
  const std::string r = "alert udp any any -> any any (conten:\"REGISTER\"; sid:1;)";
  expect_refused(r, 31, "unknown option 'conten'");
}

TEST(RuleRefusal, modifier_before_any_content) {
  const std::string r = "alert udp any any -> any any (nocase; content:\"a\"; sid:1;)";
  expect_refused(r, col(r, "nocase"), "'nocase' modifies a content, but no content comes before it");
  const std::string d = "alert udp any any -> any any (pcre:\"/a/\"; within:5; sid:1;)";
  expect_refused(d, col(d, "within"), "'within' modifies a content, but no content comes before it");
}

TEST(RuleRefusal, missing_sid) {
  const std::string r = "alert udp any any -> any any (msg:\"no sid\";)";
  expect_refused(r, r.size(), "missing sid (every rule needs sid:N)");
  const std::string zero = "alert udp any any -> any any (sid:0;)";
  expect_refused(zero, col(zero, "0;"), "sid must be a number from 1 to 4294967295, not '0'");
}

TEST(RuleRefusal, bad_cidr_and_addresses) {
  expect_refused("alert udp 10.0.0.0/33 any -> any any (sid:1;)", 11, "bad CIDR '10.0.0.0/33' (prefix length 0-32)");
  expect_refused("alert udp any any -> 2001:db8::/129 any (sid:1;)", 22,
                 "bad CIDR '2001:db8::/129' (prefix length 0-128)");
  expect_refused("alert udp 10.0.0.256 any -> any any (sid:1;)", 11, "bad address '10.0.0.256'");
  expect_refused("alert udp 10.0.0 any -> any any (sid:1;)", 11, "bad address '10.0.0'");
  const std::string list = "alert udp [10.0.0.0/8,!10.1.0.0/99] any -> any any (sid:1;)";
  expect_refused(list, col(list, "10.1.0.0/99"), "bad CIDR '10.1.0.0/99' (prefix length 0-32)");
  expect_refused("alert udp !any any -> any any (sid:1;)", 11, "'!any' matches nothing");
  expect_refused("alert udp [] any -> any any (sid:1;)", 11, "empty list");
  expect_refused("alert udp [10.0.0.1,,10.0.0.2] any -> any any (sid:1;)", 21, "empty address in a list");
  expect_refused("alert udp [10.0.0.1 any -> any any (sid:1;)", 11, "unbalanced brackets: '[' is never closed");
  expect_refused("alert udp [10.0.0.1]] any -> any any (sid:1;)", 11, "unbalanced brackets in '[10.0.0.1]]'");
}

TEST(RuleRefusal, bad_ports) {
  expect_refused("alert udp any 70000 -> any any (sid:1;)", 15, "bad port '70000' (0-65535, N:M, :M or N:)");
  expect_refused("alert udp any any -> any 6000:5000 (sid:1;)", 26, "bad port range '6000:5000' (6000 > 5000)");
  expect_refused("alert udp any [5060,!x] -> any any (sid:1;)", 22, "bad port 'x' (0-65535, N:M, :M or N:)");
}

TEST(RuleRefusal, undefined_variable) {
  const std::string r = "alert udp $EXTERNAL_NET any -> $SIP_PROXY $SIP_PORT (sid:1;)";
  expect_refused(r, col(r, "$SIP_PROXY"), "undefined variable $SIP_PROXY", RuleVariables{{"EXTERNAL_NET", "any"}});
  const std::string in_list = "alert udp [10.0.0.1,!$NOPE] any -> any any (sid:1;)";
  expect_refused(in_list, col(in_list, "$NOPE"), "undefined variable $NOPE");
}

TEST(RuleRefusal, errors_inside_a_variable_point_at_its_reference) {
  const RuleVariables vars{{"HOME_NET", "[10.0.0.0/8,192.0.2.0/40]"}, {"LOOP", "[$LOOP]"}, {"OUTER", "$HOME_NET"}};
  const std::string r = "alert udp any any -> $HOME_NET any (sid:1;)";
  expect_refused(r, col(r, "$HOME_NET"), "in $HOME_NET: bad CIDR '192.0.2.0/40' (prefix length 0-32)", vars);
  const std::string nested = "alert udp $OUTER any -> any any (sid:1;)";
  expect_refused(nested, 11, "in $OUTER: in $HOME_NET: bad CIDR '192.0.2.0/40' (prefix length 0-32)", vars);
  expect_refused("alert udp $LOOP any -> any any (sid:1;)", 11, "in $LOOP: variable $LOOP refers to itself", vars);
  const RuleVariables cycle{{"A", "[10.0.0.1,$B]"}, {"B", "![$A]"}};
  expect_refused("alert udp any any -> [$A] any (sid:1;)", 23, "in $A: in $B: variable $A refers to itself", cycle);
  expect_refused("alert udp !$EXTERNAL_NET any -> any any (sid:1;)", 11, "'!$EXTERNAL_NET' matches nothing ($EXTERNAL_NET is any)");
}

TEST(RuleRefusal, bad_pcre_carries_pcre2_message_and_offset) {
  const std::string r = "alert udp any any -> any any (pcre:\"/a(b/\"; sid:1;)";
  const RuleError e = refused(r);
  // PCRE2 reports the missing ')' at the end of the pattern "a(b" (offset 3).
  EXPECT_EQ(e.column, col(r, "a(b") + 3);
  EXPECT_EQ(e.reason, "bad pcre: missing closing parenthesis");
  const std::string flag = "alert udp any any -> any any (pcre:\"/a/iU\"; sid:1;)";
  expect_refused(flag, col(flag, "U\""), "pcre flag 'U' is not supported (i s m x A E G R)");
  const std::string form = "alert udp any any -> any any (pcre:\"abc\"; sid:1;)";
  expect_refused(form, col(form, "abc"), "pcre needs \"/regex/flags\"");
}

TEST(RuleRefusal, detection_filter_and_threshold_parts) {
  const std::string r = "alert udp any any -> any any (detection_filter:track by_src, count 5; sid:1;)";
  expect_refused(r, 31, "detection_filter needs seconds");
  const std::string t = "alert udp any any -> any any (threshold:track by_src, count 5, seconds 2; sid:1;)";
  expect_refused(t, 31, "threshold needs type (limit, threshold or both)");
  const std::string track = "alert udp any any -> any any (detection_filter:track by_rule, count 5, seconds 2; sid:1;)";
  expect_refused(track, col(track, "by_rule"), "track must be by_src or by_dst, not 'by_rule'");
  const std::string zero = "alert udp any any -> any any (detection_filter:track by_src, count 0, seconds 2; sid:1;)";
  expect_refused(zero, col(zero, "0,"), "count must be a number from 1, not '0'");
  const std::string twice = "alert udp any any -> any any (detection_filter:count 1, count 2, track by_src; sid:1;)";
  expect_refused(twice, col(twice, "count 2"), "detection_filter gives 'count' twice");
  const std::string part = "alert udp any any -> any any (detection_filter:track by_src, count 1, minutes 2; sid:1;)";
  expect_refused(part, col(part, "minutes"), "unknown detection_filter part 'minutes' (track, count, seconds)");
  const std::string type = "alert udp any any -> any any (threshold:type once, track by_src, count 1, seconds 2; sid:1;)";
  expect_refused(type, col(type, "once"), "threshold type must be limit, threshold or both, not 'once'");
}

TEST(RuleRefusal, header_fields) {
  expect_refused("log udp any any -> any any (sid:1;)", 1, "action 'log' is not supported: use alert (every match is an incident)");
  expect_refused("reject udp any any -> any any (sid:1;)", 1, "unknown action 'reject' (alert, drop or pass)");
  expect_refused("alert icmp any any -> any any (sid:1;)", 7, "protocol 'icmp' is not supported (udp, tcp or ip)");
  expect_refused("alert udp any any <- any any (sid:1;)", 19,
                 "direction '<-' is not supported: swap the addresses and write '->'");
  expect_refused("alert udp any any => any any (sid:1;)", 19, "expected direction '->' or '<>', found '=>'");
  expect_refused("alert udp any any -> any (sid:1;)", 26, "rule header ends early: missing the destination port");
  expect_refused("alert udp any any -> any any", 29, "missing the options: '(msg:...; sid:N;)'");
  expect_refused("alert udp any any -> any any any (sid:1;)", 30, "expected '(' after the destination port, found 'any'");
  expect_refused("   ", 4, "empty rule");
}

TEST(RuleRefusal, option_syntax) {
  const std::string quote = "alert udp any any -> any any (msg:\"never closed; sid:1;)";
  expect_refused(quote, col(quote, "\""), "unterminated quoted string");
  const std::string twice = "alert udp any any -> any any (sid:1; sid:2;)";
  expect_refused(twice, col(twice, "sid", 1), "option 'sid' given twice");
  const std::string novalue = "alert udp any any -> any any (content; sid:1;)";
  expect_refused(novalue, 31, "option 'content' needs a value ('content:...;')");
  const std::string takes_none = "alert udp any any -> any any (content:\"a\"; nocase:1; sid:1;)";
  expect_refused(takes_none, col(takes_none, "1; sid"), "option 'nocase' takes no value");
  const std::string unquoted = "alert udp any any -> any any (msg:hello; sid:1;)";
  expect_refused(unquoted, col(unquoted, "hello"), "msg needs a quoted string");
  const std::string after = "alert udp any any -> any any (msg:\"a\" b; sid:1;)";
  expect_refused(after, col(after, "b;"), "text after the closing quote: 'b'");
  const std::string colon = "alert udp any any -> any any (sid 1;)";
  expect_refused(colon, col(colon, "1;"), "expected ':' or ';' after option 'sid'");
  const std::string neg_msg = "alert udp any any -> any any (msg:!\"a\"; sid:1;)";
  expect_refused(neg_msg, col(neg_msg, "!"), "msg cannot be negated");
}

TEST(RuleRefusal, content_bytes_and_modifiers) {
  const std::string odd = "alert udp any any -> any any (content:\"|0d 0|\"; sid:1;)";
  expect_refused(odd, col(odd, "|\""), "odd number of hex digits in content");
  const std::string bad = "alert udp any any -> any any (content:\"|0d zz|\"; sid:1;)";
  expect_refused(bad, col(bad, "zz"), "bad hex digit 'z' in content");
  const std::string open = "alert udp any any -> any any (content:\"a|0d\"; sid:1;)";
  expect_refused(open, col(open, "|0d"), "unterminated |hex| block in content");
  const std::string esc = "alert udp any any -> any any (content:\"a\\nb\"; sid:1;)";
  expect_refused(esc, col(esc, "\\n"), "unknown escape in content (write other bytes as |hex|, e.g. |0a|)");
  const std::string empty = "alert udp any any -> any any (content:\"\"; sid:1;)";
  expect_refused(empty, col(empty, "\"\""), "empty content");
  const std::string depth = "alert udp any any -> any any (content:\"REGISTER\"; depth:4; sid:1;)";
  expect_refused(depth, col(depth, "4;"), "depth 4 is shorter than the content (8 bytes)");
  const std::string mix = "alert udp any any -> any any (content:\"a\"; offset:1; distance:2; sid:1;)";
  expect_refused(mix, col(mix, "distance"),
                 "'distance' cannot be combined with offset/depth on one content (absolute and relative positions)");
  const std::string dup = "alert udp any any -> any any (content:\"a\"; nocase; nocase; sid:1;)";
  expect_refused(dup, col(dup, "nocase", 1), "'nocase' given twice for one content");
  const std::string range = "alert udp any any -> any any (content:\"a\"; offset:-1; sid:1;)";
  expect_refused(range, col(range, "-1"), "offset must be a number from 0 to 65535, not '-1'");
}

TEST(RuleRefusal, sip_options) {
  const std::string method = "alert udp any any -> any any (sip_method:INVITE,!BYE; sid:1;)";
  expect_refused(method, col(method, "!BYE"), "'!' must come before the first method (it negates the whole list)");
  const std::string token = "alert udp any any -> any any (sip_method:IN VITE; sid:1;)";
  expect_refused(token, col(token, "IN VITE"), "bad method 'IN VITE' in sip_method");
  const std::string code = "alert udp any any -> any any (sip_stat_code:200,42; sid:1;)";
  expect_refused(code, col(code, "42"), "bad status code '42' (100-999, or 1-9 for a class)");
}

TEST(RuleRefusal, fwsam) {
  const std::string who = "alert udp any any -> any any (sid:1; fwsam:victim, 10min;)";
  expect_refused(who, col(who, "victim"), "fwsam: who must be src or dst, not 'victim'");
  const std::string dur = "alert udp any any -> any any (sid:1; fwsam:src, 10 parsecs;)";
  expect_refused(dur, col(dur, "10 parsecs"), "bad fwsam duration '10 parsecs' (e.g. 30s, 10min, 1h, 2 days, or permanent)");
  const std::string extra = "alert udp any any -> any any (sid:1; fwsam:src, 10min, 1h;)";
  expect_refused(extra, col(extra, "1h"), "fwsam takes who and a duration, as in 'fwsam:src, 10min'");
  const std::string how = "alert udp any any -> any any (sid:1; fwsam:src[sideways], 1h;)";
  expect_refused(how, col(how, "sideways"),
                 "fwsam: how must be in, out, src, dest, either, both, this, conn or connection");
}

TEST(RuleRefusal, limits_keep_compile_bounded) {
  std::string deep = "alert udp ";
  for (int i = 0; i < 40; ++i) deep += "[";
  deep += "10.0.0.1";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += " any -> any any (sid:1;)";
  const RuleError e = refused(deep);
  EXPECT_NE(e.reason.find("nested too deeply"), std::string::npos) << e.reason;

  std::string many = "alert udp any any -> any any (";
  for (int i = 0; i < 65; ++i) many += "content:\"a\"; ";
  many += "sid:1;)";
  EXPECT_EQ(refused(many).reason, "too many content and pcre options (at most 64)");
  EXPECT_EQ(refused(std::string(70000, ' ')).reason, "rule longer than 65535 bytes");
}

TEST(Duration, units_and_sums) {
  using std::chrono::seconds;
  EXPECT_EQ(parse_duration("600"), seconds(600));
  EXPECT_EQ(parse_duration("30s"), seconds(30));
  EXPECT_EQ(parse_duration("10min"), seconds(600));
  EXPECT_EQ(parse_duration("5m"), seconds(300));  // m is minutes; months are "mon"
  EXPECT_EQ(parse_duration("1h"), seconds(3600));
  EXPECT_EQ(parse_duration("1 hour"), seconds(3600));
  EXPECT_EQ(parse_duration("2d"), seconds(2 * 86400));
  EXPECT_EQ(parse_duration("2 days 4 hours"), seconds(2 * 86400 + 4 * 3600));
  EXPECT_EQ(parse_duration("1h30m"), seconds(5400));
  EXPECT_EQ(parse_duration("1w"), seconds(7 * 86400));
  EXPECT_EQ(parse_duration("1 Month"), seconds(30 * 86400));
  EXPECT_EQ(parse_duration("1y"), seconds(365 * 86400));
  EXPECT_EQ(parse_duration("15 MINUTES"), seconds(900));
  for (std::string_view bad : {"", "min", "10 parsecs", "-5s", "1.5h", "10min!", "101y", "99999999999999999999999"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

}  // namespace
}  // namespace sipbox::security::test
