// Order statistics for `shunt ab` reports: medians of the runs, the
// percentiles the report and the plot show. Pure functions, unit-tested
// (tests/unit/ab_stats_test.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

namespace shunt::ab {

// The p-th percentile (0 <= p <= 100) by linear interpolation between the
// closest ranks: the value at rank (n - 1) * p / 100 of the sorted values
// (Hyndman and Fan's definition 7; numpy's default, R's type 7, Excel's
// PERCENTILE.INC). Non-finite values are ignored; nullopt when none is left
// or p is outside [0, 100].
std::optional<double> percentile(std::vector<double> values, double p);

// percentile(values, 50): the middle value, or the mean of the two middle
// ones.
std::optional<double> median(std::vector<double> values);

struct Summary {
  size_t n = 0;  // finite values
  std::optional<double> median;
  std::optional<double> min;
  std::optional<double> max;
};

Summary summarize(const std::vector<double>& values);

// shunt / kernel: nullopt when either is missing or the kernel's is 0 (a
// count of retransmissions, say, where a ratio means nothing).
std::optional<double> ratio(std::optional<double> shunt, std::optional<double> kernel);

}  // namespace shunt::ab
