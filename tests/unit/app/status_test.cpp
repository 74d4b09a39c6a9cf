// The status renderings (app/status.h): JSON keeps only non-zero requests and responses,
// the dialogs gauge never goes below zero, and /metrics follows the Prometheus text
// format 0.0.4 (HELP and TYPE once per family before its samples, escaped label values).
#include "app/status.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

namespace sipbox::app {
namespace {

StatusSnapshot sample_snapshot() {
  StatusSnapshot s;
  s.version = "1.2.3";
  s.uptime = std::chrono::seconds(61);
  s.listeners = {{"sip", "udp", "127.0.0.1", 5060}, {"http", "tcp", "::1", 8080}};
  s.core.workers = 2;
  s.core.requests_received[static_cast<std::size_t>(sip::Method::Invite)] = 3;
  s.core.requests_received[static_cast<std::size_t>(sip::Method::Other)] = 1;
  s.core.responses_sent[486] = 2;
  s.core.responses_sent[200] = 5;
  s.core.malformed_answered = 4;
  s.core.banned_dropped = 12;
  s.core.aors = 7;
  s.core.bindings = 9;
  s.core.transactions = 6;
  s.core.txn.retransmissions_sent = 8;
  s.core.proxy.dialogs_established = 10;
  s.core.proxy.dialogs_ended = 4;
  s.core.transport.of(txn::TransportKind::Udp).messages_received = 11;
  s.core.udp_steered = 1;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(StatusJson, counts_by_method_and_code_hold_only_non_zero_entries) {
  const auto j = status_json(sample_snapshot());
  EXPECT_EQ(j["requests"]["received"], (nlohmann::json{{"INVITE", 3}, {"OTHER", 1}}));
  EXPECT_EQ(j["requests"]["sent"], nlohmann::json::object());
  EXPECT_EQ(j["responses"]["sent"], (nlohmann::json{{"200", 5}, {"486", 2}}));
  EXPECT_EQ(j["responses"]["received"], nlohmann::json::object());
  EXPECT_EQ(j["registrations"], (nlohmann::json{{"aors", 7}, {"bindings", 9}}));
  EXPECT_EQ(j["dialogs"], (nlohmann::json{{"established", 10}, {"ended", 4}, {"active", 6}}));
  EXPECT_EQ(j["dropped"]["malformed"]["answered"], 4);
  EXPECT_EQ(j["dropped"]["banned"], 12);
  EXPECT_EQ(j["dropped"]["security"], 0);
  EXPECT_EQ(j["transactions"]["live"], 6);
  EXPECT_EQ(j["retransmissions"]["sent"], 8);
  EXPECT_EQ(j["uptime_seconds"], 61);
  EXPECT_EQ(j["workers"], 2);
  EXPECT_EQ(j["listeners"][0],
            (nlohmann::json{{"service", "sip"}, {"transport", "udp"}, {"address", "127.0.0.1"}, {"port", 5060}}));
  // UDP has a listener; TCP has neither a listener nor traffic.
  EXPECT_TRUE(j["transport"]["by_kind"].contains("udp"));
  EXPECT_FALSE(j["transport"]["by_kind"].contains("tcp"));
  EXPECT_FALSE(j.contains("store"));
}

TEST(StatusJson, active_dialogs_never_go_below_zero) {
  StatusSnapshot s;
  s.core.proxy.dialogs_established = 1;
  s.core.proxy.dialogs_ended = 3;  // BYEs for calls set up before a restart
  EXPECT_EQ(status_json(s)["dialogs"]["active"], 0);
}

TEST(StatusJson, store_stats_when_present) {
  StatusSnapshot s;
  s.store = store::StoreStats{};
  s.store->committed = 12;
  s.store->last_error = "disk full";
  s.store->refreshes = 40;
  s.store->refreshes_pending = 3;
  s.store->refreshes_coalesced = 30;
  s.store->refreshes_superseded = 2;
  s.store->refreshes_queued = 5;
  s.store->refreshes_written = 4;
  const auto j = status_json(s);
  EXPECT_EQ(j["store"]["committed"], 12);
  EXPECT_EQ(j["store"]["last_error"], "disk full");
  EXPECT_EQ(
      j["store"]["refreshes"],
      (nlohmann::json{
          {"accepted", 40}, {"pending", 3}, {"coalesced", 30}, {"superseded", 2}, {"queued", 5}, {"written", 4}}));
  const std::string text = prometheus_text(s);
  for (const char* line :
       {"sipbox_store_binding_refreshes_pending 3\n", "sipbox_store_binding_refreshes_total{outcome=\"accepted\"} 40\n",
        "sipbox_store_binding_refreshes_total{outcome=\"coalesced\"} 30\n",
        "sipbox_store_binding_refreshes_total{outcome=\"superseded\"} 2\n",
        "sipbox_store_binding_refreshes_total{outcome=\"queued\"} 5\n",
        "sipbox_store_binding_refreshes_total{outcome=\"written\"} 4\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line;
}

TEST(PrometheusText, every_family_has_help_and_type_once_before_its_samples) {
  StatusSnapshot s = sample_snapshot();
  s.store = store::StoreStats{};
  const std::string text = prometheus_text(s);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> families;
  std::string current;
  std::set<std::string> series;
  for (const std::string& line : lines_of(text)) {
    if (line.starts_with("# HELP ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(families.insert(name).second) << "HELP twice: " << name;
      current = name;
    } else if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line.substr(7, current.size() + 1), current + " ") << line;
      const std::string type = line.substr(7 + current.size() + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_EQ(type == "counter", current.ends_with("_total")) << line;
    } else {
      EXPECT_TRUE(line.starts_with(current)) << line << " outside " << current;
      const std::string name = line.substr(0, line.find_first_of("{ "));
      EXPECT_EQ(name, current) << line;
      EXPECT_TRUE(series.insert(line.substr(0, line.rfind(' '))).second) << "series twice: " << line;
    }
    EXPECT_TRUE(current.starts_with("sipbox_")) << current;
  }
  EXPECT_TRUE(families.contains("sipbox_store_queue_depth"));
}

TEST(PrometheusText, samples_for_the_operator) {
  const std::string text = prometheus_text(sample_snapshot());
  constexpr const char* kLines[] = {
      "sipbox_sip_requests_received_total{method=\"INVITE\"} 3\n",
      "sipbox_sip_requests_received_total{method=\"OTHER\"} 1\n",
      "sipbox_sip_requests_received_total{method=\"REFER\"} 0\n",
      "sipbox_sip_responses_sent_total{code=\"486\"} 2\n",
      "sipbox_sip_malformed_answered_total 4\n",
      "sipbox_sip_udp_listeners{steering=\"kernel\"} 1\n",
      "sipbox_sip_udp_listeners{steering=\"handover\"} 0\n",
      "sipbox_sip_messages_dropped_total{reason=\"banned\"} 12\n",
      "sipbox_registrations{kind=\"aors\"} 7\n",
      "sipbox_registrations{kind=\"bindings\"} 9\n",
      "sipbox_transactions 6\n",
      "sipbox_sip_retransmissions_total{direction=\"sent\"} 8\n",
      "sipbox_dialogs 6\n",
      "sipbox_transport_messages_received_total{transport=\"udp\"} 11\n",
      "sipbox_build_info{version=\"1.2.3\"} 1\n",
      "sipbox_listener_info{service=\"http\",transport=\"tcp\",address=\"::1\",port=\"8080\"} 1\n",
  };
  for (const char* line : kLines) EXPECT_NE(text.find(line), std::string::npos) << line;
  // Codes never seen are left out; so is the store when there is none.
  EXPECT_EQ(text.find("code=\"404\""), std::string::npos);
  EXPECT_EQ(text.find("sipbox_store_"), std::string::npos);
  EXPECT_EQ(text.find("transport=\"tcp\"} "), std::string::npos);
}

TEST(PrometheusText, label_values_are_escaped) {
  StatusSnapshot s;
  s.version = "a\"b\\c\nd";
  const std::string text = prometheus_text(s);
  EXPECT_NE(text.find("sipbox_build_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(MethodName, every_method_has_its_name) {
  EXPECT_EQ(method_name(sip::Method::Invite), "INVITE");
  EXPECT_EQ(method_name(sip::Method::Refer), "REFER");
  EXPECT_EQ(method_name(sip::Method::Other), "OTHER");
  for (std::string_view name : {"ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "PRACK", "UPDATE", "SUBSCRIBE",
                                "NOTIFY", "PUBLISH", "MESSAGE"})
    EXPECT_EQ(method_name(sip::method_from_name(name)), name);
}

}  // namespace
}  // namespace sipbox::app
