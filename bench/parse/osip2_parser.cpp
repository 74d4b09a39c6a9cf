// libosip2 side of bench_parse: parse, read the fields (as sipbox_parser.cpp does), free.
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include <cstdlib>
#include <cstring>

#include "parsers.h"

namespace sipbox::bench {
namespace {

std::uint64_t length(const char* s) { return s ? std::strlen(s) : 0; }

// osip keeps quoted-string values with their quotes; sipbox's reads drop them.
std::uint64_t unquoted_length(const char* s) {
  const std::uint64_t n = length(s);
  return n >= 2 && s[0] == '"' && s[n - 1] == '"' ? n - 2 : n;
}

std::uint64_t number(const char* s) { return s ? std::strtoul(s, nullptr, 10) : 0; }

std::uint64_t param_length(osip_list_t* params, const char* name) {
  osip_generic_param_t* p = nullptr;
  osip_generic_param_get_byname(params, const_cast<char*>(name), &p);  // osip's API is not const-correct
  return p ? length(p->gvalue) : 0;
}

std::uint64_t host_length(const osip_uri_t* uri) { return uri ? length(uri->host) : 0; }

// The same reads, in the same order, as digest() in sipbox_parser.cpp.
std::uint64_t digest(osip_message_t* m) {
  Digest d;
  osip_via_t* via = nullptr;
  osip_message_get_via(m, 0, &via);
  // osip accepts messages that lack mandatory headers; sipbox does not.
  if (!m->cseq || !m->call_id || !m->from || !m->to || !via) return d.value();
  d.add(m->sip_method ? length(m->sip_method) : static_cast<std::uint64_t>(m->status_code));
  d.add(number(m->cseq->number));
  d.add(length(m->cseq->method));
  d.add(length(m->call_id->number) + (m->call_id->host ? 1 + length(m->call_id->host) : 0));
  d.add(m->from->url ? length(m->from->url->username) : 0);
  d.add(param_length(&m->from->gen_params, "tag"));
  d.add(param_length(&m->to->gen_params, "tag"));

  d.add(length(via->host));
  d.add(param_length(&via->via_params, "branch"));
  osip_generic_param_t* rport = nullptr;
  osip_via_param_get_byname(via, const_cast<char*>("rport"), &rport);
  d.add(rport != nullptr);
  d.add(static_cast<std::uint64_t>(osip_list_size(&m->vias)));
  osip_header_t* max_forwards = nullptr;
  osip_message_get_max_forwards(m, 0, &max_forwards);
  d.add(max_forwards ? number(max_forwards->hvalue) : static_cast<std::uint64_t>(-1));

  for (int i = 0; i < osip_list_size(&m->contacts); ++i) {
    auto* contact = static_cast<osip_contact_t*>(osip_list_get(&m->contacts, i));
    d.add(host_length(contact->url));
    osip_generic_param_t* expires = nullptr;
    osip_contact_param_get_byname(contact, const_cast<char*>("expires"), &expires);
    d.add(expires ? number(expires->gvalue) : 0);
  }
  for (int i = 0; i < osip_list_size(&m->routes); ++i)
    d.add(host_length(static_cast<osip_route_t*>(osip_list_get(&m->routes, i))->url));
  for (int i = 0; i < osip_list_size(&m->record_routes); ++i)
    d.add(host_length(static_cast<osip_record_route_t*>(osip_list_get(&m->record_routes, i))->url));

  osip_authorization_t* auth = nullptr;
  osip_message_get_authorization(m, 0, &auth);
  if (auth) {
    d.add(length(auth->auth_type));
    std::uint64_t chars = 0;
    for (const char* v :
         {auth->username, auth->realm, auth->nonce, auth->uri, auth->response, auth->digest, auth->algorithm,
          auth->cnonce, auth->opaque, auth->message_qop, auth->nonce_count, auth->version, auth->targetname,
          auth->gssapi_data, auth->crand, auth->cnum, auth->auth_param})
      chars += unquoted_length(v);
    d.add(chars);
  }
  if (m->content_type) d.add(length(m->content_type->subtype));
  std::uint64_t body = 0;
  for (int i = 0; i < osip_list_size(&m->bodies); ++i)
    body += static_cast<osip_body_t*>(osip_list_get(&m->bodies, i))->length;
  d.add(body);
  return d.value();
}

std::uint64_t malloc_calls = 0;

void* counting_malloc(std::size_t size) {
  ++malloc_calls;
  return std::malloc(size);
}
void* counting_realloc(void* p, std::size_t size) {
  if (!p) ++malloc_calls;
  return std::realloc(p, size);
}
void counting_free(void* p) { std::free(p); }

}  // namespace

Osip2Parser::Osip2Parser() {
  static const int init = parser_init();
  (void)init;
}

Outcome Osip2Parser::parse(std::string_view bytes) {
  osip_message_t* m = nullptr;
  if ((error_ = osip_message_init(&m)) != 0) return {};
  Outcome out;
  if ((error_ = osip_message_parse(m, bytes.data(), bytes.size())) == 0) out = {true, digest(m)};
  osip_message_free(m);
  return out;
}

void Osip2Parser::count_mallocs(bool on) {
  if (on)
    osip_set_allocators(counting_malloc, counting_realloc, counting_free);
  else
    osip_set_allocators(nullptr, nullptr, nullptr);
}

std::uint64_t Osip2Parser::mallocs() { return malloc_calls; }

}  // namespace sipbox::bench
