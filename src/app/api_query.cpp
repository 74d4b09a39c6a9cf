// Query-string helpers of the REST resources (api_query.h).
#include "app/api_query.h"

#include <charconv>

namespace sipbox::app {

std::optional<std::uint64_t> unsigned_number(const std::string& text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<web::Response> read_page_parameter(const std::string& key, const std::string& value, store::Page& page) {
  auto n = unsigned_number(value);
  if (!n || (key == "limit" && (*n == 0 || *n > 10000)))
    return web::api_error(400, key + " must be " + (key == "limit" ? "a number from 1 to 10000" : "a number >= 0"));
  (key == "limit" ? page.limit : page.offset) = static_cast<std::size_t>(*n);
  return std::nullopt;
}

std::optional<web::Response> read_page(const Query& query, store::Page& page) {
  for (const auto& [key, value] : query) {
    if (key != "limit" && key != "offset") continue;
    if (auto error = read_page_parameter(key, value, page)) return error;
  }
  return std::nullopt;
}

}  // namespace sipbox::app
