// A TCP socket as the Stack's socket table holds it: options and binding
// before connect/listen, the listener's queues, or the connection.
#pragma once

#include <algorithm>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

#include "stack/base/addr.h"
#include "stack/tcp/connection.h"

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
  // A listener with TCP_DEFER_ACCEPT: when each queued connection that has
  // sent nothing yet may be accepted anyway.
  std::unordered_map<tcp::TcpConnection*, Instant> deferred_until;

  // LISTEN (RFC 9293 3.10.7.2): half-open children (the SYN queue) and
  // established ones waiting for accept() (the accept queue), like
  // Linux's request and accept queues.
  bool listening = false;
  uint32_t backlog = 0;
  std::unordered_map<tcp::TcpConnection*, std::unique_ptr<tcp::TcpConnection>> children;
  // A list, not a deque: an empty std::deque still allocates ~600 bytes,
  // and every accepted or connected socket is a TcpSocket too.
  std::list<tcp::TcpConnection*> accept_queue;
  uint32_t syn_queue = 0;

  // The connection once connect() or accept() made one.
  std::unique_ptr<tcp::TcpConnection> conn;
  // A non-blocking connect() whose outcome no connect() reported yet
  // (Linux sock->state SS_CONNECTING): the next connect() reports it.
  bool connecting = false;
  // The error a disconnected socket reports (connect(AF_UNSPEC) leaves
  // ECONNRESET, as tcp_disconnect does).
  std::optional<Error> error;
};

// TCP_DEFER_ACCEPT's seconds kept as Linux keeps them, as a number of
// SYN-ACK retransmissions (secs_to_retrans / retrans_to_secs with
// TCP_TIMEOUT_INIT 1 s doubling up to TCP_RTO_MAX 120 s): 5 s reads back 7.
inline uint8_t defer_retransmits(int seconds) {
  if (seconds <= 0) return 0;
  int timeout = 1, period = 1, res = 1;
  while (seconds > period && res < 255) {
    ++res;
    timeout = std::min(timeout * 2, 120);
    period += timeout;
  }
  return static_cast<uint8_t>(res);
}
inline int defer_seconds(uint8_t retransmits) {
  if (retransmits == 0) return 0;
  int timeout = 1, period = 1;
  while (--retransmits != 0) {
    timeout = std::min(timeout * 2, 120);
    period += timeout;
  }
  return period;
}

}  // namespace shunt
