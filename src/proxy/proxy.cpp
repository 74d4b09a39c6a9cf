// The request path of the stateful proxy: RFC 3261 16.3 (validation), 16.4 (route
// information), 16.5 (targets), 16.6 (forwarding), 16.10 (CANCEL), 16.11 (stateless ACK).
#include <algorithm>
#include <functional>
#include <stdexcept>

#include "base/hex.h"
#include "proxy/context.h"
#include "proxy/media_anchor.h"

namespace sipbox::proxy {
namespace {

bool is_ipv6(std::string_view address) { return address.find(':') != std::string_view::npos; }

// Requests that establish a dialog get a Record-Route (16.6 step 4).
bool creates_dialog(sip::Method method) {
  return method == sip::Method::Invite || method == sip::Method::Subscribe || method == sip::Method::Refer;
}

// Requests authenticated when they come from a local user (Kamailio's default policy:
// everything but hop-by-hop and in-dialog requests).
bool needs_authentication(sip::Method method) {
  return method != sip::Method::Ack && method != sip::Method::Cancel && method != sip::Method::Prack;
}

std::string via_value(const Interface& interface, std::string_view branch) {
  std::string out = "SIP/2.0/";
  out += transport_name(interface.kind);
  out += ' ';
  out += interface.host;
  out += ':';
  out += std::to_string(interface.port);
  out += ";branch=";
  out += branch;
  return out;
}

std::string record_route_value(const Interface& interface) {
  std::string out = "<sip:" + interface.host + ":" + std::to_string(interface.port);
  if (interface.kind != TransportKind::Udp) out += ";transport=" + sip::ascii_lower(transport_name(interface.kind));
  out += ";lr>";
  return out;
}

std::size_t first_index_of(const sip::Message& message, sip::HeaderId id) {
  const auto fields = message.headers();
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].id == id) return i;
  return fields.size();
}

// The Route values after the ones this proxy pops, as URIs.
const sip::Uri* route_uri(const sip::Message& request, std::size_t index) {
  const auto routes = request.routes();
  return index < routes.size() ? &routes[index].uri : nullptr;
}

}  // namespace

std::string loop_hash(const sip::Message& request) {
  std::string key;
  key.reserve(256);
  key += request.request_uri_text();
  key += '\n';
  key += request.from().tag();
  key += '\n';
  key += request.to().tag();
  key += '\n';
  key += request.call_id();
  key += '\n';
  key += std::to_string(request.cseq().number);
  for (std::string_view v : request.values(sip::HeaderId::ProxyRequire)) {
    key += '\n';
    key += v;
  }
  const std::size_t h = std::hash<std::string>{}(key);
  std::uint8_t bytes[sizeof h];
  for (std::size_t i = 0; i < sizeof h; ++i) bytes[i] = static_cast<std::uint8_t>(h >> (8 * i));
  return to_hex(bytes, sizeof bytes);
}

Proxy::Proxy(Environment env, ProxySettings settings) : env_(std::move(env)), settings_(std::move(settings)) {
  if (env_.relay) media_ = std::make_unique<MediaAnchor>(*env_.relay, env_.media, *env_.self);
}

Proxy::~Proxy() {
  for (auto& [id, context] : contexts_) stop_no_answer_timer(*context);
}

Status Proxy::respond(txn::TransactionId server, const sip::Message& request, int status, std::string_view reason,
                      std::string_view extra_headers) {
  std::string headers(extra_headers);
  headers += "Server: " + settings_.server_name + "\r\n";
  return env_.table->respond(server, sip::simple_response(request, status, reason, headers));
}

