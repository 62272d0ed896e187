// What the preload layer keeps for one stack socket: the kernel's struct
// file and struct socket, as the libc boundary sees them (docs/design.md 4-5).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "stack/net/stack.h"

namespace shunt::preload {

// A setsockopt call as made, replayed on a handover to a kernel socket.
struct RecordedOpt {
  int level;
  int name;
  std::vector<uint8_t> value;
};

// Ancillary data recvmsg adds (ip(7), ipv6(7), socket(7)).
namespace cmsg_flag {
inline constexpr uint32_t kPktInfo = 1u << 0;       // IP_PKTINFO
inline constexpr uint32_t kRecvTtl = 1u << 1;       // IP_RECVTTL
inline constexpr uint32_t kRecvTos = 1u << 2;       // IP_RECVTOS
inline constexpr uint32_t kOrigDstAddr = 1u << 3;   // IP_RECVORIGDSTADDR
inline constexpr uint32_t kIpv6PktInfo = 1u << 4;   // IPV6_RECVPKTINFO
inline constexpr uint32_t kTimestamp = 1u << 5;     // SO_TIMESTAMP (timeval)
inline constexpr uint32_t kTimestampNs = 1u << 6;   // SO_TIMESTAMPNS (timespec)
inline constexpr uint32_t kTimestampNew = 1u << 7;  // the _NEW (64-bit) forms of both
}  // namespace cmsg_flag

// Options only the libc boundary needs (preload/options.cc); an accepted
// socket takes its listener's (but SO_PRIORITY, which Linux resets).
struct SocketExtras {
  uint32_t cmsg = 0;           // cmsg_flag bits
  int priority = 0;            // SO_PRIORITY: kept and reported
  uint32_t mark = 0;           // SO_MARK: kept and reported
  int bound_ifindex = 0;       // SO_BINDTODEVICE / SO_BINDTOIFINDEX (0: none)
  bool freebind = false;       // IP_FREEBIND (the stack's freebind is this or transparent)
  bool transparent = false;    // IP_TRANSPARENT
  bool bind_no_port = false;   // IP_BIND_ADDRESS_NO_PORT: kept and reported
  int busy_poll = 0;           // SO_BUSY_POLL: kept (SHUNT_BUSY_POLL_US is shunt's)
  bool keepalive = false;      // SO_KEEPALIVE on UDP: kept and reported
  bool ipv6_recverr = false;   // IPV6_RECVERR: kept (no IPv6 errors to queue)
  int ipv6_unicast_hops = -1;  // IPV6_UNICAST_HOPS: kept (-1: the default)
  uint16_t gso_size = 0;       // UDP_SEGMENT
  bool udp_gro = false;        // UDP_GRO: kept; datagrams are never coalesced
  bool udp_cork = false;       // UDP_CORK
};

// Datagram pieces held back by UDP_CORK / MSG_MORE (Linux up->pending).
struct UdpCork {
  bool pending = false;
  std::vector<uint8_t> data;
  std::optional<Endpoint> to;
  SendOptions extra;
};

// One stack socket as the application sees it: what the kernel would keep
// in its struct file and struct socket.
struct SocketFile {
  SocketId id;
  int domain = 0;  // AF_INET, or AF_INET6 for a dual-stack socket
  int type = 0;    // SOCK_STREAM or SOCK_DGRAM
  bool nonblock = false;
  bool v6only = false;
  SocketExtras extras;
  UdpCork cork;
  Duration rcvtimeo{0};
  Duration sndtimeo{0};
  std::vector<int> fds;  // the fds (placeholder eventfd and its dups) that refer to it
  // Who waits for what: blocking calls and poll()/select() in progress,
  // and epoll registrations. The placeholder is signalled when the socket
  // is ready for something someone waits for (docs/design.md 5).
  uint32_t read_waiters = 0;
  uint32_t bytes_waiters = 0;  // blocking receives that hold part of their SO_RCVLOWAT target
  uint32_t write_waiters = 0;
  uint32_t epoll_read = 0;
  uint32_t epoll_write = 0;
  uint32_t epoll_edge = 0;
  bool signaled = false;
  uint32_t last_ready = 0;
  bool inert = false;  // inherited across fork by a process that does not own the stack
  // What a handover to a kernel socket must replay (docs/design.md 6).
  std::vector<RecordedOpt> options;
  std::optional<Endpoint> bound;
};

}  // namespace shunt::preload
