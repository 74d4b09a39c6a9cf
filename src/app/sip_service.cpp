#include "app/sip_service.h"

#include <unistd.h>

#include "base/version.h"
#include "sip/sip.h"
#include "transport/transport.h"

namespace sipbox::app {
namespace {

// An entry's field by name (config::Snapshot::field).
constexpr auto field = &config::Snapshot::field;

std::string user_key(std::string_view user, std::string_view domain) {
  std::string key(user);
  key += '@';
  key += domain;
  return key;
}

template <class T>
T number(const config::Snapshot& running, const std::string& xpath, T fallback) {
  const auto value = running.value(xpath);
  if (!value) return fallback;
  try {
    return static_cast<T>(std::stoul(*value));
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "sipbox";
  return name;
}

}  // namespace

ConfigDirectory::ConfigDirectory(const config::Snapshot& running) : data_(load(running)) {}

std::shared_ptr<const ConfigDirectory::Data> ConfigDirectory::load(const config::Snapshot& snapshot) {
  auto data = std::make_shared<Data>();
  for (const auto& domain : snapshot.entries(kDomains)) {
    const std::string name = sip::ascii_lower(field(domain, "name"));
    std::string realm = field(domain, "realm");
    data->realms[name] = realm.empty() ? name : realm;
  }
  data->default_domain = sip::ascii_lower(snapshot.value("/sipbox-domains:default-domain").value_or(""));
  if (data->default_domain.empty() && data->realms.size() == 1) data->default_domain = data->realms.begin()->first;
  for (const auto& user : snapshot.entries(kUsers)) {
    registrar::UserRecord record;
    record.ha1_md5 = field(user, "ha1-md5");
    record.ha1_sha256 = field(user, "ha1-sha256");
    record.enabled = field(user, "enabled") != "false";
    const std::string limit = field(user, "max-concurrent-calls");
    if (!limit.empty()) record.max_concurrent_calls = static_cast<std::uint16_t>(std::stoul(limit));
    data->users[user_key(field(user, "name"), sip::ascii_lower(field(user, "domain")))] = std::move(record);
  }
  return data;
}

std::shared_ptr<const ConfigDirectory::Data> ConfigDirectory::data() const {
  std::lock_guard lock(mutex_);
  return data_;
}

bool ConfigDirectory::is_local_domain(std::string_view domain) const {
  const auto d = data();
  return d->realms.contains(std::string(domain));
}

std::string ConfigDirectory::realm(std::string_view domain) const {
  const auto d = data();
  auto found = d->realms.find(std::string(domain));
  return found == d->realms.end() ? std::string(domain) : found->second;
}

std::optional<registrar::UserRecord> ConfigDirectory::user(std::string_view user, std::string_view domain) const {
  const auto d = data();
  auto found = d->users.find(user_key(user, domain));
  if (found == d->users.end()) return std::nullopt;
  return found->second;
}

Status ConfigDirectory::apply(const config::Snapshot& next, std::span<const config::Change>) {
  auto loaded = load(next);
  std::lock_guard lock(mutex_);
  data_ = std::move(loaded);
  return {};
}

std::string ConfigDirectory::default_domain() const { return data()->default_domain; }

std::size_t ConfigDirectory::user_count() const { return data()->users.size(); }

Result<core::CoreSettings> core_settings(const config::Snapshot& running, const DaemonOptions& options) {
  core::CoreSettings s;
  const std::string sys = "/sipbox-system:system/";
  const std::string listeners = sys + "listeners/";
  s.workers = number<unsigned>(running, sys + "workers", 0);
  const std::string bind = options.bind ? *options.bind : running.value(listeners + "bind-address").value_or("0.0.0.0");
  s.advertised_address = running.value(listeners + "advertised-address").value_or("");
  std::uint16_t sip_port = number<std::uint16_t>(running, listeners + "sip-port", 5060);
  std::uint16_t tls_port = number<std::uint16_t>(running, listeners + "tls-port", 5061);
  std::uint16_t ws_port = number<std::uint16_t>(running, listeners + "ws-port", 8088);
  if (options.sip_port) {
    sip_port = *options.sip_port;
    tls_port = static_cast<std::uint16_t>(sip_port + 1);
    ws_port = static_cast<std::uint16_t>(sip_port + 2);
  }
  using K = txn::TransportKind;
  s.listeners = {{K::Udp, bind, sip_port}, {K::Tcp, bind, sip_port}, {K::Tls, bind, tls_port}, {K::Ws, bind, ws_port}};
  s.transport.idle_timeout =
      std::chrono::seconds(number<unsigned>(running, listeners + "tcp-idle-timeout-seconds", 300));

  const auto data_file = [&](const std::string& leaf, const std::string& fallback) {
    std::filesystem::path p = running.value(sys + "tls/" + leaf).value_or(fallback);
    return (p.is_absolute() ? p : options.data_dir / p).string();
  };
  s.transport.tls_cert_file = data_file("certificate-file", "tls/cert.pem");
  s.transport.tls_key_file = data_file("private-key-file", "tls/key.pem");
  if (auto ca = running.value(sys + "tls/ca-file")) s.transport.tls_ca_file = data_file("ca-file", *ca);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(s.transport.tls_cert_file).parent_path(), ec);
  std::filesystem::create_directories(std::filesystem::path(s.transport.tls_key_file).parent_path(), ec);
  const std::string host = running.value(sys + "hostname").value_or(hostname());
  if (auto made = transport::ensure_self_signed(s.transport.tls_cert_file, s.transport.tls_key_file, host); !made)
    return fail("TLS certificate: " + made.error().message);

  const std::string proxy = "/sipbox-routing:proxy/";
  s.timers.t1 = txn::Millis(number<unsigned>(running, proxy + "timers/t1-ms", 500));
  s.timers.t2 = txn::Millis(number<unsigned>(running, proxy + "timers/t2-ms", 4000));
  s.timers.t4 = txn::Millis(number<unsigned>(running, proxy + "timers/t4-ms", 5000));
  s.proxy.record_route = running.value(proxy + "record-route").value_or("true") == "true";
  s.proxy.max_forwards = number<std::uint8_t>(running, proxy + "max-forwards", 70);
  s.proxy.no_answer_timeout = std::chrono::seconds(number<unsigned>(running, proxy + "no-answer-timeout-seconds", 60));
  s.proxy.server_name = std::string("sipbox/") + kVersion;
  s.server_name = s.proxy.server_name;

  const std::string reg = "/sipbox-routing:registrar/";
  s.registrar.min_expires = number<std::uint32_t>(running, reg + "min-expires", 60);
  s.registrar.max_expires = number<std::uint32_t>(running, reg + "max-expires", 3600);
  s.registrar.default_expires = number<std::uint32_t>(running, reg + "default-expires", 3600);
  s.registrar.max_contacts_per_aor = number<std::uint16_t>(running, reg + "max-contacts-per-aor", 10);
  s.nonce_lifetime = std::chrono::seconds(number<unsigned>(running, reg + "nonce-lifetime-seconds", 300));
  s.nat_keepalive = std::chrono::seconds(number<unsigned>(running, reg + "nat-keepalive-seconds", 30));
  s.algorithms.clear();
  for (const std::string& a : running.values(reg + "algorithms"))
    s.algorithms.push_back(a == "sha-256" ? sip::DigestAlgorithm::Sha256 : sip::DigestAlgorithm::Md5);
  if (s.algorithms.empty()) s.algorithms = {sip::DigestAlgorithm::Md5};
  return s;
}

}  // namespace sipbox::app
