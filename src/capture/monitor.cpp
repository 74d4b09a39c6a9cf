#include "capture/monitor.h"

#include <pcap/pcap.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace sipbox::capture {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;

struct LinkInfo {
  LinkType type;
  const char* name;
};

std::optional<LinkInfo> link_of(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
      return LinkInfo{LinkType::ethernet, "ethernet"};
    case DLT_LINUX_SLL:
      return LinkInfo{LinkType::linux_sll, "linux_sll"};
    case DLT_LINUX_SLL2:
      return LinkInfo{LinkType::linux_sll2, "linux_sll2"};
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      return LinkInfo{LinkType::raw, "raw"};
    case DLT_NULL:
    case DLT_LOOP:
      return LinkInfo{LinkType::null, "null"};
    default:
      return std::nullopt;
  }
}

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct PassiveMonitor::Impl {
  Impl(PcapHandle p, LinkInfo link, std::string source, const MonitorOptions& options, media::RelayObserver& observer)
      : pcap(std::move(p)), decoder(link.type), tracker(options.tracker, observer) {
    published.source = std::move(source);
    published.link_type = link.name;
  }

  // pcap_handler: one captured frame; timestamps are nanoseconds (the handle's precision).
  static void on_frame(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
    auto* self = reinterpret_cast<Impl*>(user);
    const std::int64_t time_ns =
        static_cast<std::int64_t>(header->ts.tv_sec) * kSecondNs + header->ts.tv_usec * self->sub_second_scale;
    UdpDatagram datagram;
    if (self->decoder.decode({bytes, header->caplen}, datagram) == Decoded::udp)
      self->tracker.on_datagram(datagram, time_ns);
  }

  void publish(bool running, bool with_pcap_stats) {
    pcap_stat ps{};
    const bool have_stats = with_pcap_stats && pcap_stats(pcap.get(), &ps) == 0;
    std::lock_guard lock(mutex);
    published.running = running;
    published.decoder = decoder.counters();
    published.tracker = tracker.counters();
    if (have_stats) {
      published.pcap_received = ps.ps_recv;
      published.pcap_dropped = ps.ps_drop;
      published.pcap_interface_dropped = ps.ps_ifdrop;
    }
  }

  void run_live() {
    std::int64_t last_tick = wall_ns();
    while (!stopping.load(std::memory_order_relaxed)) {
      const int n = pcap_dispatch(pcap.get(), -1, &Impl::on_frame, reinterpret_cast<u_char*>(this));
      if (n == PCAP_ERROR) {
        std::lock_guard lock(mutex);
        published.error = pcap_geterr(pcap.get());
        break;
      }
      // The capture's clock is the packets' (wall clock): tick with it while idle.
      const std::int64_t now = wall_ns();
      const bool second = now - last_tick >= kSecondNs;
      if (second) {
        tracker.tick(now);
        last_tick = now;
      }
      publish(true, second);
    }
    publish(true, true);  // the last pcap_stats before the final reports
    tracker.end_all(media::EndReason::shutdown);
    publish(false, false);
  }

  PcapHandle pcap;
  std::int64_t sub_second_scale = 1;  // ts.tv_usec holds nanoseconds (1) or microseconds (1000)
  PacketDecoder decoder;
  CallTracker tracker;
  std::atomic<bool> stopping{false};
  std::thread thread;
  mutable std::mutex mutex;
  MonitorStats published;
};

PassiveMonitor::PassiveMonitor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PassiveMonitor::~PassiveMonitor() { stop(); }

Result<std::unique_ptr<PassiveMonitor>> PassiveMonitor::start(const std::string& interface,
                                                              const MonitorOptions& options,
                                                              media::RelayObserver& observer) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle pcap(pcap_create(interface.c_str(), errbuf));
  if (!pcap) return fail("capture on " + interface + ": " + errbuf);
  pcap_set_snaplen(pcap.get(), options.snaplen);
  pcap_set_promisc(pcap.get(), 1);
  pcap_set_immediate_mode(pcap.get(), 1);
  pcap_set_timeout(pcap.get(), 100);  // ms: how often the thread looks at the stop flag
  pcap_set_buffer_size(pcap.get(), options.buffer_bytes);
  pcap_set_tstamp_precision(pcap.get(), PCAP_TSTAMP_PRECISION_NANO);  // else microseconds
  const int activated = pcap_activate(pcap.get());
  if (activated < 0) {
    std::string why = activated == PCAP_ERROR_NO_SUCH_DEVICE ? "no such device"
                      : activated == PCAP_ERROR_PERM_DENIED  ? "permission denied (needs CAP_NET_RAW)"
                                                             : pcap_geterr(pcap.get());
    return fail("capture on " + interface + ": " + why);
  }
  const auto link = link_of(pcap_datalink(pcap.get()));
  if (!link)
    return fail("capture on " + interface + ": unsupported link type " + std::to_string(pcap_datalink(pcap.get())));
  // UDP, also behind 802.1Q tags (a plain "udp" filter misses tagged frames). Links
  // without VLANs refuse the second form.
  for (const char* filter : {"udp or (vlan and udp)", "udp"}) {
    bpf_program program{};
    if (pcap_compile(pcap.get(), &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) continue;
    const int set = pcap_setfilter(pcap.get(), &program);
    pcap_freecode(&program);
    if (set == 0) break;
    return fail("capture on " + interface + ": filter: " + pcap_geterr(pcap.get()));
  }
  const bool nano = pcap_get_tstamp_precision(pcap.get()) == PCAP_TSTAMP_PRECISION_NANO;
  auto impl = std::make_unique<Impl>(std::move(pcap), *link, interface, options, observer);
  impl->sub_second_scale = nano ? 1 : 1000;
  impl->publish(true, false);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run_live(); });
  return std::unique_ptr<PassiveMonitor>(new PassiveMonitor(std::move(impl)));
}

Result<MonitorStats> PassiveMonitor::run_file(const std::string& path, const MonitorOptions& options,
                                              media::RelayObserver& observer) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle pcap(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!pcap) return fail(path + ": " + errbuf);
  const auto link = link_of(pcap_datalink(pcap.get()));
  if (!link) return fail(path + ": unsupported link type " + std::to_string(pcap_datalink(pcap.get())));
  Impl impl(std::move(pcap), *link, path, options, observer);
  for (;;) {
    const int n = pcap_dispatch(impl.pcap.get(), -1, &Impl::on_frame, reinterpret_cast<u_char*>(&impl));
    if (n == PCAP_ERROR) return fail(path + ": " + pcap_geterr(impl.pcap.get()));
    if (n == 0) break;  // end of file
  }
  impl.tracker.end_all(media::EndReason::shutdown);
  impl.publish(false, false);
  return impl.published;
}

void PassiveMonitor::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping.store(true);
  pcap_breakloop(impl_->pcap.get());
  impl_->thread.join();
}

MonitorStats PassiveMonitor::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->published;
}

}  // namespace sipbox::capture
