// RFC 3261 7 message grammar: start line, header fields, framing of the body.
#include <algorithm>

#include "sip/parser.h"

#include "sip/lexer.h"

namespace sipbox::sip {

namespace {

// The next line of `text` from `pos`: its content without the line end, and the
// position after the line end (CRLF, or a lone LF as tolerated by most stacks).
struct Line {
  std::string_view content;
  std::size_t next = 0;
  bool complete = false;
};

Line next_line(std::string_view text, std::size_t pos) {
  const std::size_t lf = text.find('\n', pos);
  if (lf == std::string_view::npos) return {text.substr(pos), text.size(), false};
  std::size_t end = lf;
  if (end > pos && text[end - 1] == '\r') --end;
  return {text.substr(pos, end - pos), lf + 1, true};
}

std::size_t skip_leading_crlf(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) ++pos;
  return pos;
}

bool valid_reason_phrase(std::string_view s) {
  // reason-phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB)
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto b = static_cast<unsigned char>(ch);
    return b >= 0x20 ? b != 0x7f : ch == '\t';
  });
}

// token *(COMMA token), in one pass (Require, Supported, Allow, ...).
Status check_token_list(std::string_view value) {
  lexer::Cursor c(value);
  while (true) {
    c.skip_lws();
    if (c.token().empty()) return fail("expected a token");
    c.skip_lws();
    if (c.done()) return {};
    if (!c.consume(',')) return fail("expected a comma between tokens");
  }
}

}  // namespace

// Every header whose value the server relies on is checked here, so that a Message
// that exists can be trusted, and the parsed values are kept so nobody parses them
// twice; the other headers are carried as text.
Status MessageParser::index_field(const HeaderField& h, Message& out) {
  auto named = [&h](const Error& e) { return fail(std::string(header_info(h.id).name) + ": " + e.message); };
  switch (h.id) {
    case HeaderId::Via:
    case HeaderId::Contact:
    case HeaderId::Route:
    case HeaderId::RecordRoute:
    case HeaderId::Path:
      if (h.value.empty()) return named({"empty value"});
      for (std::string_view v : HeaderValues({&h, 1}, h.id)) {
        if (h.id == HeaderId::Via) {
          auto r = parse_via(v);
          if (!r) return named(r.error());
          out.vias_.push_back(*r);
        } else if (h.id == HeaderId::Contact && v == "*") {
          out.contact_star_ = true;
        } else {
          auto r = parse_name_addr(v, h.id == HeaderId::Contact ? AddrForm::NameAddrOrAddrSpec : AddrForm::NameAddrOnly);
          if (!r) return named(r.error());
          if (h.id == HeaderId::Contact) out.contacts_.push_back(*r);
          else if (h.id == HeaderId::Route) out.routes_.push_back(*r);
          else if (h.id == HeaderId::RecordRoute) out.record_routes_.push_back(*r);
          else out.paths_.push_back(*r);
        }
      }
      // RFC 3261 20.10: "*" stands alone.
      if (out.contact_star_ && !out.contacts_.empty()) return named({"* mixed with addresses"});
      return {};
    case HeaderId::Require:
    case HeaderId::ProxyRequire:
    case HeaderId::Unsupported:
      if (h.value.empty()) return named({"empty value"});
      [[fallthrough]];
    case HeaderId::Supported:  // may be empty (RFC 3261 20.37); so may Allow (20.5)
    case HeaderId::Allow:
      if (h.value.empty()) return {};
      if (auto s = check_token_list(h.value); !s) return named(s.error());
      return {};
    case HeaderId::ContentType: {
      auto r = parse_media_type(h.value);
      return r ? Status{} : named(r.error());
    }
    case HeaderId::Date: {
      auto r = parse_date(h.value);
      return r ? Status{} : fail(r.error().message);
    }
    case HeaderId::Event: {
      auto r = parse_event(h.value);
      return r ? Status{} : named(r.error());
    }
    case HeaderId::SubscriptionState: {
      auto r = parse_subscription_state(h.value);
      return r ? Status{} : named(r.error());
    }
    case HeaderId::Authorization:
    case HeaderId::ProxyAuthorization:
    case HeaderId::WwwAuthenticate:
    case HeaderId::ProxyAuthenticate: {
      auto r = parse_auth(h.value);
      if (!r) return named(r.error());
      out.auth_.push_back({h.id, *r});
      return {};
    }
    case HeaderId::MinExpires: {
      auto r = parse_number(h.value, 0xffffffffU);
      return r ? Status{} : named(r.error());
    }
    default:
      return {};
  }
}

