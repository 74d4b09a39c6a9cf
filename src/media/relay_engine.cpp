// MediaRelay::start and the control calls (relay.h): the port pool, the shards (one relay
// thread and its directory per shard, calls assigned by Call-ID hash), and the commands
// that carry each control call to the thread owning the stream.
#include <algorithm>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "media/relay.h"
#include "media/relay_net.h"
#include "media/relay_thread.h"

namespace sipbox::media {
namespace {

using detail::BoundPair;
using detail::Command;
using detail::Family;
using detail::RelayThread;
using detail::SockAddr;
using detail::StreamEntry;

constexpr std::size_t at(Side side) { return side == Side::offerer ? 0 : 1; }
std::string_view side_name(Side side) { return side == Side::offerer ? "offerer" : "answerer"; }

class UdpRelay final : public MediaRelay {
 public:
  UdpRelay(const RelayOptions& options, RelayObserver& observer, std::optional<SockAddr> ipv4,
           std::optional<SockAddr> ipv6)
      : options_(options), observer_(observer), pool_(options.port_min, options.port_max), ipv4_(ipv4), ipv6_(ipv6) {}

  ~UdpRelay() override {
    for (auto& shard : shards_) shard->stop();
  }

  Status open(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) {
      shards_.push_back(std::make_unique<RelayThread>(options_, observer_, pool_));
      if (auto opened = shards_.back()->open(); !opened) return opened;
    }
    for (auto& shard : shards_) shard->start();
    return {};
  }

  Result<std::uint16_t> allocate(std::string_view call_id, unsigned index, Side side,
                                 std::string_view family_of) override {
    const auto family = choose_family(family_of);
    if (!family) return Unexpected<Error>{family.error()};
    RelayThread& shard = shard_of(call_id);
    auto& directory = shard.directory();
    std::lock_guard lock(directory.mutex);
    auto call = directory.calls.find(call_id);
    if (call != directory.calls.end()) {
      if (auto stream = call->second.find(index); stream != call->second.end()) {
        StreamEntry& entry = stream->second;
        if (entry.families[at(side)] == *family) return entry.ports[at(side)];
        return rebind(shard, call_id, index, side, *family, entry);
      }
    }
    // Both sides at once, on the family of the party asked about; the other side moves
    // to its own family when allocate names it (rebind).
    std::array<BoundPair, 2> pairs;
    for (BoundPair& pair : pairs) {
      auto bound = bind(*family);
      if (!bound) {
        for (BoundPair& taken : pairs) release(taken);
        return Unexpected<Error>{bound.error()};
      }
      pair = std::move(*bound);
    }
    if (call == directory.calls.end()) {
      call = directory.calls.emplace(std::string(call_id), std::map<unsigned, StreamEntry>{}).first;
      ++directory.call_count;
    }
    StreamEntry entry;
    entry.id = ++next_stream_id_;
    entry.ports = {pairs[0].port, pairs[1].port};
    entry.families = {*family, *family};
    call->second.emplace(index, entry);
    ++directory.stream_count;
    Command command;
    command.kind = Command::Kind::add_stream;
    command.call_id = std::string(call_id);
    command.index = index;
    command.stream_id = entry.id;
    command.pairs = std::move(pairs);
    shard.post(std::move(command));
    return entry.ports[at(side)];
  }

  Status set_remote(std::string_view call_id, unsigned index, Side side, const Endpoint& rtp, const Endpoint& rtcp,
                    bool rtcp_mux) override {
    return post_to_stream(
        call_id, index, side, Command::Kind::set_remote, [&](const StreamEntry& entry, Command& command) -> Status {
          const Family family = entry.families[at(side)];
          auto parsed_rtp = remote_address(rtp, rtp.port, family, side);
          if (!parsed_rtp) return Unexpected<Error>{parsed_rtp.error()};
          command.rtp = *parsed_rtp;
          if (!rtcp_mux && !command.rtp.unspecified() && command.rtp.port() != 0) {
            // No a=rtcp: RTP + 1 (RFC 3550 11); an a=rtcp without an address:
            // the c= address.
            const std::string_view address = rtcp.address.empty() ? std::string_view(rtp.address) : rtcp.address;
            const std::uint16_t port = rtcp.port ? rtcp.port : static_cast<std::uint16_t>(rtp.port + 1);
            auto parsed = remote_address(Endpoint{std::string(address), port}, port, family, side);
            if (!parsed) return Unexpected<Error>{parsed.error()};
            command.rtcp = *parsed;
          }
          command.rtcp_mux = rtcp_mux;
          return {};
        });
  }

