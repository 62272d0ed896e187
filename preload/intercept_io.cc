// Interposed data calls: send*, recv*, read, write, readv, writev,
// sendfile, and the fortified aliases.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "preload/calls.h"
#include "preload/sockaddr.h"

namespace shunt::preload {
namespace {

// stack_send / stack_recv found the fd's placeholder replaced behind our
// back (Runtime::drop_if_stale): the caller redoes the call on the kernel.
constexpr ssize_t kRedo = -2;

size_t iov_total(const iovec* iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

ssize_t stack_send(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, const sockaddr* to, socklen_t tolen) {
  Runtime& rt = Runtime::get();
  if (sf->inert) return fail(EBADF);
  if ((flags & MSG_OOB) != 0) return fail(EOPNOTSUPP);
  const bool nonblock = sf->nonblock || (flags & MSG_DONTWAIT) != 0;
  const uint32_t sflags = (flags & MSG_MORE) ? msg_flag::kMore : 0;
  if (sf->type == SOCK_DGRAM) {
    std::optional<Endpoint> dest;
    if (to != nullptr) {
      ParsedAddr a = parse_sockaddr(to, tolen);
      if (a.kind == AddrKind::kBad) return fail(EINVAL);
      if (a.kind == AddrKind::kV6) return fail(ENETUNREACH);  // no IPv6 yet
      if (a.kind == AddrKind::kV4 && sf->domain != AF_INET) return fail(EAFNOSUPPORT);
      if (a.kind != AddrKind::kUnspec) dest = a.ep;
    }
    // One datagram: gather the pieces.
    std::vector<uint8_t> buf(iov_total(iov, iovcnt));
    size_t off = 0;
    for (int i = 0; i < iovcnt; ++i) {
      if (iov[i].iov_len == 0) continue;
      std::memcpy(buf.data() + off, iov[i].iov_base, iov[i].iov_len);
      off += iov[i].iov_len;
    }
    auto r = rt.stack().send_to(sf->id, buf, dest, rt.now(), sflags);
    rt.publish();
    if (!r) return fail(r.error());
    return static_cast<ssize_t>(*r);
  }
  // Linux ignores the address on a connected stream socket.
  size_t sent = 0;
  const size_t total = iov_total(iov, iovcnt);
  int idx = 0;
  size_t in_iov = 0;
  while (sent < total) {
    while (idx < iovcnt && in_iov == iov[idx].iov_len) {
      ++idx;
      in_iov = 0;
    }
    const auto* base = static_cast<const uint8_t*>(iov[idx].iov_base) + in_iov;
    Bytes piece(base, iov[idx].iov_len - in_iov);
    bool more = (sflags != 0) || sent + piece.size() < total;
    auto r = rt.stack().send_to(sf->id, piece, std::nullopt, rt.now(), more ? msg_flag::kMore : 0);
    rt.publish();
    if (r) {
      sent += *r;
      in_iov += *r;
      continue;
    }
    if (r.error() == Error::kAgain) {
      if (sent == 0 && rt.drop_if_stale(sf, fd)) return kRedo;
      if (nonblock) break;
      if (rt.wait(lock, sf, fd, true, call_timeout(sf->sndtimeo)) < 0) {
        if (sent > 0) break;
        return -1;
      }
      sf = rt.lookup(fd);
      if (sf == nullptr) return sent > 0 ? static_cast<ssize_t>(sent) : fail(EBADF);
      continue;
    }
    if (sent > 0) break;
    if (r.error() == Error::kPipe) raise_sigpipe(flags);
    return fail(r.error());
  }
  if (sent == 0 && total > 0) return fail(EAGAIN);
  return static_cast<ssize_t>(sent);
}

ssize_t stack_recv(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, sockaddr* from, socklen_t* fromlen, int* msg_flags) {
  Runtime& rt = Runtime::get();
  if (sf->inert) return fail(EBADF);
  if ((flags & MSG_OOB) != 0) return fail(EINVAL);  // urgent data is inline
  const bool nonblock = sf->nonblock || (flags & MSG_DONTWAIT) != 0;
  const uint32_t rflags = (flags & MSG_PEEK) ? msg_flag::kPeek : 0;
  const size_t total = iov_total(iov, iovcnt);
  if (msg_flags != nullptr) *msg_flags = 0;
  if (sf->type == SOCK_DGRAM) {
    std::vector<uint8_t> buf(total);
    while (true) {
      auto r = rt.stack().recv_from(sf->id, buf, rflags, rt.now());
      rt.publish();
      if (r) {
        size_t off = 0;
        for (int i = 0; i < iovcnt && off < r->copied; ++i) {
          size_t n = std::min(iov[i].iov_len, r->copied - off);
          std::memcpy(iov[i].iov_base, buf.data() + off, n);
          off += n;
        }
        if (from != nullptr && fromlen != nullptr) write_sockaddr(sf->domain, r->from, from, fromlen);
        if (r->truncated() && msg_flags != nullptr) *msg_flags |= MSG_TRUNC;
        return static_cast<ssize_t>((flags & MSG_TRUNC) ? r->datagram_len : r->copied);
      }
      if (r.error() == Error::kAgain && rt.drop_if_stale(sf, fd)) return kRedo;
      if (r.error() != Error::kAgain || nonblock) return fail(r.error());
      if (rt.wait(lock, sf, fd, false, call_timeout(sf->rcvtimeo)) < 0) return -1;
      sf = rt.lookup(fd);
      if (sf == nullptr) return fail(EBADF);
    }
  }
  size_t got = 0;
  int idx = 0;
  size_t in_iov = 0;
  while (got < total) {
    while (idx < iovcnt && in_iov == iov[idx].iov_len) {
      ++idx;
      in_iov = 0;
    }
    auto* base = static_cast<uint8_t*>(iov[idx].iov_base) + in_iov;
    MutableBytes piece(base, iov[idx].iov_len - in_iov);
    auto r = rt.stack().recv_from(sf->id, piece, rflags, rt.now());
    rt.publish();
    if (r) {
      if (r->copied == 0) break;  // end of stream
      if (got == 0 && from != nullptr && fromlen != nullptr) write_sockaddr(sf->domain, r->from, from, fromlen);
      got += r->copied;
      in_iov += r->copied;
      if (rflags & msg_flag::kPeek) break;
      // Without MSG_WAITALL one call returns what is there.
      if ((flags & MSG_WAITALL) == 0 && r->copied < piece.size()) break;
      continue;
    }
    if (got > 0 && ((flags & MSG_WAITALL) == 0 || r.error() != Error::kAgain)) break;
    if (r.error() != Error::kAgain) return fail(r.error());
    if (got == 0 && rt.drop_if_stale(sf, fd)) return kRedo;
    if (nonblock) {
      if (got > 0) break;
      return fail(EAGAIN);
    }
    if (rt.wait(lock, sf, fd, false, call_timeout(sf->rcvtimeo)) < 0) {
      if (got > 0) break;
      return -1;
    }
    sf = rt.lookup(fd);
    if (sf == nullptr) return got > 0 ? static_cast<ssize_t>(got) : fail(EBADF);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace
}  // namespace shunt::preload

using namespace shunt;
using namespace shunt::preload;

#define SHUNT_STACK_OR(fd, real_call)                   \
  Runtime& rt = Runtime::get();                         \
  if (rt.lookup(fd) == nullptr) return real_call;       \
  std::unique_lock<std::mutex> lock(rt.mutex());        \
  SocketFile* sf = rt.lookup(fd);                       \
  if (sf == nullptr) {                                  \
    lock.unlock();                                      \
    return real_call;                                   \
  }

// Returns a stack_send / stack_recv result, or the kernel's when the fd
// turned out not to be a stack socket any more.
#define SHUNT_RESULT_OR(expr, real_call) \
  do {                                   \
    ssize_t r_ = (expr);                 \
    if (r_ == kRedo) {                   \
      lock.unlock();                     \
      return real_call;                  \
    }                                    \
    return r_;                           \
  } while (0)

SHUNT_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  SHUNT_STACK_OR(fd, libc().send(fd, buf, len, flags));
  iovec v{const_cast<void*>(buf), len};
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, &v, 1, flags, nullptr, 0), libc().send(fd, buf, len, flags));
}

SHUNT_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* to,
                            socklen_t tolen) {
  SHUNT_STACK_OR(fd, libc().sendto(fd, buf, len, flags, to, tolen));
  iovec v{const_cast<void*>(buf), len};
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, &v, 1, flags, to, tolen),
                  libc().sendto(fd, buf, len, flags, to, tolen));
}

