#include "app/status.h"

#include <array>
#include <cstdio>
#include <initializer_list>
#include <utility>

namespace sipbox::app {
namespace {

using nlohmann::json;
using Label = std::pair<std::string_view, std::string_view>;

// Indexed by sip::Method.
constexpr std::array<std::string_view, core::CoreStats::kMethods> kMethodNames = {
    "OTHER", "INVITE", "ACK",       "BYE",    "CANCEL",  "REGISTER", "OPTIONS", "INFO",
    "PRACK", "UPDATE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE",  "REFER"};
static_assert(static_cast<std::size_t>(sip::Method::Refer) + 1 == kMethodNames.size(), "one name per sip::Method");

constexpr std::size_t kTransportKinds = std::tuple_size_v<decltype(transport::Counters{}.by_kind)>;
constexpr std::array<std::string_view, kTransportKinds> kTransportNames = {"udp", "tcp", "tls", "ws", "wss", "sctp"};

// The transports worth showing: those with a SIP listener, and any that carried traffic.
std::vector<std::size_t> shown_transports(const StatusSnapshot& s) {
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < kTransportKinds; ++k) {
    const transport::KindCounters& c = s.core.transport.by_kind[k];
    bool shown = c.messages_received + c.messages_sent + c.bytes_received + c.bytes_sent > 0;
    for (const ListenerInfo& l : s.listeners)
      shown = shown || (l.service == "sip" && l.transport == kTransportNames[k]);
    if (shown) out.push_back(k);
  }
  return out;
}

// Ended dialogs can outnumber established ones (a BYE for a call set up before a
// restart); the gauge does not go below zero.
std::uint64_t active_dialogs(const proxy::ProxyStats& p) {
  return p.dialogs_established > p.dialogs_ended ? p.dialogs_established - p.dialogs_ended : 0;
}

template <std::size_t N, class Name>
json non_zero(const std::array<std::uint64_t, N>& counts, Name name) {
  json out = json::object();
  for (std::size_t i = 0; i < N; ++i)
    if (counts[i] != 0) out[std::string(name(i))] = counts[i];
  return out;
}

std::string_view method_at(std::size_t i) { return kMethodNames[i]; }
std::string code_at(std::size_t i) { return std::to_string(i); }

// --- Prometheus text format 0.0.4 ------------------------------------------------------

// Text format 0.0.4: backslash and line feed are escaped in HELP texts; label values
// also escape the double quote.
void append_escaped(std::string& out, std::string_view text, bool label_value) {
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += label_value ? "\\\"" : "\"";
        break;
      default:
        out += c;
    }
  }
}

class Exposition {
 public:
  // Starts a metric family; its samples must follow before the next family.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    append_escaped(text_, help, false);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }

  void sample(std::uint64_t value, std::initializer_list<Label> labels = {}) {
    text_ += name_;
    if (labels.size() > 0) {
      text_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_ += key;
        text_ += "=\"";
        append_escaped(text_, label_value, true);
        text_ += '"';
      }
      text_ += '}';
    }
    text_ += ' ';
    text_ += std::to_string(value);
    text_ += '\n';
  }

  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "counter", help);
    sample(value);
  }
  void gauge(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "gauge", help);
    sample(value);
  }

  // A histogram family: cumulative buckets by upper bound, then +Inf, _sum and _count.
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view help, const std::array<double, N>& bounds,
                 const std::array<std::uint64_t, N>& buckets, std::uint64_t count, double sum) {
    family(name, "histogram", help);
    char number[32];
    for (std::size_t i = 0; i < N; ++i) {
      std::snprintf(number, sizeof number, "%g", bounds[i]);
      text_ += std::string(name) + "_bucket{le=\"" + number + "\"} " + std::to_string(buckets[i]) + "\n";
    }
    text_ += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
    std::snprintf(number, sizeof number, "%.6g", sum);
    text_ += std::string(name) + "_sum " + number + "\n";
    text_ += std::string(name) + "_count " + std::to_string(count) + "\n";
  }

  std::string take() { return std::move(text_); }

 private:
  std::string text_;
  std::string name_;
};

