#include "sip/sip.h"

#include <gtest/gtest.h>

namespace sipbox::sip {
namespace {

TEST(HeaderNames, FullNamesAreCaseInsensitive) {
  EXPECT_EQ(lookup_header("Via"), HeaderId::Via);
  EXPECT_EQ(lookup_header("vIA"), HeaderId::Via);
  EXPECT_EQ(lookup_header("call-id"), HeaderId::CallId);
  EXPECT_EQ(lookup_header("WWW-Authenticate"), HeaderId::WwwAuthenticate);
  EXPECT_EQ(lookup_header("Record-Route"), HeaderId::RecordRoute);
  EXPECT_EQ(lookup_header("X-Unknown"), HeaderId::Other);
  EXPECT_EQ(lookup_header(""), HeaderId::Other);
  EXPECT_EQ(lookup_header("C%6Fntact"), HeaderId::Other);  // RFC 4475 3.1.1.5
}

// RFC 3261 7.3.3 and the IANA registry of compact forms.
TEST(HeaderNames, EveryRegisteredCompactForm) {
  const std::pair<const char*, HeaderId> cases[] = {
      {"a", HeaderId::AcceptContact}, {"b", HeaderId::ReferredBy},     {"c", HeaderId::ContentType},
      {"d", HeaderId::RequestDisposition}, {"e", HeaderId::ContentEncoding}, {"f", HeaderId::From},
      {"i", HeaderId::CallId},        {"j", HeaderId::RejectContact},  {"k", HeaderId::Supported},
      {"l", HeaderId::ContentLength}, {"m", HeaderId::Contact},        {"n", HeaderId::IdentityInfo},
      {"o", HeaderId::Event},         {"r", HeaderId::ReferTo},        {"s", HeaderId::Subject},
      {"t", HeaderId::To},            {"u", HeaderId::AllowEvents},    {"v", HeaderId::Via},
      {"x", HeaderId::SessionExpires}, {"y", HeaderId::Identity},
  };
  for (const auto& [name, id] : cases) {
    EXPECT_EQ(lookup_header(name), id) << name;
    const std::string upper(1, static_cast<char>(name[0] - 32));
    EXPECT_EQ(lookup_header(upper), id) << upper;
  }
  EXPECT_EQ(lookup_header("g"), HeaderId::Other);
  EXPECT_EQ(lookup_header("z"), HeaderId::Other);
}

TEST(HeaderNames, EveryTableEntryRoundTrips) {
  for (int i = 1; i < static_cast<int>(HeaderId::Count); ++i) {
    const auto id = static_cast<HeaderId>(i);
    EXPECT_EQ(lookup_header(header_info(id).name), id) << header_info(id).name;
  }
}

}  // namespace
}  // namespace sipbox::sip
