#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace sipbox {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return fail("odd: " + std::to_string(n));
  return n / 2;
}

TEST(Result, CarriesValueOrError) {
  auto ok = half(8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 4);
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "odd: 3");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(Result, ReadingTheWrongSideIsAProgrammerError) {
  EXPECT_THROW((void)half(3).value(), std::logic_error);
  EXPECT_THROW((void)half(2).error(), std::logic_error);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Status, VoidResult) {
  Status ok;
  EXPECT_TRUE(ok);
  Status bad = fail("no");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "no");
}

}  // namespace
}  // namespace sipbox
