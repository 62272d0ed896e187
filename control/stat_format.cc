#include "control/stat_format.h"

#include <fmt/format.h>

namespace shunt::control {
namespace {

uint64_t lookup(const Json* j, const std::string& a, const std::string& b, const std::string& c) {
  if (j == nullptr || !j->contains(a)) return 0;
  const Json& x = (*j)[a];
  if (!x.contains(b)) return 0;
  const Json& y = x[b];
  if (c.empty()) return y.is_number() ? y.get<uint64_t>() : 0;
  return y.contains(c) && y[c].is_number() ? y[c].get<uint64_t>() : 0;
}

std::string line(const std::string& name, uint64_t v, const Json* prev, uint64_t before,
                 double interval_s) {
  std::string l = fmt::format("    {:<24} {:>14}", name, v);
  if (prev != nullptr && v != before) {
    const uint64_t d = v - before;
    l += fmt::format("  +{}", d);
    if (interval_s > 0) l += fmt::format(" ({:.0f}/s)", static_cast<double>(d) / interval_s);
  }
  return l + "\n";
}

}  // namespace

std::string format_stat(const Json& reply, const StatOptions& o, const Json* previous,
                        double interval_s) {
  std::string out = fmt::format("shunt stack of pid {} ({}), {}\n", reply.value("pid", 0),
                                reply.value("comm", "?"), reply.value("address", "?"));
  // (Copies: items() of a temporary would dangle in the loop.)
  const Json all_counters = reply.value("counters", Json::object());
  for (const auto& [group, counters] : all_counters.items()) {
    std::string body;
    for (const auto& [name, v] : counters.items()) {
      const uint64_t value = v.get<uint64_t>();
      if (value == 0 && !o.zeros) continue;
      body += line(name, value, previous, lookup(previous, "counters", group, name), interval_s);
    }
    if (!body.empty()) out += group + ":\n" + body;
  }
  std::string drops;
  const Json all_drops = reply.value("drops", Json::object());
  for (const auto& [name, v] : all_drops.items()) {
    drops += line(name, v.get<uint64_t>(), previous, lookup(previous, "drops", name, ""), interval_s);
  }
  out += "Drops (by reason):\n" + (drops.empty() ? std::string("    none\n") : drops);
  const Json faults = reply.value("faults", Json::object());
  const Json rules = faults.value("rules", Json::array());
  if (rules.empty()) {
    out += "Fault rules: none\n";
  } else {
    out += fmt::format("Fault rules (seed {}):\n", faults.value("seed", uint64_t{0}));
    out += fmt::format("    {:>3} {:>12} {:>12} {:>12}  {}\n", "id", "matched", "injected",
                       "rate-drops", "rule");
    for (const auto& r : rules) {
      out += fmt::format("    {:>3} {:>12} {:>12} {:>12}  {}\n", r.value("id", 0),
                         r.value("matched", uint64_t{0}), r.value("injected", uint64_t{0}),
                         r.value("rate_dropped", uint64_t{0}), r.value("rule", ""));
    }
  }
  return out;
}

}  // namespace shunt::control
