// The client side of the control socket (docs/control.md): `shunt ss`,
// `shunt stat` and `shunt fault` send one request line to a preloaded
// process and read one JSON document back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "control/json.h"
#include "stack/base/result.h"

namespace shunt::tools {

// The reply of process `pid` to `request`. The error is one line: no such
// process, not a shunt process, permission denied, or the reply's "error".
Expected<control::Json, std::string> control_request(int pid, std::string_view request);

// Every process with a live control socket, by pid. Files left behind by
// processes that are gone are removed on the way.
std::vector<int> running_pids();

// "1234" -> 1234; the error names the argument.
Expected<int, std::string> parse_pid(std::string_view arg);

// The subcommands (tools/ss_cmd.cc, stat_cmd.cc, fault_cmd.cc); `args`
// starts after the subcommand's name. Exit status: 0, 1 (the process said
// no), 2 (usage).
int ss_main(const std::vector<std::string_view>& args);
int stat_main(const std::vector<std::string_view>& args);
int fault_main(const std::vector<std::string_view>& args);

}  // namespace shunt::tools
