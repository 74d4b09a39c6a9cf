#include "registrar/response.h"

#include <cctype>
#include <ctime>
#include <functional>

#include "base/hex.h"

namespace sipbox::registrar::detail {

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
