// Interposed socket lifecycle calls: socket, bind, listen, accept,
// connect, names, options, shutdown, close, dup, fcntl, ioctl.
#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "preload/blocking_wait.h"
#include "preload/calls.h"
#include "preload/options.h"
#include "preload/sockaddr.h"
#include "preload/tcp_info.h"

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

template <class T>
int put_opt(void* optval, socklen_t* optlen, T v) {
  if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
  socklen_t n = std::min<socklen_t>(*optlen, sizeof(T));
  std::memcpy(optval, &v, n);
  *optlen = n;
  return 0;
}

int get_int(const void* optval, socklen_t optlen, int* out) {
  if (optval == nullptr) return fail(Error::kFault);
  if (optlen < static_cast<socklen_t>(sizeof(int))) {
    if (optlen >= 1) {
      *out = *static_cast<const unsigned char*>(optval);
      return 0;
    }
    return fail(Error::kInval);
  }
  std::memcpy(out, optval, sizeof(int));
  return 0;
}

Duration from_timeval(const void* optval, socklen_t optlen, bool* ok) {
  *ok = false;
  if (optval == nullptr || optlen < static_cast<socklen_t>(sizeof(timeval))) return {};
  timeval tv{};
  std::memcpy(&tv, optval, sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return {};
  *ok = true;
  if (tv.tv_sec < 0) return Duration::zero();
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

timeval to_timeval(Duration d) {
  timeval tv{};
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  tv.tv_sec = us / 1000000;
  tv.tv_usec = us % 1000000;
  return tv;
}

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

SHUNT_EXPORT int setsockopt(int fd, int level, int name, const void* optval, socklen_t optlen) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().setsockopt(fd, level, name, optval, optlen);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().setsockopt(fd, level, name, optval, optlen);
  Stack& st = rt.stack();
  auto record = [&] {
    RecordedOpt o{level, name, {}};
    if (optval != nullptr && optlen > 0) {
      auto p = static_cast<const uint8_t*>(optval);
      o.value.assign(p, p + optlen);
    }
    sf->options.push_back(std::move(o));
  };
  auto set = [&](SockOpt opt, int v) -> int {
    auto r = st.set_option(sf->id, opt, v, rt.now());
    if (!r) return fail(r.error());
    record();
    rt.publish();
    return 0;
  };
  if (int r = set_more_option(rt, sf, level, name, optval, optlen); r != kUnhandled) {
    if (r == 0) record();
    rt.publish();
    return r;
  }
  int v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_RCVTIMEO:
      case SO_SNDTIMEO: {
        bool ok = false;
        Duration d = from_timeval(optval, optlen, &ok);
        if (!ok) {
          if (optval == nullptr) return fail(Error::kFault);
          if (optlen < static_cast<socklen_t>(sizeof(timeval))) return fail(Error::kInval);
          return fail(CallError::kDom);
        }
        (name == SO_RCVTIMEO ? sf->rcvtimeo : sf->sndtimeo) = d;
        record();
        return 0;
      }
      case SO_LINGER: {
        if (optval == nullptr) return fail(Error::kFault);
        if (optlen < static_cast<socklen_t>(sizeof(linger))) return fail(Error::kInval);
        linger l{};
        std::memcpy(&l, optval, sizeof l);
        return set(SockOpt::kLinger, l.l_onoff ? std::max(l.l_linger, 0) : -1);
      }
      default:
        break;
    }
    if (get_int(optval, optlen, &v) < 0) return -1;
    switch (name) {
      case SO_REUSEADDR: return set(SockOpt::kReuseAddr, v);
      case SO_REUSEPORT: return set(SockOpt::kReusePort, v);
      case SO_BROADCAST: return set(SockOpt::kBroadcast, v);
      case SO_RCVBUF: return set(SockOpt::kRcvBuf, v);
      case SO_SNDBUF: return set(SockOpt::kSndBuf, v);
      case SO_KEEPALIVE: return set(SockOpt::kKeepAlive, v);  // UDP: options.cc
      case SO_OOBINLINE:
        record();
        return 0;  // urgent data is always inline
      default:
        rt.log(Config::LogLevel::kInfo, fmt::format("setsockopt(SOL_SOCKET, {}) not supported", name));
        return fail(Error::kNoProtoOpt);
    }
  }
  if (level == IPPROTO_TCP && sf->type == SOCK_STREAM) {
    if (name == TCP_CONGESTION) {
      if (optlen < 1) return fail(Error::kInval);  // do_tcp_setsockopt
      if (optval == nullptr) return fail(Error::kFault);
      std::string s(static_cast<const char*>(optval), strnlen(static_cast<const char*>(optval), optlen));
      auto r = st.set_congestion(sf->id, s, rt.now());
      if (!r) return fail(CallError::kNoEnt);  // Linux: an unknown algorithm is ENOENT
      record();
      return 0;
    }
    if (get_int(optval, optlen, &v) < 0) return -1;
    switch (name) {
      case TCP_NODELAY: return set(SockOpt::kNoDelay, v);
      case TCP_CORK: return set(SockOpt::kCork, v);
      case TCP_KEEPIDLE: return set(SockOpt::kKeepIdle, v);
      case TCP_KEEPINTVL: return set(SockOpt::kKeepIntvl, v);
      case TCP_KEEPCNT: return set(SockOpt::kKeepCnt, v);
      case TCP_MAXSEG: return set(SockOpt::kMaxSeg, v);
      case TCP_QUICKACK: return set(SockOpt::kQuickAck, v);
      case TCP_USER_TIMEOUT: return set(SockOpt::kUserTimeout, v);
      default:
        rt.log(Config::LogLevel::kInfo, fmt::format("setsockopt(IPPROTO_TCP, {}) not supported", name));
        return fail(Error::kNoProtoOpt);
    }
  }
  if (level == IPPROTO_IP) {
    // IP_TTL, IP_TOS and the rest: options.cc.
    rt.log(Config::LogLevel::kInfo, fmt::format("setsockopt(IPPROTO_IP, {}) not supported", name));
    return fail(Error::kNoProtoOpt);
  }
  if (level == IPPROTO_IPV6 && sf->domain == AF_INET6) {
    if (get_int(optval, optlen, &v) < 0) return -1;
    if (name == IPV6_V6ONLY) {
      sf->v6only = v != 0;
      record();
      return 0;
    }
    record();
    return 0;  // other IPv6 options matter only once the socket is handed over
  }
  return fail(Error::kNoProtoOpt);
}

