// A TCP socket as the Stack's socket table holds it: options and binding
// before connect/listen, the listener, or the connection.
#pragma once

#include <memory>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/tcp/connection.h"
#include "stack/tcp/listener.h"

namespace shunt {

struct TcpSocket {
  Endpoint local;
  bool bound = false;
  bool reuse_addr = false;
  bool reuse_port = false;        // SO_REUSEPORT
  uint32_t uid = 0;               // the creator's uid (Linux sock_i_uid), for SO_REUSEPORT
  bool in_reuseport_group = false;  // joined at listen() (ReuseportGroups)
  // SO_LINGER: nullopt off; 0 aborts with a RST on close.
  std::optional<int> linger;
  tcp::ConnOptions opts;
  // Socket options the Stack applies around the connection. An accepted
  // socket takes its listener's (Linux sk_clone_lock copies the socket),
  // but for the two that live in the listener's accept queue.
  struct SocketOptions {
    int rcvlowat = 1;            // SO_RCVLOWAT
    uint32_t notsent_lowat = 0;  // TCP_NOTSENT_LOWAT (0: none, Linux's UINT_MAX default)
    uint8_t pmtudisc = 1;        // IP_MTU_DISCOVER: kept and reported (TCP always probes)
    bool freebind = false;       // IP_FREEBIND / IP_TRANSPARENT
    bool recverr = false;        // IP_RECVERR: kept and reported
    bool pingpong = false;       // TCP_QUICKACK 0, as Linux reports it (inet_csk_in_pingpong_mode)
    uint8_t defer_accept = 0;    // TCP_DEFER_ACCEPT as Linux keeps it: SYN-ACK retransmissions
    int fastopen_qlen = 0;       // TCP_FASTOPEN: kept and reported (no Fast Open)
  } sockopts;
  // LISTEN (RFC 9293 3.10.7.2): the SYN and accept queues, SYN cookies.
  std::unique_ptr<tcp::TcpListener> listener;
  bool listening() const { return listener != nullptr; }

  // The connection once connect() or accept() made one.
  std::unique_ptr<tcp::TcpConnection> conn;
  // A non-blocking connect() whose outcome no connect() reported yet
  // (Linux sock->state SS_CONNECTING): the next connect() reports it.
  bool connecting = false;
  // The error a disconnected socket reports (connect(AF_UNSPEC) leaves
  // ECONNRESET, as tcp_disconnect does).
  std::optional<Error> error;

  // What the socket calls report that needs nothing but the socket
  // (tcp_socket.cc).
  // getsockname: the connection's address once there is one.
  Endpoint local_endpoint() const { return conn ? conn->tuple().local : local; }
  // getpeername (Linux inet_getname): ENOTCONN unless connected, and in
  // SYN-SENT and CLOSED (after a reset too).
  Result<Endpoint> remote_endpoint() const;
  // FIONREAD / SIOCINQ: bytes readable (EINVAL on a listener).
  Result<size_t> inq() const;
  // SIOCOUTQ: bytes not yet acknowledged; SIOCOUTQNSD: bytes not yet sent
  // (EINVAL listening, 0 during the handshake).
  Result<size_t> unsent_bytes() const;
  Result<size_t> notsent_bytes() const;
  // IP_MTU: `link_mtu` once synchronized (ENOTCONN before).
  Result<uint32_t> path_mtu(uint32_t link_mtu) const;
  // How long ago the last data arrived (SO_TIMESTAMP on a stream).
  Result<Instant> last_data_received(Instant now) const;
};

}  // namespace shunt
