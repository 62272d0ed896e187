// Stack: one network interface's worth of protocol engine (Ethernet, ARP,
// IPv4, ICMP, UDP, TCP).
//
// Pure and deterministic (docs/design.md section 2): time is an argument, frames
// come in through receive() and leave through the NetDevice given at
// construction, timers are deadlines that poll() runs. No syscalls, no
// threads, no globals: a test can wire several Stacks together.
//
// Reading list: RFC 826 (ARP), RFC 791 / 815 (IPv4, reassembly), RFC 792
// (ICMP), RFC 768 (UDP), RFC 1122 (host requirements), RFC 6056 (ports).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/arp_cache.h"
#include "stack/net/config.h"
#include "stack/net/device.h"
#include "stack/net/ports.h"
#include "stack/net/reassembly.h"
#include "stack/net/reuseport.h"
#include "stack/net/route.h"
#include "stack/net/socket_list.h"
#include "stack/base/socket.h"
#include "stack/net/stats.h"
#include "stack/base/token_bucket.h"
#include "stack/net/tcp_socket.h"
#include "stack/tcp/isn.h"
#include "stack/udp/udp_socket.h"
#include "stack/wire/ipv4.h"

namespace shunt {

// 224.0.0.1, the group every multicast host is in (RFC 1112 4).
inline constexpr Ipv4Address kAllHosts{0xe0000001};
// RFC 1112 6.4: the Ethernet address of a group.
MacAddress multicast_mac(Ipv4Address group);

// Per-call choices of one UDP send, from sendmsg's ancillary data (ip(7)).
struct SendOptions {
  std::optional<Ipv4Address> src;  // IP_PKTINFO ipi_spec_dst: the source address
  std::optional<uint8_t> ttl;      // IP_TTL
  std::optional<uint8_t> tos;      // IP_TOS
};

struct AcceptResult {
  SocketId socket;
  Endpoint peer;
};

class Stack {
 public:
  Stack(NetDevice& device, BufferPool& pool, const StackConfig& config);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // ---- packet path -------------------------------------------------------
  // One received Ethernet frame.
  void receive(PacketBuffer frame, Instant now);
  // Runs every timer that is due and sends what is pending.
  void poll(Instant now);
  // When poll() must run next; kNever when nothing is scheduled.
  Instant next_deadline() const;

  // ---- introspection -----------------------------------------------------
  const Stats& stats() const { return stats_; }
  const StackConfig& config() const { return cfg_; }
  uint32_t mtu() const { return mtu_; }
  const ArpCache& arp_cache() const { return arp_; }
  const Reassembler& reassembler() const { return reasm_; }
  size_t socket_count() const { return live_sockets_; }
  RoutingTable& routes() { return routes_; }
  // Every socket and TCP connection, listeners first, then connections
  // (orphans and unaccepted children included), then UDP sockets
  // (stack_sockets.cc). Appends to `out`.
  void list_sockets(std::vector<SocketEntry>& out, Instant now) const;

  // ICMP echo from the stack itself (diagnostics and tests; there are no
  // ICMP sockets yet). Replies are kept (at most 1024) until taken.
  struct EchoReply {
    Ipv4Address from;
    uint16_t ident = 0;
    uint16_t seq_no = 0;
    size_t len = 0;
    Instant at;
  };
  Result<> send_echo_request(Ipv4Address dst, uint16_t ident, uint16_t seq_no, Bytes data,
                             Instant now);
  void take_echo_replies(std::vector<EchoReply>& out);

  // Sockets whose readiness may have changed since the last call (each
  // once), for the preload layer to wake waiters.
  void take_ready_changes(std::vector<SocketId>& out);

