// RFC 3261 16.7 step 6: which branch's final response goes upstream.
#include <gtest/gtest.h>

#include "proxy/context.h"

namespace sipbox::proxy {
namespace {

std::size_t best_of(std::initializer_list<int> statuses) {
  std::vector<Branch> branches;
  for (int s : statuses) {
    Branch b;
    b.final = true;
    b.final_status = s;
    b.last_status = s;
    branches.push_back(std::move(b));
  }
  return best_branch(branches);
}

TEST(BestBranch, rfc3261_16_7_6xx_wins_over_everything) {
  EXPECT_EQ(best_of({486, 603}), 1u);
  EXPECT_EQ(best_of({302, 404, 600, 503}), 2u);
  EXPECT_EQ(best_of({603, 302}), 0u);
}

TEST(BestBranch, rfc3261_16_7_lowest_class_wins) {
  EXPECT_EQ(best_of({486, 302}), 1u);
  EXPECT_EQ(best_of({500, 404}), 1u);
  EXPECT_EQ(best_of({503, 486}), 1u);
  EXPECT_EQ(best_of({404, 500, 301}), 2u);
}

TEST(BestBranch, timeout_and_unreachable_come_last_in_their_class) {
  EXPECT_EQ(best_of({408, 404}), 1u);
  EXPECT_EQ(best_of({404, 408}), 0u);
  EXPECT_EQ(best_of({408, 486, 480}), 1u);
  EXPECT_EQ(best_of({503, 500}), 1u);
  EXPECT_EQ(best_of({500, 503}), 0u);
  EXPECT_EQ(best_of({503, 408}), 1u);  // 4xx before 5xx, even a made-up one
}

TEST(BestBranch, ties_go_to_the_earliest_branch) {
  EXPECT_EQ(best_of({486, 404}), 0u);
  EXPECT_EQ(best_of({404, 486}), 0u);
  EXPECT_EQ(best_of({408, 408}), 0u);
  EXPECT_EQ(best_of({487}), 0u);
}

}  // namespace
}  // namespace sipbox::proxy
