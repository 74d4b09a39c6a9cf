// The response path of the stateful proxy: RFC 3261 16.7 (response processing and the
// choice of the best final response), 16.8 (timers), 16.10 (cancelling branches).
#include <algorithm>

#include "proxy/context.h"
#include "proxy/media_anchor.h"

namespace sipbox::proxy {
namespace {

// Lower is better (16.7 step 6): 6xx, then 3xx, 4xx, 5xx; within a class the specific
// answers before the ones a proxy makes up (408 timeout, 503 unreachable).
int rank(int status) {
  if (status >= 600) return 0;
  const int base = (status / 100) * 10;
  if (status == 408 || status == 503) return base + 5;
  return base;
}

bool is_challenge(int status) { return status == 401 || status == 407; }

}  // namespace

std::size_t best_branch(const std::vector<Branch>& branches) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < branches.size(); ++i)
    if (rank(branches[i].final_status) < rank(branches[best].final_status)) best = i;
  return best;
}

Proxy::Context* Proxy::context_of_client(txn::TransactionId client, std::size_t& branch) {
  auto server = client_to_server_.find(client.value);
  if (server == client_to_server_.end()) return nullptr;
  auto context = contexts_.find(server->second);
  if (context == contexts_.end()) return nullptr;
  auto& branches = context->second->branches;
  for (std::size_t i = 0; i < branches.size(); ++i) {
    if (branches[i].client == client) {
      branch = i;
      return context->second.get();
    }
  }
  return nullptr;
}

void Proxy::on_response(txn::TransactionId client, const sip::Message& response) {
  std::size_t index = 0;
  Context* context = context_of_client(client, index);
  const int status = response.status_code();
  if (!context) {
    // A 2xx whose context is gone (RFC 6026: the server transaction has ended) still
    // goes upstream; the responses to our own CANCELs end here.
    if (status >= 200 && status < 300 && response.cseq().method == "INVITE") on_stray_response(response);
    return;
  }
  Branch& branch = context->branches[index];
  if (status < 200) {
    branch.last_status = status;
    if (branch.cancel_pending && !branch.cancel_sent) send_cancel(*context, index);
    if (status == 100) return;  // 16.7 step 5: not forwarded
    if (context->invite && !context->ringing && !context->final_sent && !context->cancelled) {
      context->ringing = true;
      const std::uint64_t server = context->server;
      context->no_answer = env_.timers->schedule(settings_.no_answer_timeout, [this, server] { on_no_answer(server); });
    }
    if (!context->final_sent) forward_response(*context, response);
    return;
  }
  if (status < 300) {
    branch.last_status = status;
    branch.final = true;
    branch.final_status = status;
    if (context->invite) {
      if (!context->answered) ++stats_.dialogs_established;
      if (context->counted && !context->answered)
        env_.active_calls->confirmed(context->call_id, ActiveCalls::Clock::now());
      context->answered = true;
      stop_no_answer_timer(*context);
      context->next_group = context->groups.size();
      cancel_branches(*context);  // 16.7 step 10
    } else if (context->method == sip::Method::Bye && !context->final_sent) {
      ++stats_.dialogs_ended;
    }
    // Every 2xx to an INVITE goes upstream (16.7 step 5), also after the first.
    if (!context->final_sent || context->invite) forward_response(*context, response);
    context->final_sent = true;
    release_if_finished(*context);
    return;
  }
  branch_final(*context, index, status, response.reason_phrase(), &response);
}

void Proxy::branch_final(Context& context, std::size_t index, int status, std::string_view reason,
                         const sip::Message* response) {
  Branch& branch = context.branches[index];
  if (branch.final) return;
  branch.final = true;
  branch.last_status = status;
  branch.final_status = status;
  branch.final_reason = std::string(reason);
  if (response) branch.final_response = response->serialize();
  if (status >= 600 && context.invite) {
    context.next_group = context.groups.size();
    cancel_branches(context);  // 16.7 step 5: a 6xx ends the search
  }
  finish_if_done(context);
}

void Proxy::finish_if_done(Context& context) {
  if (!context.all_branches_final()) return;
  if (!context.final_sent && !context.cancelled && context.next_group < context.groups.size()) {
    start_group(context);  // serial forking: the next q group
    return;
  }
  if (!context.final_sent) send_best(context);
  release_if_finished(context);
}

