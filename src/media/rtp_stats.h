// Per-stream RTP receiver statistics (RFC 3550 6.4.1, A.1, A.3, A.8) and the loss
// pattern the E-model needs (burst ratio, ITU-T G.107 / G.113 Appendix I). Fed one
// packet header at a time by the relay or the passive capture; no allocation per
// packet, O(1) amortized work per packet (bounded by the reorder window).
#pragma once

#include <array>
#include <cstdint>

namespace sipbox::media {

// What the statistics need from one received RTP packet.
struct RtpPacketInfo {
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::int64_t arrival_ns = 0;  // receive time, any monotonic or wall clock in ns
  std::uint8_t payload_type = 0;
  std::uint32_t size = 0;       // payload octets (RFC 3550 octet count: no headers)
};

// Runs of consecutive lost packets ("bursts", G.107 sense: a burst is any run of lost
// packets, not RFC 3611's Gmin-based burst) and of received packets ("gaps") over the
// sequence space, as far as it is final (see RtpStreamStats).
struct LossPattern {
  std::uint64_t lost = 0;          // sequence numbers found missing
  std::uint64_t received = 0;      // sequence numbers found present
  std::uint64_t burst_count = 0;   // runs of lost packets
  std::uint64_t max_burst = 0;
  std::uint64_t gap_count = 0;     // runs of received packets
  std::uint64_t max_gap = 0;
  double mean_burst_length() const { return burst_count ? static_cast<double>(lost) / burst_count : 0; }
  double mean_gap_length() const { return gap_count ? static_cast<double>(received) / gap_count : 0; }
  double loss_rate() const { return lost + received ? static_cast<double>(lost) / (lost + received) : 0; }
  // BurstR = mean observed burst length / mean burst length under random loss at the
  // same rate, 1 / (1 - p); 1 when nothing was lost (docs/quality.md).
  double burst_ratio() const;
};

struct RtpStreamSnapshot {
  std::uint64_t packets = 0;  // received, duplicates included (RFC 3550 "received")
  std::uint64_t octets = 0;   // payload octets
  std::uint32_t base_sequence = 0;
  std::uint32_t extended_highest_sequence = 0;  // cycles << 16 | highest sequence
  std::uint32_t cycles = 0;                     // sequence wraps, counted in 65536 units
  std::uint64_t expected = 0;                   // A.3: extended max - base + 1
  std::int64_t cumulative_lost = 0;             // A.3: expected - received (negative with duplicates)
  std::uint64_t duplicates = 0;
  std::uint64_t reordered = 0;  // arrived after a higher sequence number (not duplicates)
  std::uint64_t late = 0;       // of those, too late for the reorder window
  std::uint64_t bad_sequence = 0;  // A.1 large jumps discarded before a resync
  double jitter_ts = 0;     // A.8 interarrival jitter, timestamp units
  double jitter_ms = 0;
  double max_jitter_ms = 0;
  double mean_jitter_ms = 0;  // mean of the jitter estimate over the packets that updated it
  std::uint32_t clock_rate = 0;
  LossPattern pattern;
  double loss_percent() const {
    return expected && cumulative_lost > 0 ? 100.0 * static_cast<double>(cumulative_lost) / expected : 0;
  }
};

// RFC 3550 A.3 interval report (what a receiver report block carries).
struct IntervalReport {
  std::uint64_t expected = 0;
  std::int64_t lost = 0;
  std::uint8_t fraction_lost = 0;  // 8-bit fixed point, 0 when packets were duplicated
};

class RtpStreamStats {
 public:
  // Sequence numbers stay open this long (in packets) for a reordered packet to fill
  // them before they count as lost in the loss pattern. A.1 already treats packets more
  // than MAX_MISORDER (100) behind as a sequence jump, so 128 covers every reordering.
  static constexpr std::uint32_t kReorderWindow = 128;

  // clock_rate: the payload's RTP clock (8000 for G.711 and G.729; the rtpmap rate for
  // dynamic types). 0 is taken as 8000.
  explicit RtpStreamStats(std::uint32_t clock_rate = 8000);

  void on_packet(const RtpPacketInfo& packet);
  // The clock can change with the codec (re-INVITE); jitter restarts its reference.
  void set_clock_rate(std::uint32_t clock_rate);

  RtpStreamSnapshot snapshot() const;
  // A.3: expected and lost since the previous call, and the RR fraction.
  IntervalReport take_interval();

 private:
  struct RunState {
    LossPattern pattern;
    bool in_burst = false;
    std::uint64_t run = 0;
    void add(bool lost, std::uint64_t count);
    LossPattern closed() const;  // the pattern with the open run counted
  };

  void init_sequence(std::uint16_t sequence);
  void advance_window(std::uint32_t new_max);
  bool test_and_set(std::uint32_t extended);
  void update_jitter(const RtpPacketInfo& packet);

  std::uint32_t clock_rate_;
  bool started_ = false;
  // A.1 state.
  std::uint16_t max_seq_ = 0;
  std::uint32_t cycles_ = 0;
  std::uint32_t base_seq_ = 0;
  std::uint32_t bad_seq_ = 0;
  std::uint64_t received_ = 0;  // since the last (re)initialisation, for A.3
  std::uint64_t packets_ = 0;
  std::uint64_t octets_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t late_ = 0;
  std::uint64_t bad_sequence_ = 0;
  std::uint64_t expected_prior_ = 0;
  std::uint64_t received_prior_ = 0;
  // Sequence numbers seen among the last kReorderWindow (extended) ones, a ring bitmap;
  // positions leave the window in order and then become final in the loss pattern.
  std::array<std::uint64_t, kReorderWindow / 64> seen_{};
  std::uint32_t final_upto_ = 0;  // lowest extended sequence not yet final
  RunState runs_;
  // A.8 state.
  bool have_transit_ = false;
  std::int64_t last_arrival_ns_ = 0;
  std::uint32_t last_timestamp_ = 0;
  double jitter_ = 0;  // timestamp units
  double max_jitter_ = 0;
  double jitter_sum_ = 0;
  std::uint64_t jitter_samples_ = 0;
};

}  // namespace sipbox::media
