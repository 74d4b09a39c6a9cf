// The registrar's in-memory form of a binding: everything store::Binding carries comes
// back out, and only the fields a periodic re-registration changes count as a refresh.
#include "registrar/binding_record.h"

#include <gtest/gtest.h>

namespace sipbox::registrar::test {
namespace {

store::Binding every_field_set() {
  store::Binding b;
  b.aor = "sip:alice@example.com";
  b.contact = "sip:alice@192.0.2.10:5062;transport=tcp;ob";
  b.received = store::Source{"tcp", "2001:db8::10", 40123, "tcp-v6"};
  b.path = {"<sip:edge1.example.com;lr>", "<sip:edge2.example.com;lr>"};
  b.instance = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  b.reg_id = 2;
  b.q = 700;
  b.call_id = "a84b4c76e66710@pc33.atlanta.com";
  b.cseq = 314159;
  b.expires_at = store::Time(std::chrono::seconds(1'800'000'600));
  b.user_agent = "Yealink SIP-T46S 66.86.0.15";
  return b;
}

TEST(BindingRecord, UnpacksToTheBindingItWasMadeFrom) {
  const store::Binding b = every_field_set();
  const BindingRecord record(b);
  EXPECT_EQ(record.unpack(b.aor), b);
  EXPECT_EQ(record.contact(), b.contact);
  EXPECT_EQ(record.call_id(), b.call_id);
  EXPECT_EQ(record.instance(), b.instance);
  EXPECT_EQ(record.transport(), "tcp");
  EXPECT_EQ(record.reg_id(), 2u);
  EXPECT_EQ(record.cseq(), 314159u);
  EXPECT_EQ(record.q(), 700);
  EXPECT_EQ(record.expires_at(), b.expires_at);
}

TEST(BindingRecord, EmptyFieldsStayEmpty) {
  store::Binding b;
  b.aor = "sip:bob@example.com";
  b.contact = "sip:bob@192.0.2.20";
  const BindingRecord record(b);
  EXPECT_EQ(record.unpack(b.aor), b);
  EXPECT_EQ(record.call_id(), "");
  EXPECT_EQ(record.instance(), "");
}

TEST(BindingRecord, ExpiryCSeqAndCallIdAreARefresh) {
  const store::Binding b = every_field_set();
  store::Binding later = b;
  later.expires_at += std::chrono::seconds(3600);
  later.cseq += 1;
  later.call_id = "after-a-reboot@pc33.atlanta.com";
  EXPECT_TRUE(BindingRecord(b).same_but_refresh(BindingRecord(later)));
}

TEST(BindingRecord, AnyOtherFieldIsAChange) {
  const store::Binding b = every_field_set();
  const std::vector<void (*)(store::Binding&)> edits = {
      [](store::Binding& x) { x.contact += ";x"; },
      [](store::Binding& x) { x.received.transport = "tls"; },
      [](store::Binding& x) { x.received.address = "2001:db8::11"; },
      [](store::Binding& x) { x.received.port += 1; },
      [](store::Binding& x) { x.received.socket = "tcp-v6b"; },
      [](store::Binding& x) { x.path.pop_back(); },
      [](store::Binding& x) { x.instance.clear(); },
      [](store::Binding& x) { x.reg_id = 3; },
      [](store::Binding& x) { x.q = 1000; },
      [](store::Binding& x) { x.user_agent = "Yealink SIP-T46S 66.86.0.16"; },
      // The same text split differently between neighbouring fields.
      [](store::Binding& x) { x.instance += x.user_agent.substr(0, 1), x.user_agent.erase(0, 1); },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    store::Binding changed = b;
    edits[i](changed);
    EXPECT_FALSE(BindingRecord(b).same_but_refresh(BindingRecord(changed))) << "edit " << i;
  }
}

}  // namespace
}  // namespace sipbox::registrar::test
