#include "media/rtp_stats.h"

#include <algorithm>
#include <cmath>

namespace sipbox::media {
namespace {

// RFC 3550 A.1 constants.
constexpr std::uint32_t kSeqMod = 1u << 16;
constexpr std::uint16_t kMaxDropout = 3000;
constexpr std::uint16_t kMaxMisorder = 100;

}  // namespace

double LossPattern::burst_ratio() const {
  // Under random (Bernoulli) loss with probability p, burst lengths are geometric with
  // mean 1 / (1 - p); BurstR compares the observed mean with that (G.107 3.5, G.113
  // Appendix I). For a two-state Markov loss process it equals 1 / (p + q).
  if (lost == 0 || burst_count == 0) return 1;
  return mean_burst_length() * (1 - loss_rate());
}

void RtpStreamStats::RunState::add(bool lost, std::uint64_t count) {
  if (count == 0) return;
  if (run > 0 && in_burst == lost) {
    run += count;
  } else {
    if (run > 0) {
      if (in_burst) {
        ++pattern.burst_count;
        pattern.max_burst = std::max(pattern.max_burst, run);
      } else {
        ++pattern.gap_count;
        pattern.max_gap = std::max(pattern.max_gap, run);
      }
    }
    in_burst = lost;
    run = count;
  }
  (lost ? pattern.lost : pattern.received) += count;
}

LossPattern RtpStreamStats::RunState::closed() const {
  LossPattern out = pattern;
  if (run == 0) return out;
  if (in_burst) {
    ++out.burst_count;
    out.max_burst = std::max(out.max_burst, run);
  } else {
    ++out.gap_count;
    out.max_gap = std::max(out.max_gap, run);
  }
  return out;
}

RtpStreamStats::RtpStreamStats(std::uint32_t clock_rate) : clock_rate_(clock_rate ? clock_rate : 8000) {}

void RtpStreamStats::set_clock_rate(std::uint32_t clock_rate) {
  clock_rate_ = clock_rate ? clock_rate : 8000;
  have_transit_ = false;  // timestamps of the old clock do not compare with the new
}

void RtpStreamStats::init_sequence(std::uint16_t sequence) {
  base_seq_ = sequence;
  max_seq_ = sequence;
  bad_seq_ = kSeqMod + 1;  // so seq == bad_seq is false
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  seen_.fill(0);
  final_upto_ = sequence;
}

bool RtpStreamStats::test_and_set(std::uint32_t extended) {
  const std::uint32_t slot = extended % kReorderWindow;
  std::uint64_t& word = seen_[slot / 64];
  const std::uint64_t mask = std::uint64_t{1} << (slot % 64);
  const bool was = (word & mask) != 0;
  word |= mask;
  return was;
}

void RtpStreamStats::advance_window(std::uint32_t new_max) {
  const std::uint32_t old_max = cycles_ + max_seq_;
  if (new_max < kReorderWindow) return;
  const std::uint32_t limit = new_max - kReorderWindow + 1;  // [final_upto_, limit) become final
  while (final_upto_ < limit) {
    if (final_upto_ > old_max) {
      // Beyond everything received: one O(1) run of losses, however long the jump.
      runs_.add(true, limit - final_upto_);
      final_upto_ = limit;
      break;
    }
    const std::uint32_t slot = final_upto_ % kReorderWindow;
    std::uint64_t& word = seen_[slot / 64];
    const std::uint64_t mask = std::uint64_t{1} << (slot % 64);
    runs_.add((word & mask) == 0, 1);
    word &= ~mask;
    ++final_upto_;
  }
}

void RtpStreamStats::on_packet(const RtpPacketInfo& packet) {
  ++packets_;
  octets_ += packet.size;
  const std::uint16_t seq = packet.sequence;
  if (!started_) {
    started_ = true;
    init_sequence(seq);
    test_and_set(seq);
    ++received_;
    update_jitter(packet);
    return;
  }
  const std::uint16_t udelta = static_cast<std::uint16_t>(seq - max_seq_);
  bool duplicate = false;
  if (udelta == 0) {
    duplicate = true;
  } else if (udelta < kMaxDropout) {
    // In order, with a permissible gap (A.1).
    const std::uint32_t cycles = seq < max_seq_ ? cycles_ + kSeqMod : cycles_;
    advance_window(cycles + seq);
    cycles_ = cycles;
    max_seq_ = seq;
    test_and_set(cycles_ + seq);
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A large jump. Two in a row mean the sender restarted its sequence (A.1); one alone
    // is discarded from the RFC counters.
    if (seq != bad_seq_) {
      bad_seq_ = (seq + 1u) & (kSeqMod - 1);
      ++bad_sequence_;
      return;
    }
    advance_window(cycles_ + max_seq_ + kReorderWindow);  // the old window becomes final
    init_sequence(seq);
    test_and_set(seq);
    have_transit_ = false;
  } else {
    // Duplicate or reordered: behind the highest by at most kMaxMisorder.
    const std::uint32_t behind = static_cast<std::uint16_t>(max_seq_ - seq);
    const std::uint32_t highest = cycles_ + max_seq_;
    if (highest < behind || highest - behind < final_upto_) {
      ++late_;  // older than the base or the window: cannot tell duplicate from late
      ++reordered_;
    } else if (test_and_set(highest - behind)) {
      duplicate = true;
    } else {
      ++reordered_;
    }
  }
  ++received_;  // RFC 3550 counts duplicates as received (6.4.1)
  if (duplicate) {
    ++duplicates_;
    return;  // a copy says nothing new about transit time
  }
  update_jitter(packet);
}

void RtpStreamStats::update_jitter(const RtpPacketInfo& packet) {
  if (have_transit_) {
    // A.8: D = (Rj - Ri) - (Sj - Si) in timestamp units; J += (|D| - J) / 16.
    const double arrival_delta = static_cast<double>(packet.arrival_ns - last_arrival_ns_) * clock_rate_ / 1e9;
    const double timestamp_delta = static_cast<std::int32_t>(packet.timestamp - last_timestamp_);
    const double d = arrival_delta - timestamp_delta;
    jitter_ += (std::fabs(d) - jitter_) / 16;
    max_jitter_ = std::max(max_jitter_, jitter_);
    jitter_sum_ += jitter_;
    ++jitter_samples_;
  }
  have_transit_ = true;
  last_arrival_ns_ = packet.arrival_ns;
  last_timestamp_ = packet.timestamp;
}

RtpStreamSnapshot RtpStreamStats::snapshot() const {
  RtpStreamSnapshot s;
  s.packets = packets_;
  s.octets = octets_;
  s.clock_rate = clock_rate_;
  s.duplicates = duplicates_;
  s.reordered = reordered_;
  s.late = late_;
  s.bad_sequence = bad_sequence_;
  const double to_ms = 1000.0 / clock_rate_;
  s.jitter_ts = jitter_;
  s.jitter_ms = jitter_ * to_ms;
  s.max_jitter_ms = max_jitter_ * to_ms;
  s.mean_jitter_ms = jitter_samples_ ? jitter_sum_ / static_cast<double>(jitter_samples_) * to_ms : 0;
  if (!started_) return s;
  const std::uint32_t highest = cycles_ + max_seq_;
  s.base_sequence = base_seq_;
  s.extended_highest_sequence = highest;
  s.cycles = cycles_ >> 16;
  s.expected = static_cast<std::uint64_t>(highest) - base_seq_ + 1;
  s.cumulative_lost = static_cast<std::int64_t>(s.expected) - static_cast<std::int64_t>(received_);
  // The loss pattern so far: final positions plus the open window as it stands.
  RunState runs = runs_;
  for (std::uint32_t p = final_upto_; p <= highest; ++p) {
    const std::uint32_t slot = p % kReorderWindow;
    runs.add((seen_[slot / 64] >> (slot % 64) & 1) == 0, 1);
  }
  s.pattern = runs.closed();
  return s;
}

IntervalReport RtpStreamStats::take_interval() {
  IntervalReport r;
  if (!started_) return r;
  const std::uint64_t expected = static_cast<std::uint64_t>(cycles_ + max_seq_) - base_seq_ + 1;
  r.expected = expected - expected_prior_;
  const std::uint64_t received = received_ - received_prior_;
  expected_prior_ = expected;
  received_prior_ = received_;
  r.lost = static_cast<std::int64_t>(r.expected) - static_cast<std::int64_t>(received);
  if (r.expected > 0 && r.lost > 0) {
    r.fraction_lost = static_cast<std::uint8_t>(std::min<std::int64_t>(255, (r.lost << 8) / static_cast<std::int64_t>(r.expected)));
  }
  return r;
}

}  // namespace sipbox::media