  // ---- socket API (errors as Linux gives them: udp(7), tcp(7)) ----------
  // `uid` is the creating process's effective uid (Linux sock_i_uid: the
  // socket's owner, fixed when it is created): SO_REUSEPORT lets only
  // sockets of one uid share a port. The stack never asks who is calling.
  Result<SocketId> udp_open(uint32_t uid = 0);
  Result<SocketId> tcp_open(uint32_t uid = 0);
  Result<> bind(SocketId s, Endpoint local);
  // UDP: sets the peer. TCP: starts the handshake and returns kInProgress
  // (the caller waits for kWritable, then reads take_error()), or kIsConn,
  // kAlready, kConnRefused... as Linux's non-blocking connect.
  Result<> connect(SocketId s, Endpoint remote, Instant now);
  // connect(AF_UNSPEC): forget the peer (and an implicit local address);
  // a TCP connection is reset.
  Result<> disconnect(SocketId s, Instant now);
  // UDP: one datagram to `to`, or to the connected peer when nullopt.
  // TCP: `to` is ignored; returns the bytes taken into the send buffer.
  Result<size_t> send_to(SocketId s, Bytes data, std::optional<Endpoint> to, Instant now,
                         uint32_t flags = 0, const SendOptions& extra = {});
  // UDP: one datagram; kAgain when none is queued. A pending error (ICMP)
  // is returned once instead, as Linux does. TCP: stream bytes, 0 at EOF.
  Result<RecvResult> recv_from(SocketId s, MutableBytes buf, uint32_t flags, Instant now);
  Result<> close(SocketId s, Instant now);
  // ---- TCP only ----------------------------------------------------------
  Result<> listen(SocketId s, int backlog, Instant now);
  Result<AcceptResult> accept(SocketId s, Instant now);
  // shutdown(2): SHUT_RD, SHUT_WR or both.
  Result<> shutdown(SocketId s, bool read, bool write, Instant now);
  Result<tcp::TcpInfo> tcp_info(SocketId s, Instant now) const;
  Result<> set_congestion(SocketId s, std::string_view name, Instant now);
  Result<std::string> get_congestion(SocketId s) const;
  // SIOCOUTQ: bytes not yet acknowledged (TCP) / 0 (UDP).
  Result<size_t> unsent_bytes(SocketId s) const;
  // Connections in the 4-tuple table (any state but CLOSED, TIME-WAIT
  // included, orphans included).
  size_t tcp_connection_count() const { return conns_.size(); }
  // True while something the applications sent is still on its way: data
  // waiting for ARP, unacknowledged TCP data or FINs, handshakes. The
  // preload runtime lets the process linger at exit until this is false.
  bool has_pending_output() const;
  const tcp::TcpConfig& tcp_config() const { return cfg_.tcp; }
  Result<Endpoint> local_endpoint(SocketId s) const;
  Result<Endpoint> remote_endpoint(SocketId s) const;
  // A TCP connection may send at once (a window opened by SO_RCVBUF, a
  // corked segment let go).
  Result<> set_option(SocketId s, SockOpt opt, int value, Instant now);
  Result<int> get_option(SocketId s, SockOpt opt) const;
  // readiness:: bits.
  Result<uint32_t> readiness(SocketId s) const;
  // SO_ERROR: the pending error, cleared by reading it.
  Result<std::optional<Error>> take_error(SocketId s);
  // FIONREAD / SIOCINQ: the size of the next datagram (UDP) or the bytes
  // readable (TCP).
  Result<size_t> next_datagram_size(SocketId s) const;
  bool is_tcp(SocketId s) const { return tcp(s) != nullptr; }
  // SIOCOUTQNSD: bytes queued and not yet sent (TCP; EINVAL listening).
  Result<size_t> notsent_bytes(SocketId s) const;
  // IP_MTU: the path MTU of a connected socket (ENOTCONN otherwise).
  Result<uint32_t> path_mtu(SocketId s) const;
  // When the last data a TCP socket received arrived (SO_TIMESTAMP on a
  // stream: the kernel reports the last segment's arrival).
  Result<Instant> last_data_received(SocketId s, Instant now) const;

  // MSG_ERRQUEUE (IP_RECVERR): the oldest queued error, taken off the
  // queue; kAgain when there is none (Linux ip_recv_error).
  Result<udp::QueuedIcmpError> take_queued_error(SocketId s);

  // Multicast (ip(7)) on the one interface, UDP only (TCP: EPROTO).
  // `iface` is the interface's address or any; another address is ENODEV.
  // Joining twice is EADDRINUSE, leaving a group not joined EADDRNOTAVAIL.
  Result<> join_group(SocketId s, Ipv4Address group, Ipv4Address iface);
  Result<> leave_group(SocketId s, Ipv4Address group, Ipv4Address iface);
  // IP_MULTICAST_IF: our address or any (EADDRNOTAVAIL otherwise).
  Result<> set_multicast_if(SocketId s, Ipv4Address iface);
  Result<Ipv4Address> multicast_if(SocketId s) const;
  // Whether any socket joined `group` (the interface receives it).
  bool joined(Ipv4Address group) const { return mc_groups_.count(group.value()) != 0; }

 private:
  // Where an inbound IP packet came from and what it looked like, for ICMP
  // errors that quote it.
  struct IpInput {
    wire::Ipv4Repr hdr;
    Bytes original;  // IP header + payload as received (empty when reassembled)
    bool link_broadcast = false;
  };

