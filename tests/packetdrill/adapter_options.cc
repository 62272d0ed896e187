// setsockopt / getsockopt: the options the scripts use that shunt serves,
// mapped to SockOpt as preload/intercept_socket.cc maps them. Options
// shunt refuses (SO_ZEROCOPY, TCP_FASTOPEN's cookie options, TCP_MD5SIG,
// SO_TIMESTAMPING...) fail with ENOPROTOOPT.
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "preload/errno_map.h"
#include "preload/tcp_info.h"
#include "tests/packetdrill/adapter.h"

namespace shunt::packetdrill {
namespace {

bool read_int(const void* val, socklen_t len, int& out) {
  if (val == nullptr) return false;
  if (len >= static_cast<socklen_t>(sizeof(int))) {
    std::memcpy(&out, val, sizeof(int));
    return true;
  }
  if (len >= 1) {  // Linux takes a char for some options too
    out = *static_cast<const unsigned char*>(val);
    return true;
  }
  return false;
}

template <class T>
int put(void* val, socklen_t* len, const T& v) {
  if (val == nullptr || len == nullptr) return fail_errno(EFAULT);
  socklen_t n = std::min<socklen_t>(*len, sizeof(T));
  std::memcpy(val, &v, n);
  *len = n;
  return 0;
}

Duration from_timeval(const void* val) {
  timeval tv{};
  std::memcpy(&tv, val, sizeof tv);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) return Duration(-1);
  return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

timeval to_timeval(Duration d) {
  timeval tv{};
  if (d <= Duration::zero()) return tv;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  tv.tv_sec = us / 1'000'000;
  tv.tv_usec = us % 1'000'000;
  return tv;
}

// The SockOpt for a plain integer option, if it is one.
std::optional<SockOpt> int_option(int level, int name) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR:
        return SockOpt::kReuseAddr;
      case SO_REUSEPORT:
        return SockOpt::kReusePort;
      case SO_BROADCAST:
        return SockOpt::kBroadcast;
      case SO_RCVBUF:
        return SockOpt::kRcvBuf;
      case SO_SNDBUF:
        return SockOpt::kSndBuf;
      case SO_RCVBUFFORCE:
        return SockOpt::kRcvBufForce;
      case SO_SNDBUFFORCE:
        return SockOpt::kSndBufForce;
      case SO_KEEPALIVE:
        return SockOpt::kKeepAlive;
      case SO_RCVLOWAT:
        return SockOpt::kRcvLowat;
      default:
        return std::nullopt;
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY:
        return SockOpt::kNoDelay;
      case TCP_CORK:
        return SockOpt::kCork;
      case TCP_KEEPIDLE:
        return SockOpt::kKeepIdle;
      case TCP_KEEPINTVL:
        return SockOpt::kKeepIntvl;
      case TCP_KEEPCNT:
        return SockOpt::kKeepCnt;
      case TCP_MAXSEG:
        return SockOpt::kMaxSeg;
      case TCP_QUICKACK:
        return SockOpt::kQuickAck;
      case TCP_USER_TIMEOUT:
        return SockOpt::kUserTimeout;
      case TCP_NOTSENT_LOWAT:
        return SockOpt::kNotSentLowat;
      case TCP_DEFER_ACCEPT:
        return SockOpt::kDeferAccept;
      default:
        return std::nullopt;
    }
  }
  if (level == IPPROTO_IP) {
    switch (name) {
      case IP_TTL:
        return SockOpt::kTtl;
      case IP_TOS:
        return SockOpt::kTos;
      case IP_MTU_DISCOVER:
        return SockOpt::kMtuDiscover;
      case IP_RECVERR:
        return SockOpt::kRecvErr;
      case IP_FREEBIND:
        return SockOpt::kFreeBind;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

int Adapter::setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  return set_option(lk, *e, level, name, val, len);
}

int Adapter::getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  return get_option(*e, level, name, val, len);
}

