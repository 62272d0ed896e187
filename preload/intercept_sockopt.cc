// Interposed setsockopt and getsockopt: the common SOL_SOCKET, IPPROTO_TCP
// and IPv6 options. The others (low-water marks, control message switches,
// multicast, device binding, UDP corking, ...) are preload/options.cc's,
// asked first; what is asked of neither is ENOPROTOOPT.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "preload/calls.h"
#include "preload/options.h"
#include "preload/tcp_info.h"

namespace shunt::preload {
namespace {

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
}  // namespace shunt::preload

using namespace shunt;
using namespace shunt::preload;

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
