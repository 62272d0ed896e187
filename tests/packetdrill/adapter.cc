#include "tests/packetdrill/adapter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "preload/errno_map.h"
#include "preload/sockaddr.h"

namespace shunt::packetdrill {

using preload::AddrKind;
using preload::parse_sockaddr;
using preload::write_sockaddr;

int fail(Error e) {
  errno = preload::to_errno(e);
  return -1;
}

int fail_errno(int e) {
  errno = e;
  return -1;
}

// Linux copies from and to user memory and fails with EFAULT on a bad
// pointer; the adapter can only tell a null one.
static bool bad_iov(const iovec* iov, int iovcnt) {
  if (iovcnt > 0 && iov == nullptr) return true;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_base == nullptr && iov[i].iov_len > 0) return true;
  }
  return false;
}

Adapter::Adapter(const Settings& s) : engine_(s) {
  engine_.on_change = [this](SocketId id) {
    for (auto& [fd, e] : fds_) {
      if (e.kind != FdEntry::Kind::kEpoll) continue;
      for (auto& [wfd, reg] : e.watched) {
        auto it = fds_.find(wfd);
        if (it != fds_.end() && it->second.kind == FdEntry::Kind::kSocket && it->second.id == id) {
          reg.pending = true;
        }
      }
    }
  };
}

bool Adapter::owns(int fd) {
  auto lk = engine_.lock();
  return fds_.count(fd) != 0;
}

FdEntry* Adapter::socket_entry(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != FdEntry::Kind::kSocket) return nullptr;
  return &it->second;
}

int Adapter::new_fd(FdEntry e) {
  int fd = kFirstFd;
  while (fds_.count(fd) != 0) ++fd;
  fds_.emplace(fd, std::move(e));
  return fd;
}

Instant Adapter::deadline_after(Duration timeout) const {
  return timeout < Duration::zero() ? kNever : engine_.now() + timeout;
}

int Adapter::socket(int domain, int type, int protocol) {
  auto lk = engine_.lock();
  if (domain != AF_INET && domain != AF_INET6) return fail_errno(EAFNOSUPPORT);
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  Result<SocketId> r = Error::kProtoNoSupport;
  if (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
    r = engine_.stack().tcp_open();
  } else if (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) {
    r = engine_.stack().udp_open();
  } else {
    // Raw sockets, ICMP sockets, SCTP...: not served by shunt.
    return fail_errno(base == SOCK_STREAM || base == SOCK_DGRAM ? EPROTONOSUPPORT
                                                                : ESOCKTNOSUPPORT);
  }
  if (!r) return fail(r.error());
  FdEntry e;
  e.id = *r;
  e.domain = domain;
  e.type = base;
  e.nonblock = (type & SOCK_NONBLOCK) != 0;
  return new_fd(std::move(e));
}

int Adapter::bind(int fd, const sockaddr* addr, socklen_t len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  auto p = parse_sockaddr(addr, len);
  if (p.kind == AddrKind::kBad || p.kind == AddrKind::kUnspec) return fail_errno(EINVAL);
  if (p.kind == AddrKind::kV6) return fail_errno(EADDRNOTAVAIL);  // no IPv6 in shunt
  auto r = engine_.stack().bind(e->id, p.ep);
  engine_.settle();
  return r ? 0 : fail(r.error());
}

int Adapter::listen(int fd, int backlog) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  auto r = engine_.stack().listen(e->id, backlog, engine_.now());
  engine_.settle();
  return r ? 0 : fail(r.error());
}

int Adapter::accept(int fd, sockaddr* addr, socklen_t* len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  const SocketId lid = e->id;
  const bool nonblock = e->nonblock;
  const int domain = e->domain;
  std::optional<Result<AcceptResult>> got;
  auto attempt = [&] {
    auto r = engine_.stack().accept(lid, engine_.now());
    engine_.settle();
    if (!r && r.error() == Error::kAgain && !nonblock) return false;
    got = std::move(r);
    return true;
  };
  if (!engine_.wait(lk, attempt, deadline_after(e->rcvtimeo))) return fail_errno(EAGAIN);
  if (!*got) return fail(got->error());
  FdEntry child;
  child.id = (*got)->socket;
  child.domain = domain;
  write_sockaddr(domain, (*got)->peer, addr, len);
  return new_fd(std::move(child));
}

