#include "registrar/location.h"

#include <algorithm>
#include <cctype>

namespace sipbox::registrar {
namespace {

store::Time seconds_of(Clock::time_point t) { return std::chrono::floor<std::chrono::seconds>(t); }

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool connection_oriented(std::string_view transport) { return transport != "udp" && !transport.empty(); }

// RFC 3263 default ports: 5061 for sips and transport=tls, 5060 otherwise.
std::uint16_t effective_port(const sip::Uri& uri) {
  if (uri.port != 0) return uri.port;
  const bool tls = uri.kind == sip::UriScheme::Sips || lower(uri.param("transport")) == "tls";
  return tls ? 5061 : 5060;
}

// The Contact's address differs from where the REGISTER came from: the UA is behind NAT
// (or lies), so the source is the only address known to reach it.
bool differs_from_source(const store::Binding& b) {
  if (b.received.address.empty()) return false;
  auto uri = sip::parse_uri(b.contact);
  if (!uri || !uri->is_sip()) return false;
  return lower(uri->host_address()) != lower(b.received.address) || effective_port(*uri) != b.received.port;
}

// RFC 3261 10.3 step 7 matches contacts with the URI comparison of 19.1.4; RFC 5626 6:
// a Contact with +sip.instance and reg-id identifies a flow, and a new registration of
// the same flow replaces the old binding whatever its URI.
bool same_binding(const BindingRecord& existing, const ContactUpdate& c, const sip::Uri& uri) {
  if (!c.instance.empty() && c.reg_id != 0) return existing.instance() == c.instance && existing.reg_id() == c.reg_id;
  if (existing.contact() == c.contact) return true;
  auto stored = sip::parse_uri(existing.contact());
  return stored && sip::uri_equivalent(*stored, uri);
}

// RFC 3261 10.3 step 7: with the same Call-ID only a higher CSeq may change a binding.
bool out_of_order(const BindingRecord& existing, const Update& u) {
  return existing.call_id() == u.call_id && u.cseq <= existing.cseq();
}

// Whether `after` may be persisted lazily (store::LocationStore::refresh): a periodic
// re-registration changes the expiry, the CSeq and, after a reboot of the phone, the
// Call-ID. A stale copy of these in the store after a crash costs little: the restored
// binding expires earlier than granted, never later (hence an expiry moved earlier counts
// as a change), and a stale CSeq or Call-ID can only make the 10.3 step 7 order check
// accept a late retransmission it would have refused. Everything else is written at once:
// received and Path decide where requests go, q their order, and they rarely change.
bool only_refreshed(const BindingRecord& before, const BindingRecord& after) {
  return after.expires_at() >= before.expires_at() && before.same_but_refresh(after);
}

store::Binding key(const std::string& aor, std::string_view contact) {
  store::Binding b;
  b.aor = aor;
  b.contact = contact;
  return b;
}

}  // namespace

Result<std::string> normalize_aor(const sip::Uri& uri) {
  if (!uri.is_sip()) return fail("address-of-record is not a sip or sips URI");
  if (!uri.has_user || uri.user.empty()) return fail("address-of-record has no user part");
  std::string aor = uri.kind == sip::UriScheme::Sips ? "sips:" : "sip:";
  // Escapes resolved, then written the one canonical way (RFC 3261 19.1.4: "%61lice" is "alice").
  aor += sip::escape_user(sip::unescape(uri.user));
  aor += '@';
  aor += lower(uri.host);
  return aor;
}

Result<std::size_t> Location::restore(store::LocationStore& store, Clock::time_point now) {
  auto loaded = store.load_all(seconds_of(now));
  if (!loaded) return fail("location: cannot restore bindings: " + loaded.error().message);
  std::vector<store::Binding> bindings = std::move(*loaded);
  // The store keeps no registration time: later expiry stands in for "more recent".
  std::stable_sort(bindings.begin(), bindings.end(),
                   [](const store::Binding& a, const store::Binding& b) { return a.expires_at < b.expires_at; });
  std::lock_guard lock(mutex_);
  aors_.clear();
  for (auto& b : bindings) {
    aors_[b.aor].push_back(Entry{BindingRecord(b), ++sequence_});
  }
  return bindings.size();
}

UpdateResult Location::apply(const Update& u, Clock::time_point now) {
  const store::Time now_s = seconds_of(now);
  UpdateResult result;
  struct Op {
    enum class Kind : std::uint8_t { Upsert, Refresh, Remove, RemoveAll } kind;
    store::Binding binding;  // Upsert, Refresh: the binding; Remove: aor + contact
  };
  std::vector<Op> ops;

  std::lock_guard lock(mutex_);
  auto found = aors_.find(u.aor);
  Entries next;
  next.reserve((found != aors_.end() ? found->second.size() : 0) + u.contacts.size());
  if (found != aors_.end()) {
    for (const Entry& e : found->second)
      if (e.binding.expires_at() > now_s) next.push_back(e);
  }

  if (u.remove_all) {
    // RFC 3261 10.3 step 6: every binding goes, each subject to the Call-ID/CSeq rule.
    for (const Entry& e : next)
      if (out_of_order(e.binding, u))
        return UpdateResult{UpdateResult::Status::OutOfOrder, 0, 0, 0, live(u.aor, next, now)};
    result.removed = next.size();
    next.clear();
    ops.push_back(Op{Op::Kind::RemoveAll, key(u.aor, {})});
  }

  for (const ContactUpdate& c : u.contacts) {
    auto uri = sip::parse_uri(c.contact);
    if (!uri) continue;  // the registrar validated every Contact already
    auto match =
        std::find_if(next.begin(), next.end(), [&](const Entry& e) { return same_binding(e.binding, c, *uri); });
    // (A binding this request already touched is not checked again: a Contact listed twice.)
    if (match != next.end() && match->updated != 0 && out_of_order(match->binding, u))
      return UpdateResult{UpdateResult::Status::OutOfOrder, 0, 0, 0,
                          live(u.aor, found == aors_.end() ? Entries{} : found->second, now)};
    if (c.expires == 0) {
      if (match == next.end()) continue;  // removing what is not there is not an error
      ops.push_back(Op{Op::Kind::Remove, key(u.aor, match->binding.contact())});
      next.erase(match);
      ++result.removed;
      continue;
    }
    store::Binding b = key(u.aor, c.contact);
    b.received = u.received;
    b.path = u.path;
    b.instance = c.instance;
    b.reg_id = c.reg_id;
    b.q = c.q;
    b.call_id = u.call_id;
    b.cseq = u.cseq;
    b.expires_at = now_s + std::chrono::seconds(c.expires);
    b.user_agent = u.user_agent;
    Op::Kind write = Op::Kind::Upsert;
    BindingRecord record(b);
    if (match == next.end()) {
      next.push_back(Entry{std::move(record), 0});
      ++result.added;
    } else {
      // A replaced flow (RFC 5626 6) or an equivalent URI written differently: the old
      // key goes from the store.
      if (match->binding.contact() != c.contact) {
        ops.push_back(Op{Op::Kind::Remove, key(u.aor, match->binding.contact())});
      } else if (only_refreshed(match->binding, record)) {
        write = Op::Kind::Refresh;
      }
      match->binding = std::move(record);
      match->updated = 0;  // touched: ordered as the most recent below
      ++result.refreshed;
    }
    ops.push_back(Op{write, std::move(b)});
  }

  if (result.added > 0 && next.size() > u.max_contacts)
    return UpdateResult{UpdateResult::Status::TooMany, 0, 0, 0,
                        live(u.aor, found == aors_.end() ? Entries{} : found->second, now)};

  // Every check passed: commit to memory, then to the store in the same order.
  for (Entry& e : next)
    if (e.updated == 0) e.updated = ++sequence_;
  result.current = live(u.aor, next, now);
  if (next.empty()) {
    if (found != aors_.end()) aors_.erase(found);
  } else {
    next.shrink_to_fit();  // held until the next REGISTER of this AOR
    aors_[u.aor] = std::move(next);
  }
  if (store_ != nullptr) {
    for (Op& op : ops) {
      switch (op.kind) {
        case Op::Kind::Upsert:
          store_->upsert(std::move(op.binding));
          break;
        case Op::Kind::Refresh:
          store_->refresh(std::move(op.binding));
          break;
        case Op::Kind::Remove:
          store_->remove(std::move(op.binding.aor), std::move(op.binding.contact));
          break;
        case Op::Kind::RemoveAll:
          store_->remove_all(std::move(op.binding.aor));
          break;
      }
    }
  }
  return result;
}

std::vector<Registration> Location::live(std::string_view aor, const Entries& entries, Clock::time_point now) const {
  const store::Time now_s = seconds_of(now);
  std::vector<const Entry*> order;
  for (const Entry& e : entries)
    if (e.binding.expires_at() > now_s) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (a->binding.q() != b->binding.q()) return a->binding.q() > b->binding.q();
    return a->updated > b->updated;
  });
  std::vector<Registration> out;
  out.reserve(order.size());
  for (const Entry* e : order) {
    Registration r{e->binding.unpack(aor), false, false};
    r.behind_nat = differs_from_source(r.binding);
    r.send_to_source = r.behind_nat || connection_oriented(r.binding.received.transport);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Registration> Location::lookup(std::string_view aor, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto found = aors_.find(std::string(aor));
  if (found == aors_.end()) return {};
  return live(aor, found->second, now);
}

std::vector<Registration> Location::nat_bindings(Clock::time_point now) const {
  const store::Time now_s = seconds_of(now);
  std::vector<Registration> out;
  std::lock_guard lock(mutex_);
  for (const auto& [aor, entries] : aors_)
    for (const Entry& e : entries)
      if (e.binding.expires_at() > now_s && !connection_oriented(e.binding.transport())) {
        store::Binding b = e.binding.unpack(aor);
        if (differs_from_source(b)) out.push_back(Registration{std::move(b), true, true});
      }
  return out;
}

std::size_t Location::purge(Clock::time_point now) {
  const store::Time now_s = seconds_of(now);
  std::size_t removed = 0;
  std::lock_guard lock(mutex_);
  for (auto it = aors_.begin(); it != aors_.end();) {
    Entries& entries = it->second;
    const auto before = entries.size();
    std::erase_if(entries, [&](const Entry& e) { return e.binding.expires_at() <= now_s; });
    removed += before - entries.size();
    it = entries.empty() ? aors_.erase(it) : std::next(it);
  }
  // Always: apply() drops expired bindings of the AORs it touches from memory only.
  if (store_ != nullptr) store_->purge_expired(now_s);
  return removed;
}

std::size_t Location::aor_count() const {
  std::lock_guard lock(mutex_);
  return aors_.size();
}

std::size_t Location::binding_count() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [aor, entries] : aors_) n += entries.size();
  return n;
}

}  // namespace sipbox::registrar
