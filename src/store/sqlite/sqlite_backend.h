// Internal: the SQLite backend (one node; DATA_DIR/sipbox.db). Tables, durability and
// threading are described in docs/store.md.
#pragma once

#include <filesystem>
#include <memory>

#include "store/backend.h"

namespace sipbox::store {

// Opens or creates the database, checks it, sets WAL mode and the synchronous level,
// applies pending schema migrations and prepares the statements.
Result<std::unique_ptr<Backend>> open_sqlite_backend(const std::filesystem::path& file, const StoreOptions& options);

}  // namespace sipbox::store
