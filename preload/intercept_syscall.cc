// syscall(2) itself, for the numbers libshunt.so interposes by name.
//
// Some programs make socket and fd calls through syscall() instead of the
// libc wrappers: libuv closes fds with syscall(SYS_close) and reads some
// with syscall(SYS_read), daemons close every fd with
// syscall(SYS_close_range). Those calls would bypass the fd table and
// leave a stale mapping behind (a later open() reusing the number would
// read from the old stack socket). OpenOnload interposes syscall() the same
// way. Each number below goes to the interposed function of the same name,
// which itself sends kernel fds straight to the kernel; every other number
// goes to libc's syscall() unchanged.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <type_traits>

#include "preload/calls.h"


using namespace shunt::preload;

namespace {

template <class T>
T arg(long v) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<T>(v);
  } else {
    return static_cast<T>(v);
  }
}

// fstatat/statx with AT_EMPTY_PATH on a stack fd describe the fd itself:
// report a socket, as fstat does (intercept_stat.cc).
bool stats_stack_fd(long dirfd, long path, long flags) {
  const char* p = reinterpret_cast<const char*>(path);
  return (flags & AT_EMPTY_PATH) != 0 && p != nullptr && *p == '\0' &&
         Runtime::get().lookup(static_cast<int>(dirfd)) != nullptr;
}

// The system call itself, without libc: syscall() runs where nothing else
// may (jemalloc reads /proc with syscall(SYS_read) while it initialises,
// before malloc works, so neither the runtime nor dlsym may run there).
long raw_syscall(long n, const long* a) {
#if defined(__x86_64__)
  long r;
  register long r10 asm("r10") = a[3];
  register long r8 asm("r8") = a[4];
  register long r9 asm("r9") = a[5];
  asm volatile("syscall"
               : "=a"(r)
               : "0"(n), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  if (r < 0 && r > -4096) return fail_with_errno(static_cast<int>(-r));  // the kernel's
  return r;
#else
  return libc().syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
#endif
}

}  // namespace

