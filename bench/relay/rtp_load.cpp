// bench/relay: the RTP load generator. N G.711 calls, each with two endpoints (A and B,
// one UDP socket each on loopback); every endpoint sends 160-byte PCMU packets every
// 20 ms (50/s) to its relay port, and receives what the relay forwards from the other
// end. The payload carries the call, the direction, a sequence number and the send
// time (CLOCK_MONOTONIC), so the receiving end measures loss and the latency the relay
// adds, and notices packets delivered to the wrong call.
//
//   rtp_load CALLS_FILE WARMUP_S MEASURE_S [DRAIN_S]
//
// CALLS_FILE: one call per line, "a_ip a_port a_dst_ip a_dst_port b_ip b_port b_dst_ip
// b_dst_port" (A sends from a_ip:a_port to a_dst; B from b_ip:b_port to b_dst).
// Phases: warm-up (sent, not counted: the relay learns addresses), measurement
// (packets sent then are counted wherever they arrive), drain (nothing sent; late
// packets of the measurement still count). Prints "MEASURE_START" and "MEASURE_END" on
// stdout as the measurement begins and ends (the driver reads the relay's CPU then),
// then one JSON object with the results. Sends are spread evenly over each 20 ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::uint32_t kMagic = 0x52544c44;  // "RTLD"
constexpr std::int64_t kPeriodNs = 20'000'000;
constexpr int kPayload = 160;
constexpr int kPacket = 12 + kPayload;
constexpr std::int64_t kBinNs = 1000;        // latency histogram: 1 us bins
constexpr std::size_t kBins = 200'000;       // up to 200 ms; beyond: the last bin

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

void sleep_until(std::int64_t t) {
  timespec ts{static_cast<time_t>(t / 1'000'000'000LL), static_cast<long>(t % 1'000'000'000LL)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

sockaddr_in addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "rtp_load: bad address %s\n", ip.c_str());
    std::exit(2);
  }
  return a;
}

struct Endpoint {
  int fd = -1;
  sockaddr_in dst{};
  std::uint32_t call = 0;
  std::uint8_t dir = 0;  // 0: A sends (A->B), 1: B sends
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::uint32_t counter = 0;
};

// Written by the sender thread only.
struct SendCounts {
  std::uint64_t sent = 0, measured = 0, errors = 0;
  std::int64_t max_lag_ns = 0;
  std::uint64_t late = 0;  // sends more than 5 ms behind schedule
};

// Written by the receiver thread only.
struct RecvCounts {
  std::uint64_t received = 0, measured = 0, misrouted = 0, foreign = 0, batches = 0;
  std::vector<std::uint32_t> hist = std::vector<std::uint32_t>(kBins, 0);
};

std::atomic<std::int64_t> g_window_start{INT64_MAX}, g_window_end{INT64_MAX};
std::atomic<bool> g_stop{false};

