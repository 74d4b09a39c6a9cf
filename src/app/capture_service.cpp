#include "app/capture_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace sipbox::app {
namespace {

using nlohmann::json;

std::string_view side_name(media::Side side) { return side == media::Side::offerer ? "offerer" : "answerer"; }

std::string_view reason_name(media::EndReason reason) {
  switch (reason) {
    case media::EndReason::hangup:
      return "hangup";
    case media::EndReason::cancelled:
      return "cancelled";
    case media::EndReason::failed:
      return "failed";
    case media::EndReason::timeout:
      return "timeout";
    case media::EndReason::shutdown:
      return "shutdown";
  }
  return "?";
}

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json refused(std::string_view tag, std::string message) {
  return {{"ok", false}, {"error", {{"tag", tag}, {"type", "application"}, {"message", std::move(message)}}}};
}

json stats_json(const capture::MonitorStats& s) {
  const auto& d = s.decoder;
  const auto& t = s.tracker;
  return {
      {"interface", s.source},
      {"link_type", s.link_type},
      {"packets",
       {{"seen", d.frames},
        {"udp", d.udp},
        {"not_udp", d.not_udp},
        {"fragments", d.fragments},
        {"truncated", d.truncated},
        {"unsupported", d.unsupported}}},
      {"sip", {{"messages", t.sip_messages}, {"errors", t.sip_errors}, {"sdp_errors", t.sdp_errors}}},
      {"calls",
       {{"seen", t.calls_seen},
        {"active", t.calls_active},
        {"ended", t.calls_ended},
        {"not_tracked", t.calls_not_tracked},
        {"streams_active", t.streams_active}}},
      {"media",
       {{"rtp_packets", t.rtp_packets},
        {"rtcp_packets", t.rtcp_packets},
        {"errors", t.media_errors},
        {"other_datagrams", t.other_datagrams},
        {"reports", t.reports}}},
      {"pcap",
       {{"received", s.pcap_received}, {"dropped", s.pcap_dropped}, {"interface_dropped", s.pcap_interface_dropped}}},
      {"error", s.error}};
}

std::uint32_t seconds_setting(const config::Snapshot& running, std::string_view xpath, std::uint32_t fallback) {
  const auto value = running.value(xpath);
  if (!value) return fallback;
  try {
    return static_cast<std::uint32_t>(std::stoul(*value));
  } catch (const std::exception&) {
    return fallback;  // the model's types make this unreachable
  }
}

}  // namespace

void LoggingObserver::on_report(const media::StreamReport& r) {
  spdlog::info("media {}: call {} stream {} {} {}:{} -> {}:{} {} packets {} lost {} ({:.2f}%) jitter {:.2f} ms{}",
               r.final ? "final" : "interim", r.call_id, r.index, side_name(r.sender), r.from.address, r.from.port,
               r.to.address, r.to.port, r.codec.encoding_name.empty() ? "?" : r.codec.encoding_name, r.stats.packets,
               r.stats.cumulative_lost, r.stats.loss_percent(), r.stats.jitter_ms,
               r.round_trip_ms ? fmt::format(" rtt {:.1f} ms", *r.round_trip_ms) : std::string());
}

void LoggingObserver::on_call_ended(std::string_view call_id, media::EndReason reason) {
  spdlog::info("media: call {} ended ({})", call_id, reason_name(reason));
}

CaptureService::CaptureService(config::ConfigStore& config, media::RelayObserver& observer)
    : config_(config), observer_(observer) {}

CaptureService::~CaptureService() { stop(); }

// A capture that libpcap ended by itself (its thread has returned) is over: its counts
// become the last run's, and a new one may start.
void CaptureService::reap_locked() {
  if (!monitor_) return;
  capture::MonitorStats stats = monitor_->stats();
  if (stats.running) return;
  monitor_.reset();
  last_ = std::move(stats);
}

Status CaptureService::start(std::optional<std::string> interface) {
  std::lock_guard lock(mutex_);
  reap_locked();
  if (monitor_) return fail("passive capture already running on " + monitor_->stats().source);
  const config::Snapshot running = config_.running();
  if (!interface || interface->empty()) interface = running.value(kInterfaceLeaf);
  if (!interface || interface->empty())
    return fail("no interface given and none configured (" + std::string(kInterfaceLeaf) + ")");
  capture::MonitorOptions options;
  options.tracker.media_timeout =
      std::chrono::seconds(seconds_setting(running, "/sipbox-media:media/media-timeout-seconds", 60));
  options.tracker.report_interval =
      std::chrono::seconds(seconds_setting(running, "/sipbox-media:media/monitoring/record-interval-seconds", 0));
  auto monitor = capture::PassiveMonitor::start(*interface, options, observer_);
  if (!monitor) return fail(monitor.error().message);
  monitor_ = std::move(*monitor);
  last_.reset();
  started_ = now_utc();
  spdlog::info("passive capture started on {} ({})", *interface, monitor_->stats().link_type);
  return {};
}