  // stack_link.cc
  void ethernet_input(PacketBuffer frame, Instant now);
  bool multicast_mac_wanted(MacAddress mac) const;
  void arp_input(PacketBuffer packet, Instant now);
  void send_arp(uint16_t op, MacAddress dst_mac, MacAddress target_mac, Ipv4Address target_ip,
                Instant now);
  void link_output(PacketBuffer ip_packet, MacAddress dst, Instant now);
  void neighbour_output(PacketBuffer ip_packet, Ipv4Address next_hop, uint64_t owner, Instant now);
  void run_arp_timers(Instant now);
  void transmit(PacketBuffer frame);
  void flush(Instant now);

  // stack_ip.cc
  void ip_input(PacketBuffer packet, Instant now, bool loopback);
  void ip_deliver(IpInput& in, PacketBuffer payload, Instant now);
  // Sends an IP packet whose payload (transport header + data) is in
  // `payload`; fills in src (if unspecified), ident, ttl; fragments if needed.
  Result<> ip_output(wire::Ipv4Repr hdr, PacketBuffer payload, uint64_t owner, Instant now);
  // Where a packet goes on the link: a fixed MAC (broadcast, multicast) or
  // a next hop to resolve by ARP.
  struct LinkDest {
    std::optional<MacAddress> mac;
    Ipv4Address next_hop;
  };
  Result<LinkDest> link_dest_for(Ipv4Address dst);
  void ip_send_one(const wire::Ipv4Repr& hdr, PacketBuffer payload, const LinkDest& to,
                   uint64_t owner, Instant now);
  // A copy of a datagram we send to a group we joined, delivered to our
  // own sockets (IP_MULTICAST_LOOP; Linux ip_mc_output).
  void ip_loop_back(wire::Ipv4Repr hdr, PacketBuffer payload);
  uint16_t next_ip_ident(Ipv4Address dst, uint8_t protocol);
  bool is_our_address(Ipv4Address a) const;
  bool is_broadcast_for_us(Ipv4Address a) const;
  void run_reassembly_timers(Instant now);

  // stack_icmp.cc
  void icmp_input(IpInput& in, PacketBuffer payload, Instant now);
  void icmp_error_input(uint8_t type, uint8_t code, uint16_t mtu, Bytes quoted, Ipv4Address from,
                        Instant now);
  void udp_icmp_error(uint8_t type, uint8_t code, uint16_t mtu, Bytes quoted, Ipv4Address from,
                      Instant now);
  void send_icmp_error(uint8_t type, uint8_t code, const IpInput& in, Bytes payload_start,
                       Instant now, uint16_t next_hop_mtu = 0);
  void neighbour_failed(uint64_t owner, Instant now);

  // stack_calls.cc: the one place a socket call picks its protocol. Calls
  // on_tcp(TcpSocket&) or on_udp(udp::UdpSocket&) (const ones when Self
  // is const) for the socket `s` names and returns what it returns as R;
  // EBADF when `s` names no open socket.
  template <class R, class Self, class OnTcp, class OnUdp>
  static R dispatch(Self& self, SocketId s, OnTcp&& on_tcp, OnUdp&& on_udp);

  // stack.cc: the socket table.
  Result<SocketId> open_slot();
  void free_slot(SocketId s);
  void mark_changed(SocketId s);

  // stack_udp.cc: the UDP halves of the socket calls, the port table,
  // demultiplexing.
  void udp_input(IpInput& in, PacketBuffer payload, Instant now);
  udp::UdpSocket* udp(SocketId s);
  const udp::UdpSocket* udp(SocketId s) const;
  Result<> udp_bind(SocketId s, udp::UdpSocket& u, Endpoint local);
  Result<> udp_connect(SocketId s, udp::UdpSocket& u, Endpoint remote);
  Result<> udp_disconnect(SocketId s, udp::UdpSocket& u);
  Result<size_t> udp_send_to(SocketId s, udp::UdpSocket& u, Bytes data, std::optional<Endpoint> to,
                             Instant now, const SendOptions& extra);
  Result<RecvResult> udp_recv_from(SocketId s, udp::UdpSocket& u, MutableBytes buf, uint32_t flags);
  Result<> udp_close(SocketId s, udp::UdpSocket& u);
  // After a call into a UDP socket: wakes its waiters if the call changed
  // its readiness. The second form passes the call's result through.
  void udp_after(SocketId s, udp::UdpSocket& u);
  template <class T>
  T udp_after(SocketId s, udp::UdpSocket& u, T result) {
    udp_after(s, u);
    return result;
  }
  void udp_hash(SocketId s, udp::UdpSocket& u, Endpoint local);
  Result<> udp_autobind(SocketId s, udp::UdpSocket& u, std::optional<Endpoint> remote);
  bool udp_port_conflict(const udp::UdpSocket& u, Endpoint local) const;
  void udp_unhash(SocketId s, udp::UdpSocket& u);
  void udp_reuseport_join(SocketId s, udp::UdpSocket& u);
  void udp_reuseport_leave(SocketId s, udp::UdpSocket& u);

