#include "registrar/binding_record.h"

namespace sipbox::registrar {

// A field added to store::Binding must be kept here too, or unpack() drops it without a
// word (and same_but_refresh() ignores it). The size is the cheapest tripwire; the unit
// test's every_field_set() lists the fields.
static_assert(sizeof(store::Binding) == 312, "store::Binding changed: update BindingRecord and its test");

BindingRecord::BindingRecord(const store::Binding& b)
    : path_(b.path), expires_at_(b.expires_at), cseq_(b.cseq), reg_id_(b.reg_id), q_(b.q), port_(b.received.port) {
  const std::array<std::string_view, kFields> fields{
      b.contact, b.call_id, b.instance, b.user_agent, b.received.transport, b.received.address, b.received.socket};
  std::size_t total = 0;
  for (std::string_view f : fields) total += f.size();
  text_.reserve(total);  // exactly: the record lives as long as the registration
  for (std::size_t i = 0; i < kFields; ++i) {
    text_ += fields[i];
    end_[i] = static_cast<std::uint32_t>(text_.size());
  }
}

std::string_view BindingRecord::field(Field f) const {
  const auto i = static_cast<std::size_t>(f);
  const std::uint32_t begin = i == 0 ? 0 : end_[i - 1];
  return std::string_view(text_).substr(begin, end_[i] - begin);
}

store::Binding BindingRecord::unpack(std::string_view aor) const {
  store::Binding b;
  b.aor = aor;
  b.contact = contact();
  b.received.transport = transport();
  b.received.address = field(Field::Address);
  b.received.port = port_;
  b.received.socket = field(Field::Socket);
  b.path = path_;
  b.instance = instance();
  b.reg_id = reg_id_;
  b.q = q_;
  b.call_id = call_id();
  b.cseq = cseq_;
  b.expires_at = expires_at_;
  b.user_agent = field(Field::UserAgent);
  return b;
}

bool BindingRecord::same_but_refresh(const BindingRecord& o) const {
  for (std::size_t i = 0; i < kFields; ++i) {
    const auto f = static_cast<Field>(i);
    if (f != Field::CallId && field(f) != o.field(f)) return false;
  }
  return path_ == o.path_ && reg_id_ == o.reg_id_ && q_ == o.q_ && port_ == o.port_;
}

}  // namespace sipbox::registrar