int Adapter::set_option(std::unique_lock<std::mutex>&, FdEntry& e, int level, int name,
                        const void* val, socklen_t len) {
  Stack& st = engine_.stack();
  if (val == nullptr) return fail_errno(EFAULT);
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    if (len < static_cast<socklen_t>(sizeof(timeval))) return fail_errno(EINVAL);
    (name == SO_RCVTIMEO ? e.rcvtimeo : e.sndtimeo) = from_timeval(val);
    return 0;
  }
  if (level == SOL_SOCKET && name == SO_LINGER) {
    if (len < static_cast<socklen_t>(sizeof(linger))) return fail_errno(EINVAL);
    linger l{};
    std::memcpy(&l, val, sizeof l);
    auto r = st.set_option(e.id, SockOpt::kLinger, l.l_onoff ? std::max(l.l_linger, 0) : -1, engine_.now());
    return r ? 0 : fail(r.error());
  }
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    std::string cc(static_cast<const char*>(val), strnlen(static_cast<const char*>(val), len));
    auto r = st.set_congestion(e.id, cc, engine_.now());
    engine_.settle();
    return r ? 0 : fail(r.error());
  }
  auto opt = int_option(level, name);
  if (!opt) return fail_errno(ENOPROTOOPT);
  int v = 0;
  if (!read_int(val, len, v)) return fail_errno(EINVAL);
  auto r = st.set_option(e.id, *opt, v, engine_.now());
  engine_.settle();
  return r ? 0 : fail(r.error());
}

int Adapter::get_option(FdEntry& e, int level, int name, void* val, socklen_t* len) {
  Stack& st = engine_.stack();
  if (val == nullptr || len == nullptr) return fail_errno(EFAULT);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        auto r = st.take_error(e.id);
        engine_.settle();
        if (!r) return fail(r.error());
        return put<int>(val, len, *r ? preload::to_errno(**r) : 0);
      }
      case SO_TYPE:
        return put<int>(val, len, e.type);
      case SO_DOMAIN:
        return put<int>(val, len, e.domain);
      case SO_PROTOCOL:
        return put<int>(val, len, e.type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
      case SO_RCVTIMEO:
        return put<timeval>(val, len, to_timeval(e.rcvtimeo));
      case SO_SNDTIMEO:
        return put<timeval>(val, len, to_timeval(e.sndtimeo));
      case SO_LINGER: {
        auto r = st.get_option(e.id, SockOpt::kLinger);
        if (!r) return fail(r.error());
        linger l{};
        l.l_onoff = *r >= 0;
        l.l_linger = std::max(*r, 0);
        return put<linger>(val, len, l);
      }
      default:
        break;
    }
  }
  if (level == IPPROTO_TCP && name == TCP_INFO) {
    auto r = st.tcp_info(e.id, engine_.now());
    if (!r) return fail(r.error());
    return preload::fill_tcp_info(*r, val, len, *len);
  }
  if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
    auto r = st.get_congestion(e.id);
    if (!r) return fail(r.error());
    char name_buf[16] = {};
    std::strncpy(name_buf, r->c_str(), sizeof name_buf - 1);
    socklen_t n = std::min<socklen_t>(*len, sizeof name_buf);
    std::memcpy(val, name_buf, n);
    *len = n;
    return 0;
  }
  auto opt = int_option(level, name);
  if (!opt) return fail_errno(ENOPROTOOPT);
  auto r = st.get_option(e.id, *opt);
  if (!r) return fail(r.error());
  return put<int>(val, len, *r);
}

int Adapter::tcp_info(int fd, void* val, socklen_t* len) {
  auto lk = engine_.lock();
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return fail_errno(EBADF);
  return get_option(*e, IPPROTO_TCP, TCP_INFO, val, len);
}

int Adapter::ioctl(int fd, unsigned long request, void* arg) {
  auto lk = engine_.lock();
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail_errno(EBADF);
  FdEntry& e = it->second;
  Stack& st = engine_.stack();
  if (request == FIONBIO) {
    if (arg == nullptr) return fail_errno(EFAULT);
    int on = 0;
    std::memcpy(&on, arg, sizeof on);
    e.nonblock = on != 0;
    return 0;
  }
  if (e.kind != FdEntry::Kind::kSocket) return fail_errno(ENOTTY);
  Result<size_t> r = Error::kInval;
  if (request == SIOCINQ) {
    r = st.next_datagram_size(e.id);
  } else if (request == SIOCOUTQ) {
    r = st.unsent_bytes(e.id);
  } else if (request == SIOCOUTQNSD) {
    r = st.notsent_bytes(e.id);
  } else {
    return fail_errno(ENOTTY);
  }
  if (!r) return fail(r.error());
  if (arg == nullptr) return fail_errno(EFAULT);
  int v = static_cast<int>(*r);
  std::memcpy(arg, &v, sizeof v);
  return 0;
}

}  // namespace shunt::packetdrill