void Proxy::release_if_finished(Context& context) {
  // The final response went upstream and every branch has ended: the server transaction
  // repeats that response and absorbs the ACK by itself, a later 2xx goes upstream
  // without a context (on_response), and a CANCEL gets its 200 from on_cancel. Kept until
  // Timer L, a context would only hold memory.
  if (context.final_sent && context.all_branches_final()) drop_context(context.server);
}

void Proxy::send_best(Context& context) {
  context.final_sent = true;
  if (context.counted && !context.answered) {
    env_.active_calls->end(context.call_id);
    context.counted = false;
  }
  if (media_ && context.initial_invite && !context.answered)
    media_->end(context.call_id, context.cancelled ? media::EndReason::cancelled : media::EndReason::failed);
  stop_no_answer_timer(context);
  const txn::TransactionId server{context.server};
  sip::Message request;
  if (!context.parse_request(request)) return;
  if (context.branches.empty()) {
    (void)respond(server, request, 503, "Service Unavailable (no target reachable)");
    return;
  }
  const Branch& best = context.branches[best_branch(context.branches)];
  if (best.final_status == 503) {
    (void)respond(server, request, 500, "Server Internal Error (next hop unavailable)");  // 16.7 step 6
    return;
  }
  sip::Message response;
  if (best.final_response.empty() || !sip::parse_message(best.final_response, sip::Framing::Datagram, response)) {
    (void)respond(server, request, best.final_status, best.final_reason);
    return;
  }
  if (is_challenge(best.final_status)) {
    // 16.7 step 7: the challenges of every branch go up together.
    for (const Branch& other : context.branches) {
      sip::Message challenge;
      if (&other == &best || !is_challenge(other.final_status) ||
          !sip::parse_message(other.final_response, sip::Framing::Datagram, challenge))
        continue;
      for (const sip::HeaderField& field : challenge.headers())
        if (field.id == sip::HeaderId::WwwAuthenticate || field.id == sip::HeaderId::ProxyAuthenticate)
          response.append_header(field.id, sip::unfold(field.value));
    }
  }
  forward_response(context, response);
}

// 16.7 step 9 and 18.2.2: our Via goes; the SDP is anchored when the call's media is
// relayed. Unedited responses of unrelayed calls are cut, not parsed again.
std::string Proxy::upstream_response(const sip::Message& response) {
  if (!media_ || !media_->relayed(response.call_id())) {
    if (std::string text = sip::without_first_via(response); !text.empty()) return text;
  }
  auto copy = sip::OwnedMessage::parse(response.serialize());
  if (!copy) return {};
  sip::remove_first_value(copy->get(), sip::HeaderId::Via);
  if (copy->get().vias().empty()) return {};  // it was for us
  if (media_) media_->on_response(copy->get());
  return copy->get().serialize();
}

void Proxy::forward_response(Context& context, const sip::Message& response) {
  // The server transaction sends the rest upstream.
  std::string text = upstream_response(response);
  if (text.empty()) return;
  const Status sent = env_.table->respond(txn::TransactionId{context.server}, std::move(text));
  if (sent) {
    ++stats_.responses_forwarded;
  } else if (context.invite && response.status_code() >= 200 && response.status_code() < 300) {
    // Step 10: a 2xx racing our 487 or 480 finds the server transaction Completed; it
    // still goes upstream (step 5), statelessly.
    on_stray_response(response);
  }
}

void Proxy::on_stray_response(const sip::Message& response) {
  const auto vias = response.vias();
  if (vias.size() < 2 || !env_.self->is_self(vias[0].host, vias[0].port)) return;
  // 18.2.2 with RFC 3581: received and rport of the next Via.
  const sip::Via& next = vias[1];
  Destination to;
  to.address = std::string(next.received().empty() ? next.host : next.received());
  if (to.address.size() >= 2 && to.address.front() == '[') to.address = to.address.substr(1, to.address.size() - 2);
  to.transport = transport_from_name(next.transport).value_or(TransportKind::Udp);
  std::uint16_t port = next.port != 0 ? next.port : (to.transport == TransportKind::Tls ? 5061 : 5060);
  if (auto rport = sip::parse_number(next.rport(), 65535); rport && *rport != 0)
    port = static_cast<std::uint16_t>(*rport);
  to.port = port;
  const std::string text = upstream_response(response);
  if (!text.empty() && env_.sender->send(to, text)) ++stats_.stateless_forwarded;
}

