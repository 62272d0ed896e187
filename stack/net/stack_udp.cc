// The Stack's UDP glue (RFC 768, Linux udp(7)): the port table and
// SO_REUSEPORT groups, demultiplexing datagrams to sockets, routing and the
// source address of what a socket sends. The socket itself (its queue,
// options, errors, readiness) is udp::UdpSocket, stack/udp/udp_socket.h.
#include <vector>

#include "stack/net/stack.h"
#include "stack/wire/icmp.h"
#include "stack/wire/udp.h"

namespace shunt {

using udp::UdpDatagram;
using udp::UdpSocket;

bool Stack::udp_port_conflict(const UdpSocket& u, Endpoint local) const {
  auto [lo, hi] = udp_ports_.equal_range(local.port);
  for (auto it = lo; it != hi; ++it) {
    const UdpSocket* o = udp(it->second);
    if (o == nullptr || o == &u) continue;
    bool overlap = o->local.addr.is_unspecified() || local.addr.is_unspecified() ||
                   o->local.addr == local.addr;
    if (!overlap || (o->options().reuse_addr && u.options().reuse_addr)) continue;
    // Linux udp_lib_lport_inuse: SO_REUSEPORT on both and one owner uid.
    // Used for bind(port 0) too, which may so land on a port a
    // compatible SO_REUSEPORT socket holds, as on Linux.
    if (o->options().reuse_port && u.options().reuse_port && o->uid == u.uid) continue;
    return true;
  }
  return false;
}

void Stack::udp_reuseport_join(SocketId s, UdpSocket& u) {
  if (!u.options().reuse_port) return;
  // Linux udp_lib_get_port -> udp_reuseport_add_sock: join the group of
  // this exact address and port and uid, or start it.
  reuseport_.join({wire::ip_proto::kUdp, u.local, u.uid}, s);
  u.in_reuseport_group = true;
}

void Stack::udp_reuseport_leave(SocketId s, UdpSocket& u) {
  if (!u.in_reuseport_group) return;
  reuseport_.leave({wire::ip_proto::kUdp, u.local, u.uid}, s);  // reuseport_detach_sock
  u.in_reuseport_group = false;
}

void Stack::udp_unhash(SocketId s, UdpSocket& u) {
  udp_reuseport_leave(s, u);
  if (!u.bound) return;
  auto [lo, hi] = udp_ports_.equal_range(u.local.port);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == s) {
      udp_ports_.erase(it);
      break;
    }
  }
  u.bound = false;
}

Result<> Stack::udp_bind(SocketId s, UdpSocket& u, Endpoint local) {
  if (u.bound) return Error::kInval;
  // Linux inet_bind: the address must be ours, a broadcast or multicast
  // address, or INADDR_ANY.
  if (!local.addr.is_unspecified() && !is_our_address(local.addr) &&
      !is_broadcast_for_us(local.addr) && !local.addr.is_multicast() && !u.options().freebind) {
    return Error::kAddrNotAvail;
  }
  if (local.port == 0) {
    auto port = ports_.pick_random([&](uint16_t p) {
      return udp_port_conflict(u, Endpoint{local.addr, p});
    });
    if (!port) return Error::kAddrInUse;
    local.port = *port;
  } else if (udp_port_conflict(u, local)) {
    return Error::kAddrInUse;
  }
  udp_hash(s, u, local);
  return {};
}

void Stack::udp_hash(SocketId s, UdpSocket& u, Endpoint local) {
  u.local = local;
  u.bound = true;
  u.bind_order = ++bind_counter_;
  udp_ports_.emplace(local.port, s);
  udp_reuseport_join(s, u);
}

Result<> Stack::udp_autobind(SocketId s, UdpSocket& u, std::optional<Endpoint> remote) {
  if (u.bound) return {};
  auto in_use = [&](uint16_t p) { return udp_port_conflict(u, Endpoint{u.local.addr, p}); };
  std::optional<uint16_t> port;
  if (remote && cfg_.address) {
    port = ports_.pick_for_peer(wire::ip_proto::kUdp, cfg_.address->address(), *remote, in_use);
  } else {
    port = ports_.pick_random(in_use);
  }
  if (!port) return Error::kAgain;  // Linux: EAGAIN when the ephemeral range is exhausted
  udp_hash(s, u, Endpoint{u.local.addr, *port});
  return {};
}