Status MessageParser::reindex(HeaderId id, Message& out) {
  switch (id) {
    case HeaderId::Via: out.vias_.clear(); break;
    case HeaderId::Contact: out.contacts_.clear(); out.contact_star_ = false; break;
    case HeaderId::Route: out.routes_.clear(); break;
    case HeaderId::RecordRoute: out.record_routes_.clear(); break;
    case HeaderId::Path: out.paths_.clear(); break;
    case HeaderId::Authorization:
    case HeaderId::ProxyAuthorization:
    case HeaderId::WwwAuthenticate:
    case HeaderId::ProxyAuthenticate: {
      // Authorization entries of all four kinds share one list: rebuild it whole.
      out.auth_.clear();
      for (const HeaderField& h : out.headers())
        if (h.id == HeaderId::Authorization || h.id == HeaderId::ProxyAuthorization ||
            h.id == HeaderId::WwwAuthenticate || h.id == HeaderId::ProxyAuthenticate)
          if (auto s = index_field(h, out); !s) return s;
      return {};
    }
    default: break;
  }
  for (const HeaderField& h : out.headers())
    if (h.id == id)
      if (auto s = index_field(h, out); !s) return s;
  return {};
}

Status MessageParser::parse_start_line(std::string_view line, Message& out) {
  // Request-Line = Method SP Request-URI SP SIP-Version; Status-Line = SIP-Version SP
  // Status-Code SP Reason-Phrase. Exactly one SP between elements (RFC 4475 3.1.2.9).
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail("malformed start line");
  const std::string_view first = line.substr(0, sp1);
  if (first.size() >= 4 && lexer::iequals(first.substr(0, 4), "SIP/")) {
    out.request_ = false;
    if (!lexer::iequals(first, "SIP/2.0")) return fail("unsupported SIP version " + std::string(first));
    const std::string_view rest = line.substr(sp1 + 1);
    const auto sp2 = rest.find(' ');
    const std::string_view code = rest.substr(0, sp2);
    if (code.size() != 3 || !std::all_of(code.begin(), code.end(), lexer::is_digit))
      return fail("status code is not three digits");
    out.status_ = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (out.status_ < 100 || out.status_ > 699) return fail("status code out of range");
    if (sp2 == std::string_view::npos) return fail("status line has no reason phrase separator");
    out.reason_ = rest.substr(sp2 + 1);
    if (!valid_reason_phrase(out.reason_)) return fail("bad character in reason phrase");
    return {};
  }
  out.request_ = true;
  if (first.empty() || !std::all_of(first.begin(), first.end(), lexer::is_token)) return fail("malformed method");
  out.method_ = first;
  out.method_id_ = method_from_name(first);
  const std::string_view rest = line.substr(sp1 + 1);
  const auto sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) return fail("malformed request line");
  out.request_uri_text_ = rest.substr(0, sp2);
  const std::string_view version = rest.substr(sp2 + 1);
  if (out.request_uri_text_.empty() || version.find(' ') != std::string_view::npos)
    return fail("extra spaces in request line");
  if (!lexer::iequals(version, "SIP/2.0")) return fail("unsupported SIP version " + std::string(version));
  if (out.request_uri_text_.front() == '<') return fail("Request-URI must not be enclosed in <>");
  auto uri = parse_uri(out.request_uri_text_);
  if (!uri) return fail("Request-URI: " + uri.error().message);
  // RFC 3261 19.1.1 table: headers are not allowed in a Request-URI.
  if (uri->is_sip() && !uri->headers.empty()) return fail("Request-URI: headers are not allowed");
  out.request_uri_ = *uri;
  return {};
}

