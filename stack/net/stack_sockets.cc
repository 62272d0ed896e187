// Stack::list_sockets: the snapshot behind `shunt ss` (socket_list.h).
#include <algorithm>
#include <tuple>

#include "stack/net/stack.h"

namespace shunt {

void Stack::list_sockets(std::vector<SocketEntry>& out, Instant now) const {
  const size_t first = out.size();
  // Listeners: Recv-Q is the accept queue, Send-Q the backlog (as ss shows
  // a LISTEN socket).
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (!slot.tcp || !slot.tcp->listening()) continue;
    SocketEntry e;
    e.proto = SocketEntry::Proto::kTcp;
    e.id = SocketId{static_cast<uint32_t>(i), slot.generation};
    e.state = tcp::TcpState::kListen;
    e.local = slot.tcp->local;
    e.recv_q = slot.tcp->listener->accept_queue_length();
    e.send_q = slot.tcp->listener->backlog();
    out.push_back(e);
  }
  const size_t listeners_end = out.size();
  // Connections: everything in the 4-tuple table, with the socket holding
  // each (none for orphans and children not yet accepted).
  for (const auto& [tuple, entry] : conns_) {
    const tcp::TcpConnection* c = entry.conn;
    SocketEntry e;
    e.proto = SocketEntry::Proto::kTcp;
    if (entry.owner.generation != 0) e.id = entry.owner;
    e.state = c->state();
    e.local = tuple.local;
    e.remote = tuple.remote;
    e.recv_q = c->readable();
    e.send_q = c->send_queue();
    e.info = c->info(now);
    out.push_back(std::move(e));
  }
  // A stable order for the reader: by local, then remote endpoint.
  auto by_endpoints = [](const SocketEntry& a, const SocketEntry& b) {
    auto key = [](const SocketEntry& x) {
      return std::tuple(x.local.addr.value(), x.local.port, x.remote.addr.value(), x.remote.port);
    };
    return key(a) < key(b);
  };
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first),
            out.begin() + static_cast<std::ptrdiff_t>(listeners_end), by_endpoints);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(listeners_end), out.end(), by_endpoints);
  const size_t udp_begin = out.size();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    if (!slot.udp) continue;
    const udp::UdpSocket& u = *slot.udp;
    SocketEntry e;
    e.proto = SocketEntry::Proto::kUdp;
    e.id = SocketId{static_cast<uint32_t>(i), slot.generation};
    e.state = u.remote ? tcp::TcpState::kEstablished : tcp::TcpState::kClosed;
    e.local = u.local;
    if (u.remote) e.remote = *u.remote;
    e.recv_q = u.rx_bytes();
    out.push_back(e);
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(udp_begin), out.end(), by_endpoints);
}

}  // namespace shunt
