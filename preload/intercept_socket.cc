// Interposed socket lifecycle calls: socket, bind, listen, accept,
// connect, names, shutdown, close, dup, fcntl, ioctl (the options:
// intercept_sockopt.cc).
#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "preload/blocking_wait.h"
#include "preload/calls.h"
#include "preload/sockaddr.h"

namespace shunt::preload {
namespace {

bool is_loopback(const ParsedAddr& a) {
  return (a.kind == AddrKind::kV4 || a.kind == AddrKind::kV4Mapped) && a.ep.addr.is_loopback();
}

// Does this address need the kernel (docs/design.md 6)?
bool needs_kernel(const SocketFile* sf, const ParsedAddr& a) {
  if (a.kind == AddrKind::kV6) return true;
  if (sf->domain == AF_INET6 && sf->v6only) return true;
  if (is_loopback(a) && Runtime::get().config().loopback == Config::Loopback::kKernel) return true;
  return false;
}

int new_placeholder() { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

}  // namespace

int handover(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf) {
  Runtime& rt = Runtime::get();
  int k = libc().socket(sf->domain, sf->type | SOCK_CLOEXEC, 0);
  if (k < 0) return -1;
  for (const RecordedOpt& o : sf->options) {
    (void)libc().setsockopt(k, o.level, o.name, o.value.data(), static_cast<socklen_t>(o.value.size()));
  }
  if (sf->bound) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    write_sockaddr(sf->domain, *sf->bound, reinterpret_cast<sockaddr*>(&ss), &len);
    if (libc().bind(k, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
      int e = errno;
      libc().close(k);
      return fail_with_errno(e);
    }
  }
  if (sf->nonblock) libc().fcntl(k, F_SETFL, O_NONBLOCK | O_RDWR);
  // The fd keeps its number; every dup of it goes to the kernel socket too.
  std::vector<int> fds = sf->fds;
  for (int f : fds) {
    int flags = libc().fcntl(f, F_GETFD);
    rt.remove_fd(sf, f);
    libc().dup3(k, f, (flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
  }
  libc().close(k);
  (void)rt.stack().close(sf->id, rt.now());
  rt.publish();
  rt.log(Config::LogLevel::kDebug, fmt::format("fd {} handed over to the kernel", fd));
  delete sf;
  (void)lock;
  return 0;
}

void raise_sigpipe(int flags) {
  if ((flags & MSG_NOSIGNAL) == 0) pthread_kill(pthread_self(), SIGPIPE);
}

}  // namespace shunt::preload

using namespace shunt;
using namespace shunt::preload;

SHUNT_EXPORT int socket(int domain, int type, int protocol) noexcept {
  Runtime& rt = Runtime::get();
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const bool ours = !rt.passthrough() && (domain == AF_INET || domain == AF_INET6) &&
                    ((base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
                     (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)));
  if (!ours) return libc().socket(domain, type, protocol);
  std::unique_lock<std::mutex> lock(rt.mutex());
  if (int e = rt.ensure_started(); e != 0) return fail_with_errno(e);
  if (!rt.owns_stack()) {
    lock.unlock();
    return libc().socket(domain, type, protocol);
  }
  int fd = new_placeholder();
  if (fd < 0) return -1;
  // The owner uid SO_REUSEPORT compares is fixed here, at creation, as
  // Linux's sock_i_uid (a socket made before seteuid keeps the old uid).
  const uint32_t uid = geteuid();
  auto id = base == SOCK_STREAM ? rt.stack().tcp_open(uid) : rt.stack().udp_open(uid);
  rt.add_socket(*id, domain, base, fd, (type & SOCK_NONBLOCK) != 0);
  return fd;
}

SHUNT_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().bind(fd, addr, len);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().bind(fd, addr, len);
  if (sf->inert) return fail(Error::kBadFd);
  ParsedAddr a = parse_sockaddr(addr, len);
  if (a.kind == AddrKind::kUnspec && sf->domain == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    // inet_bind: AF_UNSPEC with INADDR_ANY passes as AF_INET (old
    // programs do it); any other AF_UNSPEC address is EAFNOSUPPORT.
    sockaddr_in in{};
    std::memcpy(&in, addr, sizeof in);
    if (in.sin_addr.s_addr != htonl(INADDR_ANY)) return fail(Error::kAfNoSupport);
    a.kind = AddrKind::kV4;
    a.ep = Endpoint{Ipv4Address::any(), ntohs(in.sin_port)};
  }
  if (a.kind == AddrKind::kBad || a.kind == AddrKind::kUnspec) return fail(addr == nullptr ? Error::kFault : Error::kInval);
  if ((a.kind == AddrKind::kV4 && sf->domain != AF_INET) ||
      (a.kind != AddrKind::kV4 && sf->domain != AF_INET6)) {
    return fail(Error::kAfNoSupport);
  }
  if (needs_kernel(sf, a) && !(a.kind == AddrKind::kV6Any && !sf->v6only)) {
    if (handover(lock, fd, sf) < 0) return -1;
    lock.unlock();
    return libc().bind(fd, addr, len);
  }
  auto r = rt.stack().bind(sf->id, a.ep);
  if (!r) return fail(r.error());
  sf->bound = rt.stack().local_endpoint(sf->id).value();
  return 0;
}

SHUNT_EXPORT int listen(int fd, int backlog) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().listen(fd, backlog);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().listen(fd, backlog);
  if (sf->inert) return fail(Error::kBadFd);
  auto r = rt.stack().listen(sf->id, backlog, rt.now());
  rt.publish();
  if (!r) return fail(r.error());
  return 0;
}

static int do_accept(int fd, sockaddr* addr, socklen_t* len, int flags) {
  Runtime& rt = Runtime::get();
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) {
    lock.unlock();
    return flags == 0 ? libc().accept(fd, addr, len) : libc().accept4(fd, addr, len, flags);
  }
  if (sf->inert) return fail(Error::kBadFd);
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return fail(Error::kInval);
  while (true) {
    auto r = rt.stack().accept(sf->id, rt.now());
    if (r) {
      int nfd = new_placeholder();
      if (nfd < 0) {
        (void)rt.stack().close(r->socket, rt.now());
        return -1;
      }
      SocketFile* child = rt.add_socket(r->socket, sf->domain, SOCK_STREAM, nfd, (flags & SOCK_NONBLOCK) != 0);
      child->options = sf->options;
      // Linux sk_clone_lock copies the socket: control message switches,
      // SO_MARK, device binding... but the child's SO_PRIORITY comes from
      // the request (0).
      child->extras = sf->extras;
      child->extras.priority = 0;
      rt.publish();
      write_sockaddr(sf->domain, r->peer, addr, len);
      return nfd;
    }
    if (r.error() != Error::kAgain || sf->nonblock) return fail(r.error());
    if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kRead)) return -1;
  }
}

