#include "registrar/response.h"

#include <cctype>
#include <ctime>
#include <functional>

#include "base/hex.h"

namespace sipbox::registrar::detail {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      // CRLF + whitespace (RFC 3261 7.3.1) is one SP.
      while (i + 1 < value.size() && (value[i + 1] == '\r' || value[i + 1] == '\n' || value[i + 1] == ' ' ||
                                      value[i + 1] == '\t'))
        ++i;
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string response_head(const sip::Message& request, int status, std::string_view reason) {
  std::string out = "SIP/2.0 " + std::to_string(status) + " ";
  out += reason;
  out += "\r\n";
  auto copy = [&](const sip::HeaderField& field, std::string_view name) {
    out += name;
    out += ": ";
    out += unfold(field.value);
    out += "\r\n";
  };
  // Every Via field in order (RFC 3261 8.2.6.2), then From, To, Call-ID, CSeq.
  for (const sip::HeaderField& field : request.headers())
    if (field.id == sip::HeaderId::Via) copy(field, "Via");
  if (const auto* from = request.header(sip::HeaderId::From)) copy(*from, "From");
  if (const auto* to = request.header(sip::HeaderId::To)) {
    out += "To: ";
    out += unfold(to->value);
    if (request.to().tag().empty()) {
      // A tag derived from the request, so a retransmission gets the same one.
      const std::size_t h = std::hash<std::string_view>{}(request.call_id()) ^
                            (std::hash<std::string_view>{}(request.from().tag()) * 31) ^ request.cseq().number;
      std::uint8_t bytes[sizeof h];
      for (std::size_t i = 0; i < sizeof h; ++i) bytes[i] = static_cast<std::uint8_t>(h >> (8 * i));
      out += ";tag=" + to_hex(bytes, sizeof bytes);
    }
    out += "\r\n";
  }
  if (const auto* call_id = request.header(sip::HeaderId::CallId)) copy(*call_id, "Call-ID");
  if (const auto* cseq = request.header(sip::HeaderId::CSeq)) copy(*cseq, "CSeq");
  return out;
}

void finish(std::string& response) { response += "Content-Length: 0\r\n\r\n"; }

std::string http_date(Clock::time_point now) {
  const std::time_t t = Clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

std::string q_text(std::uint16_t q) {
  if (q >= 1000) return "1";
  std::string digits = std::to_string(1000 + q).substr(1);  // three digits
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return digits.empty() ? "0" : "0." + digits;
}

std::string contact_value(const Registration& r, Clock::time_point now) {
  const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
  const auto left = std::max<std::int64_t>(0, (r.binding.expires_at - now_s).count());
  std::string out = "<" + r.binding.contact + ">;expires=" + std::to_string(left);
  if (r.binding.q != 1000) out += ";q=" + q_text(r.binding.q);
  if (!r.binding.instance.empty()) out += ";+sip.instance=\"" + r.binding.instance + "\"";
  if (r.binding.reg_id != 0) out += ";reg-id=" + std::to_string(r.binding.reg_id);
  return out;
}

}  // namespace sipbox::registrar::detail