Result<> Stack::udp_connect(SocketId s, UdpSocket& u, Endpoint remote) {
  if (!cfg_.address) return Error::kNetUnreach;
  // Linux: INADDR_ANY as a destination means this host.
  if (remote.addr.is_unspecified()) remote.addr = cfg_.address->address();
  if (is_broadcast_for_us(remote.addr) && !u.options().broadcast) return Error::kAccess;
  if (!is_our_address(remote.addr)) {
    auto dest = link_dest_for(remote.addr);
    if (!dest) return dest.error();
  }
  const bool was_bound = u.bound;
  if (auto r = udp_autobind(s, u, remote); !r) return r;
  if (!was_bound) u.port_from_connect = true;
  if (u.local.addr.is_unspecified()) {
    // Linux udp_lib_rehash: a socket whose address changes leaves its
    // SO_REUSEPORT group (and does not join another).
    udp_reuseport_leave(s, u);
    // The route's source address becomes the socket's (getsockname shows it).
    u.local.addr = cfg_.address->address();
    u.addr_from_connect = true;
  }
  u.remote = remote;
  return {};
}

Result<> Stack::udp_disconnect(SocketId s, UdpSocket& u) {
  u.remote.reset();
  // Linux udp_disconnect: forget what connect() chose implicitly.
  if (u.addr_from_connect) {
    u.local.addr = Ipv4Address::any();
    u.addr_from_connect = false;
  }
  if (u.port_from_connect) {
    udp_unhash(s, u);
    u.local.port = 0;
    u.port_from_connect = false;
  }
  return {};
}

Result<size_t> Stack::udp_send_to(SocketId s, UdpSocket& u, Bytes data,
                                  std::optional<Endpoint> to, Instant now,
                                  const SendOptions& extra) {
  if (auto e = udp_after(s, u, u.take_error())) return *e;
  auto dest = u.destination(to, data.size());
  if (!dest) return dest.error();
  if (!cfg_.address) return Error::kNetUnreach;
  if (dest->addr.is_unspecified()) dest->addr = cfg_.address->address();
  const udp::UdpOptions& o = u.options();
  if (is_broadcast_for_us(dest->addr) && !o.broadcast) return Error::kAccess;
  // IP_PKTINFO's ipi_spec_dst: a source that is not ours has no route
  // (Linux ip_route_output_key_hash_rcu) unless IP_FREEBIND allows any.
  const bool chosen_src = extra.src && !extra.src->is_unspecified();
  if (chosen_src && !is_our_address(*extra.src) && !o.freebind) return Error::kNetUnreach;
  const bool multicast = dest->addr.is_multicast();
  if (auto r = udp_autobind(s, u, std::nullopt); !r) return r.error();

  wire::Ipv4Repr ip;
  ip.src = (u.local.addr.is_unspecified() || !is_our_address(u.local.addr))
               ? cfg_.address->address()
               : u.local.addr;
  if (multicast && !o.mc_if.is_unspecified() && u.local.addr.is_unspecified()) ip.src = o.mc_if;
  if (chosen_src) ip.src = *extra.src;
  ip.dst = dest->addr;
  ip.protocol = wire::ip_proto::kUdp;
  u.fill_ip_header(ip, extra.ttl, extra.tos);
  PacketBuffer b = u.datagram(pool_, data, ip, dest->port);
  if (!b) {
    ++stats_.udp.SndbufErrors;
    return Error::kNoBufs;
  }
  if (multicast && o.mc_loop && joined(dest->addr)) {
    // IP_MULTICAST_LOOP: our own sockets in the group get a copy.
    ip_loop_back(ip, b.clone());
  }
  if (multicast && ip.ttl == 0) {
    ++stats_.udp.OutDatagrams;  // TTL 0: for this host only
    flush(now);
    return data.size();
  }
  if (auto r = ip_output(ip, std::move(b), s.raw(), now); !r) {
    flush(now);
    return r.error();
  }
  ++stats_.udp.OutDatagrams;
  flush(now);
  return data.size();
}

Result<RecvResult> Stack::udp_recv_from(SocketId s, UdpSocket& u, MutableBytes buf,
                                        uint32_t flags) {
  auto r = udp_after(s, u, u.recv(buf, flags));
  // Linux fib_compute_spec_dst: the address the datagram was for, or for a
  // broadcast or group our interface's address.
  if (r) r->spec_dst = is_our_address(r->to) ? r->to : cfg_.address->address();
  return r;
}

void Stack::udp_after(SocketId s, UdpSocket& u) {
  if (u.take_changed()) mark_changed(s);
}

