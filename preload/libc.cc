#include "preload/libc.h"

#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace shunt::preload {
namespace {

template <class F>
void resolve(F& f, const char* name, bool required = true) {
  f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (f == nullptr && required) {
    std::fprintf(stderr, "shunt: libc has no %s; cannot interpose it\n", name);
    std::abort();
  }
}

Libc load() {
  Libc l{};
#define SHUNT_RESOLVE(name, ret, args) resolve(l.name, #name);
#define SHUNT_RESOLVE_OPT(name, ret, args) resolve(l.name, #name, false);
#define SHUNT_NO_RESOLVE(name)
  SHUNT_LIBC_SYMBOLS(SHUNT_RESOLVE, SHUNT_RESOLVE_OPT, SHUNT_NO_RESOLVE, SHUNT_RESOLVE)
#undef SHUNT_RESOLVE
#undef SHUNT_RESOLVE_OPT
#undef SHUNT_NO_RESOLVE
  return l;
}

}  // namespace

const Libc& libc() {
  static const Libc table = load();
  return table;
}

int move_high(int fd) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  long base = static_cast<long>(std::min<rlim_t>(rl.rlim_cur, 1 << 20)) - 64;
  if (base < 100) return fd;
  int high = libc().fcntl(fd, F_DUPFD_CLOEXEC, static_cast<int>(base));
  if (high < 0) return fd;
  libc().close(fd);
  return high;
}

}  // namespace shunt::preload
