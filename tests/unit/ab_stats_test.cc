// shunt ab's statistics (tools/ab/stats.h): percentiles by linear
// interpolation between closest ranks (numpy's default), medians, summaries
// and ratios, on values whose answers are known.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tools/ab/stats.h"

namespace shunt::ab {
namespace {

TEST(AbStats, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(median({3, 1, 2}), 2.0);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(median({7}), 7.0);
  EXPECT_EQ(median({}), std::nullopt);
}

TEST(AbStats, MedianIgnoresOrderAndNonFiniteValues) {
  EXPECT_EQ(median({10, 1, 1000, 100, 10000}), 100.0);
  EXPECT_EQ(median({5, std::nan(""), 1, std::numeric_limits<double>::infinity(), 3}), 3.0);
  EXPECT_EQ(median({std::nan("")}), std::nullopt);
}

TEST(AbStats, PercentilesInterpolateBetweenClosestRanks) {
  // numpy.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p): 1, 1.09, 5.5, 9.1, 9.91, 10.
  const std::vector<double> v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_DOUBLE_EQ(*percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(*percentile(v, 1), 1.09);
  EXPECT_DOUBLE_EQ(*percentile(v, 50), 5.5);
  EXPECT_DOUBLE_EQ(*percentile(v, 90), 9.1);
  EXPECT_DOUBLE_EQ(*percentile(v, 99), 9.91);
  EXPECT_DOUBLE_EQ(*percentile(v, 100), 10.0);
  // 101 values 0..100: the p-th percentile is p.
  std::vector<double> w;
  for (int i = 100; i >= 0; --i) w.push_back(i);
  for (double p : {0.0, 25.0, 50.0, 99.0, 100.0}) EXPECT_DOUBLE_EQ(*percentile(w, p), p) << p;
  EXPECT_DOUBLE_EQ(*percentile(w, 99.5), 99.5);
}

TEST(AbStats, PercentileRejectsOutOfRangeP) {
  EXPECT_EQ(percentile({1, 2}, -1), std::nullopt);
  EXPECT_EQ(percentile({1, 2}, 100.5), std::nullopt);
  EXPECT_EQ(percentile({1, 2}, std::nan("")), std::nullopt);
  EXPECT_EQ(percentile({}, 50), std::nullopt);
}

TEST(AbStats, SummaryHasCountMedianAndRange) {
  Summary s = summarize({4, 2, std::nan(""), 9});
  EXPECT_EQ(s.n, 3u);
  EXPECT_EQ(s.median, 4.0);
  EXPECT_EQ(s.min, 2.0);
  EXPECT_EQ(s.max, 9.0);
  Summary none = summarize({});
  EXPECT_EQ(none.n, 0u);
  EXPECT_FALSE(none.median || none.min || none.max);
}

TEST(AbStats, RatioNeedsBothSidesAndANonZeroKernel) {
  EXPECT_DOUBLE_EQ(*ratio(3.0, 12.0), 0.25);
  EXPECT_EQ(ratio(3.0, 0.0), std::nullopt);
  EXPECT_EQ(ratio(std::nullopt, 1.0), std::nullopt);
  EXPECT_EQ(ratio(1.0, std::nullopt), std::nullopt);
  EXPECT_DOUBLE_EQ(*ratio(0.0, 5.0), 0.0);
}

}  // namespace
}  // namespace shunt::ab