void Proxy::cancel_branches(Context& context) {
  for (std::size_t i = 0; i < context.branches.size(); ++i) {
    Branch& branch = context.branches[i];
    if (branch.final || branch.cancel_sent || !context.invite) continue;
    if (branch.last_status >= 100)
      send_cancel(context, i);
    else
      branch.cancel_pending = true;
  }
}

void Proxy::send_cancel(Context& context, std::size_t index) {
  Branch& branch = context.branches[index];
  // 9.1: Request-URI, Call-ID, To, From, CSeq number and the single Via of the request
  // being cancelled, and its Route values.
  sip::Message invite;
  if (!sip::parse_message(env_.table->sent_request(branch.client), sip::Framing::Datagram, invite)) return;
  branch.cancel_sent = true;
  std::string text = "CANCEL " + std::string(invite.request_uri_text()) + " SIP/2.0\r\n";
  // forward() inserted our Via as a field of its own, the first one.
  for (const sip::HeaderField& field : invite.headers()) {
    if (field.id == sip::HeaderId::Via) {
      text += "Via: " + sip::unfold(field.value) + "\r\n";
      break;
    }
  }
  for (const sip::HeaderField& field : invite.headers()) {
    switch (field.id) {
      case sip::HeaderId::Route:
      case sip::HeaderId::From:
      case sip::HeaderId::To:
      case sip::HeaderId::CallId:
        text += std::string(field.name) + ": " + sip::unfold(field.value) + "\r\n";
        break;
      default:
        break;
    }
  }
  text += "CSeq: " + std::to_string(invite.cseq().number) +
          " CANCEL\r\nMax-Forwards: " + std::to_string(settings_.max_forwards) + "\r\nContent-Length: 0\r\n\r\n";
  auto cancel = sip::OwnedMessage::parse(std::move(text));
  if (!cancel) return;
  (void)env_.table->send_request(cancel->get(), branch.destination);
}

void Proxy::stop_no_answer_timer(Context& context) {
  if (context.no_answer) env_.timers->cancel(context.no_answer);
  context.no_answer = 0;
}

void Proxy::on_no_answer(std::uint64_t server) {
  auto found = contexts_.find(server);
  if (found == contexts_.end()) return;
  Context& context = *found->second;
  context.no_answer = 0;
  if (context.final_sent) return;
  ++stats_.no_answer_timeouts;
  ++stats_.unavailable;
  context.next_group = context.groups.size();
  cancel_branches(context);
  context.final_sent = true;
  sip::Message invite;
  if (context.parse_request(invite))
    (void)respond(txn::TransactionId{server}, invite, 480, "Temporarily Unavailable (no answer)");
}

void Proxy::on_timeout(txn::TransactionId id) {
  std::size_t index = 0;
  if (Context* context = context_of_client(id, index)) branch_final(*context, index, 408, "Request Timeout", nullptr);
}

void Proxy::on_transport_error(txn::TransactionId id) {
  std::size_t index = 0;
  if (Context* context = context_of_client(id, index))
    branch_final(*context, index, 503, "Service Unavailable (transport error)", nullptr);
}

void Proxy::on_terminated(txn::TransactionId id) {
  if (client_to_server_.erase(id.value)) return;
  drop_context(id.value);
}

void Proxy::drop_context(std::uint64_t server) {
  auto found = contexts_.find(server);
  if (found == contexts_.end()) return;
  stop_no_answer_timer(*found->second);
  // A context that ends with neither a 2xx nor a final response sent (a transport
  // failure upstream) must not hold its call slot until the deadline.
  const Context& gone = *found->second;
  if (gone.counted && !gone.answered) env_.active_calls->end(gone.call_id);
  if (media_ && gone.initial_invite && !gone.answered) media_->end(gone.call_id, media::EndReason::failed);
  for (const Branch& branch : found->second->branches) client_to_server_.erase(branch.client.value);
  contexts_.erase(found);
  --stats_.contexts;
}

}  // namespace sipbox::proxy
