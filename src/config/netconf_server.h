// NETCONF (RFC 6241) over SSH (RFC 6242): an adapter that puts ConfigStore on the wire
// with libnetconf2. libnetconf2 does the SSH transport, <hello>, framing and RPC
// parsing; every datastore operation is delegated to ConfigStore, so NETCONF, RESTCONF
// and the CLI share one set of rules, locks and audit log.
//
// Logins: admin accounts of the running configuration
// (/sipbox-system:system/admin[name]): SSH password checked against password-hash, or
// an SSH public key listed in ssh-public-key. System accounts are never consulted.
// Role viewer may only read (get, get-config, get-schema, close-session); every other
// operation is refused with access-denied.
//
// Capabilities: base 1.0 and 1.1, :writable-running, :candidate, :validate:1.1,
// :startup, :rollback-on-error, :xpath (as enabled by the ietf-netconf features loaded
// in the store's context), :with-defaults (basic mode explicit; report-all,
// report-all-tagged and trim also supported) and one URI per loaded module.
// Operations: get, get-config (subtree and XPath filters), edit-config, copy-config,
// delete-config, validate, commit, discard-changes, lock, unlock, close-session,
// kill-session, get-schema.
//
// Clients must qualify the <config> element of edit-config/copy-config/validate with
// the base namespace (<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">):
// libyang refuses an unqualified one ("Missing XML namespace"); ncclient's default
// edit_config("<config>...") sends it unqualified (ncclient issues #251, #588).
// XPath filters must use prefixes declared as XML namespaces.
//
// Threads (libnetconf2 exposes no descriptors, so it cannot run on the Asio loop):
// `accept_threads` run the TCP accept, SSH handshake, authentication and <hello> (one
// silent client holds one of them for up to the SSH timeout, hence at least 2);
// `workers` poll the sessions and run the RPCs, calling ConfigStore (thread-safe).
// Locks of a session are released when it ends (close, kill, disconnect, stop()).
// The ConfigStore must outlive the server.
//
// libnetconf2 2.0 keeps its server state in process-wide variables, so at most one
// NetconfServer can run in a process at a time; start() refuses a second one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "config/config.h"

namespace sipbox::config {

struct NetconfOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 830;
  // SSH host key (OpenSSH private key file). Created at first start when absent:
  // ed25519, mode 0600.
  std::filesystem::path host_key;
  int workers = 2;           // threads that poll sessions and run RPCs
  int accept_threads = 2;    // threads running SSH handshakes + <hello> (one may block)
  int hello_timeout_s = 10;  // a client that authenticates but sends no <hello> is dropped
};

class NetconfServer {
 public:
  // Listens on options.address:port and serves until stop() (or destruction).
  static Result<std::unique_ptr<NetconfServer>> start(ConfigStore& store, NetconfOptions options);
  ~NetconfServer();
  NetconfServer(const NetconfServer&) = delete;
  NetconfServer& operator=(const NetconfServer&) = delete;

  // Ends every session (their locks are released) and every thread. Idempotent.
  void stop();

  // Operational (config false) data for <get>: returns XML of state nodes of the
  // loaded modules (top-level elements with their namespaces), "" for none. Called on
  // a libnetconf2 thread for each <get>.
  void set_state_provider(std::function<std::string()> xml_of_state_for_get);

  struct Impl;

 private:
  explicit NetconfServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipbox::config
