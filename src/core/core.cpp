// Core: creates the shared parts and the workers, binds the listeners, collects stats.
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/rand.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "core/worker.h"

namespace sipbox::core {
namespace {

bool is_unspecified(const std::string& address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(address, ec);
  return !ec && parsed.is_unspecified();
}

// Every address of this host (for a listener on 0.0.0.0 / ::): what "is this URI me?"
// compares against, and the first non-loopback one is what Via and Record-Route carry.
std::vector<std::string> local_addresses(bool ipv6) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (!ipv6 && i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      boost::asio::ip::address_v4 a(ntohl(in->sin_addr.s_addr));
      out.push_back(a.to_string());
    } else if (ipv6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in->sin6_addr.s6_addr), std::end(in->sin6_addr.s6_addr), bytes.begin());
      boost::asio::ip::address_v6 a(bytes);
      if (!a.is_link_local()) out.push_back(a.to_string());
    }
  }
  freeifaddrs(list);
  // Loopback last: a non-loopback address is the better one to advertise.
  std::stable_partition(out.begin(), out.end(), [](const std::string& a) { return a != "127.0.0.1" && a != "::1"; });
  return out;
}

std::string random_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

}  // namespace

struct Core::Impl {
  Shared shared;
  std::vector<BoundListener> bound;
  unsigned udp_steered = 0;      // CoreStats::udp_steered
  unsigned udp_handed_over = 0;  // CoreStats::udp_handed_over
  bool stopped = false;
};

Core::Core(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Core::~Core() { stop(); }

Result<std::unique_ptr<Core>> Core::start(CoreSettings settings, const registrar::Directory& directory,
                                          registrar::Location& location, security::Guard* guard) {
  auto impl = std::make_unique<Impl>();
  Shared& shared = impl->shared;
  if (settings.workers == 0) settings.workers = std::max(1u, std::thread::hardware_concurrency());
  settings.transport.reuse_port = settings.workers > 1;
  shared.settings = std::move(settings);
  shared.directory = &directory;
  shared.location = &location;
  shared.nonces = std::make_unique<registrar::NonceManager>(random_secret(), shared.settings.nonce_lifetime);
  shared.auth = std::make_unique<registrar::DigestAuthenticator>(*shared.nonces, shared.settings.algorithms);
  shared.guard = guard;
  registrar::Registrar::FailureCallback on_failure;
  if (guard) {
    on_failure = [guard](const registrar::AuthFailure& f) {
      boost::system::error_code ec;
      guard->auth_failure(boost::asio::ip::make_address(f.source.address, ec), f.user, security::Clock::now());
    };
  }
  shared.registrar = std::make_unique<registrar::Registrar>(directory, location, *shared.auth,
                                                            shared.settings.registrar, std::move(on_failure));
  for (unsigned i = 0; i < shared.settings.workers; ++i) shared.workers.push_back(std::make_unique<Worker>(shared, i));

  // UDP on every worker; streams on worker 0 only.
  for (const ListenerSpec& spec : shared.settings.listeners) {
    const bool udp = spec.kind == txn::TransportKind::Udp;
    BoundListener bound;
    if (auto s = shared.workers[0]->listen(spec, bound); !s)
      return fail(std::string(proxy::transport_name(spec.kind)) + " on " + spec.address + ":" +
                  std::to_string(spec.port) + ": " + s.error().message);
    if (udp) {
      ListenerSpec same = spec;
      same.port = bound.port;  // a kernel-chosen port is shared by every worker
      for (unsigned i = 1; i < shared.workers.size(); ++i) {
        BoundListener ignored;
        if (auto s = shared.workers[i]->listen(same, ignored); !s)
          return fail("UDP on " + spec.address + ":" + std::to_string(bound.port) + " (worker " + std::to_string(i) +
                      "): " + s.error().message);
      }
    }
    impl->bound.push_back(bound);
    const bool any = is_unspecified(bound.address);
    const bool ipv6 = bound.address.find(':') != std::string::npos;
    std::string advertised = bound.address;
    if (any) {
      const auto addresses = local_addresses(ipv6);
      for (const std::string& a : addresses) shared.self.add_address(a);
      advertised = addresses.empty() ? (ipv6 ? "::1" : "127.0.0.1") : addresses.front();
    }
    if (!shared.settings.advertised_address.empty()) advertised = shared.settings.advertised_address;
    shared.self.add_interface(proxy::Interface{spec.kind, host_text(advertised), bound.port});
  }
  if (shared.workers.size() > 1) {
    impl->udp_steered = shared.workers[0]->steer_udp_by_call_id();
    const auto udp = std::count_if(impl->bound.begin(), impl->bound.end(),
                                   [](const BoundListener& b) { return b.kind == txn::TransportKind::Udp; });
    impl->udp_handed_over = static_cast<unsigned>(udp) - impl->udp_steered;
  }
  for (auto& worker : shared.workers) worker->start();
  return std::unique_ptr<Core>(new Core(std::move(impl)));
}

void Core::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  for (auto& worker : impl_->shared.workers) worker->stop();
}

CoreStats Core::stats() const {
  CoreStats out;
  out.workers = static_cast<unsigned>(impl_->shared.workers.size());
  if (!impl_->stopped) {
    // Shared with the posted handlers: a worker that does not answer within a second is
    // skipped, and its late handler still writes into live memory.
    auto partial = std::make_shared<CoreStats>();
    for (auto& worker : impl_->shared.workers) {
      auto done = std::make_shared<std::promise<void>>();
      auto future = done->get_future();
      Worker* w = worker.get();
      boost::asio::post(w->io(), [w, partial, done] {
        w->collect(*partial);
        done->set_value();
      });
      if (future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) break;
    }
    out = *partial;
    out.workers = static_cast<unsigned>(impl_->shared.workers.size());
  }
  out.registrar = impl_->shared.registrar->stats();
  out.aors = impl_->shared.location->aor_count();
  out.bindings = impl_->shared.location->binding_count();
  out.udp_steered = impl_->udp_steered;
  out.udp_handed_over = impl_->udp_handed_over;
  return out;
}

const std::vector<BoundListener>& Core::listeners() const { return impl_->bound; }

}  // namespace sipbox::core