Status MessageParser::parse(std::string_view bytes, Framing framing, Message& out) {
  out.clear();
  const std::size_t start = skip_leading_crlf(bytes);
  Line line = next_line(bytes, start);
  if (!line.complete) return fail("incomplete start line");
  if (auto s = parse_start_line(line.content, out); !s) return s;

  std::size_t pos = line.next;
  bool ended = false;
  while (pos < bytes.size()) {
    line = next_line(bytes, pos);
    if (!line.complete) return fail("header section not terminated by an empty line");
    if (line.content.empty()) {
      pos = line.next;
      ended = true;
      break;
    }
    if (lexer::is_wsp(line.content.front())) return fail("continuation line without a header");
    // Header folding (RFC 3261 7.3.1): following lines that begin with SP or HTAB.
    std::size_t value_end = line.next;
    std::size_t content_end = static_cast<std::size_t>(line.content.data() + line.content.size() - bytes.data());
    while (value_end < bytes.size() && lexer::is_wsp(bytes[value_end])) {
      const Line cont = next_line(bytes, value_end);
      if (!cont.complete) return fail("header section not terminated by an empty line");
      content_end = static_cast<std::size_t>(cont.content.data() + cont.content.size() - bytes.data());
      value_end = cont.next;
    }
    const std::string_view field(line.content.data(), content_end - (line.content.data() - bytes.data()));
    const auto colon = field.find(':');
    if (colon == std::string_view::npos) return fail("header line without a colon");
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && lexer::is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), lexer::is_token))
      return fail("malformed header name");
    out.headers_.push_back({name, lexer::trim_lws(field.substr(colon + 1)), lookup_header(name)});
    pos = value_end;
  }
  if (!ended) return fail("header section not terminated by an empty line");
  if (auto s = validate(framing, bytes.substr(pos), out); !s) return s;
  out.bytes_ = bytes.substr(start, static_cast<std::size_t>(out.body_.data() + out.body_.size() - (bytes.data() + start)));
  return {};
}