SHUNT_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (Runtime::get().lookup(fd) == nullptr) return libc().accept(fd, addr, len);
  return do_accept(fd, addr, len, 0);
}

SHUNT_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (Runtime::get().lookup(fd) == nullptr) return libc().accept4(fd, addr, len, flags);
  return do_accept(fd, addr, len, flags);
}

SHUNT_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().connect(fd, addr, len);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) {
    lock.unlock();
    return libc().connect(fd, addr, len);
  }
  if (sf->inert) return fail(Error::kBadFd);
  // tcp_v4_connect / udp: a full sockaddr_in of another family is
  // EAFNOSUPPORT (a short one EINVAL below).
  if (addr != nullptr && sf->domain == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in)) &&
      addr->sa_family != AF_INET && addr->sa_family != AF_UNSPEC) {
    return fail(Error::kAfNoSupport);
  }
  ParsedAddr a = parse_sockaddr(addr, len);
  if (a.kind == AddrKind::kBad) return fail(addr == nullptr ? Error::kFault : Error::kInval);
  if (a.kind == AddrKind::kUnspec) {
    auto r = rt.stack().disconnect(sf->id, rt.now());
    rt.publish();
    return r ? 0 : fail(r.error());
  }
  if (a.kind == AddrKind::kV4 && sf->domain != AF_INET) return fail(Error::kAfNoSupport);
  if (needs_kernel(sf, a) || a.kind == AddrKind::kV6Any) {
    if (handover(lock, fd, sf) < 0) return -1;
    lock.unlock();
    return libc().connect(fd, addr, len);
  }
  auto r = rt.stack().connect(sf->id, a.ep, rt.now());
  rt.publish();
  if (sf->type == SOCK_DGRAM) return r ? 0 : fail(r.error());
  if (r || r.error() != Error::kInProgress) return r ? 0 : fail(r.error());
  if (sf->nonblock) return fail(r.error());  // EINPROGRESS
  // A blocking connect waits for the handshake (SO_SNDTIMEO bounds it),
  // then reports it as a second connect would (__inet_stream_connect).
  while (true) {
    auto ready = rt.stack().readiness(sf->id);
    if (ready && (*ready & (readiness::kWritable | readiness::kError)) != 0) {
      auto done = rt.stack().connect(sf->id, a.ep, rt.now());
      rt.publish();
      if (!done && done.error() != Error::kAlready) return fail(done.error());
      if (done) return 0;
    }
    // SO_SNDTIMEO passed: the handshake goes on, as after a non-blocking
    // connect (EBADF when the fd was closed meanwhile).
    if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kWrite)) {
      return errno == EAGAIN ? fail(Error::kInProgress) : -1;
    }
  }
}

