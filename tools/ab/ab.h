// `shunt ab ...`: the command line of the A/B runner (runner.h,
// docs/ab.md).
#pragma once

#include <string_view>
#include <vector>

namespace shunt::ab {

// args[0] is "ab". Returns the exit status.
int command(const std::vector<std::string_view>& args);

}  // namespace shunt::ab
