// The codec impairment table: G.113 Appendix I defaults checked row by row against
// shared/corpora/emodel/g113.csv, lookups, and tables built from a configured list.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "quality/quality.h"

namespace sipbox::quality {
namespace {

struct CsvRow {
  std::string codec;
  std::string payload_type;
  double ie = 0;
  double bpl = 0;
};

std::vector<CsvRow> read_g113() {
  const std::string path = std::string(SIPBOX_CORPORA) + "/emodel/g113.csv";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<CsvRow> rows;
  std::string line;
  std::getline(in, line);  // header: codec,payload_type,ie,bpl,note
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    CsvRow row;
    std::string ie, bpl;
    std::getline(fields, row.codec, ',');
    std::getline(fields, row.payload_type, ',');
    std::getline(fields, ie, ',');
    std::getline(fields, bpl, ',');
    row.ie = std::stod(ie);
    row.bpl = std::stod(bpl);
    rows.push_back(row);
  }
  return rows;
}

TEST(CodecTable, DefaultsAreTheG113Table) {
  const std::vector<CsvRow> rows = read_g113();
  const CodecTable table = CodecTable::g113_defaults();
  ASSERT_EQ(rows.size(), 7u);
  ASSERT_EQ(table.entries().size(), rows.size());
  for (const CsvRow& row : rows) {
    SCOPED_TRACE(row.codec);
    const CodecImpairment* c = table.find(row.codec);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->name, row.codec);
    EXPECT_DOUBLE_EQ(c->ie, row.ie);
    EXPECT_DOUBLE_EQ(c->bpl, row.bpl);
    if (row.payload_type.empty()) {
      EXPECT_FALSE(c->payload_type.has_value());
    } else {
      ASSERT_TRUE(c->payload_type.has_value());
      EXPECT_EQ(*c->payload_type, std::stoi(row.payload_type));
    }
    // Every row gives a sensible rating at 1 % loss and 100 ms.
    const Rating r = simplified_rating(conditions_for(*c, 1, 1, 100));
    EXPECT_NEAR(r.r, 93.3552 - 2.67 - (row.ie + (95 - row.ie) * 1 / (1 + row.bpl)), 1e-9);
  }
}

TEST(CodecTable, LookupByNameIgnoresCaseAndKnowsG711Aliases) {
  const CodecTable table = CodecTable::g113_defaults();
  EXPECT_EQ(table.find("pcmu")->name, "PCMU");
  EXPECT_EQ(table.find("G711U")->name, "PCMU");
  EXPECT_EQ(table.find("g711a")->name, "PCMA");
  EXPECT_EQ(table.find("G711A-noplc")->name, "PCMA-noplc");
  EXPECT_EQ(table.find("gsm-efr")->name, "GSM-EFR");
  EXPECT_EQ(table.find("opus"), nullptr);
  EXPECT_EQ(table.find(""), nullptr);
  EXPECT_EQ(table.find("G711"), nullptr);
  EXPECT_EQ(table.names(), "PCMU, PCMU-noplc, PCMA, PCMA-noplc, G729, G723, GSM-EFR");
}

TEST(CodecTable, LookupByPayloadTypePrefersTheRfc3551Name) {
  const CodecTable table = CodecTable::g113_defaults();
  EXPECT_EQ(table.find_payload_type(0)->name, "PCMU");
  EXPECT_EQ(table.find_payload_type(8)->name, "PCMA");
  EXPECT_EQ(table.find_payload_type(18)->name, "G729");
  EXPECT_EQ(table.find_payload_type(4)->name, "G723");
  EXPECT_EQ(table.find_payload_type(96), nullptr);
  // rtpmap name first, payload type as the fallback.
  EXPECT_EQ(table.find_stream_codec("GSM-EFR", 97)->name, "GSM-EFR");
  EXPECT_EQ(table.find_stream_codec("", 8)->name, "PCMA");
  EXPECT_EQ(table.find_stream_codec("telephone-event", 101), nullptr);
}

TEST(CodecTable, FromConfiguredList) {
  auto table = CodecTable::from_list({{"PCMU-noplc", 0, 0, 4.3, ""}, {"opus", std::nullopt, 0, 30, "wideband"}});
  ASSERT_TRUE(table.has_value()) << table.error().message;
  EXPECT_EQ(table->find("OPUS")->bpl, 30);
  // Only a variant names payload type 0, so it is the one found.
  EXPECT_EQ(table->find_payload_type(0)->name, "PCMU-noplc");
  EXPECT_EQ(table->find("PCMA"), nullptr);  // the list replaces the defaults

  EXPECT_FALSE(CodecTable::from_list({{"PCMU", 0, 0, 25.1, ""}, {"pcmu", 0, 0, 4.3, ""}}).has_value());
  EXPECT_FALSE(CodecTable::from_list({{"", 0, 0, 25.1, ""}}).has_value());
  EXPECT_FALSE(CodecTable::from_list({{"bad name", 0, 0, 25.1, ""}}).has_value());
  EXPECT_FALSE(CodecTable::from_list({{"X", 0, 96, 25.1, ""}}).has_value());
  EXPECT_FALSE(CodecTable::from_list({{"X", 0, 0, 0, ""}}).has_value());
  EXPECT_FALSE(CodecTable::from_list({{"X", 200, 0, 1, ""}}).has_value());
  auto dup = CodecTable::from_list({{"G729", 18, 11, 19, ""}, {"g729", 18, 10, 19, ""}});
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("twice"), std::string::npos);
  EXPECT_TRUE(CodecTable::from_list({}).has_value());  // empty: nothing is rated
}

}  // namespace
}  // namespace sipbox::quality