SHUNT_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().getsockname(fd, addr, len);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().getsockname(fd, addr, len);
  if (addr == nullptr || len == nullptr) return fail(Error::kFault);
  auto r = rt.stack().local_endpoint(sf->id);
  if (!r) return fail(r.error());
  write_sockaddr(sf->domain, *r, addr, len);
  return 0;
}

SHUNT_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().getpeername(fd, addr, len);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().getpeername(fd, addr, len);
  if (addr == nullptr || len == nullptr) return fail(Error::kFault);
  auto r = rt.stack().remote_endpoint(sf->id);
  if (!r) return fail(r.error());
  write_sockaddr(sf->domain, *r, addr, len);
  return 0;
}

SHUNT_EXPORT int shutdown(int fd, int how) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().shutdown(fd, how);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().shutdown(fd, how);
  if (sf->inert) return fail(Error::kBadFd);
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail(Error::kInval);
  auto r = rt.stack().shutdown(sf->id, how != SHUT_WR, how != SHUT_RD, rt.now());
  rt.publish();
  return r ? 0 : fail(r.error());
}

namespace {

// close() of a stack fd, lock held. The socket closes with its last fd.
void close_stack_fd(Runtime& rt, SocketFile* sf, int fd) {
  const bool last = sf->fds.size() == 1;
  if (last) rt.epoll().forget_fd(fd);
  if (rt.remove_fd(sf, fd)) {
    if (!sf->inert) {
      (void)rt.stack().close(sf->id, rt.now());
      rt.publish();
    }
    delete sf;
  }
}

}  // namespace

SHUNT_EXPORT int close(int fd) {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) {
    if (rt.is_runtime_fd(fd)) return 0;  // the runtime's own fds cannot be closed
    if (rt.is_stack_epoll(fd)) {
      std::unique_lock<std::mutex> lock(rt.mutex());
      rt.epoll().forget_fd(fd);  // an epoll instance watching stack fds goes away
    }
    return libc().close(fd);
  }
  {
    std::unique_lock<std::mutex> lock(rt.mutex());
    if (SocketFile* sf = rt.lookup(fd)) close_stack_fd(rt, sf, fd);
  }
  return libc().close(fd);
}

SHUNT_EXPORT int close_range(unsigned first, unsigned last, int flags) noexcept {
  Runtime& rt = Runtime::get();
  if (libc().close_range == nullptr) return fail(CallError::kNoSys);
  if ((flags & CLOSE_RANGE_CLOEXEC) == 0) {
    std::unique_lock<std::mutex> lock(rt.mutex());
    unsigned end = std::min<unsigned>(last, 1u << 20);
    for (unsigned fd = first; fd <= end && fd >= first; ++fd) {
      if (SocketFile* sf = rt.lookup(static_cast<int>(fd))) close_stack_fd(rt, sf, static_cast<int>(fd));
      if (fd == end) break;
    }
  }
  // Close around the runtime's own fds.
  unsigned from = first;
  for (unsigned fd = first; fd <= last && fd >= first; ++fd) {
    if (rt.is_runtime_fd(static_cast<int>(fd))) {
      if (fd > from) libc().close_range(from, fd - 1, flags);
      from = fd + 1;
    }
    if (fd >= (1u << 20)) {
      // Past any fd the runtime can own: one call for the rest.
      if (from <= last) libc().close_range(from, last, flags);
      return 0;
    }
    if (fd == last) break;
  }
  if (from <= last) return libc().close_range(from, last, flags);
  return 0;
}

// closefrom(3) (glibc 2.34): every fd from lowfd up, the runtime's own
// excepted, through close_range above; where the kernel has no
// close_range, the fds /proc/self/fd lists, one by one, as glibc does.
SHUNT_EXPORT void closefrom(int lowfd) noexcept {
  const unsigned first = lowfd < 0 ? 0u : static_cast<unsigned>(lowfd);
  if (close_range(first, ~0u, 0) == 0) return;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) {
    // glibc aborts here too: the caller relies on the fds being gone.
    std::fprintf(stderr, "shunt: closefrom(%d): close_range failed and /proc/self/fd cannot be read\n", lowfd);
    std::abort();
  }
  std::vector<int> fds;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && fd >= static_cast<long>(first) && fd != dirfd(d)) {
      fds.push_back(static_cast<int>(fd));
    }
  }
  closedir(d);
  for (int fd : fds) (void)close(fd);
}

SHUNT_EXPORT int dup(int fd) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().dup(fd);
  std::unique_lock<std::mutex> lock(rt.mutex());
  int nfd = libc().dup(fd);
  if (nfd < 0) return -1;
  if (SocketFile* sf = rt.lookup(fd)) rt.add_fd(sf, nfd);
  return nfd;
}

