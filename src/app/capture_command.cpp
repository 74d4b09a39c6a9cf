// sipbox capture start [--interface IF] | stop | status [--json]: passive monitoring of a
// mirror port by the running sipboxd (control ops capture.start, capture.stop and
// capture.status; app/capture_service.h). It needs the daemon: the capture runs there.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/control_client.h"
#include "app/control_protocol.h"

namespace sipbox::app {
namespace {

using nlohmann::json;

struct CaptureOptions {
  std::string interface;
  bool json_output = false;
};

std::uint64_t number(const json& object, const char* group, const char* key) {
  const auto g = object.find(group);
  if (g == object.end() || !g->is_object()) return 0;
  const auto it = g->find(key);
  return it != g->end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

void print_status(const json& s) {
  const bool running = s.value("running", false);
  const std::string interface = s["interface"].is_string() ? s["interface"].get<std::string>() : "-";
  if (!s.contains("packets")) {
    std::cout << "passive capture: not running (configured interface: " << interface << ")\n";
    return;
  }
  std::cout << "passive capture: " << (running ? "running" : "stopped") << " on " << interface << " ("
            << s.value("link_type", std::string("?")) << "), started " << s.value("started", std::string("-")) << '\n';
  std::cout << "packets:  " << number(s, "packets", "seen") << " seen, " << number(s, "packets", "udp") << " UDP, "
            << number(s, "packets", "fragments") << " fragments skipped, " << number(s, "packets", "truncated")
            << " truncated; pcap dropped " << number(s, "pcap", "dropped") << '\n';
  std::cout << "sip:      " << number(s, "sip", "messages") << " messages, " << number(s, "sip", "errors")
            << " unparsable, " << number(s, "sip", "sdp_errors") << " bad SDP\n";
  std::cout << "calls:    " << number(s, "calls", "seen") << " seen, " << number(s, "calls", "active") << " active, "
            << number(s, "calls", "ended") << " ended\n";
  std::cout << "media:    " << number(s, "media", "rtp_packets") << " RTP and " << number(s, "media", "rtcp_packets")
            << " RTCP packets matched, " << number(s, "media", "reports") << " reports\n";
  const std::string error = s.value("error", std::string());
  if (!error.empty()) std::cout << "error:    " << error << '\n';
}

int run(const GlobalOptions& global, const std::string& op, const CaptureOptions& o) {
  const std::filesystem::path dir = global.data_dir;
  auto client = ControlClient::connect(dir);
  if (!client) {
    std::cerr << "sipbox: sipboxd is not running (passive capture runs in the daemon; no answer on "
              << (dir / kControlSocketName).string() << ")\n";
    return 1;
  }
  json request{{"op", op}};
  if (op == "capture.start" && !o.interface.empty()) request["interface"] = o.interface;
  auto reply = client->call(request);
  if (!reply) {
    std::cerr << "sipbox: " << reply.error().message << '\n';
    return 1;
  }
  if (!reply->value("ok", false)) {
    const json error = reply->value("error", json::object());
    std::cerr << "sipbox: " << error.value("message", std::string("refused")) << '\n';
    return 1;
  }
  const json data = reply->value("data", json::object());
  if (o.json_output) {
    std::cout << data.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
  } else {
    print_status(data);
  }
  return 0;
}

}  // namespace

void add_capture_command(CLI::App& app, const GlobalOptions& global, int& exit_code) {
  auto options = std::make_shared<CaptureOptions>();
  CLI::App* capture = app.add_subcommand(
      "capture", "Passive monitoring: RTP statistics of calls seen on a mirror port (libpcap); needs sipboxd");
  capture->require_subcommand(1);
  CLI::App* start = capture->add_subcommand("start", "Start capturing (one capture at a time)");
  start->add_option("--interface", options->interface,
                    "Network interface, e.g. eth1 (default: /sipbox-media:media/monitoring/passive-interface)");
  start->add_flag("--json", options->json_output, "JSON output (as GET /api/v1/capture)");
  start->callback([options, &global, &exit_code] { exit_code = run(global, "capture.start", *options); });
  CLI::App* stop = capture->add_subcommand("stop", "Stop capturing; open calls get their final reports");
  stop->add_flag("--json", options->json_output, "JSON output (as GET /api/v1/capture)");
  stop->callback([options, &global, &exit_code] { exit_code = run(global, "capture.stop", *options); });
  CLI::App* status =
      capture->add_subcommand("status", "Counts of the running capture, or of the last one: packets, SIP, calls, RTP");
  status->add_flag("--json", options->json_output, "JSON output (as GET /api/v1/capture)");
  status->callback([options, &global, &exit_code] { exit_code = run(global, "capture.status", *options); });
}

}  // namespace sipbox::app
