// The REST API of the intrusion prevention system (DESIGN.md 4, docs/security.md):
// GET/POST /api/v1/security/bans, DELETE /api/v1/security/bans/{ADDR} (executed against
// the Guard like the control socket's bans ops) and GET /api/v1/security/incidents
// (the store's history, newest first, with ?since=&until=&source=&sid=&limit=&offset=).
#pragma once

#include <vector>

#include "security/security.h"
#include "store/store.h"
#include "web/web.h"

namespace sipbox::app {

std::vector<web::ApiResource> security_api(security::Guard& guard, const security::BanTable& table,
                                           store::Store& store);

}  // namespace sipbox::app