void Proxy::on_request(txn::TransactionId server, const sip::Message& request, const Destination& source) {
  // 16.3: reasonable syntax is the parser's; here the scheme, Max-Forwards, loops and
  // Proxy-Require.
  const sip::Uri& ruri = request.request_uri();
  if (!ruri.is_sip() && ruri.kind != sip::UriScheme::Tel) {
    (void)respond(server, request, 416, "Unsupported URI Scheme");
    return;
  }
  if (request.max_forwards() == 0) {
    ++stats_.too_many_hops;
    (void)respond(server, request, 483, "Too Many Hops");
    return;
  }
  const std::string hash = loop_hash(request);
  for (const sip::Via& via : request.vias()) {
    if (via.branch().size() > hash.size() && via.branch().ends_with(hash) &&
        via.branch()[via.branch().size() - hash.size() - 1] == '-' && env_.self->is_self(via.host, via.port)) {
      ++stats_.loops;
      (void)respond(server, request, 482, "Loop Detected");
      return;
    }
  }
  if (request.header(sip::HeaderId::ProxyRequire)) {
    std::string unsupported;
    for (std::string_view tag : request.values(sip::HeaderId::ProxyRequire))
      unsupported += (unsupported.empty() ? "" : ", ") + std::string(tag);
    (void)respond(server, request, 420, "Bad Extension", "Unsupported: " + unsupported + "\r\n");
    return;
  }

  auto context = std::make_unique<Context>();
  context->server = server.value;
  context->source = source;
  context->invite = request.method_id() == sip::Method::Invite;
  context->loop_hash = hash;

  // 16.4: a strict router put our Record-Route into the Request-URI; then our own
  // Route values (two after a double Record-Route) are popped.
  std::size_t route = 0;
  const auto routes = request.routes();
  if (env_.self->is_self(ruri) && !routes.empty() && request.to().tag().size()) {
    context->strict_route = true;
  }
  const std::size_t usable = routes.size() - (context->strict_route ? 1 : 0);
  while (route < usable && route < 2 && env_.self->is_self(routes[route].uri)) ++route;
  context->routes_to_pop = route;
  const sip::Uri* next_route = route < usable ? route_uri(request, route) : nullptr;
  const sip::Uri& target_uri = context->strict_route ? routes.back().uri : ruri;

  std::vector<Target> targets;
  ActiveCalls::Party caller;
  ActiveCalls::Party callee;
  const bool in_dialog = !request.to().tag().empty();
  // A dialog-creating request with a pre-loaded route beyond us would be relayed without
  // authentication wherever it says: refused, as in Kamailio's default configuration.
  if (next_route && !in_dialog) {
    (void)respond(server, request, 403, "Forbidden (Preload Route denied)");
    return;
  }
  if (next_route || in_dialog) {
    // A route set (pre-loaded, or the dialog's) or a dialog's remote target: no lookup,
    // no authentication (the dialog was authorized when it was created).
    const sip::Uri& hop = next_route ? *next_route : target_uri;
    if (!next_route && env_.self->is_self(hop)) {
      (void)respond(server, request, 481, "Call/Transaction Does Not Exist");
      return;
    }
    // An in-dialog request that names no route through us is not ours to relay (as
    // Kamailio's default "404 Not here"): otherwise anyone could send anything anywhere.
    if (!next_route && context->routes_to_pop == 0 && !context->strict_route) {
      (void)respond(server, request, 404, "Not Here");
      return;
    }
    auto destination = destination_for(hop);
    if (!destination) {
      (void)respond(server, request, 503, "Service Unavailable (next hop needs DNS)");
      return;
    }
    Target t;
    if (context->strict_route) t.request_uri = std::string(target_uri.text);
    t.next_hop = *destination;
    targets.push_back(std::move(t));
    context->groups.push_back(std::move(targets));
  } else {
    const std::string from_domain = sip::ascii_lower(request.from().uri.host);
    const bool from_local = env_.directory->is_local_domain(from_domain);
    if (from_local && needs_authentication(request.method_id())) {
      bool consumed = false;
      if (!authenticate(server, request, source, consumed)) return;
      if (consumed) context->consumed_realm = env_.directory->realm(from_domain);
      if (request.method_id() == sip::Method::Invite) {
        const std::string account = sip::unescape(request.from().uri.user);
        if (env_.on_call_attempt && !env_.on_call_attempt(source, account, sip::unescape(ruri.user))) {
          (void)respond(server, request, 403, "Forbidden (toll fraud signal)");
          return;
        }
        caller.account = account + "@" + from_domain;
        if (auto record = env_.directory->user(account, from_domain)) caller.limit = record->max_concurrent_calls;
      }
    }
    std::string domain = sip::ascii_lower(ruri.host);
    const bool to_local = ruri.is_sip() && (env_.directory->is_local_domain(domain) || env_.self->is_self(ruri));
    if (!to_local) {
      if (!from_local) {
        (void)respond(server, request, 403, "Forbidden (relaying denied)");
        return;
      }
      auto destination = destination_for(ruri);
      if (!destination) {
        (void)respond(server, request, 503, "Service Unavailable (destination needs DNS)");
        return;
      }
      context->groups.push_back({Target{{}, *destination, {}}});
    } else {
      if (!env_.directory->is_local_domain(domain)) domain = env_.directory->default_domain();  // sip:bob@<our address>
      const std::string user = sip::unescape(ruri.user);
      const std::string aor = std::string(ruri.kind == sip::UriScheme::Sips ? "sips:" : "sip:") + user + "@" + domain;
      const auto bindings = env_.location->lookup(aor, registrar::Clock::now());
      const auto callee_record = env_.directory->user(user, domain);
      if (callee_record) callee = {user + "@" + domain, callee_record->max_concurrent_calls};
      if (bindings.empty()) {
        if (callee_record) {
          ++stats_.unavailable;
          (void)respond(server, request, 480, "Temporarily Unavailable");
        } else {
          ++stats_.not_found;
          if (env_.on_unknown_user) env_.on_unknown_user(source, user);
          (void)respond(server, request, 404, "Not Found");
        }
        return;
      }
      // 16.6 with RFC 3261 q-values: one group per q, tried in turn (serial forking),
      // the contacts of a group in parallel.
      int group_q = -1;
      for (const registrar::Registration& r : bindings) {
        Target t;
        t.request_uri = r.binding.contact;
        std::optional<Destination> destination;
        if (!r.binding.path.empty()) {
          t.routes = r.binding.path;
          auto path = sip::parse_name_addr(t.routes.front());
          if (path) destination = destination_for(path->uri);
        } else if (r.send_to_source) {
          Destination d;
          d.address = r.binding.received.address;
          d.port = r.binding.received.port;
          d.transport = transport_from_name(r.binding.received.transport).value_or(TransportKind::Udp);
          destination = d;
          t.behind_nat = true;
        } else if (auto contact = sip::parse_uri(r.binding.contact)) {
          destination = destination_for(*contact);
        }
        if (!destination) continue;
        t.next_hop = *destination;
        if (r.binding.q != group_q) {
          context->groups.emplace_back();
          group_q = r.binding.q;
        }
        context->groups.back().push_back(std::move(t));
      }
      if (context->groups.empty()) {
        ++stats_.unavailable;
        (void)respond(server, request, 480, "Temporarily Unavailable (no reachable contact)");
        return;
      }
    }
  }

  if (context->invite && !in_dialog && env_.active_calls) {
    if (!admit_call(server, request, source, caller, callee)) return;
    context->counted = true;
  }
  if (in_dialog && request.method_id() == sip::Method::Bye && env_.active_calls)
    env_.active_calls->end(request.call_id());

  context->record_route = settings_.record_route && creates_dialog(request.method_id()) && !in_dialog;
  context->request = request.serialize();
  context->call_id = std::string(request.call_id());
  context->method = request.method_id();
  context->initial_invite = context->invite && !in_dialog;
  if (media_ && (context->initial_invite || in_dialog)) {
    sip::Message copy;  // the anchor edits the SDP of what goes on
    if (!context->parse_request(copy)) {
      (void)respond(server, request, 500, "Server Internal Error");
      return;
    }
    if (context->initial_invite) {
      const Target& first = context->groups.front().front();
      const bool nat = std::any_of(context->groups.begin(), context->groups.end(), [](const auto& group) {
        return std::any_of(group.begin(), group.end(), [](const Target& t) { return t.behind_nat; });
      });
      media_->on_invite(copy, source, first.next_hop, nat);
    } else {
      media_->on_request(copy);
    }
    if (copy.modified()) context->request = copy.serialize();
  }
  // 16.2: an INVITE gets its 100 Trying at once, so the caller stops retransmitting.
  if (context->invite) (void)respond(server, request, 100, "Trying");
  Context& ref = *context;
  contexts_.emplace(server.value, std::move(context));
  ++stats_.contexts;
  start_group(ref);
}