int Adapter::connect(int fd, const sockaddr* addr, socklen_t len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  auto p = parse_sockaddr(addr, len);
  Stack& st = engine_.stack();
  if (p.kind == AddrKind::kUnspec) {
    auto r = st.disconnect(e->id, engine_.now());
    engine_.settle();
    return r ? 0 : fail(r.error());
  }
  if (p.kind == AddrKind::kBad) return fail_errno(EINVAL);
  if (p.kind == AddrKind::kV6) return fail_errno(ENETUNREACH);
  auto r = st.connect(e->id, p.ep, engine_.now());
  engine_.settle();
  if (r) return 0;
  if (r.error() != Error::kInProgress || e->nonblock) return fail(r.error());
  // A blocking connect waits for the handshake's end (writable or error).
  const SocketId id = e->id;
  auto done = [&] {
    auto ready = st.readiness(id);
    return !ready ||
           (*ready & (readiness::kWritable | readiness::kError | readiness::kHangup)) != 0;
  };
  if (!engine_.wait(lk, done, deadline_after(e->sndtimeo))) return fail_errno(EINPROGRESS);
  auto err = st.take_error(id);
  engine_.settle();
  if (!err) return fail(err.error());
  if (*err) return fail(**err);
  return 0;
}

ssize_t Adapter::stream_recv(std::unique_lock<std::mutex>& lk, FdEntry& e, const iovec* iov,
                             int iovcnt, int flags) {
  Stack& st = engine_.stack();
  const SocketId id = e.id;
  const bool nonblock = e.nonblock || (flags & MSG_DONTWAIT) != 0;
  const uint32_t rflags = (flags & MSG_PEEK) ? msg_flag::kPeek : 0;
  if (bad_iov(iov, iovcnt)) return fail_errno(EFAULT);
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  std::vector<uint8_t> buf(total);
  // Linux tcp_recvmsg's target: 1 byte, or all of it with MSG_WAITALL.
  const size_t target = (flags & MSG_WAITALL) ? total : std::min<size_t>(1, total);
  size_t got = 0;
  std::optional<Error> error;
  bool eof = false;
  auto attempt = [&] {
    while (got < total || total == 0) {
      auto r = st.recv_from(id, MutableBytes(buf.data() + got, total - got), rflags, engine_.now());
      engine_.settle();
      if (r) {
        if (r->copied == 0) {
          eof = true;
          return true;
        }
        got += r->copied;
        if (rflags & msg_flag::kPeek) return true;
        continue;
      }
      if (r.error() != Error::kAgain) {
        error = r.error();
        return true;
      }
      if (got >= target && total > 0) return true;
      if (nonblock) {
        error = Error::kAgain;
        return true;
      }
      return false;
    }
    return true;
  };
  if (!engine_.wait(lk, attempt, deadline_after(e.rcvtimeo)) && got == 0) {
    return fail_errno(EAGAIN);
  }
  if (got == 0 && error) return fail(*error);
  size_t off = 0;
  for (int i = 0; i < iovcnt && off < got; ++i) {
    size_t k = std::min(iov[i].iov_len, got - off);
    std::memcpy(iov[i].iov_base, buf.data() + off, k);
    off += k;
  }
  (void)eof;
  return static_cast<ssize_t>(got);
}

ssize_t Adapter::stream_send(std::unique_lock<std::mutex>& lk, FdEntry& e, const iovec* iov,
                             int iovcnt, int flags) {
  Stack& st = engine_.stack();
  const SocketId id = e.id;
  const bool nonblock = e.nonblock || (flags & MSG_DONTWAIT) != 0;
  if (bad_iov(iov, iovcnt)) return fail_errno(EFAULT);
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  size_t sent = 0;
  int idx = 0;
  size_t in_iov = 0;
  std::optional<Error> error;
  auto attempt = [&] {
    while (sent < total) {
      while (idx < iovcnt && in_iov == iov[idx].iov_len) {
        ++idx;
        in_iov = 0;
      }
      const auto* base = static_cast<const uint8_t*>(iov[idx].iov_base) + in_iov;
      Bytes piece(base, iov[idx].iov_len - in_iov);
      const bool more = (flags & MSG_MORE) != 0 || sent + piece.size() < total;
      auto r = st.send_to(id, piece, std::nullopt, engine_.now(), more ? msg_flag::kMore : 0);
      engine_.settle();
      if (r) {
        sent += *r;
        in_iov += *r;
        continue;
      }
      if (r.error() == Error::kAgain && !nonblock) return false;
      error = r.error();
      return true;
    }
    return true;
  };
  if (total == 0) {
    // A zero-length send checks the socket's state only.
    auto r = st.send_to(id, Bytes{}, std::nullopt, engine_.now(), 0);
    engine_.settle();
    return r ? 0 : fail(r.error());
  }
  if (!engine_.wait(lk, attempt, deadline_after(e.sndtimeo)) && sent == 0)
    return fail_errno(EAGAIN);
  if (sent == 0 && error) return fail(*error);
  return static_cast<ssize_t>(sent);
}

