// Query-string helpers shared by sipboxd's REST resources (security_api.cpp,
// media_service.cpp): the paging parameters every history resource takes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "web/web.h"

namespace sipbox::app {

using Query = std::vector<std::pair<std::string, std::string>>;

// A decimal number without sign or other characters; nullopt otherwise.
std::optional<std::uint64_t> unsigned_number(const std::string& text);

// One paging parameter, `key` "limit" (1..10000) or "offset" (>= 0), into `page`; a 400
// response when its value is bad.
std::optional<web::Response> read_page_parameter(const std::string& key, const std::string& value, store::Page& page);
// Every limit and offset of `query` into `page`; other parameters are left to the caller.
std::optional<web::Response> read_page(const Query& query, store::Page& page);

}  // namespace sipbox::app