void general_metrics(Exposition& out, const StatusSnapshot& s) {
  out.family("sipbox_build_info", "gauge", "Always 1; the version label names the running build.");
  out.sample(1, {{"version", s.version}});
  out.gauge("sipbox_uptime_seconds", "Seconds since sipboxd started.", static_cast<std::uint64_t>(s.uptime.count()));
  out.gauge("sipbox_workers", "SIP worker threads (one event loop each).", s.core.workers);
  out.family("sipbox_listener_info", "gauge", "Always 1 per listening socket: service, transport, address, port.");
  for (const ListenerInfo& l : s.listeners) {
    const std::string port = std::to_string(l.port);
    out.sample(1, {{"service", l.service}, {"transport", l.transport}, {"address", l.address}, {"port", port}});
  }
}

void message_metrics(Exposition& out, const StatusSnapshot& s) {
  const core::CoreStats& c = s.core;
  out.family("sipbox_sip_requests_received_total", "counter",
             "SIP requests received and parsed, by method (retransmissions included).");
  for (std::size_t m = 0; m < kMethodNames.size(); ++m)
    out.sample(c.requests_received[m], {{"method", kMethodNames[m]}});
  out.family("sipbox_sip_requests_sent_total", "counter",
             "SIP requests sent (forwarded, keep-alives, retransmissions), by method.");
  for (std::size_t m = 0; m < kMethodNames.size(); ++m) out.sample(c.requests_sent[m], {{"method", kMethodNames[m]}});
  out.family("sipbox_sip_responses_received_total", "counter", "SIP responses received, by status code.");
  for (std::size_t code = 0; code < c.responses_received.size(); ++code)
    if (c.responses_received[code] != 0) out.sample(c.responses_received[code], {{"code", std::to_string(code)}});
  out.family("sipbox_sip_responses_sent_total", "counter",
             "SIP responses sent (own and forwarded, retransmissions included), by status code.");
  for (std::size_t code = 0; code < c.responses_sent.size(); ++code)
    if (c.responses_sent[code] != 0) out.sample(c.responses_sent[code], {{"code", std::to_string(code)}});
  out.family("sipbox_sip_messages_dropped_total", "counter",
             "SIP messages dropped: malformed (unparsable and unanswerable), oversize (over the maximum "
             "message size), framing (broken stream framing or WebSocket frames), banned (from a banned "
             "source, before parsing; with ban-action reject-403/503 a request is answered), security (by "
             "a security rule or detector).");
  out.sample(c.malformed_dropped, {{"reason", "malformed"}});
  out.sample(c.transport.dropped_oversize, {{"reason", "oversize"}});
  out.sample(c.transport.dropped_malformed, {{"reason", "framing"}});
  out.sample(c.banned_dropped, {{"reason", "banned"}});
  out.sample(c.security_dropped, {{"reason", "security"}});
  out.counter("sipbox_sip_malformed_answered_total", "Unparsable SIP requests answered with 400 Bad Request.",
              c.malformed_answered);
  out.counter("sipbox_sip_options_answered_total", "OPTIONS requests to the server itself answered with 200.",
              c.options_answered);
  out.counter("sipbox_sip_handoffs_total", "Messages passed to the worker that owns their Call-ID.", c.handoffs);
  out.family("sipbox_sip_udp_listeners", "gauge",
             "With several workers, UDP listeners by how a datagram reaches its Call-ID's worker: steered by the "
             "kernel, or handed over by the worker that got it (no CAP_BPF).");
  out.sample(c.udp_steered, {{"steering", "kernel"}});
  out.sample(c.udp_handed_over, {{"steering", "handover"}});
  out.counter("sipbox_nat_keepalives_sent_total", "OPTIONS keep-alives sent to contacts registered behind a NAT.",
              c.keepalives_sent);
}