void sender(std::vector<Endpoint>& eps, std::size_t calls, std::int64_t t0, std::int64_t warm_ns,
            std::int64_t measure_ns, SendCounts& out) {
  unsigned char buf[kPacket];
  std::memset(buf, 0xff, sizeof buf);
  const std::int64_t end = t0 + warm_ns + measure_ns;
  const std::int64_t w0 = t0 + warm_ns;
  const std::int64_t w1 = end;
  for (std::int64_t k = 0;; ++k) {
    const std::int64_t slot = t0 + k * kPeriodNs;
    // Past the end (or, when the sender cannot keep up, half a second after it): stop.
    // Sends that did not happen in the window were not offered: offered_pps shows it.
    if (slot >= end || now_ns() > end + 500'000'000) break;
    for (std::size_t i = 0; i < calls; ++i) {
      const std::int64_t due = slot + static_cast<std::int64_t>(i) * kPeriodNs / static_cast<std::int64_t>(calls);
      std::int64_t now = now_ns();
      // Sleep only when the next send is more than 1 ms away, then send everything due
      // within it: one wake-up per millisecond instead of one per call (at most 1 ms
      // early; the latency is measured from the actual send time).
      if (due > now + 1'000'000) {
        sleep_until(due - 1'000'000);
        now = now_ns();
      }
      const std::int64_t lag = now > due ? now - due : 0;
      if (lag > out.max_lag_ns) out.max_lag_ns = lag;
      if (lag > 5'000'000) ++out.late;
      for (int d = 0; d < 2; ++d) {
        Endpoint& e = eps[2 * i + d];
        // RTP header (RFC 3550 5.1), PT 0 (PCMU), marker on the first packet.
        buf[0] = 0x80;
        buf[1] = e.counter == 0 ? 0x80 : 0x00;
        std::uint16_t seq = htons(e.seq);
        std::uint32_t ts = htonl(e.ts), ssrc = htonl(e.ssrc);
        std::memcpy(buf + 2, &seq, 2);
        std::memcpy(buf + 4, &ts, 4);
        std::memcpy(buf + 8, &ssrc, 4);
        const std::int64_t sent_at = now_ns();
        std::memcpy(buf + 12, &kMagic, 4);
        std::memcpy(buf + 16, &e.call, 4);
        buf[20] = e.dir;
        std::memcpy(buf + 21, &e.counter, 4);
        std::memcpy(buf + 25, &sent_at, 8);
        const ssize_t n = sendto(e.fd, buf, kPacket, 0, reinterpret_cast<const sockaddr*>(&e.dst), sizeof e.dst);
        if (n == kPacket) {
          ++out.sent;
          if (sent_at >= w0 && sent_at < w1) ++out.measured;
        } else {
          ++out.errors;
        }
        ++e.seq;
        e.ts += kPayload;
        ++e.counter;
      }
    }
  }
}

