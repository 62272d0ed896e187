// `shunt stat`: the counters of a "stat" reply (snapshot_json.h) grouped
// like `netstat -s` / `nstat`, then the drop reasons and the fault rules'
// counts. Pure, so the layout has golden tests.
#pragma once

#include <string>

#include "control/json.h"

namespace shunt::control {

struct StatOptions {
  bool zeros = false;  // -z: counters that are 0 too (nstat -z)
};

// `previous` (may be null) is the reply of the last --watch round,
// `interval_s` its age: each counter that moved gets its change and rate.
std::string format_stat(const Json& reply, const StatOptions& o, const Json* previous = nullptr,
                        double interval_s = 0);

}  // namespace shunt::control
