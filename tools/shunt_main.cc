// The `shunt` command: `shunt [options] -- PROGRAM` runs a program on the
// stack; subcommands (lab, ...) manage the test network and the tools.
#include <cstring>
#include <string_view>
#include <vector>

#include "tools/lab.h"
#include "tools/wrapper.h"

int main(int argc, char** argv) {
  // `shunt lab up|down|status` (tools/lab.h, docs/lab.md).
  if (argc >= 2 && std::strcmp(argv[1], "lab") == 0) {
    return shunt::lab::run(std::vector<std::string_view>(argv + 1, argv + argc));
  }
  return shunt::tools::wrapper_main(argc, argv);
}
