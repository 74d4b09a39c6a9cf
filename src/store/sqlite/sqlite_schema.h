// Internal: the SQLite schema as an ordered list of migrations, and the code that brings
// a database file up to the newest one.
#pragma once

#include "store/sqlite/sqlite_db.h"

namespace sipbox::store::sqlite {

// The schema version this build writes. A file with a newer version is refused (it was
// written by a newer sipboxd; downgrading could lose columns it relies on).
int latest_schema_version();

// Applies every migration newer than the file's schema_version, each in its own
// transaction together with the version bump, so a crash mid-migration leaves the file
// at the previous version.
Status migrate(Connection& db);

}  // namespace sipbox::store::sqlite