Status MessageParser::validate(Framing framing, std::string_view after_headers, Message& out) {
  // Single-valued headers appear at most once (RFC 4475 3.3.8, 3.3.9).
  std::array<std::uint8_t, static_cast<std::size_t>(HeaderId::Count)> seen{};
  for (const HeaderField& h : out.headers()) {
    auto& n = seen[static_cast<std::size_t>(h.id)];
    if (h.id != HeaderId::Other && header_info(h.id).single && n > 0)
      return fail("more than one " + std::string(header_info(h.id).name) + " header");
    n = static_cast<std::uint8_t>(n < 255 ? n + 1 : n);
    if (auto s = index_field(h, out); !s) return s;
  }

  // Mandatory headers (RFC 3261 8.1.1); Max-Forwards is optional for RFC 2543 peers.
  const HeaderField* call_id = out.header(HeaderId::CallId);
  const HeaderField* cseq = out.header(HeaderId::CSeq);
  const HeaderField* from = out.header(HeaderId::From);
  const HeaderField* to = out.header(HeaderId::To);
  const HeaderField* via = out.header(HeaderId::Via);
  if (!call_id || !cseq || !from || !to || !via) {
    std::string missing;
    for (auto [field, name] : {std::pair{to, "To"}, {from, "From"}, {call_id, "Call-ID"}, {cseq, "CSeq"}, {via, "Via"}})
      if (!field) missing += (missing.empty() ? "" : ", ") + std::string(name);
    return fail("missing mandatory header: " + missing);
  }

  // Call-ID = word ["@" word]
  const std::string_view cid = call_id->value;
  const auto at = cid.find('@');
  auto is_words = [](std::string_view w) { return !w.empty() && std::all_of(w.begin(), w.end(), lexer::is_word); };
  if (!(at == std::string_view::npos ? is_words(cid) : is_words(cid.substr(0, at)) && is_words(cid.substr(at + 1))))
    return fail("malformed Call-ID");
  out.call_id_ = cid;

  auto cseq_value = parse_cseq(cseq->value);
  if (!cseq_value) return fail("CSeq: " + cseq_value.error().message);
  out.cseq_ = *cseq_value;
  if (out.request_) {
    if (out.cseq_.method != out.method_) return fail("CSeq method does not match the request method");
  } else {
    out.method_ = out.cseq_.method;
    out.method_id_ = method_from_name(out.method_);
  }

  auto from_value = parse_name_addr(from->value);
  if (!from_value) return fail("From: " + from_value.error().message);
  out.from_ = *from_value;
  auto to_value = parse_name_addr(to->value);
  if (!to_value) return fail("To: " + to_value.error().message);
  out.to_ = *to_value;

  if (const HeaderField* mf = out.header(HeaderId::MaxForwards)) {
    auto v = parse_number(mf->value, 255);
    if (!v) return fail("Max-Forwards: " + v.error().message);
    out.max_forwards_ = static_cast<int>(*v);
  }

  // Body framing (RFC 3261 18.3, 20.14).
  if (const HeaderField* cl = out.header(HeaderId::ContentLength)) {
    auto length = parse_number(cl->value, 0x7fffffffU);
    if (!length) return fail("Content-Length: " + length.error().message);
    if (*length > after_headers.size()) return fail("Content-Length larger than the message");
    out.body_ = after_headers.substr(0, *length);
  } else if (framing == Framing::Stream) {
    return fail("Content-Length missing on a stream transport");
  } else {
    out.body_ = after_headers;
  }
  return {};
}

Status parse_message(std::string_view bytes, Framing framing, Message& out) {
  return MessageParser::parse(bytes, framing, out);
}

Result<std::size_t> stream_message_size(std::string_view buffer, std::size_t max_header_bytes) {
  const std::size_t start = skip_leading_crlf(buffer);
  std::size_t header_end = std::string_view::npos;
  std::size_t body_start = 0;
  for (std::size_t pos = start; pos < buffer.size();) {
    const Line line = next_line(buffer, pos);
    if (!line.complete) break;
    if (line.content.empty()) {
      header_end = pos;
      body_start = line.next;
      break;
    }
    pos = line.next;
  }
  if (header_end == std::string_view::npos) {
    if (buffer.size() - start > max_header_bytes) return fail("header section too large");
    return std::size_t{0};
  }
  // Find Content-Length (or l) at the start of a line of the header section.
  const std::string_view head = buffer.substr(start, header_end - start);
  std::size_t pos = 0;
  while (pos < head.size()) {
    const Line line = next_line(head, pos);
    const auto colon = line.content.find(':');
    if (colon != std::string_view::npos && !line.content.empty() && !lexer::is_wsp(line.content.front())) {
      std::string_view name = line.content.substr(0, colon);
      while (!name.empty() && lexer::is_wsp(name.back())) name.remove_suffix(1);
      if (lookup_header(name) == HeaderId::ContentLength) {
        auto length = parse_number(line.content.substr(colon + 1), 0x7fffffffU);
        if (!length) return fail("Content-Length: " + length.error().message);
        // An announced size over the limit is returned at once, so the caller refuses
        // it without waiting for a body it will never take.
        if (buffer.size() - body_start < *length && body_start + *length <= max_header_bytes) return std::size_t{0};
        return body_start + *length;
      }
    }
    pos = line.next;
  }
  return fail("Content-Length missing on a stream transport");
}

}  // namespace sipbox::sip
