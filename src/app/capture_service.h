// sipboxd's passive monitor (issue 6, docs/monitoring.md "Passive mode"): at most one
// live capture at a time, started and stopped on demand (`sipbox capture`, the control
// ops capture.start/capture.stop/capture.status, POST /api/v1/capture/start|stop and GET
// /api/v1/capture). The interface defaults to /sipbox-media:media/monitoring/
// passive-interface; the media timeout and report interval come from the same model as
// the relay's, read at each start. Reports go to the RelayObserver sipboxd gives, the
// one relayed streams use, so both kinds of records are stored alike.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "capture/capture.h"
#include "config/config.h"
#include "media/relay.h"
#include "web/web.h"

namespace sipbox::app {

// Logs every report and call end: for a daemon without a quality recorder.
class LoggingObserver : public media::RelayObserver {
 public:
  void on_report(const media::StreamReport& report) override;
  void on_call_ended(std::string_view call_id, media::EndReason reason) override;
};

class CaptureService {
 public:
  static constexpr std::string_view kInterfaceLeaf = "/sipbox-media:media/monitoring/passive-interface";

  CaptureService(config::ConfigStore& config, media::RelayObserver& observer);
  ~CaptureService();  // stops a running capture
  CaptureService(const CaptureService&) = delete;
  CaptureService& operator=(const CaptureService&) = delete;

  // Starts capturing on `interface` (else the configured one). Errors: already running,
  // no interface given or configured, libpcap's refusal (no such device, permission).
  Status start(std::optional<std::string> interface);
  // Stops the capture (open calls end with their final reports); false when none ran.
  bool stop();
  // {"running", "interface", "link_type", "started", "packets": {...}, "sip": {...},
  //  "calls": {...}, "media": {...}, "pcap": {...}, "error"}; after a stop, the last
  // run's counts with running false.
  nlohmann::json status() const;

  // The control ops capture.start ({"interface"} optional), capture.stop and
  // capture.status; nullopt for any other op.
  std::optional<nlohmann::json> execute(const nlohmann::json& request);

 private:
  void reap_locked();  // mutex_ held

  config::ConfigStore& config_;
  media::RelayObserver& observer_;
  mutable std::mutex mutex_;
  std::unique_ptr<capture::PassiveMonitor> monitor_;
  std::optional<capture::MonitorStats> last_;
  std::string started_;  // ISO 8601 UTC of the current or last start
};

// GET /api/v1/capture (status), POST /api/v1/capture/start {"interface": ...} and POST
// /api/v1/capture/stop.
std::vector<web::ApiResource> capture_api(CaptureService& service);

}  // namespace sipbox::app