  Status set_codec(std::string_view call_id, unsigned index, Side sender, const CodecInfo& codec) override {
    return post_to_stream(call_id, index, sender, Command::Kind::set_codec,
                          [&](const StreamEntry&, Command& command) -> Status {
                            command.codec = codec;
                            return {};
                          });
  }

  Status set_held(std::string_view call_id, unsigned index, Side side, bool held) override {
    return post_to_stream(call_id, index, side, Command::Kind::set_held,
                          [&](const StreamEntry&, Command& command) -> Status {
                            command.held = held;
                            return {};
                          });
  }

  void end(std::string_view call_id, EndReason reason) override { end_call(call_id, reason, true); }
  void end_later(std::string_view call_id, EndReason reason) override { end_call(call_id, reason, false); }

  // A command for an existing stream: looked up under the directory lock (the stream's
  // id goes with it, so a stream ended meanwhile ignores it), completed by `fill` (which
  // may refuse), then posted to the stream's thread.
  template <class Fill>
  Status post_to_stream(std::string_view call_id, unsigned index, Side side, Command::Kind kind, Fill fill) {
    RelayThread& shard = shard_of(call_id);
    auto& directory = shard.directory();
    std::lock_guard lock(directory.mutex);
    const StreamEntry* entry = find(directory, call_id, index);
    if (!entry) return fail(no_stream(call_id, index));
    Command command;
    command.kind = kind;
    command.call_id = std::string(call_id);
    command.index = index;
    command.stream_id = entry->id;
    command.side = side;
    if (Status filled = fill(*entry, command); !filled) return filled;
    shard.post(std::move(command));
    return {};
  }

  void end_call(std::string_view call_id, EndReason reason, bool wait_for_it) {
    RelayThread& shard = shard_of(call_id);
    std::promise<void> done;
    // From a relay thread (an observer ending a call) the command is only queued: waiting
    // there could wait on itself.
    const bool wait = wait_for_it && std::none_of(shards_.begin(), shards_.end(),
                                                  [](const auto& other) { return other->is_current_thread(); });
    {
      auto& directory = shard.directory();
      std::lock_guard lock(directory.mutex);
      if (directory.calls.find(call_id) == directory.calls.end()) return;
      directory.erase_call(call_id);
      Command command;
      command.kind = Command::Kind::end;
      command.call_id = std::string(call_id);
      command.reason = reason;
      command.done = wait ? &done : nullptr;
      shard.post(std::move(command));
    }
    if (wait) done.get_future().wait();
  }

  bool has_call(std::string_view call_id) const override {
    auto& directory = shard_of(call_id).directory();
    std::lock_guard lock(directory.mutex);
    return directory.calls.find(call_id) != directory.calls.end();
  }