void transaction_metrics(Exposition& out, const StatusSnapshot& s) {
  const txn::Counters& t = s.core.txn;
  out.gauge("sipbox_transactions", "Live SIP transactions (RFC 3261 17).", s.core.transactions);
  out.family("sipbox_transactions_created_total", "counter", "SIP transactions created, by role.");
  out.sample(t.client_created, {{"role", "client"}});
  out.sample(t.server_created, {{"role", "server"}});
  out.counter("sipbox_transactions_terminated_total", "SIP transactions that reached the Terminated state.",
              t.terminated);
  out.counter("sipbox_transaction_timeouts_total", "Client transactions that timed out (Timer B or F).", t.timeouts);
  out.counter("sipbox_transaction_transport_errors_total", "Transactions ended by a transport error.",
              t.transport_errors);
  out.counter("sipbox_transaction_trying_sent_total", "100 Trying sent when the answer took over 200 ms.",
              t.trying_sent);
  out.family("sipbox_transaction_stray_total", "counter",
             "Responses and ACKs that matched no transaction (handled by the proxy), by kind.");
  out.sample(t.stray_responses, {{"kind", "response"}});
  out.sample(t.stray_acks, {{"kind", "ack"}});
  out.counter("sipbox_transaction_ignored_total", "Messages that matched a transaction in a state that ignores them.",
              t.ignored);
  out.family("sipbox_sip_retransmissions_total", "counter",
             "Retransmissions sent (transaction timers, repeated final responses) or received and absorbed "
             "by a transaction.");
  out.sample(t.retransmissions_sent, {{"direction", "sent"}});
  out.sample(t.retransmissions_absorbed, {{"direction", "received"}});
}

void registration_metrics(Exposition& out, const StatusSnapshot& s) {
  const registrar::RegistrarStats& r = s.core.registrar;
  out.family("sipbox_registrations", "gauge", "The location service: addresses of record and their contact bindings.");
  out.sample(s.core.aors, {{"kind", "aors"}});
  out.sample(s.core.bindings, {{"kind", "bindings"}});
  out.counter("sipbox_registrar_requests_total", "REGISTER requests handled by the registrar.", r.requests);
  out.family("sipbox_registrar_responses_total", "counter",
             "Registrar answers: accepted (200), challenged (401, no failure), auth_failed (401 after "
             "wrong credentials), rejected (any other final response).");
  out.sample(r.accepted, {{"result", "accepted"}});
  out.sample(r.challenges, {{"result", "challenged"}});
  out.sample(r.auth_failures, {{"result", "auth_failed"}});
  out.sample(r.rejected, {{"result", "rejected"}});
  out.family("sipbox_registrar_binding_changes_total", "counter", "Contact bindings added, refreshed and removed.");
  out.sample(r.bindings_added, {{"change", "added"}});
  out.sample(r.bindings_refreshed, {{"change", "refreshed"}});
  out.sample(r.bindings_removed, {{"change", "removed"}});
}

void proxy_metrics(Exposition& out, const StatusSnapshot& s) {
  const proxy::ProxyStats& p = s.core.proxy;
  out.gauge("sipbox_dialogs", "Dialogs established through the proxy and not yet ended.", active_dialogs(p));
  out.counter("sipbox_dialogs_established_total", "INVITE dialogs established (first 2xx).", p.dialogs_established);
  out.counter("sipbox_dialogs_ended_total", "Dialogs ended (2xx to BYE).", p.dialogs_ended);
  out.counter("sipbox_proxy_requests_forwarded_total", "Requests forwarded statefully (one per branch).",
              p.requests_forwarded);
  out.counter("sipbox_proxy_responses_forwarded_total", "Responses forwarded through a server transaction.",
              p.responses_forwarded);
  out.counter("sipbox_proxy_stateless_forwarded_total", "ACKs for 2xx and stray responses forwarded statelessly.",
              p.stateless_forwarded);
  out.counter("sipbox_proxy_challenges_total", "407 challenges for missing or stale credentials.", p.challenges);
  out.counter("sipbox_proxy_auth_failures_total", "407 after wrong credentials.", p.auth_failures);
  out.family("sipbox_proxy_rejected_total", "counter",
             "Requests the proxy answered itself: loop (482), too_many_hops (483), not_found (404), "
             "unavailable (480), call_limit (403/486 for max-concurrent-calls).");
  out.sample(p.loops, {{"reason", "loop"}});
  out.sample(p.too_many_hops, {{"reason", "too_many_hops"}});
  out.sample(p.not_found, {{"reason", "not_found"}});
  out.sample(p.unavailable, {{"reason", "unavailable"}});
  out.sample(p.call_limit_refusals, {{"reason", "call_limit"}});
  out.counter("sipbox_proxy_cancels_total", "CANCELs that found a pending call.", p.cancels);
  out.counter("sipbox_proxy_no_answer_timeouts_total", "Calls ended by the no-answer timer.", p.no_answer_timeouts);
  out.gauge("sipbox_proxy_contexts", "Live proxy response contexts (requests being forwarded).", p.contexts);
}

