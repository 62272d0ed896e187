// setsockopt / getsockopt of the options in options.h. The stack keeps
// what changes how it handles packets (low-water marks, TTL and TOS,
// multicast, IP_RECVERR, IP_FREEBIND, buffer sizes); what only shapes the
// calls (ancillary data switches, SO_PRIORITY, SO_MARK, device binding,
// UDP corking) lives in the SocketFile's extras.
//
// Each case follows the Linux function named in its comment
// (net/core/sock.c sk_setsockopt / sk_getsockopt, net/ipv4/ip_sockglue.c
// do_ip_setsockopt / do_ip_getsockopt, net/ipv4/tcp.c, net/ipv4/udp.c),
// errors included.
#include "preload/options.h"

#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "preload/calls.h"
#include "preload/linux_names.h"

namespace shunt::preload {
namespace {

// The stack's freebind follows IP_FREEBIND or IP_TRANSPARENT (Linux
// inet_can_nonlocal_bind).
int sync_freebind(Runtime& rt, SocketFile* sf) {
  auto r = rt.stack().set_option(sf->id, SockOpt::kFreeBind,
                                 (sf->extras.freebind || sf->extras.transparent) ? 1 : 0, rt.now());
  return r ? 0 : fail(r.error());
}

// An int option of SOL_SOCKET, TCP or UDP: shorter than an int is EINVAL.
bool strict_int(const void* optval, socklen_t optlen, int* out) {
  if (optval == nullptr) {
    (void)fail(Error::kFault);
    return false;
  }
  if (optlen < static_cast<socklen_t>(sizeof(int))) {
    (void)fail(Error::kInval);
    return false;
  }
  std::memcpy(out, optval, sizeof(int));
  return true;
}

// An int option of IPPROTO_IP: an int, one byte, or nothing (0), as
// do_ip_setsockopt reads them.
bool ip_int(const void* optval, socklen_t optlen, int* out) {
  if (optlen >= static_cast<socklen_t>(sizeof(int))) {
    if (optval == nullptr) {
      (void)fail(Error::kFault);
      return false;
    }
    std::memcpy(out, optval, sizeof(int));
  } else if (optlen >= 1) {
    if (optval == nullptr) {
      (void)fail(Error::kFault);
      return false;
    }
    *out = *static_cast<const unsigned char*>(optval);
  } else {
    *out = 0;
  }
  return true;
}

// do_ip_getsockopt: a value 0..255 asked for with less room than an int
// comes back as one byte.
int put_ip_int(void* optval, socklen_t* optlen, int v) {
  if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
  if (*optlen > 0 && *optlen < sizeof(int) && v >= 0 && v <= 255) {
    *static_cast<unsigned char*>(optval) = static_cast<unsigned char>(v);
    *optlen = 1;
    return 0;
  }
  return put_opt<int>(optval, optlen, v);
}

int set_stack(Runtime& rt, SocketFile* sf, SockOpt opt, int v) {
  auto r = rt.stack().set_option(sf->id, opt, v, rt.now());
  return r ? 0 : fail(r.error());
}

int get_stack(Runtime& rt, SocketFile* sf, SockOpt opt, void* optval, socklen_t* optlen, bool ip) {
  auto r = rt.stack().get_option(sf->id, opt);
  if (!r) return fail(r.error());
  return ip ? put_ip_int(optval, optlen, *r) : put_opt<int>(optval, optlen, *r);
}

void flag(uint32_t& bits, uint32_t bit, bool on) { bits = on ? (bits | bit) : (bits & ~bit); }

// ip_mreqn from IP_ADD_MEMBERSHIP's or IP_MULTICAST_IF's argument, which
// may be an ip_mreqn, an ip_mreq or (IP_MULTICAST_IF) an in_addr.
ip_mreqn parse_mreq(const void* optval, socklen_t optlen, bool bare_address_ok) {
  ip_mreqn m{};
  if (optlen >= static_cast<socklen_t>(sizeof(ip_mreqn))) {
    std::memcpy(&m, optval, sizeof m);
  } else if (optlen >= static_cast<socklen_t>(sizeof(ip_mreq))) {
    ip_mreq old{};
    std::memcpy(&old, optval, sizeof old);
    m.imr_multiaddr = old.imr_multiaddr;
    m.imr_address = old.imr_interface;
  } else if (bare_address_ok && optlen >= static_cast<socklen_t>(sizeof(in_addr))) {
    std::memcpy(&m.imr_address, optval, sizeof(in_addr));
  }
  return m;
}

// The interface a membership names: by index (ours or ENODEV) or by
// address (the stack checks it).
int join_or_leave(Runtime& rt, SocketFile* sf, bool join, in_addr group, int ifindex, in_addr iface) {
  if (ifindex != 0 && ifindex != rt.ifindex()) return fail(Error::kNoDev);  // ip_mc_find_dev
  const Ipv4Address g(ntohl(group.s_addr));
  const Ipv4Address a(ifindex != 0 ? 0 : ntohl(iface.s_addr));
  auto r = join ? rt.stack().join_group(sf->id, g, a) : rt.stack().leave_group(sf->id, g, a);
  return r ? 0 : fail(r.error());
}

int set_socket_level(Runtime& rt, SocketFile* sf, int name, const void* optval, socklen_t optlen) {
  SocketExtras& x = sf->extras;
  int v = 0;
  switch (name) {
    case SO_RCVBUFFORCE:
    case SO_SNDBUFFORCE:
      // sk_setsockopt: CAP_NET_ADMIN lifts the rmem_max / wmem_max clamp.
      if (!strict_int(optval, optlen, &v)) return -1;
      if (!has_capability(CAP_NET_ADMIN)) return fail(CallError::kPerm);
      return set_stack(rt, sf, name == SO_RCVBUFFORCE ? SockOpt::kRcvBufForce : SockOpt::kSndBufForce, v);
    case SO_RCVLOWAT:
      if (!strict_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kRcvLowat, v);
    case SO_PRIORITY:
      // 0..6 for anyone, more with CAP_NET_ADMIN or CAP_NET_RAW.
      if (!strict_int(optval, optlen, &v)) return -1;
      if ((v < 0 || v > 6) && !has_capability(CAP_NET_ADMIN) && !has_capability(CAP_NET_RAW)) return fail(CallError::kPerm);
      x.priority = v;
      return 0;
    case SO_MARK:
      if (!strict_int(optval, optlen, &v)) return -1;
      if (!has_capability(CAP_NET_ADMIN) && !has_capability(CAP_NET_RAW)) return fail(CallError::kPerm);
      x.mark = static_cast<uint32_t>(v);
      return 0;
    case SO_BUSY_POLL:
      if (!strict_int(optval, optlen, &v)) return -1;
      if (v < 0) return fail(Error::kInval);
      if (v > x.busy_poll && !has_capability(CAP_NET_ADMIN)) return fail(CallError::kPerm);
      x.busy_poll = v;
      return 0;
    case SO_BINDTODEVICE: {
      // sock_setbindtodevice: no name (or an empty one) unbinds; a name
      // this namespace does not have is ENODEV. The stack has one
      // interface: binding to another is ENODEV too (its traffic could
      // not go there).
      char name_buf[IFNAMSIZ] = {};
      if (optlen > 0 && optval == nullptr) return fail(Error::kFault);
      std::memcpy(name_buf, optval, std::min<size_t>(optlen, IFNAMSIZ - 1));
      if (name_buf[0] == '\0') {
        x.bound_ifindex = 0;
        return 0;
      }
      const int idx = static_cast<int>(if_nametoindex(name_buf));
      if (idx == 0) return fail(Error::kNoDev);
      if (idx != rt.ifindex()) {
        rt.log(Config::LogLevel::kInfo,
               fmt::format("SO_BINDTODEVICE {}: not the stack's interface {}", name_buf, rt.ifname()));
        return fail(Error::kNoDev);
      }
      x.bound_ifindex = idx;
      return 0;
    }
    case SO_BINDTOIFINDEX:
      // sock_bindtoindex_locked takes any index >= 0 without looking it up.
      if (!strict_int(optval, optlen, &v)) return -1;
      if (v < 0) return fail(Error::kInval);
      x.bound_ifindex = v;
      return 0;
    case SO_TIMESTAMP_OLD:
    case SO_TIMESTAMPNS_OLD:
    case SO_TIMESTAMP_NEW:
    case SO_TIMESTAMPNS_NEW: {
      // sock_set_timestamp: on chooses the form, off clears both.
      if (!strict_int(optval, optlen, &v)) return -1;
      const bool ns = name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW;
      const bool is_new = name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_NEW;
      if (v != 0) {
        flag(x.cmsg, cmsg_flag::kTimestamp, true);
        flag(x.cmsg, cmsg_flag::kTimestampNs, ns);
        flag(x.cmsg, cmsg_flag::kTimestampNew, is_new);
      } else {
        flag(x.cmsg, cmsg_flag::kTimestamp | cmsg_flag::kTimestampNs | cmsg_flag::kTimestampNew, false);
      }
      return 0;
    }
    case SO_KEEPALIVE:
      if (sf->type == SOCK_STREAM) return kUnhandled;
      // Kept and reported on a datagram socket, as Linux does.
      if (!strict_int(optval, optlen, &v)) return -1;
      x.keepalive = v != 0;
      return 0;
    default:
      return kUnhandled;
  }
}

int set_ip_level(Runtime& rt, SocketFile* sf, int name, const void* optval, socklen_t optlen) {
  SocketExtras& x = sf->extras;
  const bool stream = sf->type == SOCK_STREAM;
  int v = 0;
  switch (name) {
    case IP_TTL:
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kTtl, v);
    case IP_TOS:
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kTos, v);
    case IP_PKTINFO:
    case IP_RECVTTL:
    case IP_RECVTOS:
    case IP_RECVORIGDSTADDR: {
      if (!ip_int(optval, optlen, &v)) return -1;
      const uint32_t bit = name == IP_PKTINFO   ? cmsg_flag::kPktInfo
                           : name == IP_RECVTTL ? cmsg_flag::kRecvTtl
                           : name == IP_RECVTOS ? cmsg_flag::kRecvTos
                                                : cmsg_flag::kOrigDstAddr;
      flag(x.cmsg, bit, v != 0);
      return 0;
    }
    case IP_RECVERR:
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kRecvErr, v);
    case IP_MTU_DISCOVER:
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kMtuDiscover, v);
    case IP_FREEBIND:
      if (!ip_int(optval, optlen, &v)) return -1;
      x.freebind = v != 0;
      return sync_freebind(rt, sf);
    case IP_TRANSPARENT:
      // do_ip_setsockopt: turning it on needs CAP_NET_RAW or CAP_NET_ADMIN.
      if (!ip_int(optval, optlen, &v)) return -1;
      if (v != 0 && !has_capability(CAP_NET_RAW) && !has_capability(CAP_NET_ADMIN)) return fail(CallError::kPerm);
      x.transparent = v != 0;
      return sync_freebind(rt, sf);
    case IP_BIND_ADDRESS_NO_PORT:
      if (!ip_int(optval, optlen, &v)) return -1;
      x.bind_no_port = v != 0;
      return 0;
    case IP_MULTICAST_TTL:
      if (optlen < 1) return fail(Error::kInval);
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kMulticastTtl, v);
    case IP_MULTICAST_LOOP:
      if (optlen < 1) return fail(Error::kInval);
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kMulticastLoop, v);
    case IP_MULTICAST_ALL:
      if (optlen < 1) return fail(Error::kInval);
      if (!ip_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kMulticastAll, v);
    case IP_MULTICAST_IF: {
      if (stream) return fail(Error::kInval);
      if (optval == nullptr && optlen > 0) return fail(Error::kFault);
      const ip_mreqn m = parse_mreq(optval, optlen, true);
      // An index that is not the stack's interface: EADDRNOTAVAIL, as for
      // an index Linux does not know.
      if (m.imr_ifindex != 0 && m.imr_ifindex != rt.ifindex()) return fail(Error::kAddrNotAvail);
      auto r = rt.stack().set_multicast_if(sf->id, Ipv4Address(ntohl(m.imr_address.s_addr)));
      return r ? 0 : fail(r.error());
    }
    case IP_ADD_MEMBERSHIP:
    case IP_DROP_MEMBERSHIP: {
      if (stream) return fail(Error::kProto);
      if (optlen < static_cast<socklen_t>(sizeof(ip_mreq))) return fail(Error::kInval);
      if (optval == nullptr) return fail(Error::kFault);
      const ip_mreqn m = parse_mreq(optval, optlen, false);
      return join_or_leave(rt, sf, name == IP_ADD_MEMBERSHIP, m.imr_multiaddr, m.imr_ifindex, m.imr_address);
    }
    case MCAST_JOIN_GROUP:
    case MCAST_LEAVE_GROUP: {
      if (stream) return fail(Error::kProto);
      if (optlen < static_cast<socklen_t>(sizeof(group_req))) return fail(Error::kInval);
      if (optval == nullptr) return fail(Error::kFault);
      group_req g{};
      std::memcpy(&g, optval, sizeof g);
      if (g.gr_group.ss_family != AF_INET) return fail(Error::kAddrNotAvail);
      const auto* group = reinterpret_cast<const sockaddr_in*>(&g.gr_group);
      return join_or_leave(rt, sf, name == MCAST_JOIN_GROUP, group->sin_addr, static_cast<int>(g.gr_interface),
                           in_addr{htonl(INADDR_ANY)});
    }
    default:
      return kUnhandled;
  }
}

