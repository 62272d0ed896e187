// The one list of the libc symbols shunt touches (docs/contributing.md,
// "Add an interposed call"). From it come the table of real entry points
// (libc.h: one function pointer per CALL, CALL_OPT and REAL entry, resolved
// once with dlsym(RTLD_NEXT)) and the version script that exports the
// interposed ones (preload/CMakeLists.txt writes exports.map from the
// CALL, CALL_OPT and WRAP lines, one entry a line).
//
//   CALL(name, ret, args)      interposed; the real one must exist
//   CALL_OPT(name, ret, args)  interposed; the real one may be missing (nullptr)
//   WRAP(name)                 interposed; no entry in the table (a _chk
//                              variant or a call made of others)
//   REAL(name, ret, args)      not interposed; the real one must exist
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

// clang-format off
#define SHUNT_LIBC_SYMBOLS(CALL, CALL_OPT, WRAP, REAL)                                           \
  CALL(socket, int, (int, int, int))                                                            \
  REAL(socketpair, int, (int, int, int, int*))                                                  \
  CALL(bind, int, (int, const sockaddr*, socklen_t))                                            \
  CALL(listen, int, (int, int))                                                                 \
  CALL(accept, int, (int, sockaddr*, socklen_t*))                                               \
  CALL(accept4, int, (int, sockaddr*, socklen_t*, int))                                         \
  CALL(connect, int, (int, const sockaddr*, socklen_t))                                         \
  CALL(getsockname, int, (int, sockaddr*, socklen_t*))                                          \
  CALL(getpeername, int, (int, sockaddr*, socklen_t*))                                          \
  CALL(getsockopt, int, (int, int, int, void*, socklen_t*))                                     \
  CALL(setsockopt, int, (int, int, int, const void*, socklen_t))                                \
  CALL(send, ssize_t, (int, const void*, size_t, int))                                          \
  CALL(sendto, ssize_t, (int, const void*, size_t, int, const sockaddr*, socklen_t))            \
  CALL(sendmsg, ssize_t, (int, const msghdr*, int))                                             \
  CALL(sendmmsg, int, (int, mmsghdr*, unsigned int, int))                                       \
  CALL(recv, ssize_t, (int, void*, size_t, int))                                                \
  WRAP(__recv_chk)                                                                              \
  CALL(recvfrom, ssize_t, (int, void*, size_t, int, sockaddr*, socklen_t*))                     \
  WRAP(__recvfrom_chk)                                                                          \
  CALL(recvmsg, ssize_t, (int, msghdr*, int))                                                   \
  CALL(recvmmsg, int, (int, mmsghdr*, unsigned int, int, timespec*))                            \
  CALL(read, ssize_t, (int, void*, size_t))                                                     \
  WRAP(__read_chk)                                                                              \
  CALL(write, ssize_t, (int, const void*, size_t))                                              \
  CALL(readv, ssize_t, (int, const iovec*, int))                                                \
  CALL(writev, ssize_t, (int, const iovec*, int))                                               \
  CALL(sendfile, ssize_t, (int, int, off_t*, size_t))                                           \
  CALL(sendfile64, ssize_t, (int, int, off64_t*, size_t))                                       \
  CALL(splice, ssize_t, (int, loff_t*, int, loff_t*, size_t, unsigned int))                     \
  CALL(shutdown, int, (int, int))                                                               \
  CALL(close, int, (int))                                                                       \
  CALL_OPT(close_range, int, (unsigned, unsigned, int))                                         \
  WRAP(closefrom)                                                                               \
  CALL(dup, int, (int))                                                                         \
  CALL(dup2, int, (int, int))                                                                   \
  CALL(dup3, int, (int, int, int))                                                              \
  CALL(fcntl, int, (int, int, ...))                                                             \
  CALL_OPT(fcntl64, int, (int, int, ...))                                                       \
  CALL(ioctl, int, (int, unsigned long, ...))                                                   \
  CALL(poll, int, (pollfd*, nfds_t, int))                                                       \
  WRAP(__poll_chk)                                                                              \
  CALL(ppoll, int, (pollfd*, nfds_t, const timespec*, const sigset_t*))                         \
  WRAP(__ppoll_chk)                                                                             \
  CALL(select, int, (int, fd_set*, fd_set*, fd_set*, timeval*))                                 \
  CALL(pselect, int, (int, fd_set*, fd_set*, fd_set*, const timespec*, const sigset_t*))        \
  REAL(epoll_create, int, (int))                                                                \
  REAL(epoll_create1, int, (int))                                                               \
  CALL(epoll_ctl, int, (int, int, int, epoll_event*))                                           \
  CALL(epoll_wait, int, (int, epoll_event*, int, int))                                          \
  CALL(epoll_pwait, int, (int, epoll_event*, int, int, const sigset_t*))                        \
  CALL_OPT(epoll_pwait2, int, (int, epoll_event*, int, const timespec*, const sigset_t*))       \
  REAL(fork, pid_t, ())                                                                         \
  CALL(_exit, void, (int))                                                                      \
  WRAP(_Exit)                                                                                   \
  CALL(syscall, long, (long, ...))                                                              \
  CALL(fstat, int, (int, struct stat*))                                                         \
  CALL_OPT(fstat64, int, (int, struct stat64*))                                                 \
  CALL_OPT(__fxstat, int, (int, int, struct stat*))                                             \
  CALL_OPT(__fxstat64, int, (int, int, struct stat64*))                                         \
  CALL_OPT(fstatat, int, (int, const char*, struct stat*, int))                                 \
  CALL_OPT(fstatat64, int, (int, const char*, struct stat64*, int))                             \
  CALL_OPT(statx, int, (int, const char*, int, unsigned, struct statx*))
// clang-format on
