// Types shared by every socket kind of the stack API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "stack/base/addr.h"
#include "stack/base/time.h"

namespace shunt {

// A handle to a stack socket. The generation makes a stale handle (a socket
// closed and its slot reused) fail with EBADF instead of reaching the new
// socket.
struct SocketId {
  uint32_t slot = 0;
  uint32_t generation = 0;
  uint64_t raw() const { return (uint64_t{generation} << 32) | slot; }
  static SocketId from_raw(uint64_t r) {
    return SocketId{static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32)};
  }
  bool operator==(const SocketId&) const = default;
};

// Readiness bits (the preload layer maps them to POLLIN, POLLOUT, ...).
namespace readiness {
inline constexpr uint32_t kReadable = 1u << 0;
inline constexpr uint32_t kWritable = 1u << 1;
inline constexpr uint32_t kError = 1u << 2;
inline constexpr uint32_t kHangup = 1u << 3;
inline constexpr uint32_t kReadHangup = 1u << 4;
// An error waits in the error queue (MSG_ERRQUEUE): POLLERR for poll and
// epoll, but no reason to end a blocking recv.
inline constexpr uint32_t kErrQueue = 1u << 5;
// Stream bytes are queued, fewer than SO_RCVLOWAT too: what a blocking
// recv that holds part of its target waits for (Linux sk_wait_data).
inline constexpr uint32_t kBytes = 1u << 6;
}  // namespace readiness

// Flags for recv_from / send_to (the preload layer maps MSG_*).
namespace msg_flag {
inline constexpr uint32_t kPeek = 1u << 0;   // MSG_PEEK: leave the data queued
inline constexpr uint32_t kTrunc = 1u << 1;  // MSG_TRUNC: report the real datagram length
inline constexpr uint32_t kMore = 1u << 2;   // MSG_MORE: more data follows (TCP: like a cork)
}  // namespace msg_flag

// What recv_from reports about the bytes it copied.
struct RecvResult {
  size_t copied = 0;          // bytes written into the caller's buffer
  size_t datagram_len = 0;    // the whole datagram's length (> copied when truncated)
  Endpoint from;
  bool truncated() const { return datagram_len > copied; }
  // UDP: what ip(7)'s ancillary data reports about the datagram.
  Ipv4Address to;             // its destination (IP_PKTINFO ipi_addr, IP_ORIGDSTADDR)
  Ipv4Address spec_dst;       // our address it came in on (ipi_spec_dst)
  uint8_t ttl = 0;            // IP_RECVTTL
  uint8_t tos = 0;            // IP_RECVTOS
  Instant at{};               // arrival (SO_TIMESTAMP)
};

enum class SockOpt : uint8_t {
  kReuseAddr,  // SO_REUSEADDR
  kBroadcast,  // SO_BROADCAST
  kRcvBuf,     // SO_RCVBUF (bytes; Linux doubles the value asked for, and so do we)
  kSndBuf,     // SO_SNDBUF
  kTtl,        // IP_TTL
  // TCP (tcp(7)); times in seconds like the socket options.
  kNoDelay,      // TCP_NODELAY
  kCork,         // TCP_CORK
  kKeepAlive,    // SO_KEEPALIVE
  kKeepIdle,     // TCP_KEEPIDLE
  kKeepIntvl,    // TCP_KEEPINTVL
  kKeepCnt,      // TCP_KEEPCNT
  kMaxSeg,       // TCP_MAXSEG
  kLinger,       // SO_LINGER: seconds, or -1 for off
  kQuickAck,     // TCP_QUICKACK
  kUserTimeout,  // TCP_USER_TIMEOUT, milliseconds
  // Added last so the fuzz targets' option numbers keep their meaning.
  kReusePort,  // SO_REUSEPORT (stack/net/reuseport.h), TCP and UDP
  kRcvBufForce,    // SO_RCVBUFFORCE: SO_RCVBUF without the rmem_max clamp
  kSndBufForce,    // SO_SNDBUFFORCE
  kRcvLowat,       // SO_RCVLOWAT: bytes before a TCP socket reads as readable
  kNotSentLowat,   // TCP_NOTSENT_LOWAT: bytes unsent before it stops being writable
  kTos,            // IP_TOS
  kMtuDiscover,    // IP_MTU_DISCOVER (IP_PMTUDISC_*)
  kRecvErr,        // IP_RECVERR: ICMP errors queued for MSG_ERRQUEUE
  kFreeBind,       // IP_FREEBIND (and IP_TRANSPARENT): bind to an address not ours
  kMulticastTtl,   // IP_MULTICAST_TTL
  kMulticastLoop,  // IP_MULTICAST_LOOP
  kMulticastAll,   // IP_MULTICAST_ALL
  kDeferAccept,    // TCP_DEFER_ACCEPT, seconds
  kFastOpen,       // TCP_FASTOPEN (the queue length; shunt has no Fast Open)
};

}  // namespace shunt

template <>
struct std::hash<shunt::SocketId> {
  size_t operator()(shunt::SocketId s) const noexcept { return std::hash<uint64_t>()(s.raw()); }
};
