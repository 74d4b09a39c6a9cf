// What sipboxd reports about itself (DESIGN.md 3: everything measurable is exported): one
// snapshot of its counters and gauges, rendered as JSON (`sipbox status`, the control
// socket's "status" op, GET /api/v1/status) and as the Prometheus text exposition format
// 0.0.4 (GET /metrics). Both renderings read the same snapshot, so they agree; every
// metric is described in docs/operations.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "media/relay.h"
#include "sip/message.h"
#include "store/store.h"

namespace sipbox::app {

struct ListenerInfo {
  std::string service;    // "sip", "http", "netconf"
  std::string transport;  // sip: "udp", "tcp", "tls", "ws"; http: "tcp"; netconf: "ssh"
  std::string address;
  std::uint16_t port = 0;
};

struct StatusSnapshot {
  std::string version;
  std::chrono::seconds uptime{0};
  std::vector<ListenerInfo> listeners;
  core::CoreStats core;
  std::optional<store::StoreStats> store;  // absent when the daemon runs without one
  // The media relay and the quality records (absent without a relay).
  struct Media {
    media::RelayCounters relay;
    std::array<std::uint64_t, 7> mos_buckets{};  // cumulative, MOS <= kMosBounds[i]
    std::uint64_t records = 0;
    double mos_sum = 0;
  };
  static constexpr std::array<double, 7> kMosBounds{1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5};
  std::optional<Media> media;
};

// The SIP listeners of a running core, as ListenerInfo.
std::vector<ListenerInfo> sip_listeners(const std::vector<core::BoundListener>& bound);

// {"version", "uptime_seconds", "workers", "listeners", "requests", "responses",
//  "transactions", "retransmissions", "registrations", "registrar", "dialogs", "dropped",
//  "core", "proxy", "transport", "store"}; requests and responses are maps from method or
// status code to count, holding only the non-zero ones.
nlohmann::json status_json(const StatusSnapshot& snapshot);

// Every metric family with its HELP and TYPE lines; names start with "sipbox_".
std::string prometheus_text(const StatusSnapshot& snapshot);

// "INVITE", "REGISTER", ...; "OTHER" for methods the server does not know.
std::string_view method_name(sip::Method method);

}  // namespace sipbox::app
