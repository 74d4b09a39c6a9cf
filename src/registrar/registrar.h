// Public interface of the registrar module (RFC 3261 section 10). So far: digest
// authentication (RFC 7616, RFC 8760) with expiring, replay-proof nonces. The location
// service and REGISTER handling come with the SIP core.
#pragma once

#include "registrar/digest_auth.h"
