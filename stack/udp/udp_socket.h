// UdpSocket: one UDP socket (RFC 768) with the semantics of Linux udp(7):
// its receive queue and the SO_RCVBUF accounting of it, the pending error
// and the error queue (IP_RECVERR), its options (socket(7), ip(7)),
// shutdown, multicast memberships, what a datagram it sends looks like,
// and its readiness.
//
// The socket never talks to IP and knows no other socket. The Stack
// (stack/net/stack_udp.cc) keeps the port table and SO_REUSEPORT groups,
// picks the socket a datagram or an ICMP error is for, routes, and chooses
// the source address; it calls in here for everything the socket itself
// decides. A call that changes the socket's readiness says so once through
// take_changed(), which the Stack turns into a wake-up.
//
// Reading list: RFC 768; RFC 1122 4.1; RFC 1112 (multicast); Linux
// net/ipv4/udp.c (udp_recvmsg, __udp4_lib_err, udp_disconnect),
// net/core/datagram.c (datagram_poll), net/ipv4/ip_sockglue.c
// (ip_icmp_error, ip_recv_error).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/sock_buf.h"
#include "stack/base/socket.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace shunt::udp {

// The largest UDP payload one IPv4 datagram can carry.
inline constexpr size_t kMaxPayload = 65535 - 20 - wire::UdpRepr::kHeaderLen;

struct UdpDatagram {
  Endpoint from;
  Ipv4Address to;        // the destination address it was sent to
  PacketBuffer payload;  // exactly the UDP payload
  uint8_t ttl = 0;       // of its IP header (IP_RECVTTL)
  uint8_t tos = 0;       // IP_RECVTOS
  Instant at{};          // when it arrived (SO_TIMESTAMP)
};

// An ICMP error about a datagram the socket sent, queued with IP_RECVERR
// for recvmsg(MSG_ERRQUEUE): what Linux's ip_icmp_error() keeps in a
// struct sock_extended_err (origin SO_EE_ORIGIN_ICMP).
struct QueuedIcmpError {
  Error error;                   // ee_errno
  uint8_t type = 0;              // ee_type: the ICMP type
  uint8_t code = 0;              // ee_code
  uint32_t info = 0;             // ee_info: the next-hop MTU of "fragmentation needed"
  Ipv4Address offender;          // who sent the ICMP error (SO_EE_OFFENDER)
  Endpoint dest;                 // where the offending datagram went (msg_name)
  std::vector<uint8_t> payload;  // its UDP payload, as far as the error quoted it
  Instant at{};
};

// The options of a UDP socket (socket(7), ip(7)).
struct UdpOptions {
  bool reuse_addr = false;  // SO_REUSEADDR
  bool reuse_port = false;  // SO_REUSEPORT: read at bind; a bound socket keeps its group
  bool broadcast = false;   // SO_BROADCAST
  uint8_t ttl = 0;          // IP_TTL; 0: the stack default
  uint32_t rcvbuf = 0;      // SO_RCVBUF
  uint32_t sndbuf = 0;      // SO_SNDBUF
  int rcvlowat = 1;         // SO_RCVLOWAT: kept and reported; UDP ignores it
  uint8_t tos = 0;          // IP_TOS
  uint8_t pmtudisc = 1;     // IP_MTU_DISCOVER (IP_PMTUDISC_WANT)
  bool freebind = false;    // IP_FREEBIND / IP_TRANSPARENT
  bool recverr = false;     // IP_RECVERR
  // How datagrams to groups leave, and which groups' datagrams arrive.
  uint8_t mc_ttl = 1;       // IP_MULTICAST_TTL
  bool mc_loop = true;      // IP_MULTICAST_LOOP
  bool mc_all = true;       // IP_MULTICAST_ALL
  Ipv4Address mc_if;        // IP_MULTICAST_IF (any: the interface address)
};

class UdpSocket {
 public:
  // `owner_uid` is the creator's (Linux sock_i_uid), for SO_REUSEPORT;
  // rcvbuf / sndbuf the default sizes (rmem_default / wmem_default).
  UdpSocket(uint32_t owner_uid, uint32_t rcvbuf, uint32_t sndbuf);

  // ---- address and port: the Stack's port table keeps these -------------
  Endpoint local;                  // port 0 while unbound
  bool bound = false;
  std::optional<Endpoint> remote;  // set by connect(): filters sources
  uint32_t uid = 0;
  bool in_reuseport_group = false;  // joined at bind (ReuseportGroups)
  uint64_t bind_order = 0;          // later binds win ties among equal sockets
  bool addr_from_connect = false;   // local.addr was chosen by connect(), not bind()
  bool port_from_connect = false;   // local.port was chosen by connect()'s autobind

  // A datagram to `dst` from `from` may reach this socket: it is bound,
  // to `dst` or the wildcard, and connected to `from` or not at all.
  bool matches(Ipv4Address dst, Endpoint from) const;
  // How specific a matching socket is (Linux compute_score): connected,
  // then bound to an address, then the wildcard.
  int score() const;
  // A datagram to `group` (or a broadcast when it is not a group) is for
  // this socket: it joined the group, or has IP_MULTICAST_ALL
  // (Linux ip_mc_sf_allow).
  bool wants(Ipv4Address group) const;
  // getpeername: the connected peer (ENOTCONN when not connected).
  Result<Endpoint> remote_endpoint() const;
  // IP_MTU: `link_mtu` for a connected socket (ENOTCONN otherwise).
  Result<uint32_t> path_mtu(uint32_t link_mtu) const;