SHUNT_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  SHUNT_STACK_OR(fd, libc().sendmsg(fd, msg, flags));
  if (msg == nullptr) return fail(EFAULT);
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                             static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen),
                  libc().sendmsg(fd, msg, flags));
}

SHUNT_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
  SHUNT_STACK_OR(fd, libc().sendmmsg(fd, vec, vlen, flags));
  unsigned i = 0;
  for (; i < vlen; ++i) {
    ssize_t r = stack_send(lock, fd, sf, vec[i].msg_hdr.msg_iov, static_cast<int>(vec[i].msg_hdr.msg_iovlen),
                           flags, static_cast<const sockaddr*>(vec[i].msg_hdr.msg_name),
                           vec[i].msg_hdr.msg_namelen);
    if (r == kRedo) {
      lock.unlock();
      return i > 0 ? static_cast<int>(i) : libc().sendmmsg(fd, vec, vlen, flags);
    }
    if (r < 0) return i > 0 ? static_cast<int>(i) : -1;
    vec[i].msg_len = static_cast<unsigned>(r);
    sf = rt.lookup(fd);
    if (sf == nullptr) break;
  }
  return static_cast<int>(i);
}

SHUNT_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  SHUNT_STACK_OR(fd, libc().recv(fd, buf, len, flags));
  iovec v{buf, len};
  SHUNT_RESULT_OR(stack_recv(lock, fd, sf, &v, 1, flags, nullptr, nullptr, nullptr),
                  libc().recv(fd, buf, len, flags));
}

