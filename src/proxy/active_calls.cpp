// ActiveCalls: calls in progress per account, for max-concurrent-calls (proxy.h).
#include <algorithm>

#include "proxy/proxy.h"

namespace sipbox::proxy {

ActiveCalls::ActiveCalls(std::chrono::seconds early_lifetime, std::chrono::seconds confirmed_lifetime)
    : early_lifetime_(early_lifetime), confirmed_lifetime_(confirmed_lifetime) {}

ActiveCalls::Admission ActiveCalls::begin(std::string_view call_id, const Party& caller, const Party& callee,
                                          Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now >= next_sweep_) expire(now);
  if (calls_.contains(std::string(call_id))) return {};
  const auto at_limit = [&](const Party& party) -> std::optional<Admission> {
    if (party.account.empty() || party.limit == 0) return std::nullopt;
    auto found = per_account_.find(party.account);
    const std::size_t active = found == per_account_.end() ? 0 : found->second;
    if (active < party.limit) return std::nullopt;
    return Admission{Refusal::none, active, party.limit};
  };
  if (auto refused = at_limit(caller)) {
    refused->refusal = Refusal::caller_limit;
    return *refused;
  }
  // A call to oneself counts once against the one account.
  const Party& other = callee.account == caller.account ? Party{} : callee;
  if (auto refused = at_limit(other)) {
    refused->refusal = Refusal::callee_limit;
    return *refused;
  }
  Call call{caller.account, other.account, now + early_lifetime_};
  if (!call.caller.empty()) ++per_account_[call.caller];
  if (!call.callee.empty()) ++per_account_[call.callee];
  if (!call.caller.empty() || !call.callee.empty()) calls_.emplace(std::string(call_id), std::move(call));
  return {};
}

void ActiveCalls::confirmed(std::string_view call_id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(std::string(call_id));
  if (found != calls_.end()) found->second.deadline = now + confirmed_lifetime_;
}

void ActiveCalls::end(std::string_view call_id) {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(std::string(call_id));
  if (found == calls_.end()) return;
  release(found->second);
  calls_.erase(found);
}

std::size_t ActiveCalls::active(std::string_view account) const {
  std::lock_guard lock(mutex_);
  auto found = per_account_.find(std::string(account));
  return found == per_account_.end() ? 0 : found->second;
}

std::size_t ActiveCalls::calls() const {
  std::lock_guard lock(mutex_);
  return calls_.size();
}

void ActiveCalls::release(const Call& call) {
  for (const std::string* account : {&call.caller, &call.callee}) {
    if (account->empty()) continue;
    auto found = per_account_.find(*account);
    if (found == per_account_.end()) continue;
    if (--found->second == 0) per_account_.erase(found);
  }
}

// A full scan, at most once a minute: the deadlines are hours long, so an overdue call
// waits a minute more at worst, and the scan's cost is spread over a minute of calls.
void ActiveCalls::expire(Clock::time_point now) {
  next_sweep_ = now + std::chrono::minutes(1);
  std::erase_if(calls_, [&](const auto& entry) {
    if (entry.second.deadline > now) return false;
    release(entry.second);
    return true;
  });
}

}  // namespace sipbox::proxy
