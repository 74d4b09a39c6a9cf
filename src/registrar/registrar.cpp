// REGISTER handling: RFC 3261 10.3 steps 1-8, RFC 3327 (Path), RFC 5626 (outbound).
#include "registrar/registrar.h"

#include <limits>

#include "registrar/response.h"

namespace sipbox::registrar {
namespace {

using sip::unfold;
constexpr auto lower = [](std::string_view text) { return sip::ascii_lower(text); };

bool has_token(const sip::Message& m, sip::HeaderId id, std::string_view token) {
  for (std::string_view v : m.values(id))
    if (lower(v) == token) return true;
  return false;
}

}  // namespace

Registrar::Registrar(const Directory& directory, Location& location, DigestAuthenticator& auth,
                     RegistrarSettings settings, FailureCallback on_failure)
    : directory_(directory), location_(location), auth_(auth), settings_(settings), on_failure_(std::move(on_failure)) {}

RegistrarStats Registrar::stats() const {
  return RegistrarStats{counters_.requests.load(), counters_.accepted.load(),  counters_.challenges.load(),
                        counters_.auth_failures.load(), counters_.rejected.load(), counters_.added.load(),
                        counters_.refreshed.load(), counters_.removed.load()};
}

Response Registrar::reject(const sip::Message& request, int status, std::string_view reason, Clock::time_point,
                           std::string_view extra_headers) {
  if (status != 401) ++counters_.rejected;
  std::string text = sip::response_head(request, status, reason);
  text += extra_headers;
  sip::finish_response(text);
  return Response{status, std::string(reason), std::move(text)};
}

Ha1Lookup ha1_lookup(const Directory& directory, std::string domain) {
  return [&directory, domain = std::move(domain)](std::string_view user, std::string_view,
                                                  sip::DigestAlgorithm a) -> std::optional<std::string> {
    auto record = directory.user(user, domain);
    if (!record || !record->enabled) return std::nullopt;
    const std::string& h = a == sip::DigestAlgorithm::Md5 ? record->ha1_md5 : record->ha1_sha256;
    if (h.empty()) return std::nullopt;
    return h;
  };
}

Response Registrar::handle(const sip::Message& request, const Source& source, Clock::time_point now) {
  ++counters_.requests;
  if (request.method_id() != sip::Method::Register)
    return reject(request, 405, "Method Not Allowed", now, "Allow: REGISTER\r\n");

  // Step 1: the Request-URI names the domain whose bindings are modified.
  const sip::Uri& ruri = request.request_uri();
  if (!ruri.is_sip()) return reject(request, 416, "Unsupported URI Scheme", now);
  const std::string domain = lower(ruri.host);
  if (!directory_.is_local_domain(domain)) return reject(request, 404, "Not Found (domain not served here)", now);

  // Step 2: extensions the UA requires: this registrar supports path and outbound.
  std::string unsupported;
  for (std::string_view tag : request.values(sip::HeaderId::Require)) {
    const std::string t = lower(tag);
    if (t == "path" || t == "outbound") continue;
    unsupported += (unsupported.empty() ? "" : ", ") + std::string(tag);
  }
  if (!unsupported.empty()) return reject(request, 420, "Bad Extension", now, "Unsupported: " + unsupported + "\r\n");

  // Step 3: authentication (RFC 3261 22, RFC 7616) against the domain's realm.
  const std::string realm = directory_.realm(domain);
  const Ha1Lookup ha1 = ha1_lookup(directory_, domain);
  const auto verdict = auth_.verify(request, sip::HeaderId::Authorization, realm, ha1, now);
  switch (verdict.outcome) {
    case DigestAuthenticator::Outcome::Authenticated: break;
    case DigestAuthenticator::Outcome::Malformed:
      return reject(request, 400, "Bad Request (malformed credentials: " + verdict.reason + ")", now);
    case DigestAuthenticator::Outcome::Failed:
      ++counters_.auth_failures;
      if (on_failure_) on_failure_(AuthFailure{verdict.user, realm, source, verdict.reason});
      [[fallthrough]];
    case DigestAuthenticator::Outcome::NoCredentials:
    case DigestAuthenticator::Outcome::Stale: {
      if (verdict.outcome != DigestAuthenticator::Outcome::Failed) ++counters_.challenges;
      std::string challenges;
      for (const std::string& c : auth_.challenges(realm, verdict.outcome == DigestAuthenticator::Outcome::Stale, now))
        challenges += "WWW-Authenticate: " + c + "\r\n";
      return reject(request, 401, "Unauthorized", now, challenges);
    }
  }

  // Step 5 (before 4, so that only an authenticated client learns whether an AOR
  // exists): the To URI is an address-of-record of this domain, of an enabled user.
  const sip::Uri& to = request.to().uri;
  auto aor = normalize_aor(to);
  if (!aor) return reject(request, 404, "Not Found (" + aor.error().message + ")", now);
  if (lower(to.host) != domain) return reject(request, 404, "Not Found (To domain differs from Request-URI)", now);
  const std::string user = sip::unescape(to.user);
  const auto record = directory_.user(user, domain);
  if (!record || !record->enabled) return reject(request, 404, "Not Found", now);

  // Step 4: the credentials must be the AOR's own user (no third-party registration).
  if (verdict.user != user) return reject(request, 403, "Forbidden (credentials are for another user)", now);

  // Expires header: the default for contacts without an expires parameter (10.2.1.1).
  std::optional<std::uint32_t> header_expires;
  if (const auto* field = request.header(sip::HeaderId::Expires)) {
    auto parsed = sip::parse_number(unfold(field->value), std::numeric_limits<std::uint32_t>::max());
    if (!parsed) return reject(request, 400, "Bad Request (malformed Expires)", now);
    header_expires = *parsed;
  }

  Update update;
  update.aor = *aor;
  update.call_id = std::string(request.call_id());
  update.cseq = request.cseq().number;
  update.received = source;
  update.max_contacts = settings_.max_contacts_per_aor;
  for (std::string_view p : request.values(sip::HeaderId::Path)) update.path.push_back(unfold(p));
  if (const auto* ua = request.header(sip::HeaderId::UserAgent)) update.user_agent = unfold(ua->value);

  // Step 6: "Contact: *" only alone and with Expires: 0.
  if (request.contact_star()) {
    if (!request.contacts().empty() || header_expires != 0u)
      return reject(request, 400, "Bad Request (Contact * needs Expires: 0 and no other Contact)", now);
    update.remove_all = true;
  }

  // Step 7, first half: the expiry of every contact, refused or bounded before anything
  // changes.
  bool outbound = false;
  for (const sip::NameAddr& contact : request.contacts()) {
    if (!contact.uri.is_sip()) return reject(request, 400, "Bad Request (Contact is not a sip or sips URI)", now);
    std::uint32_t expires = contact_expires(contact).value_or(header_expires.value_or(settings_.default_expires));
    if (expires != 0 && expires < settings_.min_expires)
      return reject(request, 423, "Interval Too Brief", now,
                    "Min-Expires: " + std::to_string(settings_.min_expires) + "\r\n");
    expires = std::min(expires, settings_.max_expires);
    ContactUpdate c;
    c.contact = std::string(contact.uri.text);
    c.expires = expires;
    c.q = sip::contact_q(contact);
    c.instance = std::string(contact.params.get("+sip.instance"));
    if (auto reg_id = contact.params.find("reg-id")) {
      auto n = sip::parse_number(sip::unquote(reg_id->value), std::numeric_limits<std::uint32_t>::max());
      if (!n || *n == 0) return reject(request, 400, "Bad Request (malformed reg-id)", now);
      c.reg_id = *n;
    }
    // RFC 5626 6: reg-id without +sip.instance is ignored.
    if (c.instance.empty()) c.reg_id = 0;
    outbound = outbound || c.reg_id != 0;
    update.contacts.push_back(std::move(c));
  }

  // Step 7, second half: the Call-ID/CSeq rule and the contact limit, then the change.
  UpdateResult result;
  if (update.remove_all || !update.contacts.empty()) {
    result = location_.apply(update, now);
  } else {
    result.current = location_.lookup(update.aor, now);  // a query (10.2.3)
  }
  switch (result.status) {
    case UpdateResult::Status::Ok: break;
    // RFC 3261 10.3 step 7: "the update MUST be aborted and the request fails" (no code
    // named); 400, see docs/registrar.md.
    case UpdateResult::Status::OutOfOrder:
      return reject(request, 400, "Bad Request (CSeq not higher than the registered one for this Call-ID)", now);
    case UpdateResult::Status::TooMany:
      return reject(request, 403, "Forbidden (too many registered contacts)", now);
  }
  counters_.added += result.added;
  counters_.refreshed += result.refreshed;
  counters_.removed += result.removed;
  ++counters_.accepted;

  // Step 8: 200 with every current binding, its expiry, and Date.
  std::string text = sip::response_head(request, 200, "OK");
  for (const Registration& r : result.current) text += "Contact: " + detail::contact_value(r, now) + "\r\n";
  // RFC 3327 5.3: Path echoed to a UA that supports it.
  if (!update.path.empty() && has_token(request, sip::HeaderId::Supported, "path"))
    for (const std::string& p : update.path) text += "Path: " + p + "\r\n";
  // RFC 5626 6: Require: outbound when the registrar applied outbound procedures.
  if (outbound) text += "Require: outbound\r\n";
  text += "Supported: path, outbound\r\n";
  text += "Date: " + detail::http_date(now) + "\r\n";
  sip::finish_response(text);
  return Response{200, "OK", std::move(text)};
}

}  // namespace sipbox::registrar
