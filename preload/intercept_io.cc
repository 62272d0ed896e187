// Interposed data calls: send*, recv*, read, write, readv, writev and
// the fortified aliases (sendfile and splice: intercept_splice.cc); the
// ancillary data of sendmsg and recvmsg (ip(7), socket(7)), the error
// queue, UDP corking and segmentation.
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "preload/blocking_wait.h"
#include "preload/calls.h"
#include "preload/data_path.h"
#include "preload/linux_names.h"
#include "preload/sockaddr.h"

namespace shunt::preload {
namespace {

// Linux UDP_MAX_SEGMENTS: datagrams one UDP_SEGMENT send may become.
constexpr size_t kMaxGsoSegments = 128;
// The largest UDP payload one IPv4 datagram carries.
constexpr size_t kMaxUdpPayload = 65507;

size_t iov_total(const iovec* iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

}  // namespace

// Control messages written into a msghdr as Linux's put_cmsg does: what
// fits, MSG_CTRUNC for what does not.
class CmsgWriter {
 public:
  explicit CmsgWriter(msghdr* m) : m_(m) {}
  void put(int level, int type, const void* data, size_t len) {
    const size_t cap = m_->msg_control != nullptr ? m_->msg_controllen : 0;
    if (cap < used_ + sizeof(cmsghdr)) {
      flags_ |= MSG_CTRUNC;
      return;
    }
    size_t cmlen = CMSG_LEN(len);
    const size_t room = cap - used_;
    if (room < cmlen) {
      flags_ |= MSG_CTRUNC;
      cmlen = room;
    }
    auto* at = static_cast<unsigned char*>(m_->msg_control) + used_;
    cmsghdr h{};
    h.cmsg_len = cmlen;
    h.cmsg_level = level;
    h.cmsg_type = type;
    std::memcpy(at, &h, sizeof h);
    std::memcpy(at + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
    used_ += std::min(CMSG_SPACE(len), room);
  }
  // After the call: msg_controllen says what was written.
  void finish() {
    if (m_->msg_control != nullptr) m_->msg_controllen = used_;
  }
  int flags() const { return flags_; }

 private:
  msghdr* m_;
  size_t used_ = 0;
  int flags_ = 0;
};

namespace {

// SO_TIMESTAMP(NS) in the form asked for (sock_recv_timestamp).
void put_timestamp(CmsgWriter& cw, uint32_t bits, int64_t ns) {
  const int64_t sec = ns / 1'000'000'000;
  const int64_t sub = ns % 1'000'000'000;
  const bool is_new = (bits & cmsg_flag::kTimestampNew) != 0;
  if ((bits & cmsg_flag::kTimestampNs) != 0) {
    if (is_new) {
      const int64_t ts[2] = {sec, sub};  // struct __kernel_timespec
      cw.put(SOL_SOCKET, SO_TIMESTAMPNS_NEW, ts, sizeof ts);
    } else {
      timespec ts{static_cast<time_t>(sec), static_cast<long>(sub)};
      cw.put(SOL_SOCKET, SO_TIMESTAMPNS_OLD, &ts, sizeof ts);
    }
  } else if (is_new) {
    const int64_t tv[2] = {sec, sub / 1000};  // struct __kernel_sock_timeval
    cw.put(SOL_SOCKET, SO_TIMESTAMP_NEW, tv, sizeof tv);
  } else {
    timeval tv{static_cast<time_t>(sec), static_cast<suseconds_t>(sub / 1000)};
    cw.put(SOL_SOCKET, SO_TIMESTAMP_OLD, &tv, sizeof tv);
  }
}

in6_addr v4_mapped(Ipv4Address a) {
  in6_addr m{};
  m.s6_addr[10] = 0xff;
  m.s6_addr[11] = 0xff;
  const uint32_t be = htonl(a.value());
  std::memcpy(&m.s6_addr[12], &be, 4);
  return m;
}

// The ancillary data of one received datagram, in Linux's order: the
// timestamp (sock_recv_cmsgs), then ip_cmsg_recv_offset's, then for a
// dual-stack socket IPV6_PKTINFO (ip6_datagram_recv_common_ctl).
void put_datagram_cmsgs(Runtime& rt, SocketFile* sf, const RecvResult& r, CmsgWriter& cw) {
  const uint32_t bits = sf->extras.cmsg;
  if ((bits & cmsg_flag::kTimestamp) != 0) put_timestamp(cw, bits, rt.realtime_ns(r.at));
  if ((bits & cmsg_flag::kPktInfo) != 0) {
    in_pktinfo p{};
    p.ipi_ifindex = rt.ifindex();
    p.ipi_spec_dst.s_addr = htonl(r.spec_dst.value());
    p.ipi_addr.s_addr = htonl(r.to.value());
    cw.put(IPPROTO_IP, IP_PKTINFO, &p, sizeof p);
  }
  if ((bits & cmsg_flag::kRecvTtl) != 0) {
    const int ttl = r.ttl;
    cw.put(IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  }
  if ((bits & cmsg_flag::kRecvTos) != 0) cw.put(IPPROTO_IP, IP_TOS, &r.tos, 1);
  if ((bits & cmsg_flag::kOrigDstAddr) != 0) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(r.to.value());
    auto local = rt.stack().local_endpoint(sf->id);
    if (local) a.sin_port = htons(local->port);
    cw.put(IPPROTO_IP, IP_ORIGDSTADDR, &a, sizeof a);
  }
  if (sf->domain == AF_INET6 && (bits & cmsg_flag::kIpv6PktInfo) != 0) {
    in6_pktinfo p{};
    p.ipi6_addr = v4_mapped(r.to);
    p.ipi6_ifindex = static_cast<unsigned>(rt.ifindex());
    cw.put(IPPROTO_IPV6, IPV6_PKTINFO, &p, sizeof p);
  }
}

// The ancillary data of a UDP sendmsg (Linux udp_cmsg_send, ip_cmsg_send,
// __sock_cmsg_send). Returns nothing or the error.
std::optional<Error> parse_send_cmsgs(Runtime& rt, SocketFile* sf, const msghdr* m, SendOptions* extra, uint16_t* gso) {
  if (m == nullptr || m->msg_control == nullptr || m->msg_controllen == 0) return std::nullopt;
  int oif = 0;
  for (const cmsghdr* c = CMSG_FIRSTHDR(m); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(m), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_len < sizeof(cmsghdr) ||
        c->cmsg_len > m->msg_controllen - (reinterpret_cast<const char*>(c) - static_cast<const char*>(m->msg_control))) {
      return Error::kInval;  // !CMSG_OK
    }
    const size_t len = c->cmsg_len - CMSG_LEN(0);
    const unsigned char* data = CMSG_DATA(c);
    if (c->cmsg_level == IPPROTO_UDP) {
      if (c->cmsg_type == UDP_SEGMENT) {
        if (c->cmsg_len != CMSG_LEN(sizeof(uint16_t))) return Error::kInval;
        std::memcpy(gso, data, sizeof(uint16_t));
      }
      continue;
    }
    if (c->cmsg_level == IPPROTO_IPV6) {
      if (sf->domain != AF_INET6 || c->cmsg_type != IPV6_PKTINFO) continue;
      if (len < sizeof(in6_pktinfo)) return Error::kInval;
      in6_pktinfo p{};
      std::memcpy(&p, data, sizeof p);
      if (!IN6_IS_ADDR_V4MAPPED(&p.ipi6_addr)) return Error::kInval;
      if (p.ipi6_ifindex != 0) oif = static_cast<int>(p.ipi6_ifindex);
      uint32_t v4;
      std::memcpy(&v4, &p.ipi6_addr.s6_addr[12], 4);
      extra->src = Ipv4Address(ntohl(v4));
      continue;
    }
    if (c->cmsg_level == SOL_SOCKET) {
      switch (c->cmsg_type) {
        case SO_MARK:
        case SO_PRIORITY:
        case SO_TIMESTAMPING_OLD:
        case SCM_TXTIME:
          continue;  // accepted; shunt has no queueing discipline to use them
        default:
          return Error::kInval;
      }
    }
    if (c->cmsg_level != IPPROTO_IP) continue;
    switch (c->cmsg_type) {
      case IP_PKTINFO: {
        if (c->cmsg_len != CMSG_LEN(sizeof(in_pktinfo))) return Error::kInval;
        in_pktinfo p{};
        std::memcpy(&p, data, sizeof p);
        oif = p.ipi_ifindex;
        extra->src = Ipv4Address(ntohl(p.ipi_spec_dst.s_addr));
        break;
      }
      case IP_TTL: {
        if (c->cmsg_len != CMSG_LEN(sizeof(int))) return Error::kInval;
        int v;
        std::memcpy(&v, data, sizeof v);
        if (v < 1 || v > 255) return Error::kInval;
        extra->ttl = static_cast<uint8_t>(v);
        break;
      }
      case IP_TOS: {
        int v;
        if (c->cmsg_len == CMSG_LEN(sizeof(int))) {
          std::memcpy(&v, data, sizeof v);
        } else if (c->cmsg_len == CMSG_LEN(1)) {
          v = *data;
        } else {
          return Error::kInval;
        }
        if (v < 0 || v > 255) return Error::kInval;
        extra->tos = static_cast<uint8_t>(v);
        break;
      }
      default:
        return Error::kInval;
    }
  }
  // An interface that is not the stack's: the kernel would route there.
  if (oif != 0 && oif != rt.ifindex()) return Error::kNoDev;
  return std::nullopt;
}

// One UDP datagram, or with UDP_SEGMENT (`gso`) several of that size
// (Linux udp_send_skb's checks).
ssize_t udp_send(Runtime& rt, SocketFile* sf, Bytes data, std::optional<Endpoint> to, const SendOptions& extra,
                 uint16_t gso) {
  if (gso == 0 || data.size() <= gso) {
    auto r = rt.stack().send_to(sf->id, data, to, rt.now(), 0, extra);
    rt.publish();
    return r ? static_cast<ssize_t>(*r) : fail(r.error());
  }
  if (gso + 28u > rt.stack().mtu()) return fail(Error::kMsgSize);
  if ((data.size() + gso - 1) / gso > kMaxGsoSegments) return fail(Error::kInval);
  for (size_t off = 0; off < data.size(); off += gso) {
    auto r = rt.stack().send_to(sf->id, data.subspan(off, std::min<size_t>(gso, data.size() - off)), to, rt.now(), 0,
                                extra);
    rt.publish();
    if (!r) return fail(r.error());
  }
  return static_cast<ssize_t>(data.size());
}

}  // namespace

ssize_t stack_send(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, const sockaddr* to, socklen_t tolen, const msghdr* msg) {
  Runtime& rt = Runtime::get();
  if (sf->inert) return fail(Error::kBadFd);
  if ((flags & MSG_OOB) != 0) return fail(Error::kOpNotSupp);
  const bool nonblock = sf->nonblock || (flags & MSG_DONTWAIT) != 0;
  const uint32_t sflags = (flags & MSG_MORE) ? msg_flag::kMore : 0;
  if (sf->type == SOCK_DGRAM) {
    SendOptions extra;
    uint16_t gso = sf->extras.gso_size;
    if (auto e = parse_send_cmsgs(rt, sf, msg, &extra, &gso)) return fail(*e);
    std::optional<Endpoint> dest;
    if (to != nullptr) {
      ParsedAddr a = parse_sockaddr(to, tolen);
      if (a.kind == AddrKind::kBad) return fail(Error::kInval);
      if (a.kind == AddrKind::kV6) return fail(Error::kNetUnreach);  // no IPv6 yet
      if (a.kind == AddrKind::kV4 && sf->domain != AF_INET) return fail(Error::kAfNoSupport);
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
    // UDP_CORK and MSG_MORE hold the pieces back until a send without
    // them (Linux udp_sendmsg: the first piece's destination and options
    // count, each call returns its own length).
    UdpCork& c = sf->cork;
    const bool more = sf->extras.udp_cork || (flags & MSG_MORE) != 0;
    if (c.pending || more) {
      if (!c.pending) {
        c.pending = true;
        c.to = dest;
        c.extra = extra;
        c.data.clear();
      }
      if (c.data.size() + buf.size() > kMaxUdpPayload) {
        sf->cork = UdpCork{};  // udp_flush_pending_frames
        return fail(Error::kMsgSize);
      }
      c.data.insert(c.data.end(), buf.begin(), buf.end());
      if (more) return static_cast<ssize_t>(buf.size());
      std::vector<uint8_t> whole = std::move(c.data);
      const std::optional<Endpoint> whole_to = c.to;
      const SendOptions whole_extra = c.extra;
      sf->cork = UdpCork{};
      ssize_t r = udp_send(rt, sf, whole, whole_to, whole_extra, gso);
      return r < 0 ? r : static_cast<ssize_t>(buf.size());
    }
    return udp_send(rt, sf, buf, dest, extra, gso);
  }
  // MSG_FASTOPEN: shunt has no Fast Open, as a kernel with tcp_fastopen's
  // client bit off (tcp_sendmsg_fastopen).
  if ((flags & MSG_FASTOPEN) != 0) return fail(Error::kOpNotSupp);
  // Linux ignores the address on a connected stream socket, and ancillary
  // data outside SOL_SOCKET.
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
      if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kWrite)) {
        if (sf == nullptr) return sent > 0 ? static_cast<ssize_t>(sent) : -1;
        if (sent > 0) break;
        return -1;
      }
      continue;
    }
    if (sent > 0) break;
    if (r.error() == Error::kPipe) raise_sigpipe(flags);
    return fail(r.error());
  }
  if (sent == 0 && total > 0) return fail(Error::kAgain);
  return static_cast<ssize_t>(sent);
}

