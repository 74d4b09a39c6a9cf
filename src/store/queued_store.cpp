// The public interfaces over any Backend: writes become queued operations, reads go to
// the backend after a flush (so a reader sees its own earlier writes).
#include <memory>
#include <utility>

#include "store/backend.h"
#include "store/sqlite/sqlite_backend.h"
#include "store/store.h"
#include "store/write_queue.h"

namespace sipbox::store {

namespace {

// Reads are for start-up and tests; a minute covers a slow disk draining a full queue.
constexpr std::chrono::milliseconds kReadFlushTimeout = std::chrono::minutes(1);

class QueuedStore final : public Store {
 public:
  QueuedStore(std::unique_ptr<Backend> backend, const StoreOptions& options)
      : backend_(std::move(backend)),
        queue_(*backend_, options),
        location_(*this),
        bans_(*this),
        incidents_(*this),
        quality_(*this) {}
  ~QueuedStore() override { (void)close(std::chrono::seconds(30)); }

  LocationStore& location() override { return location_; }
  BanStore& bans() override { return bans_; }
  IncidentStore& incidents() override { return incidents_; }
  QualityStore& quality() override { return quality_; }
  Status flush(std::chrono::milliseconds timeout) override { return queue_.flush(timeout); }
  StoreStats stats() const override { return queue_.stats(); }
  Status verify() override { return backend_->verify(); }
  Status close(std::chrono::milliseconds timeout) override { return queue_.stop(timeout); }

 private:
  class Location final : public LocationStore {
   public:
    explicit Location(QueuedStore& store) : store_(store) {}
    void upsert(Binding binding) override { store_.queue_.push(op::UpsertBinding{std::move(binding)}); }
    void refresh(Binding binding) override { store_.queue_.refresh(std::move(binding)); }
    void remove(std::string aor, std::string contact) override {
      store_.queue_.push(op::RemoveBinding{std::move(aor), std::move(contact)});
    }
    void remove_all(std::string aor) override { store_.queue_.push(op::RemoveAllBindings{std::move(aor)}); }
    void purge_expired(Time now) override { store_.queue_.push(op::PurgeBindings{now}); }
    Result<std::vector<Binding>> load_all(Time now) override {
      if (auto flushed = store_.queue_.flush(kReadFlushTimeout); !flushed) return Unexpected<Error>{flushed.error()};
      return store_.backend_->load_bindings(now);
    }

   private:
    QueuedStore& store_;
  };

  class Bans final : public BanStore {
   public:
    explicit Bans(QueuedStore& store) : store_(store) {}
    void upsert(Ban ban) override { store_.queue_.push(op::UpsertBan{std::move(ban)}); }
    void remove(std::string prefix) override { store_.queue_.push(op::RemoveBan{std::move(prefix)}); }
    void purge_expired(Time now) override { store_.queue_.push(op::PurgeBans{now}); }
    Result<std::vector<Ban>> load_all(Time now) override {
      if (auto flushed = store_.queue_.flush(kReadFlushTimeout); !flushed) return Unexpected<Error>{flushed.error()};
      return store_.backend_->load_bans(now);
    }

   private:
    QueuedStore& store_;
  };

  class Incidents final : public IncidentStore {
   public:
    explicit Incidents(QueuedStore& store) : store_(store) {}
    void append(Incident incident) override { store_.queue_.push(op::AppendIncident{std::move(incident)}); }
    void purge_before(Time cutoff) override { store_.queue_.push(op::PurgeIncidents{cutoff}); }
    Result<std::vector<Incident>> query(const IncidentQuery& query) override {
      return store_.backend_->query_incidents(query);
    }

   private:
    QueuedStore& store_;
  };

  class Quality final : public QualityStore {
   public:
    explicit Quality(QueuedStore& store) : store_(store) {}
    void append(QualityRecord record) override { store_.queue_.push(op::AppendQuality{std::move(record)}); }
    void purge_before(Time cutoff) override { store_.queue_.push(op::PurgeQuality{cutoff}); }
    Result<std::vector<QualityRecord>> query(const QualityQuery& query) override {
      return store_.backend_->query_quality(query);
    }

   private:
    QueuedStore& store_;
  };

  std::unique_ptr<Backend> backend_;  // declared first: the queue's writer uses it until stopped
  WriteQueue queue_;
  Location location_;
  Bans bans_;
  Incidents incidents_;
  Quality quality_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& file, const StoreOptions& options) {
  auto backend = open_sqlite_backend(file, options);
  if (!backend) return Unexpected<Error>{backend.error()};
  return std::unique_ptr<Store>(std::make_unique<QueuedStore>(std::move(*backend), options));
}

Result<std::unique_ptr<Store>> open_store(const StoreConfig& config, const StoreOptions& options) {
  switch (config.backend) {
    case StoreConfig::Backend::sqlite:
      return open_sqlite_store(config.data_dir / "sipbox.db", options);
    case StoreConfig::Backend::postgresql:
      break;
  }
  return fail("store: the postgresql backend is not available in this build yet; set system/store/backend to sqlite");
}

}  // namespace sipbox::store
