#include "tools/ab/stats.h"

#include <algorithm>
#include <cmath>

namespace shunt::ab {
namespace {

std::vector<double> finite_sorted(std::vector<double> values) {
  std::erase_if(values, [](double v) { return !std::isfinite(v); });
  std::sort(values.begin(), values.end());
  return values;
}

}  // namespace

std::optional<double> percentile(std::vector<double> values, double p) {
  if (!(p >= 0.0 && p <= 100.0)) return std::nullopt;
  values = finite_sorted(std::move(values));
  if (values.empty()) return std::nullopt;
  const double rank = static_cast<double>(values.size() - 1) * p / 100.0;
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

std::optional<double> median(std::vector<double> values) {
  return percentile(std::move(values), 50.0);
}

Summary summarize(const std::vector<double>& values) {
  std::vector<double> v = finite_sorted(values);
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  s.min = v.front();
  s.max = v.back();
  s.median = percentile(v, 50.0);
  return s;
}

std::optional<double> ratio(std::optional<double> shunt, std::optional<double> kernel) {
  if (!shunt || !kernel || *kernel == 0.0) return std::nullopt;
  return *shunt / *kernel;
}

}  // namespace shunt::ab