void transport_metrics(Exposition& out, const StatusSnapshot& s) {
  const transport::Counters& t = s.core.transport;
  const auto kinds = shown_transports(s);
  struct PerKind {
    std::string_view name;
    std::string_view help;
    std::uint64_t transport::KindCounters::*field;
  };
  static constexpr PerKind kPerKind[] = {
      {"sipbox_transport_messages_received_total", "SIP messages received, by transport.",
       &transport::KindCounters::messages_received},
      {"sipbox_transport_messages_sent_total", "SIP messages sent, by transport.",
       &transport::KindCounters::messages_sent},
      {"sipbox_transport_bytes_received_total", "Bytes of SIP messages received, by transport.",
       &transport::KindCounters::bytes_received},
      {"sipbox_transport_bytes_sent_total", "Bytes of SIP messages sent, by transport.",
       &transport::KindCounters::bytes_sent},
  };
  for (const PerKind& metric : kPerKind) {
    out.family(metric.name, "counter", metric.help);
    for (std::size_t k : kinds) out.sample(t.by_kind[k].*metric.field, {{"transport", kTransportNames[k]}});
  }
  out.gauge("sipbox_transport_connections", "Open TCP, TLS and WebSocket connections.", t.connections_open);
  out.counter("sipbox_transport_connections_accepted_total", "Incoming connections accepted.", t.connections_accepted);
  out.counter("sipbox_transport_connections_opened_total", "Outgoing connections opened.", t.connections_opened);
  out.counter("sipbox_transport_connections_closed_total", "Connections closed (idle ones included).",
              t.connections_closed);
  out.counter("sipbox_transport_connections_idle_closed_total", "Connections closed for lack of traffic.",
              t.connections_idle_closed);
  out.counter("sipbox_transport_send_failures_total", "Sends that failed: no route, socket errors, full queues.",
              t.send_failures);
  out.counter("sipbox_transport_keepalive_pongs_total", "CRLF answers to CRLFCRLF keep-alive pings (RFC 5626).",
              t.keepalive_pongs);
  out.counter("sipbox_transport_tls_handshake_failures_total", "TLS handshakes that failed.", t.tls_handshake_failures);
  out.counter("sipbox_transport_ws_upgrades_refused_total", "WebSocket upgrades refused (no \"sip\" subprotocol).",
              t.ws_upgrades_refused);
}

void store_metrics(Exposition& out, const store::StoreStats& st) {
  out.gauge("sipbox_store_queue_depth", "Store writes enqueued and not yet committed.", st.queue_depth);
  out.counter("sipbox_store_operations_enqueued_total", "Store writes accepted.", st.enqueued);
  out.counter("sipbox_store_operations_committed_total", "Store writes made durable.", st.committed);
  out.counter("sipbox_store_operations_rejected_total", "Store writes the database refused for good.", st.rejected);
  out.counter("sipbox_store_batches_total", "Store transactions committed.", st.batches);
  out.counter("sipbox_store_write_errors_total", "Failed store batch attempts (retried).", st.write_errors);
  out.counter("sipbox_store_backpressure_waits_total", "Store writes that had to wait for the writer.",
              st.backpressure_waits);
  // Binding refreshes are written lazily (docs/store.md, "Refreshes"): each accepted one
  // is pending, then coalesced, superseded or queued; queued ones are then written.
  out.gauge("sipbox_store_binding_refreshes_pending", "Binding refreshes held, not yet queued for writing.",
            st.refreshes_pending);
  out.family("sipbox_store_binding_refreshes_total", "counter",
             "Binding refreshes by what became of them (accepted = all of them).");
  out.sample(st.refreshes, {{"outcome", "accepted"}});
  out.sample(st.refreshes_coalesced, {{"outcome", "coalesced"}});
  out.sample(st.refreshes_superseded, {{"outcome", "superseded"}});
  out.sample(st.refreshes_queued, {{"outcome", "queued"}});
  out.sample(st.refreshes_written, {{"outcome", "written"}});
}

