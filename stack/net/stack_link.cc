// Ethernet and ARP (RFC 826): frame input, neighbour resolution, output.
#include <algorithm>

#include "stack/net/stack.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"

namespace shunt {

void Stack::receive(PacketBuffer frame, Instant now) {
  ++stats_.link.InFrames;
  stats_.link.InBytes += frame.size();
  ethernet_input(std::move(frame), now);
  flush(now);
}

void Stack::ethernet_input(PacketBuffer frame, Instant now) {
  auto eth = wire::EthernetRepr::parse(frame.bytes());
  if (!eth) {
    ++stats_.link.InDiscards;
    return stats_.count_drop(eth.error());
  }
  if (eth->ethertype == wire::ethertype::kVlan || eth->ethertype == wire::ethertype::kQinQ) {
    ++stats_.link.InDiscards;
    return stats_.count_drop(DropReason::kEthVlanTagged);
  }
  if (eth->dst != cfg_.mac && !eth->dst.is_broadcast() && !multicast_mac_wanted(eth->dst)) {
    ++stats_.link.InDiscards;
    return stats_.count_drop(DropReason::kEthNotForUs);
  }
  if (eth->src == cfg_.mac) {
    ++stats_.link.InDiscards;
    return stats_.count_drop(DropReason::kEthOwnSource);
  }
  frame.pull_front(wire::kEthernetHeaderLen);
  switch (eth->ethertype) {
    case wire::ethertype::kArp:
      return arp_input(std::move(frame), now);
    case wire::ethertype::kIpv4:
      return ip_input(std::move(frame), now, /*loopback=*/false);
    default:
      // Includes 802.3 length fields (<= 1500) and IPv6 until it exists.
      ++stats_.link.InDiscards;
      return stats_.count_drop(DropReason::kEthUnknownType);
  }
}

bool Stack::multicast_mac_wanted(MacAddress mac) const {
  // The groups' addresses are the interface's multicast filter (Linux
  // ip_mc_filter_add); all-hosts is always in it.
  if (!mac.is_multicast()) return false;
  if (mac == multicast_mac(kAllHosts)) return true;
  for (const auto& [g, users] : mc_groups_) {
    if (mac == multicast_mac(Ipv4Address(g))) return true;
  }
  return false;
}

void Stack::arp_input(PacketBuffer packet, Instant now) {
  auto arp = wire::ArpRepr::parse(packet.bytes());
  if (!arp) return stats_.count_drop(arp.error());
  const bool is_request = arp->operation == wire::arp_op::kRequest;
  if (is_request) {
    ++stats_.arp.InRequests;
  } else {
    ++stats_.arp.InReplies;
  }
  if (!cfg_.address) return stats_.count_drop(DropReason::kIpNotUp);
  const Ipv4Address ours = cfg_.address->address();
  const Ipv4Address sender = arp->sender_ip;

  // A sender claiming our address, or an address no host can have, teaches
  // us nothing (RFC 5227 for the conflict; we keep our address).
  if (sender == ours || sender.is_broadcast() || sender.is_multicast() ||
      sender == cfg_.address->directed_broadcast() || arp->sender_mac.is_multicast()) {
    return stats_.count_drop(DropReason::kArpBadSender);
  }

  const bool for_us = arp->target_ip == ours;
  // RFC 826 "Packet reception": update an existing entry for the sender
  // whoever the packet is for; add one only if we are the target. An ARP
  // probe (sender 0.0.0.0, RFC 5227 2.1.1) teaches nothing.
  if (!sender.is_unspecified()) {
    auto waiting = arp_.update(sender, arp->sender_mac, /*create=*/for_us, now);
    if (!waiting.empty()) ++stats_.arp.Resolved;
    for (auto& p : waiting) link_output(std::move(p.packet), arp->sender_mac, now);
  }
  if (!for_us) return stats_.count_drop(DropReason::kArpNotForUs);
  if (is_request) {
    send_arp(wire::arp_op::kReply, arp->sender_mac, arp->sender_mac, sender, now);
    ++stats_.arp.OutReplies;
  }
}

void Stack::send_arp(uint16_t op, MacAddress dst_mac, MacAddress target_mac,
                     Ipv4Address target_ip, Instant now) {
  PacketBuffer b = pool_.allocate(wire::ArpRepr::kLen);
  wire::ArpRepr arp;
  arp.operation = op;
  arp.sender_mac = cfg_.mac;
  arp.sender_ip = cfg_.address ? cfg_.address->address() : Ipv4Address();
  arp.target_mac = target_mac;
  arp.target_ip = target_ip;
  arp.emit(b.append(wire::ArpRepr::kLen));
  wire::EthernetRepr eth{dst_mac, cfg_.mac, wire::ethertype::kArp};
  eth.emit(b.push_front(wire::kEthernetHeaderLen));
  // Pad to the 60-byte Ethernet minimum as Linux does.
  if (b.size() < 60) {
    auto pad = b.append(60 - b.size());
    std::fill(pad.begin(), pad.end(), uint8_t{0});
  }
  transmit(std::move(b));
}

void Stack::link_output(PacketBuffer ip_packet, MacAddress dst, Instant now) {
  wire::EthernetRepr eth{dst, cfg_.mac, wire::ethertype::kIpv4};
  eth.emit(ip_packet.push_front(wire::kEthernetHeaderLen));
  transmit(std::move(ip_packet));
}

void Stack::neighbour_output(PacketBuffer ip_packet, Ipv4Address next_hop, uint64_t owner,
                             Instant now) {
  if (auto mac = arp_.lookup(next_hop, now)) return link_output(std::move(ip_packet), *mac, now);
  ArpCache::Pending p{std::move(ip_packet), owner};
  switch (arp_.enqueue(next_hop, p, now)) {
    case ArpCache::Enqueue::kSendRequest:
      ++stats_.arp.QueuedPackets;
      ++stats_.arp.OutRequests;
      return send_arp(wire::arp_op::kRequest, MacAddress::broadcast(), MacAddress(), next_hop, now);
    case ArpCache::Enqueue::kQueued:
      ++stats_.arp.QueuedPackets;
      return;
    case ArpCache::Enqueue::kQueueFull:
    case ArpCache::Enqueue::kTableFull:
      ++stats_.arp.QueueDrops;
      ++stats_.ip.OutDiscards;
      return stats_.count_drop(DropReason::kArpQueueFull);
  }
}

void Stack::run_arp_timers(Instant now) {
  if (arp_.next_deadline() > now) return;
  arp_requests_.clear();
  arp_failures_.clear();
  arp_.poll(now, arp_requests_, arp_failures_);
  for (const auto& r : arp_requests_) {
    ++stats_.arp.OutRequests;
    // A probe of a known neighbour goes unicast (RFC 1122 2.3.2.1).
    send_arp(wire::arp_op::kRequest, r.unicast_to.value_or(MacAddress::broadcast()), MacAddress(),
             r.target, now);
  }
  for (auto& f : arp_failures_) {
    ++stats_.arp.Failed;
    for (auto& p : f.packets) {
      ++stats_.ip.OutDiscards;
      stats_.count_drop(DropReason::kArpFailed);
      if (p.owner != 0) neighbour_failed(p.owner, now);
    }
  }
  arp_failures_.clear();
}

}  // namespace shunt
