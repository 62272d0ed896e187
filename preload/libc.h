// The real libc entry points, resolved once with dlsym(RTLD_NEXT). Every
// call the preload layer forwards to the kernel goes through here. The
// fields come from the one list of symbols, preload/symbols.h.
#pragma once

#include "preload/symbols.h"

namespace shunt::preload {

#define SHUNT_LIBC_FIELD(name, ret, args) ret(*name) args;
#define SHUNT_LIBC_NO_FIELD(name)
struct Libc {
  SHUNT_LIBC_SYMBOLS(SHUNT_LIBC_FIELD, SHUNT_LIBC_FIELD, SHUNT_LIBC_NO_FIELD, SHUNT_LIBC_FIELD)
};
#undef SHUNT_LIBC_FIELD
#undef SHUNT_LIBC_NO_FIELD

// The table, resolved on first use (thread-safe). A CALL_OPT entry the
// libc underneath lacks is nullptr; a missing CALL or REAL one aborts.
const Libc& libc();

// Moves an fd the runtime keeps (close-on-exec) out of the way of the
// application's low numbers; returns the new number, or `fd` if none is free.
int move_high(int fd);

}  // namespace shunt::preload
