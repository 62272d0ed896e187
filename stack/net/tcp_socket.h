// A TCP socket as the Stack's socket table holds it: options and binding
// before connect/listen, the listener's queues, or the connection.
#pragma once

#include <deque>
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

  // LISTEN (RFC 9293 3.10.7.2): half-open children (the SYN queue) and
  // established ones waiting for accept() (the accept queue), like
  // Linux's request and accept queues.
  bool listening = false;
  uint32_t backlog = 0;
  std::unordered_map<tcp::TcpConnection*, std::unique_ptr<tcp::TcpConnection>> children;
  std::deque<tcp::TcpConnection*> accept_queue;
  uint32_t syn_queue = 0;

  // The connection once connect() or accept() made one.
  std::unique_ptr<tcp::TcpConnection> conn;
};

}  // namespace shunt