bool Proxy::admit_call(txn::TransactionId server, const sip::Message& request, const Destination& source,
                       const ActiveCalls::Party& caller, const ActiveCalls::Party& callee) {
  const auto admission = env_.active_calls->begin(request.call_id(), caller, callee, ActiveCalls::Clock::now());
  if (admission.refusal == ActiveCalls::Refusal::none) return true;
  ++stats_.call_limit_refusals;
  if (admission.refusal == ActiveCalls::Refusal::callee_limit) {
    (void)respond(server, request, 486, "Busy Here");
    return false;
  }
  if (env_.on_call_limit) env_.on_call_limit(source, caller.account, admission.active, admission.limit);
  (void)respond(server, request, 403, "Forbidden (too many concurrent calls)");
  return false;
}

bool Proxy::authenticate(txn::TransactionId server, const sip::Message& request, const Destination& source,
                         bool& consumed) {
  const std::string domain = sip::ascii_lower(request.from().uri.host);
  const std::string realm = env_.directory->realm(domain);
  const auto now = registrar::Clock::now();
  const auto verdict = env_.auth->verify(request, sip::HeaderId::ProxyAuthorization, realm,
                                         registrar::ha1_lookup(*env_.directory, domain), now);
  using Outcome = registrar::DigestAuthenticator::Outcome;
  switch (verdict.outcome) {
    case Outcome::Authenticated:
      if (verdict.user != sip::unescape(request.from().uri.user)) {
        (void)respond(server, request, 403, "Forbidden (From is not the authenticated user)");
        return false;
      }
      consumed = true;
      return true;
    case Outcome::Malformed:
      (void)respond(server, request, 400, "Bad Request (malformed credentials: " + verdict.reason + ")");
      return false;
    case Outcome::Failed:
      ++stats_.auth_failures;
      if (env_.on_auth_failure) {
        registrar::AuthFailure failure;
        failure.user = verdict.user;
        failure.realm = realm;
        failure.reason = verdict.reason;
        failure.source.address = source.address;
        failure.source.port = source.port;
        failure.source.transport = sip::ascii_lower(transport_name(source.transport));
        env_.on_auth_failure(failure);
      }
      break;
    case Outcome::NoCredentials:
    case Outcome::Stale:
      ++stats_.challenges;
      break;
  }
  std::string challenges;
  for (const std::string& c : env_.auth->challenges(realm, verdict.outcome == Outcome::Stale, now))
    challenges += "Proxy-Authenticate: " + c + "\r\n";
  (void)respond(server, request, 407, "Proxy Authentication Required", challenges);
  return false;
}

