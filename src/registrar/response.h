// Building REGISTER responses (RFC 3261 8.2.6.2, 10.3 step 8). Internal to the registrar.
#pragma once

#include <string>
#include <string_view>

#include "registrar/location.h"
#include "sip/sip.h"

namespace sipbox::registrar::detail {

// RFC 1123 date (RFC 3261 20.17) for the Date header of a 200 (10.3 step 8).
std::string http_date(Clock::time_point now);

// One Contact value of a 200: the URI with its remaining expiry, q, +sip.instance, reg-id.
std::string contact_value(const Registration& r, Clock::time_point now);

// q in thousandths as RFC 3261 20.10 writes it: 500 -> "0.5", 1000 -> "1".
std::string q_text(std::uint16_t q);

}  // namespace sipbox::registrar::detail
