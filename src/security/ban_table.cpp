// Prefixes and the ban table.
#include <algorithm>
#include <charconv>
#include <mutex>

#include "security/security.h"

namespace sipbox::security {
namespace {

std::string key_of(const Address& address) {
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  const auto b = address.to_v6().to_bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

unsigned full_length(const Address& address) { return address.is_v4() ? 32 : 128; }

// An IPv4-mapped IPv6 address (::ffff:192.0.2.7, a dual-stack socket's view of an IPv4
// peer) is that IPv4 address.
Address canonical(const Address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  return address;
}

}  // namespace

bool Prefix::contains(const Address& raw) const {
  const Address address = canonical(raw);
  if (address.is_v4() != network.is_v4()) return false;
  if (address.is_v4()) {
    if (length == 0) return true;
    const std::uint32_t mask = length >= 32 ? 0xffffffffu : ~((1u << (32 - length)) - 1);
    return (address.to_v4().to_uint() & mask) == (network.to_v4().to_uint() & mask);
  }
  const auto a = address.to_v6().to_bytes();
  const auto n = network.to_v6().to_bytes();
  unsigned bits = length;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if ((a[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

std::string Prefix::text() const {
  std::string out = network.to_string();
  if (length != full_length(network)) out += "/" + std::to_string(length);
  return out;
}

Result<Prefix> parse_prefix(std::string_view text) {
  Prefix out;
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  boost::system::error_code ec;
  out.network = canonical(boost::asio::ip::make_address(address, ec));
  if (ec) return fail("'" + std::string(text) + "' is not an IP address or prefix");
  out.length = full_length(out.network);
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned length = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        length > full_length(out.network))
      return fail("'" + std::string(text) + "': bad prefix length");
    out.length = length;
  }
  return out;
}

bool BanTable::is_banned(const Address& raw, WallClock::time_point now) const {
  if (count_.load(std::memory_order_relaxed) == 0) return false;
  const Address address = canonical(raw);
  std::shared_lock lock(mutex_);
  if (auto found = hosts_.find(key_of(address)); found != hosts_.end() && found->second.until > now) return true;
  for (const BanEntry& entry : prefixes_)
    if (entry.until > now && entry.prefix.contains(address)) return true;
  return false;
}

BanEntry BanTable::ban(BanEntry entry) {
  std::unique_lock lock(mutex_);
  if (entry.prefix.length == full_length(entry.prefix.network)) {
    auto [it, inserted] = hosts_.try_emplace(key_of(entry.prefix.network), entry);
    if (!inserted) {
      entry.until = std::max(entry.until, it->second.until);
      it->second = entry;
    }
    count_.store(hosts_.size() + prefixes_.size(), std::memory_order_relaxed);
    return it->second;
  }
  for (BanEntry& existing : prefixes_) {
    if (existing.prefix == entry.prefix) {
      entry.until = std::max(entry.until, existing.until);
      existing = entry;
      return existing;
    }
  }
  prefixes_.push_back(entry);
  count_.store(hosts_.size() + prefixes_.size(), std::memory_order_relaxed);
  return entry;
}

bool BanTable::unban(const Prefix& prefix) {
  std::unique_lock lock(mutex_);
  bool removed = false;
  if (prefix.length == full_length(prefix.network)) {
    removed = hosts_.erase(key_of(prefix.network)) > 0;
  } else {
    removed = std::erase_if(prefixes_, [&](const BanEntry& e) { return e.prefix == prefix; }) > 0;
  }
  count_.store(hosts_.size() + prefixes_.size(), std::memory_order_relaxed);
  return removed;
}

std::vector<BanEntry> BanTable::expire(WallClock::time_point now) {
  std::vector<BanEntry> out;
  if (count_.load(std::memory_order_relaxed) == 0) return out;
  std::unique_lock lock(mutex_);
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    if (it->second.until <= now) {
      out.push_back(std::move(it->second));
      it = hosts_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = prefixes_.begin(); it != prefixes_.end();) {
    if (it->until <= now) {
      out.push_back(std::move(*it));
      it = prefixes_.erase(it);
    } else {
      ++it;
    }
  }
  count_.store(hosts_.size() + prefixes_.size(), std::memory_order_relaxed);
  return out;
}

std::vector<BanEntry> BanTable::list(WallClock::time_point now) const {
  std::vector<BanEntry> out;
  std::shared_lock lock(mutex_);
  for (const auto& [key, entry] : hosts_)
    if (entry.until > now) out.push_back(entry);
  for (const BanEntry& entry : prefixes_)
    if (entry.until > now) out.push_back(entry);
  std::sort(out.begin(), out.end(), [](const BanEntry& a, const BanEntry& b) { return a.until > b.until; });
  return out;
}

std::optional<BanEntry> BanTable::find(const Prefix& prefix) const {
  std::shared_lock lock(mutex_);
  if (prefix.length == full_length(prefix.network)) {
    auto found = hosts_.find(key_of(prefix.network));
    if (found != hosts_.end()) return found->second;
    return std::nullopt;
  }
  for (const BanEntry& entry : prefixes_)
    if (entry.prefix == prefix) return entry;
  return std::nullopt;
}

}  // namespace sipbox::security