void Stack::udp_input(IpInput& in, PacketBuffer payload, Instant now) {
  const bool verify = !device_.info().rx_checksum_offload || in.original.empty();
  auto hdr = wire::UdpRepr::parse(payload.bytes(), in.hdr.src, in.hdr.dst, verify);
  if (!hdr) {
    ++stats_.udp.InErrors;
    if (hdr.error() == DropReason::kUdpBadChecksum) ++stats_.udp.InCsumErrors;
    return stats_.count_drop(hdr.error());
  }
  const Bytes udp_bytes = payload.bytes();
  payload.pull_front(wire::UdpRepr::kHeaderLen);
  payload.truncate(hdr->payload_len);
  const Endpoint from{in.hdr.src, hdr->src_port};

  auto deliver = [&](SocketId id, UdpSocket& u, PacketBuffer p) {
    if (!u.enqueue(UdpDatagram{from, in.hdr.dst, std::move(p), in.hdr.ttl, in.hdr.tos, now})) {
      ++stats_.udp.RcvbufErrors;
      ++stats_.udp.InErrors;
      return stats_.count_drop(DropReason::kUdpRcvBufFull);
    }
    ++stats_.udp.InDatagrams;
    udp_after(id, u);
  };

  auto [lo, hi] = udp_ports_.equal_range(hdr->dst_port);
  if (in.link_broadcast) {
    // Broadcasts and datagrams to a group go to every socket that matches
    // (Linux __udp4_lib_mcast_deliver); for a group, one that joined it, or
    // any with IP_MULTICAST_ALL (ip_mc_sf_allow).
    std::vector<std::pair<SocketId, UdpSocket*>> all;
    for (auto it = lo; it != hi; ++it) {
      UdpSocket* u = udp(it->second);
      if (u != nullptr && u->matches(in.hdr.dst, from) && u->wants(in.hdr.dst)) {
        all.emplace_back(it->second, u);
      }
    }
    if (all.empty()) {
      ++stats_.udp.NoPorts;
      return stats_.count_drop(DropReason::kUdpNoSocket);
    }
    for (size_t i = 0; i + 1 < all.size(); ++i) deliver(all[i].first, *all[i].second, payload.clone());
    deliver(all.back().first, *all.back().second, std::move(payload));
    return;
  }

  // Unicast: the most specific socket wins (connected, then bound to the
  // address, then the wildcard), like Linux compute_score(); among equals
  // the one bound last.
  SocketId best{};
  UdpSocket* best_u = nullptr;
  int best_score = -1;
  for (auto it = lo; it != hi; ++it) {
    UdpSocket* u = udp(it->second);
    if (u == nullptr || !u->matches(in.hdr.dst, from)) continue;
    const int score = u->score();
    if (score > best_score || (score == best_score && u->bind_order > best_u->bind_order)) {
      best = it->second;
      best_u = u;
      best_score = score;
    }
  }
  if (best_u != nullptr && !best_u->remote && best_u->in_reuseport_group) {
    // Linux udp4_lib_lookup2 -> inet_lookup_reuseport: an unconnected
    // winner hands the datagram to the member of its group the flow hash
    // picks, skipping connected members (reuseport_select_sock_by_hash
    // passes over TCP_ESTABLISHED ones); a connected socket that matches
    // the datagram scored higher above and keeps it.
    const ReuseportGroups::Key key{wire::ip_proto::kUdp, best_u->local, best_u->uid};
    SocketId pick = reuseport_.select(key, reuseport_.flow_hash({in.hdr.dst, hdr->dst_port}, from),
                                      [&](SocketId m) {
                                        const UdpSocket* mu = udp(m);
                                        return mu != nullptr && !mu->remote;
                                      });
    if (pick.generation != 0) {
      best = pick;
      best_u = udp(pick);
    }
  }
  if (best_u == nullptr) {
    ++stats_.udp.NoPorts;
    stats_.count_drop(DropReason::kUdpNoSocket);
    // RFC 1122 4.1.3.1: port unreachable for a datagram nobody listens to.
    send_icmp_error(wire::icmp_type::kDestUnreachable, wire::icmp_code::kPortUnreachable, in,
                    udp_bytes, now);
    return;
  }
  deliver(best, *best_u, std::move(payload));
}

Result<> Stack::udp_close(SocketId s, UdpSocket& u) {
  udp_unhash(s, u);
  udp_leave_all(u);
  return {};
}

}  // namespace shunt
