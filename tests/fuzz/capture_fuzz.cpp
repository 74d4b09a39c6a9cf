// libFuzzer target for passive mode: the first octet picks the link layer, the rest is a
// captured frame. Decoding must describe only bytes inside the frame; decoded datagrams
// (and the frame itself, as a datagram between two fixed endpoints, so SIP and SDP are
// reached too) feed one CallTracker across inputs, which must keep its counts consistent.
#include <cstdint>
#include <span>

#include "capture/capture.h"

namespace {

using namespace sipbox;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

class NullObserver : public media::RelayObserver {
 public:
  void on_report(const media::StreamReport& report) override { check(report.stats.packets > 0); }
  void on_call_ended(std::string_view call_id, media::EndReason) override { check(call_id.size() < 100000); }
};

struct State {
  NullObserver observer;
  capture::CallTracker tracker{capture::TrackerOptions{std::chrono::seconds(60), std::chrono::seconds(1), 1000},
                               observer};
  std::int64_t now = 1'700'000'000'000'000'000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static State state;  // one tracker across inputs: calls from one input meet later ones
  if (size == 0) return 0;
  static constexpr capture::LinkType kLinks[] = {capture::LinkType::ethernet, capture::LinkType::linux_sll,
                                                 capture::LinkType::linux_sll2, capture::LinkType::raw,
                                                 capture::LinkType::null};
  const std::span<const std::uint8_t> frame(data + 1, size - 1);
  capture::PacketDecoder decoder(kLinks[data[0] % 5]);
  capture::UdpDatagram datagram;
  state.now += 7'000'000;
  if (decoder.decode(frame, datagram) == capture::Decoded::udp) {
    check(datagram.payload.empty() ||
          (datagram.payload.data() >= frame.data() &&
           datagram.payload.data() + datagram.payload.size() <= frame.data() + frame.size()));
    state.tracker.on_datagram(datagram, state.now);
  }
  // The raw input as a UDP payload, alternating the direction and the port pairs that
  // SDP in earlier inputs may have announced.
  capture::UdpDatagram raw;
  raw.source = {*capture::IpAddress::parse("192.0.2.1"), static_cast<std::uint16_t>(data[0] & 1 ? 5060 : 40000)};
  raw.destination = {*capture::IpAddress::parse("192.0.2.2"), static_cast<std::uint16_t>(data[0] & 2 ? 5060 : 40000)};
  raw.payload = frame;
  state.tracker.on_datagram(raw, state.now);
  if (data[0] == 0xff) state.tracker.end_all(media::EndReason::shutdown);
  const auto c = state.tracker.counters();
  check(c.calls_active <= 1000 && c.calls_ended <= c.calls_seen);
  const auto& d = decoder.counters();
  check(d.frames == d.udp + d.not_udp + d.fragments + d.truncated + d.unsupported);
  return 0;
}