  // stack_tcp.cc
  void tcp_input(IpInput& in, PacketBuffer payload, Instant now);
  void tcp_listen_input(SocketId lid, TcpSocket& l, const tcp::FourTuple& t,
                        const wire::TcpRepr& seg, Bytes payload, Instant now);
  void tcp_send_reset_for(const tcp::FourTuple& t, const wire::TcpRepr& seg, uint32_t payload_len,
                          Instant now);
  void tcp_transmit(const tcp::FourTuple& t, wire::TcpRepr& hdr, PacketBuffer payload,
                    uint64_t owner, Instant now, uint8_t ttl = 0, uint8_t tos = 0);
  // After every call into a connection: sends what it queued, acts on
  // the events the call returned (a listener's child moves queues, a
  // closed connection is retired), reschedules its timer and marks its
  // socket (and `caller`, the socket whose call it was) changed.
  struct TcpEntry;
  void tcp_after(tcp::TcpConnection* c, tcp::ConnEvents ev, Instant now, SocketId caller = {});
  void tcp_child_events(const TcpEntry& e, tcp::ConnEvents ev, Instant now);
  // The segments a connection dropped, as drop reasons and TcpExt counters.
  void tcp_conn_drops(const tcp::ConnCounters& cc);
  // Takes the connection of `t` out of the table; its socket keeps it, or
  // its listener or the orphan set destroys it.
  void tcp_retire(const tcp::FourTuple& t);
  // quoted_seq: the sequence number the ICMP error quotes (nullopt: the
  // stack's own neighbour failure, nothing to validate).
  void tcp_icmp_error(const tcp::FourTuple& t, std::optional<SeqNum> quoted_seq, Error e, bool fatal,
                      bool frag_needed, uint16_t mtu,
                      Instant now);
  void run_tcp_timers(Instant now);
  TcpSocket* tcp(SocketId s);
  const TcpSocket* tcp(SocketId s) const;
  uint32_t tcp_readiness(const TcpSocket& t) const;
  uint64_t ts_offset_for(const tcp::FourTuple& t) const;
  // The listener whose child the entry is (nullptr for any other
  // connection), and adding a listener's counters to the stack's.
  tcp::TcpListener* tcp_listener_of(const TcpEntry& e);
  void tcp_listen_counters(tcp::TcpListener& l);
  // TCP_DEFER_ACCEPT: the deferrals that end by `now` (their listeners
  // become readable).
  void run_defer_timers(Instant now);
  Instant defer_deadline() const;

  // stack_tcp_calls.cc: the TCP halves of the socket calls.
  Result<> tcp_connect(SocketId s, TcpSocket& t, Endpoint remote, Instant now);
  Result<> tcp_listen(SocketId s, TcpSocket& t, int backlog);
  Result<AcceptResult> tcp_accept(SocketId s, TcpSocket& l, Instant now);
  Result<> tcp_shutdown(SocketId s, TcpSocket& t, bool read, bool write, Instant now);
  Result<> tcp_close(SocketId s, TcpSocket& t, Instant now);
  Result<> tcp_disconnect(SocketId s, TcpSocket& t, Instant now);
  Result<size_t> tcp_send(SocketId s, TcpSocket& t, Bytes data, uint32_t flags, Instant now);
  Result<RecvResult> tcp_recv(SocketId s, TcpSocket& t, MutableBytes buf, uint32_t flags, Instant now);
  Result<std::optional<Error>> tcp_take_error(SocketId s, TcpSocket& t);
  Result<tcp::TcpInfo> tcp_info_of(const TcpSocket& t, Instant now) const;

