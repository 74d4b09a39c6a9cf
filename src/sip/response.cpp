#include "sip/response.h"

#include <cctype>
#include <functional>
#include <optional>
#include <vector>

#include "base/hex.h"

namespace sipbox::sip {

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      // CRLF + whitespace (RFC 3261 7.3.1) is one SP.
      while (i + 1 < value.size() &&
             (value[i + 1] == '\r' || value[i + 1] == '\n' || value[i + 1] == ' ' || value[i + 1] == '\t'))
        ++i;
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string response_head(const Message& request, int status, std::string_view reason) {
  std::string out = "SIP/2.0 " + std::to_string(status) + " ";
  out += reason;
  out += "\r\n";
  auto copy = [&](const HeaderField& field, std::string_view name) {
    out += name;
    out += ": ";
    out += unfold(field.value);
    out += "\r\n";
  };
  for (const HeaderField& field : request.headers())
    if (field.id == HeaderId::Via) copy(field, "Via");
  if (const auto* from = request.header(HeaderId::From)) copy(*from, "From");
  if (const auto* to = request.header(HeaderId::To)) {
    out += "To: ";
    out += unfold(to->value);
    if (request.to().tag().empty() && status > 100) {
      const std::size_t h = std::hash<std::string_view>{}(request.call_id()) ^
                            (std::hash<std::string_view>{}(request.from().tag()) * 31) ^ request.cseq().number;
      std::uint8_t bytes[sizeof h];
      for (std::size_t i = 0; i < sizeof h; ++i) bytes[i] = static_cast<std::uint8_t>(h >> (8 * i));
      out += ";tag=" + to_hex(bytes, sizeof bytes);
    }
    out += "\r\n";
  }
  if (const auto* call_id = request.header(HeaderId::CallId)) copy(*call_id, "Call-ID");
  if (const auto* cseq = request.header(HeaderId::CSeq)) copy(*cseq, "CSeq");
  return out;
}

void finish_response(std::string& response) { response += "Content-Length: 0\r\n\r\n"; }

std::string simple_response(const Message& request, int status, std::string_view reason,
                            std::string_view extra_headers) {
  std::string text = response_head(request, status, reason);
  text += extra_headers;
  finish_response(text);
  return text;
}

namespace {

// The first value of `field` and what follows its separating comma.
struct Split {
  std::string_view first;
  std::string_view rest;  // "" when the field holds one value
};

Split split_first(const HeaderField& field) {
  const HeaderValues values(std::span<const HeaderField>(&field, 1), field.id, field.name);
  const auto it = values.begin();
  if (it == values.end()) return {field.value, {}};
  const std::string_view first = *it;
  std::size_t end = static_cast<std::size_t>(first.data() + first.size() - field.value.data());
  while (end < field.value.size() &&
         (field.value[end] == ' ' || field.value[end] == '\t' || field.value[end] == '\r' || field.value[end] == '\n'))
    ++end;
  if (end < field.value.size() && field.value[end] == ',') ++end;
  std::string_view rest = field.value.substr(end);
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\r' || rest.front() == '\n'))
    rest.remove_prefix(1);
  return {first, rest};
}

std::optional<std::size_t> first_index(const Message& message, HeaderId id) {
  const auto fields = message.headers();
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].id == id) return i;
  return std::nullopt;
}

}  // namespace

bool replace_first_value(Message& message, HeaderId id, std::string_view replacement) {
  const auto index = first_index(message, id);
  if (!index) return false;
  const Split split = split_first(message.headers()[*index]);
  std::string value(replacement);
  if (!split.rest.empty()) {
    value += ", ";
    value += unfold(split.rest);
  }
  message.set_header_value(*index, std::move(value));
  return true;
}

bool remove_first_value(Message& message, HeaderId id) {
  const auto index = first_index(message, id);
  if (!index) return false;
  const Split split = split_first(message.headers()[*index]);
  if (split.rest.empty())
    message.remove_header(*index);
  else
    message.set_header_value(*index, unfold(split.rest));
  return true;
}

int response_status(std::string_view bytes) {
  if (bytes.size() < 12 || !bytes.starts_with("SIP/2.0 ") || bytes[11] != ' ') return 0;
  int status = 0;
  for (std::size_t i = 8; i < 11; ++i) {
    if (bytes[i] < '0' || bytes[i] > '9') return 0;
    status = status * 10 + (bytes[i] - '0');
  }
  return status >= 100 && status <= 699 ? status : 0;
}

std::string without_first_via(const Message& message) {
  if (message.modified() || message.vias().size() < 2) return {};
  const auto index = first_index(message, HeaderId::Via);
  if (!index) return {};
  const HeaderField& field = message.headers()[*index];
  const std::string_view bytes = message.bytes();
  const auto offset = [&](std::string_view part) { return static_cast<std::size_t>(part.data() - bytes.data()); };
  const Split split = split_first(field);
  std::size_t cut_begin = 0, cut_end = 0;
  if (split.rest.empty()) {
    // The field's line(s): from its name to the line end after its value.
    cut_begin = offset(field.name);
    const std::size_t newline = bytes.find('\n', offset(field.value) + field.value.size());
    if (newline == std::string_view::npos) return {};
    cut_end = newline + 1;
  } else {
    // "Via: ours, next": our value and its comma go, the field stays.
    cut_begin = offset(split.first);
    cut_end = offset(split.rest);
  }
  if (cut_begin > cut_end || cut_end > bytes.size()) return {};  // views that are not into bytes()
  std::string out;
  out.reserve(bytes.size());
  out.append(bytes.substr(0, cut_begin));
  out.append(bytes.substr(cut_end));
  return out;
}

bool remove_last_value(Message& message, HeaderId id) {
  const auto fields = message.headers();
  std::optional<std::size_t> index;
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].id == id) index = i;
  if (!index) return false;
  const HeaderField& field = fields[*index];
  std::vector<std::string_view> values;
  for (std::string_view v : HeaderValues(std::span<const HeaderField>(&field, 1), id, field.name)) values.push_back(v);
  if (values.size() <= 1) {
    message.remove_header(*index);
    return true;
  }
  std::string value;
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    if (i) value += ", ";
    value += unfold(values[i]);
  }
  message.set_header_value(*index, std::move(value));
  return true;
}

Result<OwnedMessage> OwnedMessage::parse(std::string bytes, Framing framing) {
  OwnedMessage out;
  out.bytes_ = std::make_unique<std::string>(std::move(bytes));
  if (auto parsed = parse_message(*out.bytes_, framing, out.message_); !parsed)
    return Unexpected<Error>{parsed.error()};
  return out;
}

}  // namespace sipbox::sip
