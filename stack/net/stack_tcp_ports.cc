// The Stack's TCP ports: bind() and listen() conflicts as Linux decides
// them (inet_csk_get_port, inet_bind_conflict), and which listener a new
// connection goes to (__inet_lookup_listener, SO_REUSEPORT groups).
#include "stack/net/stack.h"

namespace shunt {

using tcp::FourTuple;
using tcp::TcpConnection;
using tcp::TcpState;

namespace {

// The bind flags of one user of a port, a socket or a connection.
struct PortUser {
  bool reuse_addr = false;
  bool reuse_port = false;
  uint32_t uid = 0;
  bool listening = false;
  bool time_wait = false;
};

// Linux inet_bind_conflict (net/ipv4/inet_connection_sock.c) with
// relax = reuseport_ok = true, as bind() and listen() call it: `sk` may
// share the port with `o` (whose address overlaps) when both have
// SO_REUSEADDR and `o` is not listening, or both have SO_REUSEPORT and one
// owner uid (any uid when `o` is in TIME-WAIT).
bool may_share(const PortUser& sk, const PortUser& o) {
  if (sk.reuse_addr && o.reuse_addr && !o.listening) return true;
  return sk.reuse_port && o.reuse_port && (o.time_wait || sk.uid == o.uid);
}

// A child takes its listener's flags (Linux sk_clone_lock).
}  // namespace

// ---- binding --------------------------------------------------------------

bool Stack::tcp_port_conflict(const TcpSocket& sock, Endpoint local, PortCheck why) const {
  auto overlaps = [&](Ipv4Address a) {
    return a.is_unspecified() || local.addr.is_unspecified() || a == local.addr;
  };
  // bind(port 0) takes no port anyone uses, whatever the flags (Linux
  // inet_csk_find_open_port: relax = false, reuseport_ok = false).
  const bool autobind = why == PortCheck::kAutobind;
  const PortUser me{sock.reuse_addr, sock.reuse_port, sock.uid};
  auto [lo, hi] = tcp_ports_.equal_range(local.port);
  for (auto it = lo; it != hi; ++it) {
    const TcpSocket* o = tcp(it->second);
    if (o == nullptr || o == &sock || !overlaps(o->local.addr)) continue;
    const PortUser other{o->reuse_addr, o->reuse_port, o->uid, o->listening()};
    if (autobind || !may_share(me, other)) return true;
  }
  // Connections still using the port (TIME-WAIT, orphans, accepted
  // children) with the flags of the socket they came from; Linux keeps
  // them on the port's bind bucket too.
  for (const auto& [t, e] : conns_) {
    if (t.local.port != local.port || !overlaps(t.local.addr)) continue;
    const TcpConnection* c = e.conn;
    const PortUser o{c->reuse_addr, c->reuse_port, c->uid, false,
                     c->state() == TcpState::kTimeWait};
    if (autobind || !may_share(me, o)) return true;
  }
  return false;
}

Result<> Stack::tcp_bind(SocketId s, TcpSocket& t, Endpoint local) {
  if (t.bound || t.conn || t.listening()) return Error::kInval;
  // Linux inet_bind: an address not ours only with IP_FREEBIND / IP_TRANSPARENT.
  if (!local.addr.is_unspecified() && !is_our_address(local.addr) && !t.sockopts.freebind) {
    return Error::kAddrNotAvail;
  }
  if (local.port == 0) {
    auto port = ports_.pick_random([&](uint16_t p) {
      return tcp_port_conflict(t, Endpoint{local.addr, p}, PortCheck::kAutobind);
    });
    if (!port) return Error::kAddrInUse;
    local.port = *port;
  } else if (tcp_port_conflict(t, local, PortCheck::kBind)) {
    return Error::kAddrInUse;
  }
  t.local = local;
  t.bound = true;
  tcp_ports_.emplace(local.port, s);
  return {};
}

void Stack::tcp_unbind(SocketId s, TcpSocket& t) {
  if (t.in_reuseport_group) {
    reuseport_.leave({wire::ip_proto::kTcp, t.local, t.uid}, s);  // reuseport_detach_sock
    t.in_reuseport_group = false;
  }
  if (!t.bound) return;
  auto [lo, hi] = tcp_ports_.equal_range(t.local.port);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == s) {
      tcp_ports_.erase(it);
      break;
    }
  }
}

SocketId Stack::find_listener_id(const FourTuple& t) const {
  // A listener bound to the address wins over a wildcard one (Linux
  // __inet_lookup_listener looks up the address, then INADDR_ANY).
  SocketId found{}, wildcard{};
  auto [lo, hi] = tcp_ports_.equal_range(t.local.port);
  for (auto it = lo; it != hi; ++it) {
    const TcpSocket* l = tcp(it->second);
    if (l == nullptr || !l->listening()) continue;
    if (l->local.addr == t.local.addr) {
      found = it->second;
      break;
    }
    if (l->local.addr.is_unspecified()) wildcard = it->second;
  }
  if (found.generation == 0) found = wildcard;
  const TcpSocket* l = found.generation != 0 ? tcp(found) : nullptr;
  if (l == nullptr || !l->in_reuseport_group) return found;
  // Linux inet_lhash2_lookup -> inet_lookup_reuseport: the group member
  // the flow hash picks (every member listens, so the first it tries).
  SocketId pick = reuseport_.select({wire::ip_proto::kTcp, l->local, l->uid},
                                    reuseport_.flow_hash(t.local, t.remote),
                                    [](SocketId) { return true; });
  return pick.generation != 0 ? pick : found;
}

}  // namespace shunt