namespace {

void copy_out(const iovec* iov, int iovcnt, const uint8_t* data, size_t n) {
  size_t off = 0;
  for (int i = 0; i < iovcnt && off < n; ++i) {
    size_t k = std::min(iov[i].iov_len, n - off);
    std::memcpy(iov[i].iov_base, data + off, k);
    off += k;
  }
}

// recvmsg(MSG_ERRQUEUE): one queued ICMP error (Linux ip_recv_error, or
// ipv6_recv_error on a dual-stack socket); never blocks.
ssize_t recv_errqueue(SocketFile* sf, const iovec* iov, int iovcnt, sockaddr* from, socklen_t* fromlen,
                      int* msg_flags, CmsgWriter* cw) {
  Runtime& rt = Runtime::get();
  auto e = rt.stack().take_queued_error(sf->id);
  rt.publish();
  if (!e) return fail(e.error());
  const size_t total = iov_total(iov, iovcnt);
  const size_t n = std::min(total, e->payload.size());
  copy_out(iov, iovcnt, e->payload.data(), n);
  if (msg_flags != nullptr) *msg_flags |= MSG_ERRQUEUE | (e->payload.size() > total ? MSG_TRUNC : 0);
  if (from != nullptr && fromlen != nullptr) write_sockaddr(sf->domain, e->dest, from, fromlen);
  if (cw != nullptr) {
    sock_extended_err ee{};
    ee.ee_errno = static_cast<uint32_t>(to_errno(e->error));
    ee.ee_origin = SO_EE_ORIGIN_ICMP;
    ee.ee_type = e->type;
    ee.ee_code = e->code;
    ee.ee_info = e->info;
    if (sf->domain == AF_INET6) {
      struct {
        sock_extended_err ee;
        sockaddr_in6 offender;
      } err{};
      err.ee = ee;
      err.offender.sin6_family = AF_INET6;
      err.offender.sin6_addr = v4_mapped(e->offender);
      cw->put(IPPROTO_IPV6, IPV6_RECVERR, &err, sizeof err);
    } else {
      struct {
        sock_extended_err ee;
        sockaddr_in offender;
      } err{};
      err.ee = ee;
      err.offender.sin_family = AF_INET;
      err.offender.sin_addr.s_addr = htonl(e->offender.value());
      cw->put(IPPROTO_IP, IP_RECVERR, &err, sizeof err);
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace

ssize_t stack_recv(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, sockaddr* from, socklen_t* fromlen, int* msg_flags,
                   CmsgWriter* cw) {
  Runtime& rt = Runtime::get();
  if (sf->inert) return fail(Error::kBadFd);
  if ((flags & MSG_OOB) != 0) return fail(Error::kInval);  // urgent data is inline
  if (msg_flags != nullptr) *msg_flags = 0;
  if ((flags & MSG_ERRQUEUE) != 0) return recv_errqueue(sf, iov, iovcnt, from, fromlen, msg_flags, cw);
  const bool nonblock = sf->nonblock || (flags & MSG_DONTWAIT) != 0;
  const uint32_t rflags = (flags & MSG_PEEK) ? msg_flag::kPeek : 0;
  const size_t total = iov_total(iov, iovcnt);
  if (sf->type == SOCK_DGRAM) {
    std::vector<uint8_t> buf(total);
    while (true) {
      auto r = rt.stack().recv_from(sf->id, buf, rflags, rt.now());
      rt.publish();
      if (r) {
        copy_out(iov, iovcnt, buf.data(), r->copied);
        if (from != nullptr && fromlen != nullptr) write_sockaddr(sf->domain, r->from, from, fromlen);
        if (r->truncated() && msg_flags != nullptr) *msg_flags |= MSG_TRUNC;
        if (cw != nullptr) put_datagram_cmsgs(rt, sf, *r, *cw);
        return static_cast<ssize_t>((flags & MSG_TRUNC) ? r->datagram_len : r->copied);
      }
      if (r.error() == Error::kAgain && rt.drop_if_stale(sf, fd)) return kRedo;
      if (r.error() != Error::kAgain || nonblock) return fail(r.error());
      // Reads shut down: a blocking one ends with 0 (__skb_wait_for_more_packets).
      if (auto ready = rt.stack().readiness(sf->id); ready && (*ready & readiness::kReadHangup) != 0) return 0;
      if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kRead)) return -1;
    }
  }
  // A stream has no source address to give (recvfrom sets the length to 0).
  if (fromlen != nullptr) *fromlen = 0;
  // MSG_TRUNC on a stream: the bytes are taken and thrown away (tcp_recvmsg
  // copies nothing).
  std::vector<uint8_t> discard;
  iovec scratch{};
  if ((flags & MSG_TRUNC) != 0) {
    discard.resize(total);
    scratch = iovec{discard.data(), total};
    iov = &scratch;
    iovcnt = 1;
  }
  if (total == 0) {
    // Linux tcp_recvmsg runs once for 0 bytes: ENOTCONN unconnected,
    // EAGAIN without data (a blocking call waits for some), else 0.
    while (true) {
      auto r = rt.stack().recv_from(sf->id, MutableBytes{}, rflags, rt.now());
      rt.publish();
      if (r || r.error() != Error::kAgain) return r ? 0 : fail(r.error());
      if (nonblock) return fail(Error::kAgain);
      if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kReadBytes)) return -1;
      if (auto n = rt.stack().next_datagram_size(sf->id); n && *n > 0) return 0;
    }
  }
  // How much one call waits for: SO_RCVLOWAT's mark, or all of it with
  // MSG_WAITALL (Linux tcp_recvmsg's target, sock_rcvlowat).
  size_t target = total;
  if ((flags & MSG_WAITALL) == 0) {
    auto lowat = rt.stack().get_option(sf->id, SockOpt::kRcvLowat);
    target = std::min<size_t>(lowat ? static_cast<size_t>(std::max(*lowat, 1)) : 1, total);
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
      got += r->copied;
      in_iov += r->copied;
      if (rflags & msg_flag::kPeek) break;
      // What is there is returned once the mark is reached.
      if (got >= target && r->copied < piece.size()) break;
      continue;
    }
    if (got >= target || (got > 0 && r.error() != Error::kAgain)) break;
    if (r.error() != Error::kAgain) return fail(r.error());
    if (got == 0 && rt.drop_if_stale(sf, fd)) return kRedo;
    if (nonblock) {
      if (got > 0) break;
      return fail(Error::kAgain);
    }
    // Wakes for any new bytes, below SO_RCVLOWAT too, and counts them
    // towards the target (sk_wait_data).
    if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kReadBytes)) {
      if (sf == nullptr) return got > 0 ? static_cast<ssize_t>(got) : -1;
      if (got > 0) break;
      return -1;
    }
  }
  // SO_TIMESTAMP on a stream: the arrival of the last data (tcp_recv_timestamp).
  if (cw != nullptr && got > 0 && (sf->extras.cmsg & cmsg_flag::kTimestamp) != 0) {
    if (auto at = rt.stack().last_data_received(sf->id, rt.now())) put_timestamp(*cw, sf->extras.cmsg, rt.realtime_ns(*at));
  }
  return static_cast<ssize_t>(got);  // with MSG_TRUNC: the bytes thrown away
}