SHUNT_EXPORT int getsockopt(int fd, int level, int name, void* optval, socklen_t* optlen) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().getsockopt(fd, level, name, optval, optlen);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().getsockopt(fd, level, name, optval, optlen);
  Stack& st = rt.stack();
  auto get = [&](SockOpt opt) -> int {
    auto r = st.get_option(sf->id, opt);
    if (!r) return fail(r.error());
    return put_opt<int>(optval, optlen, *r);
  };
  if (int r = get_more_option(rt, sf, level, name, optval, optlen); r != kUnhandled) return r;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        auto e = st.take_error(sf->id);
        rt.publish();
        return put_opt<int>(optval, optlen, e && e->has_value() ? to_errno(**e) : 0);
      }
      case SO_TYPE: return put_opt<int>(optval, optlen, sf->type);
      case SO_DOMAIN: return put_opt<int>(optval, optlen, sf->domain);
      case SO_PROTOCOL: return put_opt<int>(optval, optlen, sf->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
      case SO_ACCEPTCONN: {
        auto i = st.tcp_info(sf->id, rt.now());
        return put_opt<int>(optval, optlen, i && i->state == tcp::TcpState::kListen ? 1 : 0);
      }
      case SO_REUSEADDR: return get(SockOpt::kReuseAddr);
      case SO_REUSEPORT: return get(SockOpt::kReusePort);
      case SO_BROADCAST: return get(SockOpt::kBroadcast);
      case SO_RCVBUF: return get(SockOpt::kRcvBuf);
      case SO_SNDBUF: return get(SockOpt::kSndBuf);
      case SO_KEEPALIVE: return get(SockOpt::kKeepAlive);  // UDP: options.cc
      case SO_LINGER: {
        auto r = st.get_option(sf->id, SockOpt::kLinger);
        linger l{};
        if (r && *r >= 0) {
          l.l_onoff = 1;
          l.l_linger = *r;
        }
        return put_opt<linger>(optval, optlen, l);
      }
      case SO_RCVTIMEO: return put_opt<timeval>(optval, optlen, to_timeval(sf->rcvtimeo));
      case SO_SNDTIMEO: return put_opt<timeval>(optval, optlen, to_timeval(sf->sndtimeo));
      default: return fail(Error::kNoProtoOpt);
    }
  }
  if (level == IPPROTO_TCP && sf->type == SOCK_STREAM) {
    switch (name) {
      case TCP_NODELAY: return get(SockOpt::kNoDelay);
      case TCP_CORK: return get(SockOpt::kCork);
      case TCP_KEEPIDLE: return get(SockOpt::kKeepIdle);
      case TCP_KEEPINTVL: return get(SockOpt::kKeepIntvl);
      case TCP_KEEPCNT: return get(SockOpt::kKeepCnt);
      case TCP_MAXSEG: return get(SockOpt::kMaxSeg);
      case TCP_QUICKACK: return get(SockOpt::kQuickAck);
      case TCP_USER_TIMEOUT: return get(SockOpt::kUserTimeout);
      case TCP_CONGESTION: {
        auto r = st.get_congestion(sf->id);
        if (!r) return fail(r.error());
        if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
        socklen_t n = std::min<socklen_t>(*optlen, 16);
        std::memset(optval, 0, n);
        std::memcpy(optval, r->data(), std::min<size_t>(n, r->size()));
        *optlen = n;
        return 0;
      }
      case TCP_INFO: {
        auto i = st.tcp_info(sf->id, rt.now());
        if (!i) return fail(i.error());
        return fill_tcp_info(*i, optval, optlen, rt.kernel_tcp_info_size());
      }
      default: return fail(Error::kNoProtoOpt);
    }
  }
  if (level == IPPROTO_IP) return fail(Error::kNoProtoOpt);  // the known ones: options.cc
  if (level == IPPROTO_IPV6 && sf->domain == AF_INET6 && name == IPV6_V6ONLY) {
    return put_opt<int>(optval, optlen, sf->v6only ? 1 : 0);
  }
  return fail(Error::kNoProtoOpt);
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
