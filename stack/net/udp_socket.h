// A UDP socket's state (RFC 768; semantics of Linux udp(7)).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"

namespace shunt {

struct UdpDatagram {
  Endpoint from;
  Ipv4Address to;       // the destination address it was sent to
  PacketBuffer payload;  // exactly the UDP payload
  uint8_t ttl = 0;      // of its IP header (IP_RECVTTL)
  uint8_t tos = 0;      // IP_RECVTOS
  Instant at{};         // when it arrived (SO_TIMESTAMP)
};

// An ICMP error about a datagram the socket sent, queued with IP_RECVERR
// for recvmsg(MSG_ERRQUEUE): what Linux's ip_icmp_error() keeps in a
// struct sock_extended_err (origin SO_EE_ORIGIN_ICMP).
struct QueuedIcmpError {
  Error error;               // ee_errno
  uint8_t type = 0;          // ee_type: the ICMP type
  uint8_t code = 0;          // ee_code
  uint32_t info = 0;         // ee_info: the next-hop MTU of "fragmentation needed"
  Ipv4Address offender;      // who sent the ICMP error (SO_EE_OFFENDER)
  Endpoint dest;             // where the offending datagram went (msg_name)
  std::vector<uint8_t> payload;  // its UDP payload, as far as the error quoted it
  Instant at{};
};

struct UdpSocket {
  Endpoint local;                  // port 0 while unbound
  bool bound = false;
  std::optional<Endpoint> remote;  // set by connect(): filters sources
  bool reuse_addr = false;
  bool reuse_port = false;         // SO_REUSEPORT
  uint32_t uid = 0;                // the creator's uid (Linux sock_i_uid), for SO_REUSEPORT
  bool in_reuseport_group = false; // joined at bind (ReuseportGroups)
  bool broadcast = false;
  uint8_t ttl = 0;                 // 0: the stack default
  uint32_t rcvbuf = 0;
  uint32_t sndbuf = 0;
  uint64_t bind_order = 0;         // later binds win ties among SO_REUSEADDR sockets
  bool addr_from_connect = false;  // local.addr was chosen by connect(), not bind()
  bool port_from_connect = false;  // local.port was chosen by connect()'s autobind

  std::deque<UdpDatagram> rx;
  size_t rx_bytes = 0;             // memory charged against rcvbuf
  std::optional<Error> pending_error;

  // ip(7), socket(7) options.
  int rcvlowat = 1;                // SO_RCVLOWAT: kept and reported; UDP ignores it
  uint8_t tos = 0;                 // IP_TOS
  uint8_t pmtudisc = 1;            // IP_MTU_DISCOVER (IP_PMTUDISC_WANT)
  bool freebind = false;           // IP_FREEBIND / IP_TRANSPARENT
  bool recverr = false;            // IP_RECVERR
  bool shut_rd = false;            // shutdown(SHUT_RD): reads end (0 for a blocking one)
  bool shut_wr = false;            // shutdown(SHUT_WR): sends are EPIPE
  std::deque<QueuedIcmpError> errqueue;  // MSG_ERRQUEUE, charged to rx_bytes
  // Multicast (ip(7)): the groups joined on the one interface, and how
  // datagrams to groups leave.
  std::vector<Ipv4Address> groups;
  uint8_t mc_ttl = 1;              // IP_MULTICAST_TTL
  bool mc_loop = true;             // IP_MULTICAST_LOOP
  bool mc_all = true;              // IP_MULTICAST_ALL
  Ipv4Address mc_if;               // IP_MULTICAST_IF (any: the interface address)

  // Memory a queued datagram costs against SO_RCVBUF: its payload plus the
  // bookkeeping overhead, as Linux charges skb truesize.
  static size_t charge(const UdpDatagram& d) { return d.payload.size() + 256; }
};

}  // namespace shunt