SHUNT_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* from, socklen_t* fromlen) {
  SHUNT_STACK_OR(fd, libc().recvfrom(fd, buf, len, flags, from, fromlen));
  iovec v{buf, len};
  SHUNT_RESULT_OR(stack_recv(lock, fd, sf, &v, 1, flags, from, fromlen, nullptr),
                  libc().recvfrom(fd, buf, len, flags, from, fromlen));
}

SHUNT_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  SHUNT_STACK_OR(fd, libc().recvmsg(fd, msg, flags));
  if (msg == nullptr) return fail(EFAULT);
  int out_flags = 0;
  socklen_t namelen = msg->msg_namelen;
  ssize_t r = stack_recv(lock, fd, sf, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                         static_cast<sockaddr*>(msg->msg_name), msg->msg_name ? &namelen : nullptr,
                         &out_flags);
  if (r == kRedo) {
    lock.unlock();
    return libc().recvmsg(fd, msg, flags);
  }
  if (r >= 0) {
    if (msg->msg_name != nullptr) msg->msg_namelen = namelen;
    msg->msg_controllen = 0;  // no ancillary data
    msg->msg_flags = out_flags;
  }
  return r;
}

SHUNT_EXPORT int recvmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout) {
  SHUNT_STACK_OR(fd, libc().recvmmsg(fd, vec, vlen, flags, timeout));
  unsigned i = 0;
  for (; i < vlen; ++i) {
    int out_flags = 0;
    socklen_t namelen = vec[i].msg_hdr.msg_namelen;
    // recvmmsg(2): blocks for the first message only (MSG_WAITFORONE-like
    // for the rest, which are taken if already there).
    int f = i == 0 ? flags : (flags | MSG_DONTWAIT);
    ssize_t r = stack_recv(lock, fd, sf, vec[i].msg_hdr.msg_iov, static_cast<int>(vec[i].msg_hdr.msg_iovlen), f,
                           static_cast<sockaddr*>(vec[i].msg_hdr.msg_name),
                           vec[i].msg_hdr.msg_name ? &namelen : nullptr, &out_flags);
    if (r == kRedo) {
      lock.unlock();
      return i > 0 ? static_cast<int>(i) : libc().recvmmsg(fd, vec, vlen, flags, timeout);
    }
    if (r < 0) return i > 0 ? static_cast<int>(i) : -1;
    vec[i].msg_len = static_cast<unsigned>(r);
    vec[i].msg_hdr.msg_namelen = namelen;
    vec[i].msg_hdr.msg_flags = out_flags;
    vec[i].msg_hdr.msg_controllen = 0;
    sf = rt.lookup(fd);
    if (sf == nullptr) break;
  }
  return static_cast<int>(i);
}

