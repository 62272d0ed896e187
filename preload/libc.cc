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
  resolve(l.socket, "socket");
  resolve(l.socketpair, "socketpair");
  resolve(l.bind, "bind");
  resolve(l.listen, "listen");
  resolve(l.accept, "accept");
  resolve(l.accept4, "accept4");
  resolve(l.connect, "connect");
  resolve(l.getsockname, "getsockname");
  resolve(l.getpeername, "getpeername");
  resolve(l.getsockopt, "getsockopt");
  resolve(l.setsockopt, "setsockopt");
  resolve(l.send, "send");
  resolve(l.sendto, "sendto");
  resolve(l.sendmsg, "sendmsg");
  resolve(l.sendmmsg, "sendmmsg");
  resolve(l.recv, "recv");
  resolve(l.recvfrom, "recvfrom");
  resolve(l.recvmsg, "recvmsg");
  resolve(l.recvmmsg, "recvmmsg");
  resolve(l.read, "read");
  resolve(l.write, "write");
  resolve(l.readv, "readv");
  resolve(l.writev, "writev");
  resolve(l.sendfile, "sendfile");
  resolve(l.sendfile64, "sendfile64");
  resolve(l.splice, "splice");
  resolve(l.shutdown, "shutdown");
  resolve(l.close, "close");
  resolve(l.close_range, "close_range", false);
  resolve(l.dup, "dup");
  resolve(l.dup2, "dup2");
  resolve(l.dup3, "dup3");
  resolve(l.fcntl, "fcntl");
  resolve(l.fcntl64, "fcntl64", false);
  resolve(l.ioctl, "ioctl");
  resolve(l.poll, "poll");
  resolve(l.ppoll, "ppoll");
  resolve(l.select, "select");
  resolve(l.pselect, "pselect");
  resolve(l.epoll_create, "epoll_create");
  resolve(l.epoll_create1, "epoll_create1");
  resolve(l.epoll_ctl, "epoll_ctl");
  resolve(l.epoll_wait, "epoll_wait");
  resolve(l.epoll_pwait, "epoll_pwait");
  resolve(l.epoll_pwait2, "epoll_pwait2", false);
  resolve(l.fork, "fork");
  resolve(l.exit_now, "_exit");
  resolve(l.syscall, "syscall");
  resolve(l.fstat, "fstat");
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
