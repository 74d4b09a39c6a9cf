// Passive monitoring (issue 6): libpcap on a mirror port (or a capture file) feeding a
// CallTracker, on a thread of its own. libpcap is confined to monitor.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "capture/tracker.h"
#include "media/relay.h"

namespace sipbox::capture {

struct MonitorOptions {
  int snaplen = 65535;                 // whole SIP datagrams; RTP needs only its headers but is small
  int buffer_bytes = 4 * 1024 * 1024;  // the kernel ring; bigger rides out bursts
  TrackerOptions tracker;
};

struct MonitorStats {
  std::string source;  // interface or file
  bool running = false;
  std::string link_type;  // "ethernet", "linux_sll", ...
  DecoderCounters decoder;
  TrackerCounters tracker;
  // pcap_stats (live capture only): received by the filter, dropped for lack of buffer
  // space, dropped by the interface or its driver.
  std::uint64_t pcap_received = 0;
  std::uint64_t pcap_dropped = 0;
  std::uint64_t pcap_interface_dropped = 0;
  std::string error;  // why a live capture stopped by itself ("" otherwise)
};

class PassiveMonitor {
 public:
  // Opens `interface` for live capture (immediate mode, promiscuous, BPF "udp" and
  // VLAN-tagged UDP) and starts the capture thread. Reports go to `observer` from that
  // thread. Errors: no such device, no permission (CAP_NET_RAW), unsupported link type.
  static Result<std::unique_ptr<PassiveMonitor>> start(const std::string& interface, const MonitorOptions& options,
                                                       media::RelayObserver& observer);
  // Processes a capture file (pcap or pcapng) to its end on the calling thread; the
  // calls still open then end with reason `shutdown`.
  static Result<MonitorStats> run_file(const std::string& path, const MonitorOptions& options,
                                       media::RelayObserver& observer);

  ~PassiveMonitor();  // stop()
  PassiveMonitor(const PassiveMonitor&) = delete;
  PassiveMonitor& operator=(const PassiveMonitor&) = delete;

  // Stops the thread; open calls end with reason `shutdown` (final reports). Idempotent.
  void stop();
  // Any thread.
  MonitorStats stats() const;

  struct Impl;

 private:
  explicit PassiveMonitor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::capture
