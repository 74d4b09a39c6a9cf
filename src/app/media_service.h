// sipboxd's media side (issue 6, docs/monitoring.md): the relay's and the proxy's
// settings read from /sipbox-media:media (with --rtp-ports), and the QualityRecorder that
// turns the relay's and the passive monitor's stream reports into E-model quality records
// in the store, with the counters /metrics shows; GET /api/v1/quality.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/daemon_options.h"
#include "app/status.h"
#include "base/result.h"
#include "config/config.h"
#include "media/relay.h"
#include "proxy/proxy.h"
#include "quality/quality.h"
#include "store/store.h"
#include "web/web.h"

namespace sipbox::app {

// /sipbox-media:media/monitoring.
struct MonitoringSettings {
  bool enabled = true;
  std::chrono::seconds record_interval{0};  // 0: a record at the end of each stream only
  double jitter_buffer_ms = 40;
  quality::CodecTable codecs = quality::CodecTable::g113_defaults();
};

struct MediaConfig {
  media::RelayOptions relay;
  proxy::MediaSettings proxy;
  MonitoringSettings monitoring;
};

// `sip_bind`: the SIP bind address (the relay binds its ports on the same one, or on
// all addresses of the family when it is a wildcard). Errors: a bad --rtp-ports.
Result<MediaConfig> media_config(const config::Snapshot& running, const DaemonOptions& options,
                                 const std::string& sip_bind);

// The E-model record of one report (docs/monitoring.md "From statistics to MOS"):
// `other_round_trip_ms` is the round trip the relay measured on the receiving party's
// leg (the other direction's report), when known.
store::QualityRecord quality_record(const media::StreamReport& report, std::optional<double> other_round_trip_ms,
                                    const MonitoringSettings& settings, std::chrono::system_clock::time_point at);

class QualityRecorder final : public media::RelayObserver {
 public:
  QualityRecorder(store::QualityStore& store, MonitoringSettings settings);
  ~QualityRecorder() override;  // flush()
  // Interval reports make a record at once (when record-interval is set); final ones
  // wait for the call's end so that each direction's delay can use both legs' round trip.
  void on_report(const media::StreamReport& report) override;
  void on_call_ended(std::string_view call_id, media::EndReason reason) override;
  // Records what final reports still wait (the relay's shutdown ends no call).
  void flush();
  // The quality part of /metrics (relay counters left empty).
  StatusSnapshot::Media stats() const;

 private:
  struct Call {
    std::vector<media::StreamReport> finals;
    std::map<std::pair<unsigned, media::Side>, double> round_trips;  // latest per direction
  };
  void record(const media::StreamReport& report, const Call& call);  // mutex_ held

  store::QualityStore& store_;
  const MonitoringSettings settings_;
  mutable std::mutex mutex_;  // reports come from several relay threads
  std::unordered_map<std::string, Call> calls_;
  StatusSnapshot::Media stats_;
};

// GET /api/v1/quality?since=&until=&address=&call_id=&mos_below=&limit=&offset=
std::vector<web::ApiResource> quality_api(store::QualityStore& store);

}  // namespace sipbox::app