  RelayCounters counters() const override {
    RelayCounters out;
    for (const auto& shard : shards_) {
      out.calls += shard->directory().call_count.load(std::memory_order_relaxed);
      out.streams += shard->directory().stream_count.load(std::memory_order_relaxed);
      const auto& counters = shard->counters();
      out.packets_relayed += counters.packets_relayed.load(std::memory_order_relaxed);
      out.octets_relayed += counters.octets_relayed.load(std::memory_order_relaxed);
      out.packets_dropped += counters.packets_dropped.load(std::memory_order_relaxed);
      out.timeouts += counters.timeouts.load(std::memory_order_relaxed);
    }
    const std::size_t free = pool_.free_pairs();
    out.ports_free = 2 * free;
    out.ports_in_use = 2 * (pool_.pairs() - free);
    out.allocation_failures = allocation_failures_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  RelayThread& shard_of(std::string_view call_id) const {
    return *shards_[std::hash<std::string_view>{}(call_id) % shards_.size()];
  }

  // The family of `family_of` ("1.2.3.4", "::1", "[::1]"); a host name gets IPv4 when it
  // is served, else IPv6.
  Result<Family> choose_family(std::string_view family_of) const {
    const auto parsed = detail::parse_address(family_of, 0);
    const Family family = parsed ? parsed->family() : (ipv4_ ? Family::v4 : Family::v6);
    if ((family == Family::v4 && !ipv4_) || (family == Family::v6 && !ipv6_)) {
      return fail("media relay: no " + std::string(detail::family_name(family)) + " address to bind (" +
                  (family == Family::v4 ? "bind_ipv4" : "bind_ipv6") + " is empty)");
    }
    return family;
  }

  Result<BoundPair> bind(Family family) {
    bool exhausted = false;
    auto bound = detail::bind_from_pool(pool_, family == Family::v4 ? *ipv4_ : *ipv6_, exhausted);
    if (!bound && exhausted) allocation_failures_.fetch_add(1, std::memory_order_relaxed);
    return bound;
  }

  void release(BoundPair& pair) {
    if (!pair.rtp) return;
    const std::uint16_t port = pair.port;
    pair = {};
    pool_.give_back(port);
  }

  // The side moves to the family of its party: the same port number on the other
  // family when it is free there (the usual case: the pool reserved it), else a new pair.
  Result<std::uint16_t> rebind(RelayThread& shard, std::string_view call_id, unsigned index, Side side, Family family,
                               StreamEntry& entry) {
    const SockAddr& address = family == Family::v4 ? *ipv4_ : *ipv6_;
    Command command;
    command.kind = Command::Kind::replace_side;
    if (auto same = detail::bind_pair(address, entry.ports[at(side)])) {
      command.pairs[0] = std::move(*same);
    } else if (auto fresh = bind(family)) {
      command.pairs[0] = std::move(*fresh);
      command.pair_from_pool = true;
    } else {
      return Unexpected<Error>{fresh.error()};
    }
    entry.ports[at(side)] = command.pairs[0].port;
    entry.families[at(side)] = family;
    command.call_id = std::string(call_id);
    command.index = index;
    command.stream_id = entry.id;
    command.side = side;
    shard.post(std::move(command));
    return entry.ports[at(side)];
  }

  static const StreamEntry* find(const detail::Directory& directory, std::string_view call_id, unsigned index) {
    const auto call = directory.calls.find(call_id);
    if (call == directory.calls.end()) return nullptr;
    const auto stream = call->second.find(index);
    return stream == call->second.end() ? nullptr : &stream->second;
  }

  static std::string no_stream(std::string_view call_id, unsigned index) {
    return "media relay: no stream " + std::to_string(index) + " in call " + std::string(call_id) +
           " (allocate it first)";
  }

  // A remote of `side`: an IP literal of the side's family, or a hold address (port 0,
  // 0.0.0.0 or ::) of any form.
  static Result<SockAddr> remote_address(const Endpoint& endpoint, std::uint16_t port, Family family, Side side) {
    auto parsed = detail::parse_address(endpoint.address, port);
    if (parsed && (parsed->unspecified() || port == 0)) {
      return detail::parse_address(family == Family::v6 ? "::" : "0.0.0.0", 0).value();
    }
    if (!parsed) {
      if (port == 0) return detail::parse_address(family == Family::v6 ? "::" : "0.0.0.0", 0).value();
      return fail("media relay: remote address '" + endpoint.address + "' of the " + std::string(side_name(side)) +
                  " is not an IP address");
    }
    if (parsed->family() != family) {
      return fail("media relay: the " + std::string(side_name(side)) + " is served on " +
                  std::string(detail::family_name(family)) + " but its remote " + endpoint.address + " is " +
                  std::string(detail::family_name(parsed->family())) +
                  " (allocate with an address of that family first)");
    }
    return *parsed;
  }

  const RelayOptions options_;
  RelayObserver& observer_;
  mutable detail::PortPool pool_;
  std::optional<SockAddr> ipv4_;
  std::optional<SockAddr> ipv6_;
  std::vector<std::unique_ptr<RelayThread>> shards_;
  std::atomic<std::uint64_t> next_stream_id_{0};
  std::atomic<std::uint64_t> allocation_failures_{0};
};

}  // namespace

Result<std::unique_ptr<MediaRelay>> MediaRelay::start(const RelayOptions& options, RelayObserver& observer) {
  std::optional<SockAddr> ipv4;
  std::optional<SockAddr> ipv6;
  if (!options.bind_ipv4.empty()) {
    ipv4 = detail::parse_address(options.bind_ipv4, 0);
    if (!ipv4 || ipv4->family() != Family::v4)
      return fail("media relay: bind_ipv4 '" + options.bind_ipv4 + "' is not an IPv4 address");
  }
  if (!options.bind_ipv6.empty()) {
    ipv6 = detail::parse_address(options.bind_ipv6, 0);
    if (!ipv6 || ipv6->family() != Family::v6)
      return fail("media relay: bind_ipv6 '" + options.bind_ipv6 + "' is not an IPv6 address");
  }
  if (!ipv4 && !ipv6) return fail("media relay: neither bind_ipv4 nor bind_ipv6 is set");
  if (options.port_min == 0 || options.port_min > options.port_max ||
      options.port_min + (options.port_min % 2) + 1 > options.port_max) {
    return fail("media relay: the port range " + std::to_string(options.port_min) + "-" +
                std::to_string(options.port_max) + " holds no RTP/RTCP pair (an even port and the next)");
  }
  unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::max(1u, threads);
  auto relay = std::make_unique<UdpRelay>(options, observer, ipv4, ipv6);
  if (auto opened = relay->open(threads); !opened) return Unexpected<Error>{opened.error()};
  return std::unique_ptr<MediaRelay>(std::move(relay));
}

}  // namespace sipbox::media