int flush_udp_cork(Runtime& rt, SocketFile* sf) {
  if (!sf->cork.pending) return 0;
  std::vector<uint8_t> whole = std::move(sf->cork.data);
  const std::optional<Endpoint> to = sf->cork.to;
  const SendOptions extra = sf->cork.extra;
  sf->cork = UdpCork{};
  return udp_send(rt, sf, whole, to, extra, sf->extras.gso_size) < 0 ? -1 : 0;
}

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
  if (msg == nullptr) return fail(Error::kFault);
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                             static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen, msg),
                  libc().sendmsg(fd, msg, flags));
}

SHUNT_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
  SHUNT_STACK_OR(fd, libc().sendmmsg(fd, vec, vlen, flags));
  unsigned i = 0;
  for (; i < vlen; ++i) {
    ssize_t r = stack_send(lock, fd, sf, vec[i].msg_hdr.msg_iov, static_cast<int>(vec[i].msg_hdr.msg_iovlen),
                           flags, static_cast<const sockaddr*>(vec[i].msg_hdr.msg_name),
                           vec[i].msg_hdr.msg_namelen, &vec[i].msg_hdr);
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
  if (msg == nullptr) return fail(Error::kFault);
  int out_flags = 0;
  socklen_t namelen = msg->msg_namelen;
  CmsgWriter cw(msg);
  ssize_t r = stack_recv(lock, fd, sf, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                         static_cast<sockaddr*>(msg->msg_name), msg->msg_name ? &namelen : nullptr,
                         &out_flags, &cw);
  if (r == kRedo) {
    lock.unlock();
    return libc().recvmsg(fd, msg, flags);
  }
  if (r >= 0) {
    if (msg->msg_name != nullptr) msg->msg_namelen = namelen;
    cw.finish();
    msg->msg_flags = out_flags | cw.flags();
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
    CmsgWriter cw(&vec[i].msg_hdr);
    ssize_t r = stack_recv(lock, fd, sf, vec[i].msg_hdr.msg_iov, static_cast<int>(vec[i].msg_hdr.msg_iovlen), f,
                           static_cast<sockaddr*>(vec[i].msg_hdr.msg_name),
                           vec[i].msg_hdr.msg_name ? &namelen : nullptr, &out_flags, &cw);
    if (r == kRedo) {
      lock.unlock();
      return i > 0 ? static_cast<int>(i) : libc().recvmmsg(fd, vec, vlen, flags, timeout);
    }
    if (r < 0) return i > 0 ? static_cast<int>(i) : -1;
    vec[i].msg_len = static_cast<unsigned>(r);
    vec[i].msg_hdr.msg_namelen = namelen;
    cw.finish();
    vec[i].msg_hdr.msg_flags = out_flags | cw.flags();
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
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(Error::kInval);
  SHUNT_RESULT_OR(stack_recv(lock, fd, sf, iov, iovcnt, 0, nullptr, nullptr, nullptr),
                  libc().readv(fd, iov, iovcnt));
}

SHUNT_EXPORT ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  SHUNT_STACK_OR(fd, libc().writev(fd, iov, iovcnt));
  if (iovcnt < 0 || iovcnt > IOV_MAX) return fail(Error::kInval);
  SHUNT_RESULT_OR(stack_send(lock, fd, sf, iov, iovcnt, 0, nullptr, 0), libc().writev(fd, iov, iovcnt));
}

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
