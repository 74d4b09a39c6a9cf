// sipboxd's media settings and quality records (media_service.h).
#include "app/media_service.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "app/api_query.h"
#include "app/ban_admin.h"

namespace sipbox::app {
namespace {

constexpr std::string_view kMedia = "/sipbox-media:media/";

// An entry's field by name (config::Snapshot::field).
constexpr auto field = &config::Snapshot::field;

template <class T>
T number(const config::Snapshot& running, std::string_view leaf, T fallback) {
  const auto text = running.value(std::string(kMedia) + std::string(leaf));
  if (!text) return fallback;
  T value{};
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return ec == std::errc() && end == text->data() + text->size() ? value : fallback;
}

Result<std::pair<std::uint16_t, std::uint16_t>> port_range(std::string_view text) {
  const auto dash = text.find('-');
  unsigned lo = 0, hi = 0;
  const bool ok = dash != std::string_view::npos &&
                  std::from_chars(text.data(), text.data() + dash, lo).ec == std::errc() &&
                  std::from_chars(text.data() + dash + 1, text.data() + text.size(), hi).ec == std::errc();
  if (!ok || lo < 1024 || hi > 65535 || lo + 3 > hi)
    return fail("--rtp-ports wants LO-HI with 1024 <= LO, LO + 3 <= HI <= 65535: '" + std::string(text) + "'");
  return std::pair{static_cast<std::uint16_t>(lo), static_cast<std::uint16_t>(hi)};
}

}  // namespace

Result<MediaConfig> media_config(const config::Snapshot& running, const DaemonOptions& options,
                                 const std::string& sip_bind) {
  MediaConfig out;
  const std::string mode = running.value(std::string(kMedia) + "relay-mode").value_or("nat-only");
  out.proxy.mode = mode == "always"  ? proxy::MediaSettings::Mode::always
                   : mode == "never" ? proxy::MediaSettings::Mode::never
                                     : proxy::MediaSettings::Mode::nat_only;
  const std::string advertised = running.value(std::string(kMedia) + "advertised-address").value_or("");
  (advertised.find(':') != std::string::npos ? out.proxy.advertised_ipv6 : out.proxy.advertised_ipv4) = advertised;
  const bool ipv6 = sip_bind.find(':') != std::string::npos;
  out.relay.bind_ipv4 = ipv6 ? "0.0.0.0" : sip_bind;
  out.relay.bind_ipv6 = ipv6 ? sip_bind : (sip_bind == "0.0.0.0" ? "::" : "");
  out.relay.port_min = number<std::uint16_t>(running, "rtp-port-min", 10000);
  out.relay.port_max = number<std::uint16_t>(running, "rtp-port-max", 20000);
  if (options.rtp_ports) {
    auto range = port_range(*options.rtp_ports);
    if (!range) return fail(range.error().message);
    std::tie(out.relay.port_min, out.relay.port_max) = *range;
  }
  out.relay.media_timeout = std::chrono::seconds(number<unsigned>(running, "media-timeout-seconds", 60));
  MonitoringSettings& m = out.monitoring;
  m.enabled = running.value(std::string(kMedia) + "monitoring/enabled").value_or("true") != "false";
  m.record_interval = std::chrono::seconds(number<unsigned>(running, "monitoring/record-interval-seconds", 0));
  m.jitter_buffer_ms = number<unsigned>(running, "monitoring/jitter-buffer-ms", 40);
  std::vector<quality::CodecImpairment> codecs;
  for (const auto& entry : running.entries(std::string(kMedia) + "monitoring/codec")) {
    quality::CodecImpairment c;
    c.name = field(entry, "name");
    const std::string pt = field(entry, "payload-type");
    if (!pt.empty()) c.payload_type = static_cast<std::uint8_t>(std::stoul(pt));
    c.ie = std::stod(field(entry, "ie").empty() ? "0" : field(entry, "ie"));
    c.bpl = std::stod(field(entry, "bpl").empty() ? "1" : field(entry, "bpl"));
    c.description = field(entry, "description");
    codecs.push_back(std::move(c));
  }
  if (!codecs.empty()) {
    auto table = quality::CodecTable::from_list(std::move(codecs));
    if (!table) return fail("monitoring/codec: " + table.error().message);
    m.codecs = std::move(*table);
  }
  out.relay.report_interval = m.enabled ? m.record_interval : std::chrono::seconds(0);
  return out;
}

store::QualityRecord quality_record(const media::StreamReport& report, std::optional<double> other_round_trip_ms,
                                    const MonitoringSettings& settings, std::chrono::system_clock::time_point at) {
  store::QualityRecord r;
  r.at = std::chrono::time_point_cast<store::Time::duration>(at);
  r.call_id = report.call_id;
  r.src_address = report.from.address;
  r.src_port = report.from.port;
  r.dst_address = report.to.address;
  r.dst_port = report.to.port;
  const media::RtpStreamSnapshot& s = report.stats;
  r.packets = s.packets;
  r.loss_percent = s.loss_percent();
  r.jitter_mean_ms = s.mean_jitter_ms;
  r.jitter_max_ms = s.max_jitter_ms;
  r.burst_ratio = s.pattern.burst_ratio();
  // The sender-to-receiver round trip is the sum of both legs' round trips (relay↔sender
  // and relay↔receiver); one leg alone counts for both when the other is unknown. The
  // estimate takes half of it as the one-way network delay.
  std::optional<double> network;
  if (report.round_trip_ms && other_round_trip_ms)
    network = *report.round_trip_ms + *other_round_trip_ms;
  else if (report.round_trip_ms)
    network = 2 * *report.round_trip_ms;
  else if (other_round_trip_ms)
    network = 2 * *other_round_trip_ms;
  quality::DelayInputs delay;
  if (network) delay.rtcp_round_trip_ms = *network;
  delay.packetisation_ms = report.codec.ptime_ms;
  delay.jitter_buffer_ms = settings.jitter_buffer_ms;
  r.delay_ms = quality::estimate_one_way_delay_ms(delay);
  const quality::CodecImpairment* codec =
      settings.codecs.find_stream_codec(report.codec.encoding_name, report.codec.payload_type);
  r.codec = codec ? codec->name
                  : (report.codec.encoding_name.empty() ? "PT" + std::to_string(report.codec.payload_type)
                                                        : report.codec.encoding_name);
  if (codec) {
    const auto rating =
        quality::simplified_rating(quality::conditions_for(*codec, r.loss_percent, r.burst_ratio, r.delay_ms));
    r.r = rating.r;
    r.mos = rating.mos;
  }
  return r;
}

QualityRecorder::QualityRecorder(store::QualityStore& store, MonitoringSettings settings)
    : store_(store), settings_(std::move(settings)) {}

QualityRecorder::~QualityRecorder() { flush(); }

void QualityRecorder::on_report(const media::StreamReport& report) {
  if (!settings_.enabled) return;
  std::lock_guard lock(mutex_);
  Call& call = calls_[report.call_id];
  if (report.round_trip_ms) call.round_trips[{report.index, report.sender}] = *report.round_trip_ms;
  if (report.final)
    call.finals.push_back(report);
  else
    record(report, call);
}

void QualityRecorder::on_call_ended(std::string_view call_id, media::EndReason) {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(std::string(call_id));
  if (found == calls_.end()) return;
  for (const media::StreamReport& report : found->second.finals) record(report, found->second);
  calls_.erase(found);
}

void QualityRecorder::flush() {
  std::lock_guard lock(mutex_);
  for (auto& [id, call] : calls_)
    for (const media::StreamReport& report : call.finals) record(report, call);
  calls_.clear();
}

void QualityRecorder::record(const media::StreamReport& report, const Call& call) {
  if (report.stats.packets == 0) return;
  std::optional<double> other;
  if (auto found = call.round_trips.find({report.index, media::other(report.sender)}); found != call.round_trips.end())
    other = found->second;
  store::QualityRecord r = quality_record(report, other, settings_, std::chrono::system_clock::now());
  if (r.mos > 0) {
    ++stats_.records;
    stats_.mos_sum += r.mos;
    for (std::size_t i = 0; i < StatusSnapshot::kMosBounds.size(); ++i)
      if (r.mos <= StatusSnapshot::kMosBounds[i]) ++stats_.mos_buckets[i];
  }
  spdlog::info(
      "quality: {} {}:{} -> {}:{} {} packets {} loss {:.2f}% jitter {:.2f}/{:.2f} ms burst {:.2f} "
      "delay {:.0f} ms R {:.1f} MOS {:.2f}{}",
      r.call_id, r.src_address, r.src_port, r.dst_address, r.dst_port, r.codec, r.packets, r.loss_percent,
      r.jitter_mean_ms, r.jitter_max_ms, r.burst_ratio, r.delay_ms, r.r, r.mos, report.final ? "" : " (interim)");
  store_.append(std::move(r));
}

StatusSnapshot::Media QualityRecorder::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<web::ApiResource> quality_api(store::QualityStore& store) {
  web::ApiResource quality;
  quality.name = "quality";
  quality.get = [&store](const web::Request& request) {
    auto query = web::parse_query(request.query);
    if (!query) return web::api_error(400, "malformed query string");
    store::QualityQuery q;
    for (const auto& [key, value] : *query) {
      if (key == "since" || key == "until") {
        auto at = parse_time(value);
        if (!at) return web::api_error(400, key + " must be an ISO 8601 UTC time or Unix seconds");
        (key == "since" ? q.since : q.until) = *at;
      } else if (key == "address") {
        q.address = value;
      } else if (key == "call_id") {
        q.call_id = value;
      } else if (key == "mos_below") {
        double mos = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mos);
        if (ec != std::errc() || end != value.data() + value.size() || mos < 1 || mos > 5)
          return web::api_error(400, "mos_below must be a number from 1 to 5");
        q.mos_below = mos;
      } else if (key == "limit" || key == "offset") {
        if (auto error = read_page_parameter(key, value, q.page)) return *error;
      } else {
        return web::api_error(
            400, "unknown filter '" + key + "' (since, until, address, call_id, mos_below, limit, offset)");
      }
    }
    auto found = store.query(q);
    if (!found) return web::api_error(500, found.error().message);
    nlohmann::json out = nlohmann::json::array();
    for (const store::QualityRecord& r : *found) {
      out.push_back({{"id", r.id},
                     {"at", iso8601_utc(std::chrono::time_point_cast<std::chrono::seconds>(r.at))},
                     {"call_id", r.call_id},
                     {"source", r.src_address + ":" + std::to_string(r.src_port)},
                     {"destination", r.dst_address + ":" + std::to_string(r.dst_port)},
                     {"codec", r.codec},
                     {"packets", r.packets},
                     {"loss_percent", r.loss_percent},
                     {"jitter_mean_ms", r.jitter_mean_ms},
                     {"jitter_max_ms", r.jitter_max_ms},
                     {"burst_ratio", r.burst_ratio},
                     {"delay_ms", r.delay_ms},
                     {"r", r.r},
                     {"mos", r.mos}});
    }
    return web::json_response(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  };
  return {std::move(quality)};
}

}  // namespace sipbox::app
