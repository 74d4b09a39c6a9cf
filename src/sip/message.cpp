#include "sip/message.h"

#include "sip/parser.h"

#include <array>
#include <stdexcept>

#include "sip/lexer.h"

namespace sipbox::sip {

Method method_from_name(std::string_view name) noexcept {
  // Methods are case-sensitive (RFC 3261 7.1).
  struct Entry {
    std::string_view name;
    Method method;
  };
  static constexpr Entry kMethods[] = {
      {"INVITE", Method::Invite},       {"ACK", Method::Ack},         {"BYE", Method::Bye},
      {"CANCEL", Method::Cancel},       {"REGISTER", Method::Register}, {"OPTIONS", Method::Options},
      {"INFO", Method::Info},           {"PRACK", Method::Prack},     {"UPDATE", Method::Update},
      {"SUBSCRIBE", Method::Subscribe}, {"NOTIFY", Method::Notify},   {"PUBLISH", Method::Publish},
      {"MESSAGE", Method::Message},     {"REFER", Method::Refer},
  };
  for (const auto& e : kMethods)
    if (e.name == name) return e.method;
  return Method::Other;
}

// ---- HeaderValues ----------------------------------------------------------------------

HeaderValues::Iterator::Iterator(std::span<const HeaderField> fields, HeaderId id, std::string_view name)
    : fields_(fields), name_(name), id_(id), done_(false) {
  list_ = id != HeaderId::Other && header_info(id).is_list;
  load(0);
}

bool HeaderValues::Iterator::matches(const HeaderField& field) const {
  if (id_ != HeaderId::Other) return field.id == id_;
  return field.id == HeaderId::Other && lexer::iequals(field.name, name_);
}

void HeaderValues::Iterator::load(std::size_t index) {
  for (; index < fields_.size(); ++index) {
    // An empty field contributes no values (e.g. "Supported:" with no option tags).
    if (matches(fields_[index]) && !fields_[index].value.empty()) {
      field_ = index;
      rest_ = fields_[index].value;
      pending_ = true;
      take();
      return;
    }
  }
  done_ = true;
  pending_ = false;
  rest_ = {};
}

namespace {

// Octets that matter when splitting a list value; everything else is skipped by one
// table lookup per octet.
constexpr std::array<bool, 256> make_list_specials() {
  std::array<bool, 256> t{};
  for (unsigned char ch : std::string_view(",\"<>\\")) t[ch] = true;
  return t;
}
constexpr std::array<bool, 256> kListSpecials = make_list_specials();

}  // namespace

void HeaderValues::Iterator::take() {
  if (!list_) {
    current_ = rest_;
    rest_ = rest_.substr(rest_.size());
    pending_ = false;
    return;
  }
  bool quoted = false;
  int angle = 0;
  const std::size_t n = rest_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char ch = rest_[i];
    if (!kListSpecials[static_cast<unsigned char>(ch)]) continue;
    if (quoted) {
      if (ch == '\\') ++i;
      else if (ch == '"') quoted = false;
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == '<') {
      ++angle;
    } else if (ch == '>') {
      if (angle > 0) --angle;
    } else if (ch == ',' && angle == 0) {
      current_ = lexer::trim_lws(rest_.substr(0, i));
      rest_ = rest_.substr(i + 1);
      pending_ = true;
      return;
    }
  }
  current_ = lexer::trim_lws(rest_);
  rest_ = rest_.substr(rest_.size());
  pending_ = false;
}

HeaderValues::Iterator& HeaderValues::Iterator::operator++() {
  if (pending_) take();
  else load(field_ + 1);
  return *this;
}

// ---- Message -------------------------------------------------------------------------

void Message::clear() {
  headers_.clear();
  vias_.clear();
  contacts_.clear();
  routes_.clear();
  record_routes_.clear();
  paths_.clear();
  auth_.clear();
  contact_star_ = false;
  bytes_ = body_ = method_ = request_uri_text_ = reason_ = call_id_ = {};
  request_uri_ = Uri{};
  cseq_ = CSeq{};
  from_ = to_ = NameAddr{};
  status_ = 0;
  max_forwards_ = -1;
  method_id_ = Method::Other;
  request_ = true;
  modified_ = false;
  owned_.clear();
}

const Via& Message::top_via() const {
  static const Via kNone{};
  return vias_.empty() ? kNone : vias_[0];
}

const AuthHeader* Message::find_auth(HeaderId header, std::string_view realm) const {
  for (const AuthEntry& e : auth_.view())
    if (e.header == header && (realm.empty() || e.value.param("realm") == realm)) return &e.value;
  return nullptr;
}

const HeaderField* Message::header(HeaderId id) const {
  for (const HeaderField& h : headers())
    if (h.id == id) return &h;
  return nullptr;
}

const HeaderField* Message::header(std::string_view name) const {
  const HeaderId id = lookup_header(name);
  if (id != HeaderId::Other) return header(id);
  for (const HeaderField& h : headers())
    if (h.id == HeaderId::Other && lexer::iequals(h.name, name)) return &h;
  return nullptr;
}