  // stack_tcp_ports.cc
  // The listener a new connection for `t` goes to: one bound to the
  // address before a wildcard one, and within a SO_REUSEPORT group the
  // member the flow hash picks.
  SocketId find_listener_id(const tcp::FourTuple& t) const;
  // Why a port is checked (Linux inet_csk_get_port): bind() and listen()
  // relax the rules for SO_REUSEADDR / SO_REUSEPORT; bind(port 0) wants a
  // port nobody uses (inet_csk_find_open_port).
  enum class PortCheck : uint8_t { kBind, kAutobind };
  bool tcp_port_conflict(const TcpSocket& sock, Endpoint local, PortCheck why) const;
  Result<> tcp_bind(SocketId s, TcpSocket& t, Endpoint local);
  void tcp_unbind(SocketId s, TcpSocket& t);

  // stack_tcp_options.cc
  Result<> tcp_set_option(SocketId s, TcpSocket& t, SockOpt opt, int value, Instant now);
  Result<> tcp_set_socket_option(SocketId s, TcpSocket& t, SockOpt opt, int value);
  Result<int> tcp_get_option(const TcpSocket& t, SockOpt opt) const;
  Result<> tcp_set_congestion(TcpSocket& t, std::string_view name, Instant now);
  Result<std::string> tcp_get_congestion(const TcpSocket& t) const;

  // stack_multicast.cc: joining and leaving groups; a socket's
  // memberships go when it closes; a group no socket is in any more leaves
  // the interface.
  Result<> udp_join_group(udp::UdpSocket& u, Ipv4Address group, Ipv4Address iface);
  Result<> udp_leave_group(udp::UdpSocket& u, Ipv4Address group, Ipv4Address iface);
  Result<> udp_set_multicast_if(udp::UdpSocket& u, Ipv4Address iface);
  void udp_leave_all(udp::UdpSocket& u);
  void mc_group_unref(Ipv4Address group);

  NetDevice& device_;
  BufferPool& pool_;
  StackConfig cfg_;
  uint32_t mtu_;
  Rng rng_;
  Stats stats_;
  RoutingTable routes_;
  ArpCache arp_;
  Reassembler reasm_;
  PortAllocator ports_;
  TokenBucket icmp_errors_;
  SipKey ident_key_;
  std::vector<uint32_t> ident_buckets_;
  bool announced_ = false;

  std::vector<PacketBuffer> tx_;
  std::vector<PacketBuffer> loopback_;
  std::vector<ArpCache::Request> arp_requests_;
  std::vector<ArpCache::Failure> arp_failures_;
  std::vector<Reassembler::Expired> reasm_expired_;

  // Socket table: slots with generations; UDP sockets by local port.
  struct Slot {
    uint32_t generation = 1;
    std::unique_ptr<udp::UdpSocket> udp;
    std::unique_ptr<TcpSocket> tcp;
    bool changed = false;
  };
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t live_sockets_ = 0;
  uint64_t bind_counter_ = 0;
  std::unordered_multimap<uint16_t, SocketId> udp_ports_;
  ReuseportGroups reuseport_;
  std::vector<SocketId> changed_;
  // Multicast groups joined on the interface: group -> memberships (Linux
  // in_device mc_list with its users).
  std::unordered_map<uint32_t, uint32_t> mc_groups_;
  // Listeners with connections waiting on TCP_DEFER_ACCEPT.
  std::vector<SocketId> deferring_;
  std::vector<EchoReply> echo_replies_;

  // TCP: every connection by 4-tuple (non-owning; sockets, listeners and
  // the orphan set own them), bound and listening sockets by port, a
  // timer heap of (deadline, connection) with lazy re-checks.
  tcp::IsnGenerator isn_;
  tcp::SynCookies cookies_;
  SipKey ts_key_;
  // A connection in the table and the Stack's bookkeeping for it: the
  // socket holding it (none for an orphan or a child not yet accepted),
  // the listener whose child it is until accept(), and the earliest
  // deadline already in the timer heap.
  struct TcpEntry {
    tcp::TcpConnection* conn = nullptr;
    SocketId owner;
    SocketId listener;
    Instant heap_at = kNever;
  };
  std::unordered_map<tcp::FourTuple, TcpEntry> conns_;
  std::unordered_map<tcp::TcpConnection*, std::unique_ptr<tcp::TcpConnection>> orphans_;
  std::unordered_multimap<uint16_t, SocketId> tcp_ports_;
  struct TimerEntry {
    Instant at;
    tcp::FourTuple tuple;
    bool operator>(const TimerEntry& o) const { return at > o.at; }
  };
  std::vector<TimerEntry> tcp_timers_;  // a min-heap
  std::vector<tcp::TcpConnection*> tcp_due_;
};

}  // namespace shunt