SHUNT_EXPORT long syscall(long n, ...) noexcept {
  va_list ap;
  va_start(ap, n);
  long a[6];
  for (long& v : a) v = va_arg(ap, long);
  va_end(ap);
  // Before the first socket there is no stack fd to find: only socket()
  // itself needs the runtime.
  if (Runtime::existing() == nullptr && n != SYS_socket) return raw_syscall(n, a);
  switch (n) {
    case SYS_read: return read(arg<int>(a[0]), arg<void*>(a[1]), arg<size_t>(a[2]));
    case SYS_write: return write(arg<int>(a[0]), arg<const void*>(a[1]), arg<size_t>(a[2]));
    case SYS_readv: return readv(arg<int>(a[0]), arg<const iovec*>(a[1]), arg<int>(a[2]));
    case SYS_writev: return writev(arg<int>(a[0]), arg<const iovec*>(a[1]), arg<int>(a[2]));
    case SYS_close: return close(arg<int>(a[0]));
#ifdef SYS_close_range
    case SYS_close_range: return close_range(arg<unsigned>(a[0]), arg<unsigned>(a[1]), arg<int>(a[2]));
#endif
    case SYS_dup: return dup(arg<int>(a[0]));
#ifdef SYS_dup2
    case SYS_dup2: return dup2(arg<int>(a[0]), arg<int>(a[1]));
#endif
    case SYS_dup3: return dup3(arg<int>(a[0]), arg<int>(a[1]), arg<int>(a[2]));
    case SYS_fcntl: return fcntl(arg<int>(a[0]), arg<int>(a[1]), arg<void*>(a[2]));
    case SYS_ioctl: return ioctl(arg<int>(a[0]), arg<unsigned long>(a[1]), arg<void*>(a[2]));
    case SYS_socket: return socket(arg<int>(a[0]), arg<int>(a[1]), arg<int>(a[2]));
    case SYS_bind: return bind(arg<int>(a[0]), arg<const sockaddr*>(a[1]), arg<socklen_t>(a[2]));
    case SYS_listen: return listen(arg<int>(a[0]), arg<int>(a[1]));
#ifdef SYS_accept
    case SYS_accept: return accept(arg<int>(a[0]), arg<sockaddr*>(a[1]), arg<socklen_t*>(a[2]));
#endif
    case SYS_accept4:
      return accept4(arg<int>(a[0]), arg<sockaddr*>(a[1]), arg<socklen_t*>(a[2]), arg<int>(a[3]));
    case SYS_connect: return connect(arg<int>(a[0]), arg<const sockaddr*>(a[1]), arg<socklen_t>(a[2]));
    case SYS_getsockname: return getsockname(arg<int>(a[0]), arg<sockaddr*>(a[1]), arg<socklen_t*>(a[2]));
    case SYS_getpeername: return getpeername(arg<int>(a[0]), arg<sockaddr*>(a[1]), arg<socklen_t*>(a[2]));
    case SYS_setsockopt:
      return setsockopt(arg<int>(a[0]), arg<int>(a[1]), arg<int>(a[2]), arg<const void*>(a[3]),
                        arg<socklen_t>(a[4]));
    case SYS_getsockopt:
      return getsockopt(arg<int>(a[0]), arg<int>(a[1]), arg<int>(a[2]), arg<void*>(a[3]),
                        arg<socklen_t*>(a[4]));
    case SYS_sendto:
      return sendto(arg<int>(a[0]), arg<const void*>(a[1]), arg<size_t>(a[2]), arg<int>(a[3]),
                    arg<const sockaddr*>(a[4]), arg<socklen_t>(a[5]));
    case SYS_recvfrom:
      return recvfrom(arg<int>(a[0]), arg<void*>(a[1]), arg<size_t>(a[2]), arg<int>(a[3]),
                      arg<sockaddr*>(a[4]), arg<socklen_t*>(a[5]));
    case SYS_sendmsg: return sendmsg(arg<int>(a[0]), arg<const msghdr*>(a[1]), arg<int>(a[2]));
    case SYS_recvmsg: return recvmsg(arg<int>(a[0]), arg<msghdr*>(a[1]), arg<int>(a[2]));
    case SYS_sendmmsg:
      return sendmmsg(arg<int>(a[0]), arg<mmsghdr*>(a[1]), arg<unsigned>(a[2]), arg<int>(a[3]));
    case SYS_recvmmsg:
      return recvmmsg(arg<int>(a[0]), arg<mmsghdr*>(a[1]), arg<unsigned>(a[2]), arg<int>(a[3]),
                      arg<timespec*>(a[4]));
    case SYS_shutdown: return shutdown(arg<int>(a[0]), arg<int>(a[1]));
    case SYS_sendfile:
      return sendfile(arg<int>(a[0]), arg<int>(a[1]), arg<off_t*>(a[2]), arg<size_t>(a[3]));
    case SYS_splice:
      return splice(arg<int>(a[0]), arg<loff_t*>(a[1]), arg<int>(a[2]), arg<loff_t*>(a[3]), arg<size_t>(a[4]),
                    arg<unsigned>(a[5]));
#ifdef SYS_poll
    case SYS_poll: return poll(arg<pollfd*>(a[0]), arg<nfds_t>(a[1]), arg<int>(a[2]));
#endif
    case SYS_ppoll:
      // The kernel's fifth argument is the sigset's size; libc's ppoll
      // passes its own.
      return ppoll(arg<pollfd*>(a[0]), arg<nfds_t>(a[1]), arg<const timespec*>(a[2]),
                   arg<const sigset_t*>(a[3]));
#ifdef SYS_select
    case SYS_select:
      return select(arg<int>(a[0]), arg<fd_set*>(a[1]), arg<fd_set*>(a[2]), arg<fd_set*>(a[3]),
                    arg<timeval*>(a[4]));
#endif
    case SYS_pselect6: {
      // The sixth argument points at {const sigset_t* ss; size_t ss_len}.
      const auto* data = arg<const long*>(a[5]);
      const auto* mask = data != nullptr ? reinterpret_cast<const sigset_t*>(data[0]) : nullptr;
      return pselect(arg<int>(a[0]), arg<fd_set*>(a[1]), arg<fd_set*>(a[2]), arg<fd_set*>(a[3]),
                     arg<const timespec*>(a[4]), mask);
    }
    case SYS_epoll_ctl:
      return epoll_ctl(arg<int>(a[0]), arg<int>(a[1]), arg<int>(a[2]), arg<epoll_event*>(a[3]));
#ifdef SYS_epoll_wait
    case SYS_epoll_wait:
      return epoll_wait(arg<int>(a[0]), arg<epoll_event*>(a[1]), arg<int>(a[2]), arg<int>(a[3]));
#endif
    case SYS_epoll_pwait:
      return epoll_pwait(arg<int>(a[0]), arg<epoll_event*>(a[1]), arg<int>(a[2]), arg<int>(a[3]),
                         arg<const sigset_t*>(a[4]));
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
      return epoll_pwait2(arg<int>(a[0]), arg<epoll_event*>(a[1]), arg<int>(a[2]),
                          arg<const timespec*>(a[3]), arg<const sigset_t*>(a[4]));
#endif
    case SYS_fstat: return fstat(arg<int>(a[0]), arg<struct stat*>(a[1]));
#ifdef SYS_newfstatat
    case SYS_newfstatat:
      if (stats_stack_fd(a[0], a[1], a[3])) return fstat(arg<int>(a[0]), arg<struct stat*>(a[2]));
      break;
#endif
#ifdef SYS_statx
    case SYS_statx: {
      if (!stats_stack_fd(a[0], a[1], a[2])) break;
      long r = raw_syscall(n, a);
      if (r == 0 && a[4] != 0) {
        auto* stx = arg<struct statx*>(a[4]);
        stx->stx_mode = S_IFSOCK | 0777;
        stx->stx_size = 0;
      }
      return r;
    }
#endif
    case SYS_exit_group:
      // The process ends: its sockets close as at _exit (intercept_exit.cc).
      _exit(arg<int>(a[0]));
    default:
      break;
  }
  return raw_syscall(n, a);
}