void media_metrics(Exposition& out, const StatusSnapshot::Media& m) {
  const media::RelayCounters& r = m.relay;
  out.gauge("sipbox_media_calls", "Calls whose media the relay carries.", r.calls);
  out.gauge("sipbox_media_streams", "Relayed streams (m= lines).", r.streams);
  out.gauge("sipbox_media_ports_in_use", "Relay ports allocated.", r.ports_in_use);
  out.gauge("sipbox_media_ports_free", "Relay ports free in the configured range.", r.ports_free);
  out.counter("sipbox_media_packets_relayed_total", "RTP and RTCP packets relayed.", r.packets_relayed);
  out.counter("sipbox_media_octets_relayed_total", "Octets of RTP and RTCP packets relayed.", r.octets_relayed);
  out.counter("sipbox_media_packets_dropped_total",
              "Packets the relay dropped: no destination yet, foreign source, send errors.", r.packets_dropped);
  out.counter("sipbox_media_allocation_failures_total", "Streams not relayed because the port range was exhausted.",
              r.allocation_failures);
  out.counter("sipbox_media_timeouts_total", "Relayed calls ended for lack of media.", r.timeouts);
  out.counter("sipbox_quality_records_total", "Quality records written (relayed and passively monitored streams).",
              m.records);
  out.histogram("sipbox_quality_mos", "MOS (ITU-T G.107 E-model) of the quality records.", StatusSnapshot::kMosBounds,
                m.mos_buckets, m.records, m.mos_sum);
}

}  // namespace

std::string_view method_name(sip::Method method) {
  const auto i = static_cast<std::size_t>(method);
  return i < kMethodNames.size() ? kMethodNames[i] : kMethodNames[0];
}

std::vector<ListenerInfo> sip_listeners(const std::vector<core::BoundListener>& bound) {
  std::vector<ListenerInfo> out;
  for (const core::BoundListener& l : bound) {
    const auto kind = static_cast<std::size_t>(l.kind);
    out.push_back({"sip", std::string(kind < kTransportKinds ? kTransportNames[kind] : "?"), l.address, l.port});
  }
  return out;
}