  // ---- options ----------------------------------------------------------
  const UdpOptions& options() const { return opts_; }
  // `core` caps SO_RCVBUF / SO_SNDBUF.
  Result<> set_option(SockOpt opt, int value, const CoreConfig& core);
  // `default_ttl`: what IP_TTL reads when it was not set.
  Result<int> get_option(SockOpt opt, uint8_t default_ttl) const;
  // IP_MULTICAST_IF (the Stack checks the address is ours).
  void set_multicast_if(Ipv4Address iface) { opts_.mc_if = iface; }

  // ---- receiving --------------------------------------------------------
  // Queues a datagram within SO_RCVBUF; false (and the datagram dropped)
  // when it does not fit.
  bool enqueue(UdpDatagram d);
  // The pending error first, as Linux __skb_recv_udp does, then the oldest
  // datagram (kAgain when none): copied into `buf`, and unless MSG_PEEK
  // taken off the queue with what did not fit (udp(7)). spec_dst is left
  // for the caller, who knows the interface's addresses.
  Result<RecvResult> recv(MutableBytes buf, uint32_t flags);
  // FIONREAD: the size of the next datagram, 0 when none.
  size_t next_datagram_size() const;
  // Memory charged against SO_RCVBUF (ss's Recv-Q).
  size_t rx_bytes() const { return rx_bytes_; }

  // ---- errors -----------------------------------------------------------
  // SO_ERROR: the pending error, cleared by reading it.
  std::optional<Error> take_error();
  // An error the stack found itself (a neighbour that never answered).
  void set_error(Error e);
  // An ICMP error about a datagram this socket sent (Linux __udp4_lib_err):
  // `fatal` is icmp_err_convert's verdict. With IP_RECVERR the error is
  // queued for MSG_ERRQUEUE if the receive buffer has room; without it
  // only hard errors on a connected socket are reported.
  void icmp_error(QueuedIcmpError e, bool fatal);
  // MSG_ERRQUEUE: the oldest queued error (kAgain when none).
  Result<QueuedIcmpError> take_queued_error();

  // ---- shutdown ---------------------------------------------------------
  // Linux inet_shutdown: the flags are set on an unconnected socket too,
  // which still reports ENOTCONN.
  Result<> shutdown(bool read, bool write);

  // ---- sending ----------------------------------------------------------
  // Where a datagram of `len` bytes goes (`to`, or the connected peer), or
  // why it cannot (EPIPE after SHUT_WR, EDESTADDRREQ, EINVAL, EMSGSIZE).
  Result<Endpoint> destination(std::optional<Endpoint> to, size_t len) const;
  // IP_TTL (a group's: IP_MULTICAST_TTL), IP_TOS and DF from
  // IP_MTU_DISCOVER for a datagram this socket sends; `ttl` and `tos`
  // from ancillary data override the options (Linux ipc.ttl, ipc.tos).
  void fill_ip_header(wire::Ipv4Repr& ip, std::optional<uint8_t> ttl,
                      std::optional<uint8_t> tos) const;
  // The UDP datagram (header and `data`) from this socket's port to
  // `dst_port`, with the checksum over ip.src and ip.dst; an empty buffer
  // when the pool has no memory.
  PacketBuffer datagram(BufferPool& pool, Bytes data, const wire::Ipv4Repr& ip,
                        uint16_t dst_port) const;

  // ---- readiness --------------------------------------------------------
  // readiness:: bits (Linux datagram_poll).
  uint32_t readiness() const;
  // True once after a call changed readiness.
  bool take_changed() {
    const bool c = changed_;
    changed_ = false;
    return c;
  }

  // ---- multicast memberships (the Stack counts them per interface) -------
  // EADDRINUSE when already joined, ENOBUFS past igmp_max_memberships.
  Result<> join(Ipv4Address group);
  // EADDRNOTAVAIL when not joined.
  Result<> leave(Ipv4Address group);
  // Leaves every group, returning them.
  std::vector<Ipv4Address> leave_all();

 private:
  // Memory a queued datagram or error costs against SO_RCVBUF: its
  // payload plus the bookkeeping overhead, as Linux charges skb truesize.
  static size_t charge(size_t payload) { return payload + 256; }

  UdpOptions opts_;
  std::deque<UdpDatagram> rx_;
  size_t rx_bytes_ = 0;  // rx_ and errqueue_, charged against rcvbuf
  std::optional<Error> pending_error_;
  std::deque<QueuedIcmpError> errqueue_;  // MSG_ERRQUEUE
  bool shut_rd_ = false;                  // shutdown(SHUT_RD): reads end
  bool shut_wr_ = false;                  // shutdown(SHUT_WR): sends are EPIPE
  std::vector<Ipv4Address> groups_;       // joined on the one interface
  bool changed_ = false;
};

}  // namespace shunt::udp
