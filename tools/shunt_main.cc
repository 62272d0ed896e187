// The `shunt` command: `shunt [options] -- PROGRAM` runs a program on the
// stack; subcommands (lab, ...) manage the test network and the tools.
#include <cstring>

#include "tools/wrapper.h"

int main(int argc, char** argv) {
  return shunt::tools::wrapper_main(argc, argv);
}