void receiver(const std::vector<Endpoint>& eps, int ep, RecvCounts& out) {
  constexpr int kBatch = 64;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  static unsigned char bufs[kBatch][2048];
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {bufs[i], sizeof bufs[i]};
    std::memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  epoll_event events[256];
  while (!g_stop.load(std::memory_order_relaxed)) {
    const int n = epoll_wait(ep, events, 256, 50);
    for (int k = 0; k < n; ++k) {
      const Endpoint& e = eps[events[k].data.u32];
      for (;;) {
        const int got = recvmmsg(e.fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        ++out.batches;
        const std::int64_t now = now_ns();
        const std::int64_t w0 = g_window_start.load(std::memory_order_relaxed);
        const std::int64_t w1 = g_window_end.load(std::memory_order_relaxed);
        for (int i = 0; i < got; ++i) {
          const unsigned char* p = bufs[i];
          std::uint32_t magic, call;
          std::int64_t sent_at;
          if (msgs[i].msg_len < 33 || (std::memcpy(&magic, p + 12, 4), magic != kMagic)) {
            ++out.foreign;
            continue;
          }
          std::memcpy(&call, p + 16, 4);
          std::memcpy(&sent_at, p + 25, 8);
          ++out.received;
          // What A sent arrives at B (dir 0 at endpoint index 1) and the other way round.
          if (call != e.call || p[20] == e.dir) {
            ++out.misrouted;
            continue;
          }
          if (sent_at >= w0 && sent_at < w1) {
            ++out.measured;
            std::size_t bin = static_cast<std::size_t>((now - sent_at) / kBinNs);
            ++out.hist[bin < kBins ? bin : kBins - 1];
          }
        }
        if (got < kBatch) break;
      }
    }
  }
}

double percentile_us(const std::vector<std::uint32_t>& hist, std::uint64_t total, double p) {
  if (total == 0) return -1;
  const std::uint64_t rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total - 1));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < hist.size(); ++b) {
    seen += hist[b];
    if (seen > rank) return static_cast<double>(b) * kBinNs / 1000.0 + 0.5;
  }
  return static_cast<double>(hist.size()) * kBinNs / 1000.0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: rtp_load CALLS_FILE WARMUP_S MEASURE_S [DRAIN_S]\n");
    return 2;
  }
  const double warm = std::atof(argv[2]), measure = std::atof(argv[3]);
  const double drain = argc > 4 ? std::atof(argv[4]) : 1.0;
  if (warm < 0 || measure <= 0 || measure > 600 || warm > 60 || drain < 0 || drain > 10) {
    std::fprintf(stderr, "rtp_load: warm-up 0..60 s, measurement 0..600 s, drain 0..10 s\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<Endpoint> eps;
  int ep = epoll_create1(0);
  std::string line;
  std::uint32_t call = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string ip[4];
    int port[4];
    if (!(f >> ip[0] >> port[0] >> ip[1] >> port[1] >> ip[2] >> port[2] >> ip[3] >> port[3])) continue;
    for (int side = 0; side < 2; ++side) {
      Endpoint e;
      e.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      int size = 256 * 1024;
      setsockopt(e.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      sockaddr_in local = addr(ip[2 * side], port[2 * side]);
      if (e.fd < 0 || bind(e.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        std::fprintf(stderr, "rtp_load: cannot bind %s:%d: %s\n", ip[2 * side].c_str(), port[2 * side],
                     std::strerror(errno));
        return 1;
      }
      e.dst = addr(ip[2 * side + 1], port[2 * side + 1]);
      e.call = call;
      e.dir = static_cast<std::uint8_t>(side);
      e.ssrc = 0x10000000u + call * 2 + side;
      e.seq = static_cast<std::uint16_t>(call * 7919 + side * 104729);
      e.ts = call * 1000003u;
      eps.push_back(e);
    }
    ++call;
  }
  const std::size_t calls = eps.size() / 2;
  if (calls == 0) {
    std::fprintf(stderr, "rtp_load: no calls in %s\n", argv[1]);
    return 2;
  }
  for (std::size_t i = 0; i < eps.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, eps[i].fd, &ev);
  }

  const std::int64_t warm_ns = static_cast<std::int64_t>(warm * 1e9);
  const std::int64_t measure_ns = static_cast<std::int64_t>(measure * 1e9);
  const std::int64_t t0 = now_ns() + 50'000'000;
  g_window_start = t0 + warm_ns;
  g_window_end = t0 + warm_ns + measure_ns;
  SendCounts sc;
  RecvCounts rc;
  std::thread rx(receiver, std::cref(eps), ep, std::ref(rc));
  std::thread tx(sender, std::ref(eps), calls, t0, warm_ns, measure_ns, std::ref(sc));
  sleep_until(g_window_start);
  const double cpu0 = cpu_seconds();
  std::printf("MEASURE_START\n");
  std::fflush(stdout);
  sleep_until(g_window_end);
  const double cpu1 = cpu_seconds();
  std::printf("MEASURE_END\n");
  std::fflush(stdout);
  tx.join();
  sleep_until(now_ns() + static_cast<std::int64_t>(drain * 1e9));
  g_stop = true;
  rx.join();

  const double lost = sc.measured > rc.measured ? static_cast<double>(sc.measured - rc.measured) : 0.0;
  std::printf(
      "{\"calls\": %zu, \"warmup_s\": %.3f, \"measure_s\": %.3f, \"sent\": %llu, \"sent_measured\": %llu, "
      "\"send_errors\": %llu, \"received\": %llu, \"received_measured\": %llu, \"misrouted\": %llu, "
      "\"foreign\": %llu, \"loss_percent\": %.4f, \"offered_pps\": %.1f, \"relayed_pps\": %.1f, "
      "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"max\": %.1f}, "
      "\"sender_max_lag_us\": %.1f, \"sender_late\": %llu, \"generator_cpu_s\": %.3f, \"recv_batches\": %llu}\n",
      calls, warm, measure, static_cast<unsigned long long>(sc.sent),
      static_cast<unsigned long long>(sc.measured), static_cast<unsigned long long>(sc.errors),
      static_cast<unsigned long long>(rc.received), static_cast<unsigned long long>(rc.measured),
      static_cast<unsigned long long>(rc.misrouted), static_cast<unsigned long long>(rc.foreign),
      sc.measured ? 100.0 * lost / static_cast<double>(sc.measured) : 0.0,
      static_cast<double>(sc.measured) / measure, static_cast<double>(rc.measured) / measure,
      percentile_us(rc.hist, rc.measured, 50), percentile_us(rc.hist, rc.measured, 90),
      percentile_us(rc.hist, rc.measured, 99), percentile_us(rc.hist, rc.measured, 100),
      static_cast<double>(sc.max_lag_ns) / 1000.0, static_cast<unsigned long long>(sc.late), cpu1 - cpu0,
      static_cast<unsigned long long>(rc.batches));
  for (const Endpoint& e : eps) close(e.fd);
  close(ep);
  return 0;
}
