// `shunt [options] -- PROGRAM [ARGS...]`: validates the settings, sets
// LD_PRELOAD and the SHUNT_* environment, and execs the program.
#pragma once

namespace shunt::tools {

int wrapper_main(int argc, char** argv);
void print_usage();

}  // namespace shunt::tools