int set_udp_level(Runtime& rt, SocketFile* sf, int name, const void* optval, socklen_t optlen) {
  SocketExtras& x = sf->extras;
  int v = 0;
  switch (name) {
    case UDP_CORK:
      // udp_lib_setsockopt; turning it off sends what was held back
      // (intercept_io.cc flushes it).
      if (!strict_int(optval, optlen, &v)) return -1;
      x.udp_cork = v != 0;
      return x.udp_cork ? 0 : flush_udp_cork(rt, sf);
    case UDP_SEGMENT:
      if (!strict_int(optval, optlen, &v)) return -1;
      if (v < 0 || v > 65535) return fail(Error::kInval);
      x.gso_size = static_cast<uint16_t>(v);
      return 0;
    case UDP_GRO:
      if (!strict_int(optval, optlen, &v)) return -1;
      x.udp_gro = v != 0;
      return 0;
    default:
      return fail(Error::kNoProtoOpt);
  }
}

int set_tcp_level(Runtime& rt, SocketFile* sf, int name, const void* optval, socklen_t optlen) {
  int v = 0;
  switch (name) {
    case TCP_NOTSENT_LOWAT:
      if (!strict_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kNotSentLowat, v);
    case TCP_DEFER_ACCEPT:
      if (!strict_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kDeferAccept, v);
    case TCP_FASTOPEN:
      if (!strict_int(optval, optlen, &v)) return -1;
      return set_stack(rt, sf, SockOpt::kFastOpen, v);
    case TCP_FASTOPEN_CONNECT:
      // shunt has no Fast Open: as a kernel with tcp_fastopen's client bit
      // off (do_tcp_setsockopt).
      if (!strict_int(optval, optlen, &v)) return -1;
      if (v < 0 || v > 1) return fail(Error::kInval);
      return fail(Error::kOpNotSupp);
    default:
      return kUnhandled;
  }
}