std::size_t Message::count(HeaderId id) const {
  std::size_t n = 0;
  for (const HeaderField& h : headers()) n += h.id == id ? 1 : 0;
  return n;
}

HeaderValues Message::values(std::string_view name) const {
  const HeaderId id = lookup_header(name);
  return HeaderValues(headers(), id, id == HeaderId::Other ? name : std::string_view{});
}

// ---- edits ---------------------------------------------------------------------------

std::string_view Message::keep(std::string text) {
  owned_.push_front(std::move(text));
  modified_ = true;
  return owned_.front();
}

// Keeps the values cached at parse time true after an edit. Edits come from the
// server's own code, so a value that no longer parses is a programmer error.
void Message::refresh(HeaderId changed) {
  auto must = [](auto result, const char* what) {
    if (!result) throw std::invalid_argument(std::string("edit made ") + what + " invalid: " + result.error().message);
    return *result;
  };
  const HeaderField* h = header(changed);
  if (auto s = MessageParser::reindex(changed, *this); !s)
    throw std::invalid_argument("edit made a header invalid: " + s.error().message);
  switch (changed) {
    case HeaderId::From:
      from_ = h ? must(parse_name_addr(h->value), "From") : NameAddr{};
      break;
    case HeaderId::To:
      to_ = h ? must(parse_name_addr(h->value), "To") : NameAddr{};
      break;
    case HeaderId::CSeq:
      cseq_ = h ? must(parse_cseq(h->value), "CSeq") : CSeq{};
      break;
    case HeaderId::CallId:
      call_id_ = h ? h->value : std::string_view{};
      break;
    case HeaderId::MaxForwards:
      max_forwards_ = h ? static_cast<int>(must(parse_number(h->value, 255), "Max-Forwards")) : -1;
      break;
    default:
      break;
  }
}

void Message::set_request_uri(std::string uri) {
  auto parsed = parse_uri(uri);
  if (!parsed) throw std::invalid_argument("set_request_uri: " + parsed.error().message);
  request_uri_text_ = keep(std::move(uri));
  request_uri_ = *parse_uri(request_uri_text_);
}

void Message::set_status(int code, std::string reason) {
  if (code < 100 || code > 699) throw std::invalid_argument("set_status: code out of range");
  status_ = code;
  reason_ = keep(std::move(reason));
}

void Message::set_header_value(std::size_t index, std::string value) {
  if (index >= headers_.size()) throw std::out_of_range("set_header_value: no such header");
  headers_[index].value = keep(std::move(value));
  refresh(headers_[index].id);
}

void Message::remove_header(std::size_t index) {
  if (index >= headers_.size()) throw std::out_of_range("remove_header: no such header");
  const HeaderId id = headers_[index].id;
  headers_.erase(index);
  modified_ = true;
  refresh(id);
}

void Message::insert_header(std::size_t index, HeaderId id, std::string value) {
  if (id == HeaderId::Other) throw std::invalid_argument("insert_header: use the overload with a name");
  if (index > headers_.size()) throw std::out_of_range("insert_header: position past the end");
  headers_.insert(index, {header_info(id).name, keep(std::move(value)), id});
  refresh(id);
}

void Message::insert_header(std::size_t index, std::string name, std::string value) {
  const HeaderId id = lookup_header(name);
  if (id != HeaderId::Other) return insert_header(index, id, std::move(value));
  if (index > headers_.size()) throw std::out_of_range("insert_header: position past the end");
  const std::string_view name_text = keep(std::move(name));
  headers_.insert(index, {name_text, keep(std::move(value)), HeaderId::Other});
}

void Message::set_body(std::string body) { body_ = keep(std::move(body)); }

namespace {

// A header value with its folded line breaks replaced by one space each.
void append_unfolded(std::string& out, std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char ch = value[i];
    if (ch == '\r' || ch == '\n') {
      while (i + 1 < value.size() && (value[i + 1] == '\r' || value[i + 1] == '\n' || lexer::is_wsp(value[i + 1]))) ++i;
      if (out.empty() || out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(ch);
    }
  }
}

}  // namespace

std::string Message::serialize() const {
  if (!modified_) return std::string(bytes_);
  std::string out;
  out.reserve(bytes_.size() + 256);
  if (request_) {
    out.append(method_).append(" ").append(request_uri_text_).append(" SIP/2.0\r\n");
  } else {
    out.append("SIP/2.0 ").append(std::to_string(status_)).append(" ").append(reason_).append("\r\n");
  }
  bool length_written = false;
  for (const HeaderField& h : headers()) {
    if (h.id == HeaderId::ContentLength && length_written) continue;
    out.append(h.id == HeaderId::Other ? h.name : header_info(h.id).name).append(": ");
    if (h.id == HeaderId::ContentLength) {
      out.append(std::to_string(body_.size()));
      length_written = true;
    } else {
      append_unfolded(out, h.value);
    }
    out.append("\r\n");
  }
  if (!length_written) out.append("Content-Length: ").append(std::to_string(body_.size())).append("\r\n");
  out.append("\r\n").append(body_);
  return out;
}

}  // namespace sipbox::sip
