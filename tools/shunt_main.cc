// The `shunt` command: `shunt [options] -- PROGRAM` runs a program on the
// stack; subcommands (lab, ...) manage the test network and the tools.
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "control/json.h"
#include "tools/ab/ab.h"
#include "tools/control_client.h"
#include "tools/lab.h"
#include "tools/wrapper.h"

int main(int argc, char** argv) {
  // `shunt lab up|down|status` (tools/lab.h, docs/lab.md).
  if (argc >= 2 && std::strcmp(argv[1], "lab") == 0) {
    return shunt::lab::run(std::vector<std::string_view>(argv + 1, argv + argc));
  }
  // `shunt ss|stat|fault ...`: a running program's sockets, counters and
  // fault rules through its control socket (docs/control.md).
  if (argc >= 2) {
    const std::string_view cmd = argv[1];
    const std::vector<std::string_view> rest(argv + 2, argv + argc);
    // A reply of the right outline may still hold a value of the wrong type
    // (another process's socket, a newer shunt): a clear error, not a crash.
    try {
      if (cmd == "ss") return shunt::tools::ss_main(rest);
      if (cmd == "stat") return shunt::tools::stat_main(rest);
      if (cmd == "fault") return shunt::tools::fault_main(rest);
    } catch (const nlohmann::json::exception& e) {
      std::fprintf(stderr, "shunt %s: a malformed reply from a control socket: %s\n", argv[1], e.what());
      return 1;
    }
    // `shunt ab`: kernel vs shunt on the same workload (docs/ab.md).
    if (cmd == "ab") return shunt::ab::command({argv + 1, argv + argc});
  }
  return shunt::tools::wrapper_main(argc, argv);
}
