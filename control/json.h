// The JSON type of the control protocol: nlohmann's, keeping keys in the
// order they were written (counters read in netstat's order, not sorted).
#pragma once

#include <nlohmann/json.hpp>

namespace shunt::control {
using Json = nlohmann::ordered_json;
}  // namespace shunt::control