bool CaptureService::stop() {
  std::unique_ptr<capture::PassiveMonitor> monitor;
  {
    std::lock_guard lock(mutex_);
    monitor = std::move(monitor_);
  }
  if (!monitor) return false;
  monitor->stop();  // the final reports are delivered here, outside the lock
  auto stats = monitor->stats();
  spdlog::info("passive capture on {} stopped: {} packets, {} SIP messages, {} RTP packets matched, {} dropped",
               stats.source, stats.decoder.frames, stats.tracker.sip_messages, stats.tracker.rtp_packets,
               stats.pcap_dropped);
  std::lock_guard lock(mutex_);
  last_ = std::move(stats);
  return true;
}

json CaptureService::status() const {
  std::lock_guard lock(mutex_);
  json out;
  if (monitor_) {
    const capture::MonitorStats stats = monitor_->stats();
    out = stats_json(stats);
    out["running"] = stats.running;  // false when the capture failed by itself (see "error")
  } else if (last_) {
    out = stats_json(*last_);
    out["running"] = false;
  } else {
    out = {{"running", false}};
    const auto configured = config_.running().value(kInterfaceLeaf);
    out["interface"] = configured ? json(*configured) : json(nullptr);
  }
  if (!started_.empty()) out["started"] = started_;
  return out;
}

std::optional<json> CaptureService::execute(const json& request) {
  const std::string op = request.value("op", std::string());
  if (op == "capture.start") {
    std::optional<std::string> interface;
    if (const auto it = request.find("interface"); it != request.end() && !it->is_null()) {
      if (!it->is_string()) return refused("invalid-value", "interface must be a string");
      interface = it->get<std::string>();
    }
    {
      std::lock_guard lock(mutex_);
      reap_locked();
      if (monitor_) return refused("in-use", "passive capture already running on " + monitor_->stats().source);
    }
    if ((!interface || interface->empty()) && !config_.running().value(kInterfaceLeaf))
      return refused("invalid-value", "no interface given and none configured (" + std::string(kInterfaceLeaf) + ")");
    if (auto started = start(interface); !started) return refused("operation-failed", started.error().message);
    return json{{"ok", true}, {"data", status()}};
  }
  if (op == "capture.stop") {
    if (!stop()) return refused("data-missing", "no passive capture is running");
    return json{{"ok", true}, {"data", status()}};
  }
  if (op == "capture.status") return json{{"ok", true}, {"data", status()}};
  return std::nullopt;
}

std::vector<web::ApiResource> capture_api(CaptureService& service) {
  const auto respond = [](const json& reply, int success) {
    if (reply.value("ok", false))
      return web::json_response(reply["data"].dump(2, ' ', false, json::error_handler_t::replace) + "\n", success);
    const json error = reply.value("error", json::object());
    const std::string tag = error.value("tag", std::string());
    // Conflicts with the current state are 409; a bad or missing interface, and
    // libpcap's refusals (no such device, permission), are the request's fault.
    return web::api_error(tag == "data-missing" || tag == "in-use" ? 409 : 400,
                          error.value("message", std::string("failed")));
  };
  web::ApiResource resource;
  resource.name = "capture";
  resource.get = [&service, respond](const web::Request& request) {
    if (request.path.find("capture/") != std::string::npos) return web::api_error(404, "no such resource");
    return respond(*service.execute({{"op", "capture.status"}}), 200);
  };
  resource.post = [&service, respond](const web::Request& request) {
    const std::string_view path = request.path;
    const bool starting = path.ends_with("capture/start");
    if (!starting && !path.ends_with("capture/stop"))
      return web::api_error(404, "POST /api/v1/capture/start or /api/v1/capture/stop");
    json op{{"op", starting ? "capture.start" : "capture.stop"}};
    if (starting && !request.body.empty()) {
      const json body = json::parse(request.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return web::api_error(400, "the body must be a JSON object");
      if (body.contains("interface")) op["interface"] = body["interface"];
    }
    return respond(*service.execute(op), 200);
  };
  return {std::move(resource)};
}

}  // namespace sipbox::app