int set_ipv6_level(SocketFile* sf, int name, const void* optval, socklen_t optlen) {
  SocketExtras& x = sf->extras;
  int v = 0;
  switch (name) {
    case IPV6_RECVPKTINFO:
      if (!strict_int(optval, optlen, &v)) return -1;
      flag(x.cmsg, cmsg_flag::kIpv6PktInfo, v != 0);
      return 0;
    case IPV6_RECVERR:
      if (!strict_int(optval, optlen, &v)) return -1;
      x.ipv6_recverr = v != 0;
      return 0;
    case IPV6_UNICAST_HOPS:
      if (!strict_int(optval, optlen, &v)) return -1;
      if (v < -1 || v > 255) return fail(Error::kInval);
      x.ipv6_unicast_hops = v;
      return 0;
    default:
      return kUnhandled;
  }
}

}  // namespace

bool has_capability(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

int set_more_option(Runtime& rt, SocketFile* sf, int level, int name, const void* optval,
                    socklen_t optlen) {
  switch (level) {
    case SOL_SOCKET: return set_socket_level(rt, sf, name, optval, optlen);
    case IPPROTO_IP: return set_ip_level(rt, sf, name, optval, optlen);
    case IPPROTO_TCP:
      if (sf->type != SOCK_STREAM) return fail(Error::kNoProtoOpt);  // udp -> ip_setsockopt
      return set_tcp_level(rt, sf, name, optval, optlen);
    case IPPROTO_UDP:
      if (sf->type != SOCK_DGRAM) return fail(Error::kNoProtoOpt);
      return set_udp_level(rt, sf, name, optval, optlen);
    case IPPROTO_IPV6:
      if (sf->domain != AF_INET6) return fail(Error::kNoProtoOpt);
      return set_ipv6_level(sf, name, optval, optlen);
    default:
      return fail(Error::kNoProtoOpt);  // ip_setsockopt: a level not its own
  }
}

int get_more_option(Runtime& rt, SocketFile* sf, int level, int name, void* optval, socklen_t* optlen) {
  const SocketExtras& x = sf->extras;
  const bool stream = sf->type == SOCK_STREAM;
  switch (level) {
    case SOL_SOCKET:
      switch (name) {
        case SO_RCVLOWAT: return get_stack(rt, sf, SockOpt::kRcvLowat, optval, optlen, false);
        case SO_SNDLOWAT: return put_opt<int>(optval, optlen, 1);  // Linux: fixed at 1
        case SO_PRIORITY: return put_opt<int>(optval, optlen, x.priority);
        case SO_MARK: return put_opt<int>(optval, optlen, static_cast<int>(x.mark));
        case SO_BUSY_POLL: return put_opt<int>(optval, optlen, x.busy_poll);
        case SO_BINDTOIFINDEX: return put_opt<int>(optval, optlen, x.bound_ifindex);
        case SO_BINDTODEVICE: {
          // sock_getbindtodevice: nothing bound is a length of 0.
          if (optlen == nullptr) return fail(Error::kFault);
          if (x.bound_ifindex == 0) {
            *optlen = 0;
            return 0;
          }
          char name_buf[IF_NAMESIZE] = {};
          if (if_indextoname(static_cast<unsigned>(x.bound_ifindex), name_buf) == nullptr) return fail(Error::kNoDev);
          const socklen_t len = static_cast<socklen_t>(std::strlen(name_buf) + 1);
          if (*optlen < len) return fail(Error::kInval);
          if (optval == nullptr) return fail(Error::kFault);
          std::memcpy(optval, name_buf, len);
          *optlen = len;
          return 0;
        }
        case SO_TIMESTAMP_OLD:
        case SO_TIMESTAMPNS_OLD:
        case SO_TIMESTAMP_NEW:
        case SO_TIMESTAMPNS_NEW: {
          const bool on = (x.cmsg & cmsg_flag::kTimestamp) != 0;
          const bool ns = (x.cmsg & cmsg_flag::kTimestampNs) != 0;
          const bool is_new = (x.cmsg & cmsg_flag::kTimestampNew) != 0;
          const bool want_ns = name == SO_TIMESTAMPNS_OLD || name == SO_TIMESTAMPNS_NEW;
          const bool want_new = name == SO_TIMESTAMP_NEW || name == SO_TIMESTAMPNS_NEW;
          return put_opt<int>(optval, optlen, on && ns == want_ns && is_new == want_new ? 1 : 0);
        }
        case SO_KEEPALIVE:
          if (stream) return kUnhandled;
          return put_opt<int>(optval, optlen, x.keepalive ? 1 : 0);
        default:
          return kUnhandled;
      }
    case IPPROTO_IP:
      switch (name) {
        case IP_TTL: return get_stack(rt, sf, SockOpt::kTtl, optval, optlen, true);
        case IP_TOS: return get_stack(rt, sf, SockOpt::kTos, optval, optlen, true);
        case IP_RECVERR: return get_stack(rt, sf, SockOpt::kRecvErr, optval, optlen, true);
        case IP_MTU_DISCOVER: return get_stack(rt, sf, SockOpt::kMtuDiscover, optval, optlen, true);
        case IP_MULTICAST_TTL: return get_stack(rt, sf, SockOpt::kMulticastTtl, optval, optlen, true);
        case IP_MULTICAST_LOOP: return get_stack(rt, sf, SockOpt::kMulticastLoop, optval, optlen, true);
        case IP_MULTICAST_ALL: return get_stack(rt, sf, SockOpt::kMulticastAll, optval, optlen, true);
        case IP_PKTINFO: return put_ip_int(optval, optlen, (x.cmsg & cmsg_flag::kPktInfo) != 0);
        case IP_RECVTTL: return put_ip_int(optval, optlen, (x.cmsg & cmsg_flag::kRecvTtl) != 0);
        case IP_RECVTOS: return put_ip_int(optval, optlen, (x.cmsg & cmsg_flag::kRecvTos) != 0);
        case IP_RECVORIGDSTADDR: return put_ip_int(optval, optlen, (x.cmsg & cmsg_flag::kOrigDstAddr) != 0);
        case IP_FREEBIND: return put_ip_int(optval, optlen, x.freebind);
        case IP_TRANSPARENT: return put_ip_int(optval, optlen, x.transparent);
        case IP_BIND_ADDRESS_NO_PORT: return put_ip_int(optval, optlen, x.bind_no_port);
        case IP_MTU: {
          auto r = rt.stack().path_mtu(sf->id);
          if (!r) return fail(r.error());
          return put_ip_int(optval, optlen, static_cast<int>(*r));
        }
        case IP_MULTICAST_IF: {
          auto r = rt.stack().multicast_if(sf->id);
          if (!r) return fail(r.error());
          if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
          in_addr a{htonl(r->value())};
          socklen_t n = std::min<socklen_t>(*optlen, sizeof a);
          std::memcpy(optval, &a, n);
          *optlen = n;
          return 0;
        }
        default:
          return kUnhandled;
      }
    case IPPROTO_TCP:
      if (!stream) return fail(Error::kOpNotSupp);  // udp_getsockopt -> ip_getsockopt
      switch (name) {
        case TCP_NOTSENT_LOWAT: return get_stack(rt, sf, SockOpt::kNotSentLowat, optval, optlen, false);
        case TCP_DEFER_ACCEPT: return get_stack(rt, sf, SockOpt::kDeferAccept, optval, optlen, false);
        case TCP_FASTOPEN: return get_stack(rt, sf, SockOpt::kFastOpen, optval, optlen, false);
        case TCP_FASTOPEN_CONNECT: return put_opt<int>(optval, optlen, 0);
        default: return kUnhandled;
      }
    case IPPROTO_UDP:
      if (stream) return fail(Error::kOpNotSupp);
      switch (name) {
        case UDP_CORK: return put_opt<int>(optval, optlen, x.udp_cork ? 1 : 0);
        case UDP_SEGMENT: return put_opt<int>(optval, optlen, x.gso_size);
        case UDP_GRO: return put_opt<int>(optval, optlen, x.udp_gro ? 1 : 0);
        default: return fail(Error::kNoProtoOpt);
      }
    case IPPROTO_IPV6:
      if (sf->domain != AF_INET6) return fail(Error::kOpNotSupp);
      switch (name) {
        case IPV6_RECVPKTINFO: return put_opt<int>(optval, optlen, (x.cmsg & cmsg_flag::kIpv6PktInfo) != 0);
        case IPV6_RECVERR: return put_opt<int>(optval, optlen, x.ipv6_recverr);
        case IPV6_UNICAST_HOPS:
          // ipv6_getsockopt: the socket's hop limit, or the default (64).
          return put_opt<int>(optval, optlen, x.ipv6_unicast_hops >= 0 ? x.ipv6_unicast_hops : 64);
        default:
          return kUnhandled;
      }
    default:
      return fail(Error::kOpNotSupp);  // ip_getsockopt: a level not its own
  }
}

}  // namespace shunt::preload