ssize_t Adapter::recvmsg(int fd, msghdr* msg, int flags) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  if (msg == nullptr) return fail_errno(EFAULT);
  msg->msg_controllen = 0;
  msg->msg_flags = 0;
  if (e->type == SOCK_STREAM) {
    if ((flags & MSG_ERRQUEUE) != 0) return fail_errno(EAGAIN);  // no timestamping/zerocopy
    msg->msg_namelen = 0;
    return stream_recv(lk, *e, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
  }
  // UDP: one datagram.
  if (bad_iov(msg->msg_iov, static_cast<int>(msg->msg_iovlen))) return fail_errno(EFAULT);
  size_t total = 0;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) total += msg->msg_iov[i].iov_len;
  std::vector<uint8_t> buf(total);
  const SocketId id = e->id;
  const bool nonblock = e->nonblock || (flags & MSG_DONTWAIT) != 0;
  std::optional<Result<RecvResult>> got;
  auto attempt = [&] {
    auto r =
        engine_.stack().recv_from(id, buf, (flags & MSG_PEEK) ? msg_flag::kPeek : 0, engine_.now());
    engine_.settle();
    if (!r && r.error() == Error::kAgain && !nonblock) return false;
    got = std::move(r);
    return true;
  };
  if (!engine_.wait(lk, attempt, deadline_after(e->rcvtimeo))) return fail_errno(EAGAIN);
  if (!*got) return fail(got->error());
  const RecvResult& rr = **got;
  size_t off = 0;
  for (size_t i = 0; i < msg->msg_iovlen && off < rr.copied; ++i) {
    size_t k = std::min(msg->msg_iov[i].iov_len, rr.copied - off);
    std::memcpy(msg->msg_iov[i].iov_base, buf.data() + off, k);
    off += k;
  }
  if (msg->msg_name != nullptr) {
    write_sockaddr(e->domain, rr.from, static_cast<sockaddr*>(msg->msg_name), &msg->msg_namelen);
  }
  if (rr.truncated()) msg->msg_flags |= MSG_TRUNC;
  return static_cast<ssize_t>(rr.copied);
}

ssize_t Adapter::sendmsg(int fd, const msghdr* msg, int flags) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  if (msg == nullptr) return fail_errno(EFAULT);
  if ((flags & MSG_FASTOPEN) != 0) return fail_errno(EOPNOTSUPP);  // no Fast Open in shunt
  if ((flags & MSG_ZEROCOPY) != 0) return fail_errno(EINVAL);      // SO_ZEROCOPY is refused
  if (e->type == SOCK_STREAM) {
    return stream_send(lk, *e, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
  }
  if (bad_iov(msg->msg_iov, static_cast<int>(msg->msg_iovlen))) return fail_errno(EFAULT);
  std::vector<uint8_t> data;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    const auto* b = static_cast<const uint8_t*>(msg->msg_iov[i].iov_base);
    data.insert(data.end(), b, b + msg->msg_iov[i].iov_len);
  }
  std::optional<Endpoint> to;
  if (msg->msg_name != nullptr) {
    auto p = parse_sockaddr(static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen);
    if (p.kind != AddrKind::kV4 && p.kind != AddrKind::kV4Mapped) return fail_errno(EINVAL);
    to = p.ep;
  }
  auto r = engine_.stack().send_to(e->id, data, to, engine_.now());
  engine_.settle();
  return r ? static_cast<ssize_t>(*r) : fail(r.error());
}

