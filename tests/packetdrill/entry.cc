// The shared object's two entry points:
//
// - packetdrill_interface_init(flags, ifc), which packetdrill calls after
//   dlopen() (--so_filename): it builds the Adapter and fills in the
//   function table (tool/packetdrill.h, read from the copy under the build
//   tree; packetdrill is GPL and none of its code is in shunt).
// - getsockopt(), for code events (%{ ... }%): packetdrill reads TCP_INFO,
//   TCP_CC_INFO and SO_MEMINFO with the kernel's getsockopt on the live
//   descriptor, bypassing the interface. scripts/packetdrill therefore also
//   LD_PRELOADs this object; its getsockopt serves the adapter's
//   descriptors and passes every other one to libc.
// - close(), for the same reason: at the end of a script packetdrill closes
//   the sockets still open with the kernel's close on the live descriptor
//   (socket.c, socket_close); an adapter descriptor goes to the adapter.
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "packetdrill.h"
#include "tests/packetdrill/adapter.h"

namespace shunt::packetdrill {
namespace {

// The one adapter of this process (packetdrill runs one script per
// process), for the getsockopt shim.
Adapter* g_adapter = nullptr;

Adapter& A(void* u) {
  return *static_cast<Adapter*>(u);
}

ssize_t one_iov_recv(void* u, int fd, void* buf, size_t len, int flags, sockaddr* from,
                     socklen_t* fromlen) {
  if (!A(u).owns(fd)) return ::recvfrom(fd, buf, len, flags, from, fromlen);
  iovec iov{buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = from;
  m.msg_namelen = fromlen != nullptr ? *fromlen : 0;
  ssize_t r = A(u).recvmsg(fd, &m, flags);
  if (r >= 0 && fromlen != nullptr) *fromlen = m.msg_namelen;
  return r;
}

ssize_t one_iov_send(void* u, int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                     socklen_t tolen) {
  if (!A(u).owns(fd)) return ::sendto(fd, buf, len, flags, to, tolen);
  iovec iov{const_cast<void*>(buf), len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = const_cast<sockaddr*>(to);
  m.msg_namelen = tolen;
  return A(u).sendmsg(fd, &m, flags);
}

// Variadic, so not lambdas.
int adapter_fcntl(void* u, int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  if (!A(u).owns(fd)) return ::fcntl(fd, cmd, arg);
  return A(u).fcntl(fd, cmd, arg);
}

int adapter_ioctl(void* u, int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (!A(u).owns(fd)) return ::ioctl(fd, req, arg);
  return A(u).ioctl(fd, req, arg);
}

void fill(packetdrill_interface* ifc, Adapter* a) {
  ifc->userdata = a;
  ifc->free = [](void* u) {
    if (g_adapter == u) g_adapter = nullptr;
    delete static_cast<Adapter*>(u);
  };
  ifc->socket = [](void* u, int d, int t, int p) { return A(u).socket(d, t, p); };
  ifc->bind = [](void* u, int fd, const sockaddr* a, socklen_t l) { return A(u).bind(fd, a, l); };
  ifc->listen = [](void* u, int fd, int b) { return A(u).listen(fd, b); };
  ifc->accept = [](void* u, int fd, sockaddr* a, socklen_t* l) { return A(u).accept(fd, a, l); };
  ifc->connect = [](void* u, int fd, const sockaddr* a, socklen_t l) {
    return A(u).connect(fd, a, l);
  };
  ifc->read = [](void* u, int fd, void* b, size_t n) -> ssize_t {
    if (!A(u).owns(fd)) return ::read(fd, b, n);
    return one_iov_recv(u, fd, b, n, 0, nullptr, nullptr);
  };
  ifc->readv = [](void* u, int fd, const iovec* iov, int cnt) -> ssize_t {
    if (!A(u).owns(fd)) return ::readv(fd, iov, cnt);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = cnt;
    return A(u).recvmsg(fd, &m, 0);
  };
  ifc->recv = [](void* u, int fd, void* b, size_t n, int f) {
    return one_iov_recv(u, fd, b, n, f, nullptr, nullptr);
  };
  ifc->recvfrom = [](void* u, int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l) {
    return one_iov_recv(u, fd, b, n, f, a, l);
  };
  ifc->recvmsg = [](void* u, int fd, msghdr* m, int f) -> ssize_t {
    if (!A(u).owns(fd)) return ::recvmsg(fd, m, f);
    return A(u).recvmsg(fd, m, f);
  };
  ifc->write = [](void* u, int fd, const void* b, size_t n) -> ssize_t {
    if (!A(u).owns(fd)) return ::write(fd, b, n);
    return one_iov_send(u, fd, b, n, 0, nullptr, 0);
  };
  ifc->writev = [](void* u, int fd, const iovec* iov, int cnt) -> ssize_t {
    if (!A(u).owns(fd)) return ::writev(fd, iov, cnt);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = cnt;
    return A(u).sendmsg(fd, &m, 0);
  };
  ifc->send = [](void* u, int fd, const void* b, size_t n, int f) {
    return one_iov_send(u, fd, b, n, f, nullptr, 0);
  };
  ifc->sendto = [](void* u, int fd, const void* b, size_t n, int f, const sockaddr* a,
                   socklen_t l) { return one_iov_send(u, fd, b, n, f, a, l); };
  ifc->sendmsg = [](void* u, int fd, const msghdr* m, int f) -> ssize_t {
    if (!A(u).owns(fd)) return ::sendmsg(fd, m, f);
    return A(u).sendmsg(fd, m, f);
  };
  ifc->fcntl = adapter_fcntl;
  ifc->ioctl = adapter_ioctl;
  ifc->close = [](void* u, int fd) {
    if (!A(u).owns(fd)) return ::close(fd);
    return A(u).close(fd);
  };
  ifc->shutdown = [](void* u, int fd, int how) { return A(u).shutdown(fd, how); };
  ifc->getsockopt = [](void* u, int fd, int level, int name, void* v, socklen_t* l) {
    return A(u).getsockopt(fd, level, name, v, l);
  };
  ifc->setsockopt = [](void* u, int fd, int level, int name, const void* v, socklen_t l) {
    return A(u).setsockopt(fd, level, name, v, l);
  };
  ifc->poll = [](void* u, pollfd* fds, nfds_t n, int t) { return A(u).poll(fds, n, t); };
  ifc->netdev_send = [](void* u, const void* b, size_t n) { return A(u).netdev_send(b, n); };
  ifc->netdev_receive = [](void* u, void* b, size_t* n, long long* t) {
    return A(u).netdev_receive(b, n, t);
  };
  ifc->usleep = [](void* u, useconds_t us) { return A(u).usleep(us); };
  ifc->gettimeofday = [](void* u, timeval* tv, struct timezone*) { return A(u).gettimeofday(tv); };
  ifc->epoll_create = [](void* u, int size) { return A(u).epoll_create(size); };
  ifc->epoll_ctl = [](void* u, int ep, int op, int fd, epoll_event* ev) {
    return A(u).epoll_ctl(ep, op, fd, ev);
  };
  ifc->epoll_wait = [](void* u, int ep, epoll_event* ev, int max, int t) {
    return A(u).epoll_wait(ep, ev, max, t);
  };
  ifc->pipe = [](void*, int p[2]) { return ::pipe(p); };
  ifc->splice = [](void* u, int in, loff_t* in_off, int out, loff_t* out_off, size_t len,
                   unsigned int) {
    // Offsets only apply to files; packetdrill passes them even when null
    // in the script.
    (void)in_off;
    (void)out_off;
    return static_cast<int>(A(u).splice(in, out, len));
  };
}

}  // namespace
}  // namespace shunt::packetdrill

extern "C" {

__attribute__((visibility("default"))) void packetdrill_interface_init(const char* flags,
                                                                       packetdrill_interface* ifc) {
  using namespace shunt::packetdrill;
  Settings s;
  std::string err = parse_settings(flags != nullptr ? flags : "", s);
  if (!err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::exit(EXIT_FAILURE);
  }
  auto* a = new Adapter(s);
  g_adapter = a;
  fill(ifc, a);
}

// The code-event shim (see the top of this file).
__attribute__((visibility("default"))) int getsockopt(int fd, int level, int name, void* val,
                                                      socklen_t* len) {
  using namespace shunt::packetdrill;
  using Real = int (*)(int, int, int, void*, socklen_t*);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getsockopt"));
  if (fd >= kFirstFd && g_adapter != nullptr && g_adapter->owns(fd)) {
    if (level == IPPROTO_TCP && name == TCP_INFO) return g_adapter->tcp_info(fd, val, len);
    // Linux gives an empty TCP_CC_INFO for congestion controls without a
    // get_info (reno, cubic); shunt has no sk_meminfo to give.
    if (level == IPPROTO_TCP && name == TCP_CC_INFO) {
      if (len != nullptr) *len = 0;
      return 0;
    }
    // packetdrill insists on the whole SK_MEMINFO_* array (code.c); shunt
    // keeps no such accounting, so every field reads 0. No script of
    // tests/tcp reads one.
    if (level == SOL_SOCKET && name == SO_MEMINFO) {
      if (val == nullptr || len == nullptr) return fail_errno(EFAULT);
      std::memset(val, 0, *len);
      return 0;
    }
    return g_adapter->getsockopt(fd, level, name, val, len);
  }
  return real(fd, level, name, val, len);
}

// sendfile(2) from a kernel file to an adapter socket (packetdrill calls
// the kernel's, run_system_call.c).
__attribute__((visibility("default"))) ssize_t sendfile(int out_fd, int in_fd, off_t* offset,
                                                        size_t count) {
  using namespace shunt::packetdrill;
  using Real = ssize_t (*)(int, int, off_t*, size_t);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "sendfile"));
  if (out_fd >= kFirstFd && g_adapter != nullptr && g_adapter->owns(out_fd)) {
    return g_adapter->sendfile(out_fd, in_fd, offset, count);
  }
  return real(out_fd, in_fd, offset, count);
}

__attribute__((visibility("default"))) ssize_t sendfile64(int out_fd, int in_fd, off_t* offset,
                                                          size_t count) {
  return sendfile(out_fd, in_fd, offset, count);
}

// The end-of-script shim (see the top of this file).
__attribute__((visibility("default"))) int close(int fd) {
  using namespace shunt::packetdrill;
  using Real = int (*)(int);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "close"));
  if (fd >= kFirstFd && g_adapter != nullptr && g_adapter->owns(fd)) return g_adapter->close(fd);
  return real(fd);
}

}  // extern "C"
