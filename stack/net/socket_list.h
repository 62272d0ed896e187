// A snapshot of every socket a Stack holds, for `shunt ss` (the same view
// `ss -tuan` gives of the kernel's sockets through inet_diag).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/socket.h"
#include "stack/tcp/connection.h"

namespace shunt {

struct SocketEntry {
  enum class Proto : uint8_t { kTcp, kUdp };
  Proto proto = Proto::kTcp;
  // The application's socket; none for a TCP connection no socket holds (an
  // orphan finishing after close(), a child waiting in a listener's queues).
  std::optional<SocketId> id;
  // TCP: the connection's state, kListen for a listener. UDP: kEstablished
  // when connected, kClosed otherwise (ss prints UNCONN).
  tcp::TcpState state = tcp::TcpState::kClosed;
  Endpoint local;
  Endpoint remote;
  // As ss reports them: for a connection the bytes not yet read by the
  // application and the bytes not yet acknowledged by the peer; for a
  // listener the accept queue's length and the backlog; for UDP the bytes
  // queued for reading and 0.
  size_t recv_q = 0;
  size_t send_q = 0;
  std::optional<tcp::TcpInfo> info;  // TCP connections (not listeners)
};

}  // namespace shunt