void Proxy::start_group(Context& context) {
  while (context.next_group < context.groups.size()) {
    const std::vector<Target> group = std::move(context.groups[context.next_group++]);
    const std::size_t before = context.branches.size();
    for (const Target& target : group) forward(context, target);
    if (std::any_of(context.branches.begin() + static_cast<std::ptrdiff_t>(before), context.branches.end(),
                    [](const Branch& b) { return !b.final; }))
      return;
  }
  finish_if_done(context);
}

void Proxy::forward(Context& context, const Target& target) try {
  sip::Message m;  // views context.request; the edits keep text of their own
  if (!context.parse_request(m)) return;
  const int received_forwards = m.max_forwards();
  // 16.4 / 16.6 step 1-2: Request-URI, our Route values.
  if (context.strict_route) sip::remove_last_value(m, sip::HeaderId::Route);
  for (std::size_t i = 0; i < context.routes_to_pop; ++i) sip::remove_first_value(m, sip::HeaderId::Route);
  if (!target.request_uri.empty()) m.set_request_uri(target.request_uri);
  // Step 3: Max-Forwards.
  const std::size_t mf = first_index_of(m, sip::HeaderId::MaxForwards);
  const int forwards =
      received_forwards < 0 ? settings_.max_forwards : std::min<int>(received_forwards - 1, settings_.max_forwards);
  if (mf < m.headers().size())
    m.set_header_value(mf, std::to_string(forwards));
  else
    m.append_header(sip::HeaderId::MaxForwards, std::to_string(forwards));
  // Credentials meant for this proxy go no further (Kamailio's consume_credentials).
  if (!context.consumed_realm.empty()) {
    for (std::size_t i = m.headers().size(); i-- > 0;) {
      if (m.headers()[i].id != sip::HeaderId::ProxyAuthorization) continue;
      auto auth = sip::parse_auth(m.headers()[i].value);
      if (auth && sip::unquote(auth->params.get("realm")) == context.consumed_realm) m.remove_header(i);
    }
  }
  // Path values become Route values in front (RFC 3327 5.3).
  if (!target.routes.empty()) {
    std::size_t at = first_index_of(m, sip::HeaderId::Route);
    for (const std::string& route : target.routes) m.insert_header(at++, sip::HeaderId::Route, route);
  }
  const bool ipv6 = is_ipv6(target.next_hop.address);
  const Interface* out = env_.self->interface_for(target.next_hop.transport, ipv6);
  if (!out) out = env_.self->interface_for(TransportKind::Udp, ipv6);
  if (!out) return;
  // Step 4: Record-Route; two when the request changes transport or address family.
  if (context.record_route) {
    const Interface* in = env_.self->interface_for(context.source.transport, is_ipv6(context.source.address));
    m.insert_header(0, sip::HeaderId::RecordRoute, record_route_value(*out));
    if (in && (in->kind != out->kind || in->host != out->host || in->port != out->port))
      m.insert_header(1, sip::HeaderId::RecordRoute, record_route_value(*in));
  }
  // Step 8: our Via with a branch that carries the loop hash.
  m.insert_header(0, sip::HeaderId::Via, via_value(*out, env_.table->new_branch() + "-" + context.loop_hash));
  Branch branch;
  branch.destination = target.next_hop;
  const std::size_t index = context.branches.size();
  context.branches.push_back(std::move(branch));
  auto client = env_.table->send_request(m, target.next_hop);
  if (!client) {
    context.branches.pop_back();
    return;
  }
  Branch& b = context.branches[index];
  b.client = *client;
  ++stats_.requests_forwarded;
  // A transport error inside send_request ended the transaction before its id was known
  // here (on_transport_error found no branch): the branch failed as on_transport_error says.
  if (!env_.table->info(*client)) {
    b.final = true;
    b.last_status = b.final_status = 503;
    b.final_reason = "Service Unavailable (transport error)";
    return;
  }
  client_to_server_[client->value] = context.server;
} catch (const std::invalid_argument&) {
  // A stored contact or path that does not fit into a request: the target is skipped.
}

