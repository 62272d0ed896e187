#include "tests/packetdrill/ip_link.h"

#include <algorithm>
#include <cstring>

#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"

namespace shunt::packetdrill {

IpLink::IpLink(BufferPool& pool, MacAddress stack_mac, MacAddress peer_mac, uint32_t mtu)
    : pool_(pool), stack_mac_(stack_mac), peer_mac_(peer_mac), mtu_(mtu) {}

DeviceInfo IpLink::info() const {
  DeviceInfo d;
  d.mtu = mtu_;
  // packetdrill computes every checksum it injects; the stack still
  // verifies them (a script may send a bad one on purpose).
  d.rx_checksum_offload = false;
  return d;
}

void IpLink::transmit(std::span<PacketBuffer> frames, Instant now) {
  for (PacketBuffer& f : frames) {
    PacketBuffer frame = std::move(f);
    auto eth = wire::EthernetRepr::parse(frame.bytes());
    if (!eth) continue;
    Bytes payload = frame.bytes().subspan(wire::kEthernetHeaderLen);
    if (eth->ethertype == wire::ethertype::kArp) {
      answer_arp(payload);
    } else if (eth->ethertype == wire::ethertype::kIpv4) {
      sent_.push_back(Sent{std::vector<uint8_t>(payload.begin(), payload.end()), now});
    }
    // Anything else has no meaning to packetdrill and is dropped.
  }
}

void IpLink::answer_arp(Bytes arp) {
  auto req = wire::ArpRepr::parse(arp);
  if (!req || req->operation != wire::arp_op::kRequest) return;
  // Every address but the stack's own lives behind the peer (the scripts'
  // remote address, the gateway). A gratuitous request for our own
  // address gets no answer, as no other host owns it.
  if (req->target_ip == req->sender_ip) return;
  wire::ArpRepr reply;
  reply.operation = wire::arp_op::kReply;
  reply.sender_mac = peer_mac_;
  reply.sender_ip = req->target_ip;
  reply.target_mac = req->sender_mac;
  reply.target_ip = req->sender_ip;
  PacketBuffer b = pool_.allocate(wire::kEthernetHeaderLen + wire::ArpRepr::kLen, 0);
  auto out = b.append(wire::kEthernetHeaderLen + wire::ArpRepr::kLen);
  wire::EthernetRepr{stack_mac_, peer_mac_, wire::ethertype::kArp}.emit(out);
  reply.emit(out.subspan(wire::kEthernetHeaderLen));
  rx_.push_back(std::move(b));
}

bool IpLink::inject(Bytes ip) {
  if (ip.empty() || ip.size() + wire::kEthernetHeaderLen > BufferPool::kMaxCapacity) return false;
  PacketBuffer b = pool_.allocate(wire::kEthernetHeaderLen + ip.size(), 0);
  auto out = b.append(wire::kEthernetHeaderLen + ip.size());
  wire::EthernetRepr{stack_mac_, peer_mac_, wire::ethertype::kIpv4}.emit(out);
  std::memcpy(out.data() + wire::kEthernetHeaderLen, ip.data(), ip.size());
  rx_.push_back(std::move(b));
  return true;
}

size_t IpLink::receive(std::vector<PacketBuffer>& out, size_t max, Instant) {
  size_t n = 0;
  while (n < max && !rx_.empty()) {
    out.push_back(std::move(rx_.front()));
    rx_.pop_front();
    ++n;
  }
  return n;
}

IpLink::Sent IpLink::take_sent() {
  Sent s = std::move(sent_.front());
  sent_.pop_front();
  return s;
}

}  // namespace shunt::packetdrill
