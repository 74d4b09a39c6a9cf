#include "sip/message.h"

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

void HeaderValues::Iterator::take() {
  if (!list_) {
    current_ = rest_;
    rest_ = rest_.substr(rest_.size());
    pending_ = false;
    return;
  }
  bool quoted = false;
  int angle = 0;
  for (std::size_t i = 0; i < rest_.size(); ++i) {
    const char ch = rest_[i];
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
  overflow_.clear();
  header_count_ = 0;
  bytes_ = body_ = method_ = request_uri_text_ = reason_ = call_id_ = {};
  request_uri_ = Uri{};
  cseq_ = CSeq{};
  from_ = to_ = NameAddr{};
  top_via_ = Via{};
  status_ = 0;
  max_forwards_ = -1;
  method_id_ = Method::Other;
  request_ = true;
  modified_ = false;
  owned_.clear();
}

void Message::push_header(const HeaderField& field) {
  if (header_count_ < kInlineHeaders && overflow_.empty()) {
    inline_[header_count_++] = field;
    return;
  }
  if (overflow_.empty()) overflow_.assign(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(header_count_));
  overflow_.push_back(field);
  ++header_count_;
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
  switch (changed) {
    case HeaderId::Via:
      top_via_ = h ? must(parse_via(*values(HeaderId::Via).begin()), "Via") : Via{};
      break;
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
  if (index >= header_count_) throw std::out_of_range("set_header_value: no such header");
  header_data()[index].value = keep(std::move(value));
  refresh(header_data()[index].id);
}

void Message::remove_header(std::size_t index) {
  if (index >= header_count_) throw std::out_of_range("remove_header: no such header");
  HeaderField* data = header_data();
  const HeaderId id = data[index].id;
  for (std::size_t i = index + 1; i < header_count_; ++i) data[i - 1] = data[i];
  --header_count_;
  if (!overflow_.empty()) overflow_.pop_back();
  modified_ = true;
  refresh(id);
}

void Message::insert_header(std::size_t index, HeaderId id, std::string value) {
  if (id == HeaderId::Other) throw std::invalid_argument("insert_header: use the overload with a name");
  const std::string_view text = keep(std::move(value));
  if (index > header_count_) throw std::out_of_range("insert_header: position past the end");
  push_header({});
  HeaderField* data = header_data();
  for (std::size_t i = header_count_ - 1; i > index; --i) data[i] = data[i - 1];
  data[index] = {header_info(id).name, text, id};
  refresh(id);
}

void Message::insert_header(std::size_t index, std::string name, std::string value) {
  const HeaderId id = lookup_header(name);
  if (id != HeaderId::Other) return insert_header(index, id, std::move(value));
  const std::string_view name_text = keep(std::move(name));
  const std::string_view text = keep(std::move(value));
  if (index > header_count_) throw std::out_of_range("insert_header: position past the end");
  push_header({});
  HeaderField* data = header_data();
  for (std::size_t i = header_count_ - 1; i > index; --i) data[i] = data[i - 1];
  data[index] = {name_text, text, HeaderId::Other};
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
