// IPv4 multicast for UDP sockets (RFC 1112 level 2, ip(7)): group
// membership on the one interface, the interface's multicast filter, and
// the local copy of datagrams we send to a group we are in.
//
// Receiving: ethernet_input takes the groups' MAC addresses
// (multicast_mac_wanted), ip_input the groups' datagrams, udp_input hands
// them to every matching socket that joined or has IP_MULTICAST_ALL.
// Not done: IGMP (RFC 2236 / 3376) reports and queries; a switch that
// snoops IGMP behind a querier will not forward groups to the stack.
#include "stack/net/stack.h"

namespace shunt {

Result<> Stack::udp_join_group(udp::UdpSocket& u, Ipv4Address group, Ipv4Address iface) {
  // Linux ip_mc_join_group: a group address, on an interface we have.
  if (!group.is_multicast()) return Error::kInval;
  if (!iface.is_unspecified() && !is_our_address(iface)) return Error::kNoDev;
  if (auto r = u.join(group); !r) return r;
  ++mc_groups_[group.value()];
  return {};
}

Result<> Stack::udp_leave_group(udp::UdpSocket& u, Ipv4Address group, Ipv4Address iface) {
  if (!iface.is_unspecified() && !is_our_address(iface)) return Error::kNoDev;
  if (auto r = u.leave(group); !r) return r;
  mc_group_unref(group);
  return {};
}

void Stack::mc_group_unref(Ipv4Address group) {
  auto g = mc_groups_.find(group.value());
  if (g != mc_groups_.end() && --g->second == 0) mc_groups_.erase(g);
}

void Stack::udp_leave_all(udp::UdpSocket& u) {
  for (Ipv4Address group : u.leave_all()) mc_group_unref(group);
}

Result<> Stack::udp_set_multicast_if(udp::UdpSocket& u, Ipv4Address iface) {
  if (!iface.is_unspecified() && !is_our_address(iface)) return Error::kAddrNotAvail;
  u.set_multicast_if(iface);
  return {};
}

void Stack::ip_loop_back(wire::Ipv4Repr hdr, PacketBuffer payload) {
  if (!payload || !cfg_.address) return;
  if (hdr.src.is_unspecified()) hdr.src = cfg_.address->address();
  if (hdr.ttl == 0) hdr.ttl = 1;
  hdr.ident = next_ip_ident(hdr.dst, hdr.protocol);
  hdr.payload_len = static_cast<uint16_t>(payload.size());
  hdr.dont_fragment = false;
  hdr.emit(payload.push_front(wire::Ipv4Repr::kMinHeaderLen));
  ++stats_.ip.InLoopback;
  loopback_.push_back(std::move(payload));
}

}  // namespace shunt