static int do_dup3(int oldfd, int newfd, int flags, bool is_dup2) {
  Runtime& rt = Runtime::get();
  if (rt.is_runtime_fd(newfd)) return fail(Error::kBadFd);
  if (rt.lookup(oldfd) == nullptr && rt.lookup(newfd) == nullptr) {
    return is_dup2 ? libc().dup2(oldfd, newfd) : libc().dup3(oldfd, newfd, flags);
  }
  std::unique_lock<std::mutex> lock(rt.mutex());
  if (oldfd == newfd) return is_dup2 ? libc().dup2(oldfd, newfd) : fail(Error::kInval);
  int r = is_dup2 ? libc().dup2(oldfd, newfd) : libc().dup3(oldfd, newfd, flags);
  if (r < 0) return -1;
  // newfd was closed by dup2: drop its mapping first (docs/design.md 4).
  if (SocketFile* old = rt.lookup(newfd)) close_stack_fd(rt, old, newfd);
  if (SocketFile* sf = rt.lookup(oldfd)) rt.add_fd(sf, newfd);
  return r;
}

SHUNT_EXPORT int dup2(int oldfd, int newfd) noexcept { return do_dup3(oldfd, newfd, 0, true); }
SHUNT_EXPORT int dup3(int oldfd, int newfd, int flags) noexcept { return do_dup3(oldfd, newfd, flags, false); }

static int do_fcntl(bool is64, int fd, int cmd, void* arg) {
  Runtime& rt = Runtime::get();
  auto real = [&]() {
    auto f = (is64 && libc().fcntl64 != nullptr) ? libc().fcntl64 : libc().fcntl;
    return f(fd, cmd, arg);
  };
  if (rt.lookup(fd) == nullptr) return real();
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return real();
  const auto iarg = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  switch (cmd) {
    case F_GETFL: return O_RDWR | (sf->nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
      sf->nonblock = (iarg & O_NONBLOCK) != 0;
      return 0;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int nfd = real();
      if (nfd >= 0) rt.add_fd(sf, nfd);
      return nfd;
    }
    default:
      return real();
  }
}

SHUNT_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(false, fd, cmd, arg);
}

SHUNT_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return do_fcntl(true, fd, cmd, arg);
}

SHUNT_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().ioctl(fd, request, arg);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().ioctl(fd, request, arg);
  switch (request) {
    case FIONBIO: {
      if (arg == nullptr) return fail(Error::kFault);
      sf->nonblock = *static_cast<int*>(arg) != 0;
      return 0;
    }
    case FIONREAD: {  // == SIOCINQ
      if (arg == nullptr) return fail(Error::kFault);
      auto r = rt.stack().next_datagram_size(sf->id);
      if (!r) return fail(r.error());
      *static_cast<int*>(arg) = static_cast<int>(std::min<size_t>(*r, INT32_MAX));
      return 0;
    }
    case SIOCOUTQ: {
      if (arg == nullptr) return fail(Error::kFault);
      auto r = rt.stack().unsent_bytes(sf->id);
      if (!r) return fail(r.error());
      *static_cast<int*>(arg) = static_cast<int>(std::min<size_t>(*r, INT32_MAX));
      return 0;
    }
    case SIOCOUTQNSD: {  // tcp_ioctl: queued and not yet sent
      if (sf->type != SOCK_STREAM) break;  // udp_ioctl has none: the kernel's answer below
      if (arg == nullptr) return fail(Error::kFault);
      auto r = rt.stack().notsent_bytes(sf->id);
      if (!r) return fail(r.error());
      *static_cast<int*>(arg) = static_cast<int>(std::min<size_t>(*r, INT32_MAX));
      return 0;
    }
    case SIOCATMARK:  // urgent data is inline and never marked
      if (sf->type != SOCK_STREAM) break;
      if (arg == nullptr) return fail(Error::kFault);
      *static_cast<int*>(arg) = 0;
      return 0;
    case FIOCLEX:
    case FIONCLEX:
    case FIOASYNC:
    case FIOSETOWN:
    case FIOGETOWN:
    case SIOCSPGRP:
    case SIOCGPGRP:
      return libc().ioctl(fd, request, arg);  // about the file: the placeholder's
    default:
      break;
  }
  // What a kernel socket answers for everything else, the interface
  // ioctls above all (SIOCGIFINDEX, SIOCGIFCONF, SIOCGIFFLAGS, ...), which
  // programs send to whatever socket they have.
  int k = rt.ioctl_socket();
  if (k < 0) return fail(CallError::kNotTty);
  return libc().ioctl(k, request, arg);
}