SHUNT_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  SHUNT_STACK_OR(fd, libc().read(fd, buf, len));
  iovec v{buf, len};
  SHUNT_RESULT_OR(stack_recv(lock, fd, sf, &v, 1, 0, nullptr, nullptr, nullptr), libc().read(fd, buf, len));
}

SHUNT_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  SHUNT_STACK_OR(fd, libc().write(fd, buf, len));
  iovec v{const_cast<void*>(buf), len};
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, &v, 1, 0, nullptr, 0), libc().write(fd, buf, len));
}

SHUNT_EXPORT ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  SHUNT_STACK_OR(fd, libc().readv(fd, iov, iovcnt));
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  SHUNT_RESULT_OR(stack_recv(lock, fd, sf, iov, iovcnt, 0, nullptr, nullptr, nullptr),
                  libc().readv(fd, iov, iovcnt));
}

SHUNT_EXPORT ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  SHUNT_STACK_OR(fd, libc().writev(fd, iov, iovcnt));
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(EINVAL);
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, iov, iovcnt, 0, nullptr, 0), libc().writev(fd, iov, iovcnt));
}

// sendfile with a stack socket as the destination: read the file and send
// (design.md / issue 5: emulated). A stack socket as the source is EINVAL,
// as for any socket on Linux.
static ssize_t do_sendfile(int out_fd, int in_fd, off_t* offset, size_t count, bool is64) {
  Runtime& rt = Runtime::get();
  if (rt.lookup(out_fd) == nullptr) {
    if (rt.lookup(in_fd) != nullptr) return fail(EINVAL);
    return is64 ? libc().sendfile64(out_fd, in_fd, reinterpret_cast<off64_t*>(offset), count)
                : libc().sendfile(out_fd, in_fd, offset, count);
  }
  std::vector<uint8_t> buf(std::min<size_t>(count, 256 * 1024));
  size_t done = 0;
  off_t pos = offset != nullptr ? *offset : 0;
  while (done < count) {
    size_t want = std::min(buf.size(), count - done);
    ssize_t n = offset != nullptr ? pread(in_fd, buf.data(), want, pos) : libc().read(in_fd, buf.data(), want);
    if (n < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    if (n == 0) break;
    ssize_t w;
    {
      std::unique_lock<std::mutex> lock(rt.mutex());
      SocketFile* sf = rt.lookup(out_fd);
      if (sf == nullptr) return fail(EBADF);
      iovec v{buf.data(), static_cast<size_t>(n)};
      w = stack_send(lock, out_fd, sf, &v, 1, 0, nullptr, 0);
    }
    if (w == kRedo) {
      // out_fd is a kernel file now: the rest goes the kernel's way, from
      // where this round started reading.
      if (offset == nullptr) lseek(in_fd, -n, SEEK_CUR);
      if (done > 0) break;
      return is64 ? libc().sendfile64(out_fd, in_fd, reinterpret_cast<off64_t*>(offset), count)
                  : libc().sendfile(out_fd, in_fd, offset, count);
    }
    if (w < 0) {
      if (done > 0) break;
      return -1;
    }
    done += static_cast<size_t>(w);
    pos += w;
    if (w < n) {
      // The socket took less (non-blocking): put the file position back.
      if (offset == nullptr) lseek(in_fd, w - n, SEEK_CUR);
      break;
    }
  }
  if (offset != nullptr) *offset = pos;
  return static_cast<ssize_t>(done);
}

SHUNT_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
  return do_sendfile(out_fd, in_fd, offset, count, false);
}

SHUNT_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
  return do_sendfile(out_fd, in_fd, reinterpret_cast<off_t*>(offset), count, true);
}

// Fortified aliases (-D_FORTIFY_SOURCE builds import these).
SHUNT_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buflen) {
  if (len > buflen) __builtin_trap();
  return read(fd, buf, len);
}
SHUNT_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) __builtin_trap();
  return recv(fd, buf, len, flags);
}
SHUNT_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buflen, int flags, sockaddr* from,
                                    socklen_t* fromlen) {
  if (len > buflen) __builtin_trap();
  return recvfrom(fd, buf, len, flags, from, fromlen);
}
