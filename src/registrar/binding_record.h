// A binding as registrar::Location holds it in memory (issue 4: memory per registration).
// store::Binding is the exchange form, one std::string per field (seven of them, 350 bytes
// before any text). A registrar holds one per registered phone, so here the AOR is left
// out (it is Location's map key) and the text fields share one buffer: a binding costs
// about 110 bytes plus its text, in one or two allocations.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace sipbox::registrar {

class BindingRecord {
 public:
  explicit BindingRecord(const store::Binding& binding);

  // The store::Binding this record was made from, with `aor` put back.
  store::Binding unpack(std::string_view aor) const;

  std::string_view contact() const { return field(Field::Contact); }
  std::string_view call_id() const { return field(Field::CallId); }
  std::string_view instance() const { return field(Field::Instance); }
  std::string_view transport() const { return field(Field::Transport); }  // received.transport
  std::uint32_t reg_id() const { return reg_id_; }
  std::uint32_t cseq() const { return cseq_; }
  std::uint16_t q() const { return q_; }
  store::Time expires_at() const { return expires_at_; }

  // Equal in everything but what a periodic re-registration changes: the expiry, the
  // CSeq and the Call-ID (Location's only_refreshed).
  bool same_but_refresh(const BindingRecord& other) const;

 private:
  enum class Field : std::uint8_t { Contact, CallId, Instance, UserAgent, Transport, Address, Socket, Count };
  static constexpr std::size_t kFields = static_cast<std::size_t>(Field::Count);

  std::string_view field(Field f) const;

  std::string text_;                          // the fields in Field order, back to back
  std::array<std::uint32_t, kFields> end_{};  // where each field ends in text_
  std::vector<std::string> path_;             // Path values (RFC 3327), mostly none
  store::Time expires_at_{};
  std::uint32_t cseq_ = 0;
  std::uint32_t reg_id_ = 0;
  std::uint16_t q_ = 1000;
  std::uint16_t port_ = 0;  // received.port
};

}  // namespace sipbox::registrar