void Proxy::on_cancel(txn::TransactionId server, const sip::Message& cancel) {
  const auto target = env_.table->cancel_target(cancel);
  if (!target) {
    (void)respond(server, cancel, 481, "Call/Transaction Does Not Exist");
    return;
  }
  // 9.2: the CANCEL matched a transaction, so it gets its 200 even when the INVITE has
  // had its final response (and the context is gone): then it changes nothing.
  (void)respond(server, cancel, 200, "OK");
  auto found = contexts_.find(target->value);
  if (found == contexts_.end()) return;
  Context& context = *found->second;
  if (context.final_sent) return;
  ++stats_.cancels;
  context.cancelled = true;
  context.next_group = context.groups.size();
  cancel_branches(context);
  // Nothing has answered yet, so no branch can be cancelled now (9.1): the caller gets
  // its 487 at once and the branches are cancelled when they speak.
  const bool any_provisional = std::any_of(context.branches.begin(), context.branches.end(),
                                           [](const Branch& b) { return b.last_status >= 100 && !b.final; });
  sip::Message invite;
  if (!any_provisional && context.parse_request(invite)) {
    context.final_sent = true;
    (void)respond(txn::TransactionId{context.server}, invite, 487, "Request Terminated");
  }
}

void Proxy::on_stray_ack(const sip::Message& ack) {
  // 16.11 with 16.4: our Route values go, the rest of the route set or the Request-URI
  // says where.
  const auto routes = ack.routes();
  std::size_t route = 0;
  while (route < routes.size() && route < 2 && env_.self->is_self(routes[route].uri)) ++route;
  const sip::Uri& hop = route < routes.size() ? routes[route].uri : ack.request_uri();
  if (route == routes.size() && env_.self->is_self(hop)) return;  // ours: nothing to do
  if (route == 0 && routes.empty()) return;                       // not routed through us: no relay
  auto destination = destination_for(hop);
  if (!destination) return;
  auto built = sip::OwnedMessage::parse(ack.serialize());
  if (!built) return;
  sip::Message& m = built->get();
  if (media_) media_->on_request(m);  // an answer in the ACK (late offer)
  for (std::size_t i = 0; i < route; ++i) sip::remove_first_value(m, sip::HeaderId::Route);
  const std::size_t mf = first_index_of(m, sip::HeaderId::MaxForwards);
  if (mf < m.headers().size()) {
    if (ack.max_forwards() <= 0) return;
    m.set_header_value(mf, std::to_string(ack.max_forwards() - 1));
  }
  const Interface* out = env_.self->interface_for(destination->transport, is_ipv6(destination->address));
  if (!out) return;
  // 16.11: a stateless branch must be the same for retransmissions: derived from the
  // incoming one.
  const std::size_t h = std::hash<std::string_view>{}(ack.top_via().branch());
  m.insert_header(0, sip::HeaderId::Via, via_value(*out, "z9hG4bKsl" + std::to_string(h)));
  if (env_.sender->send(*destination, m.serialize())) ++stats_.stateless_forwarded;
}

}  // namespace sipbox::proxy