int Adapter::fcntl(int fd, int cmd, long arg) {
  auto lk = engine_.lock();
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail_errno(EBADF);
  FdEntry& e = it->second;
  switch (cmd) {
    case F_GETFL:
      return O_RDWR | (e.nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
      e.nonblock = (arg & O_NONBLOCK) != 0;
      return 0;
    case F_GETFD:
      return FD_CLOEXEC;
    case F_SETFD:
      return 0;
    default:
      return fail_errno(EINVAL);
  }
}

int Adapter::close(int fd) {
  auto lk = engine_.lock();
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail_errno(EBADF);
  if (it->second.kind == FdEntry::Kind::kSocket) {
    auto r = engine_.stack().close(it->second.id, engine_.now());
    engine_.settle();
    (void)r;
  }
  fds_.erase(it);
  // A closed fd leaves every epoll set (it was its last reference).
  for (auto& [efd, ep] : fds_) ep.watched.erase(fd);
  return 0;
}

int Adapter::shutdown(int fd, int how) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return fail_errno(EINVAL);
  auto r = engine_.stack().shutdown(e->id, how != SHUT_WR, how != SHUT_RD, engine_.now());
  engine_.settle();
  return r ? 0 : fail(r.error());
}

ssize_t Adapter::splice(int fd_in, int fd_out, size_t len) {
  // A pipe end is a kernel descriptor, the socket one of ours: copy
  // through a buffer (Linux moves pages; the bytes are the same).
  std::vector<uint8_t> buf(std::min<size_t>(len, 1 << 20));
  if (owns(fd_in) && !owns(fd_out)) {
    iovec iov{buf.data(), buf.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    ssize_t n = recvmsg(fd_in, &m, 0);
    if (n <= 0) return n;
    return ::write(fd_out, buf.data(), static_cast<size_t>(n));
  }
  if (!owns(fd_in) && owns(fd_out)) {
    ssize_t n = ::read(fd_in, buf.data(), buf.size());
    if (n <= 0) return n;
    iovec iov{buf.data(), static_cast<size_t>(n)};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return sendmsg(fd_out, &m, 0);
  }
  return fail_errno(EINVAL);
}

ssize_t Adapter::sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  std::vector<uint8_t> buf(std::min<size_t>(count, 1 << 20));
  ssize_t n = offset != nullptr ? ::pread(in_fd, buf.data(), buf.size(), *offset)
                                : ::read(in_fd, buf.data(), buf.size());
  if (n <= 0) return n;
  iovec iov{buf.data(), static_cast<size_t>(n)};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  ssize_t sent = sendmsg(out_fd, &m, 0);
  if (sent > 0 && offset != nullptr) *offset += sent;
  return sent;
}

int Adapter::netdev_send(const void* buf, size_t count) {
  auto lk = engine_.lock();
  if (!engine_.inject(Bytes(static_cast<const uint8_t*>(buf), count))) return fail_errno(EINVAL);
  return 0;
}

int Adapter::netdev_receive(void* buf, size_t* count, long long* time_usecs) {
  auto lk = engine_.lock();
  // packetdrill waits at most 2 s past the expected time; a little more
  // than any script's longest wait keeps a missing packet from spinning
  // through hours of keepalive timers.
  auto sent = engine_.next_sent(lk, std::chrono::seconds(600));
  if (!sent) {
    std::fprintf(stderr,
                 "packetdrill adapter: the stack sent nothing (no timer pending within 600 s)\n");
    *count = 0;
    return 0;
  }
  const size_t n = std::min(*count, sent->ip.size());
  std::memcpy(buf, sent->ip.data(), n);
  *count = n;
  *time_usecs = engine_.to_wall_usecs(sent->at);
  return 0;
}

int Adapter::usleep(useconds_t us) {
  auto lk = engine_.lock();
  engine_.sleep_for(lk, std::chrono::microseconds(us));
  return 0;
}

int Adapter::gettimeofday(timeval* tv) {
  auto lk = engine_.lock();
  int64_t us = engine_.wall_usecs(lk);
  tv->tv_sec = us / 1'000'000;
  tv->tv_usec = us % 1'000'000;
  return 0;
}

}  // namespace shunt::packetdrill