json status_json(const StatusSnapshot& s) {
  const core::CoreStats& c = s.core;
  json listeners = json::array();
  for (const ListenerInfo& l : s.listeners)
    listeners.push_back({{"service", l.service}, {"transport", l.transport}, {"address", l.address}, {"port", l.port}});

  const txn::Counters& t = c.txn;
  const registrar::RegistrarStats& r = c.registrar;
  const proxy::ProxyStats& p = c.proxy;
  const transport::Counters& tr = c.transport;
  json by_kind = json::object();
  for (std::size_t k : shown_transports(s)) {
    const transport::KindCounters& kc = tr.by_kind[k];
    by_kind[std::string(kTransportNames[k])] = {{"messages_received", kc.messages_received},
                                                {"messages_sent", kc.messages_sent},
                                                {"bytes_received", kc.bytes_received},
                                                {"bytes_sent", kc.bytes_sent}};
  }
  json out{
      {"version", s.version},
      {"uptime_seconds", s.uptime.count()},
      {"workers", c.workers},
      {"listeners", listeners},
      {"requests",
       {{"received", non_zero(c.requests_received, method_at)}, {"sent", non_zero(c.requests_sent, method_at)}}},
      {"responses",
       {{"received", non_zero(c.responses_received, code_at)}, {"sent", non_zero(c.responses_sent, code_at)}}},
      {"transactions",
       {{"live", c.transactions},
        {"client_created", t.client_created},
        {"server_created", t.server_created},
        {"terminated", t.terminated},
        {"timeouts", t.timeouts},
        {"transport_errors", t.transport_errors},
        {"trying_sent", t.trying_sent},
        {"stray_responses", t.stray_responses},
        {"stray_acks", t.stray_acks},
        {"ignored", t.ignored}}},
      {"retransmissions", {{"sent", t.retransmissions_sent}, {"absorbed", t.retransmissions_absorbed}}},
      {"registrations", {{"aors", c.aors}, {"bindings", c.bindings}}},
      {"registrar",
       {{"requests", r.requests},
        {"accepted", r.accepted},
        {"challenges", r.challenges},
        {"auth_failures", r.auth_failures},
        {"rejected", r.rejected},
        {"bindings_added", r.bindings_added},
        {"bindings_refreshed", r.bindings_refreshed},
        {"bindings_removed", r.bindings_removed}}},
      {"dialogs", {{"established", p.dialogs_established}, {"ended", p.dialogs_ended}, {"active", active_dialogs(p)}}},
      {"dropped",
       {{"malformed", {{"dropped", c.malformed_dropped}, {"answered", c.malformed_answered}}},
        {"oversize", tr.dropped_oversize},
        {"framing", tr.dropped_malformed},
        {"banned", c.banned_dropped},
        {"security", c.security_dropped},
        {"send_failures", tr.send_failures}}},
      {"core",
       {{"handoffs", c.handoffs},
        {"udp_listeners", {{"kernel", c.udp_steered}, {"handover", c.udp_handed_over}}},
        {"options_answered", c.options_answered},
        {"nat_keepalives_sent", c.keepalives_sent}}},
      {"proxy",
       {{"requests_forwarded", p.requests_forwarded},
        {"responses_forwarded", p.responses_forwarded},
        {"stateless_forwarded", p.stateless_forwarded},
        {"challenges", p.challenges},
        {"auth_failures", p.auth_failures},
        {"loops", p.loops},
        {"too_many_hops", p.too_many_hops},
        {"not_found", p.not_found},
        {"unavailable", p.unavailable},
        {"call_limit_refusals", p.call_limit_refusals},
        {"cancels", p.cancels},
        {"no_answer_timeouts", p.no_answer_timeouts},
        {"contexts", p.contexts}}},
      {"transport",
       {{"by_kind", by_kind},
        {"connections",
         {{"open", tr.connections_open},
          {"accepted", tr.connections_accepted},
          {"opened", tr.connections_opened},
          {"closed", tr.connections_closed},
          {"idle_closed", tr.connections_idle_closed}}},
        {"dropped_oversize", tr.dropped_oversize},
        {"dropped_malformed", tr.dropped_malformed},
        {"send_failures", tr.send_failures},
        {"keepalive_pongs", tr.keepalive_pongs},
        {"tls_handshake_failures", tr.tls_handshake_failures},
        {"ws_upgrades_refused", tr.ws_upgrades_refused}}},
  };
  if (s.store) {
    const store::StoreStats& st = *s.store;
    out["store"] = {{"queue_depth", st.queue_depth},
                    {"enqueued", st.enqueued},
                    {"committed", st.committed},
                    {"batches", st.batches},
                    {"write_errors", st.write_errors},
                    {"rejected", st.rejected},
                    {"backpressure_waits", st.backpressure_waits},
                    {"last_error", st.last_error},
                    {"refreshes",
                     {{"accepted", st.refreshes},
                      {"pending", st.refreshes_pending},
                      {"coalesced", st.refreshes_coalesced},
                      {"superseded", st.refreshes_superseded},
                      {"queued", st.refreshes_queued},
                      {"written", st.refreshes_written}}}};
  }
  if (s.media) {
    const media::RelayCounters& r = s.media->relay;
    out["media"] = {{"calls", r.calls},
                    {"streams", r.streams},
                    {"ports_in_use", r.ports_in_use},
                    {"ports_free", r.ports_free},
                    {"packets_relayed", r.packets_relayed},
                    {"octets_relayed", r.octets_relayed},
                    {"packets_dropped", r.packets_dropped},
                    {"allocation_failures", r.allocation_failures},
                    {"timeouts", r.timeouts},
                    {"quality_records", s.media->records},
                    {"mos_mean", s.media->records ? s.media->mos_sum / static_cast<double>(s.media->records) : 0.0}};
  }
  return out;
}

std::string prometheus_text(const StatusSnapshot& s) {
  Exposition out;
  general_metrics(out, s);
  message_metrics(out, s);
  transaction_metrics(out, s);
  registration_metrics(out, s);
  proxy_metrics(out, s);
  transport_metrics(out, s);
  if (s.store) store_metrics(out, *s.store);
  if (s.media) media_metrics(out, *s.media);
  return out.take();
}

}  // namespace sipbox::app
