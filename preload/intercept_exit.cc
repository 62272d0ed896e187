// Interposed process exit: _exit and _Exit. exit() and a return from main
// reach Runtime::exit_sockets through atexit; these skip atexit handlers,
// yet the kernel still closes a dying process's sockets (FIN or RST to the
// peer), so they close the stack's sockets first (docs/design.md 7).
#include <cstdlib>
#include <unistd.h>

#include "preload/calls.h"

using namespace shunt::preload;

namespace {

[[noreturn]] void exit_process(int status) {
  // A process that never made a socket has no runtime to build now.
  if (Runtime* rt = Runtime::existing()) rt->exit_sockets();
  libc()._exit(status);
  __builtin_unreachable();
}

}  // namespace

SHUNT_EXPORT void _exit(int status) noexcept { exit_process(status); }
SHUNT_EXPORT void _Exit(int status) noexcept { exit_process(status); }
