// Builders for hand-made frames in tests.
#pragma once

#include <cstring>
#include <vector>

#include "stack/buffer/buffer_pool.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace shunt::testing {

// Ethernet + IPv4 around an IP payload. hdr.payload_len is set from the
// payload; the other header fields (fragment fields too) are the caller's.
inline PacketBuffer ip_frame(BufferPool& pool, MacAddress src, MacAddress dst, wire::Ipv4Repr hdr,
                             Bytes ip_payload) {
  PacketBuffer b = pool.allocate(ip_payload.size());
  if (!ip_payload.empty()) std::memcpy(b.append(ip_payload.size()).data(), ip_payload.data(), ip_payload.size());
  hdr.payload_len = static_cast<uint16_t>(ip_payload.size());
  hdr.emit(b.push_front(wire::Ipv4Repr::kMinHeaderLen));
  wire::EthernetRepr{dst, src, wire::ethertype::kIpv4}.emit(b.push_front(wire::kEthernetHeaderLen));
  return b;
}

inline wire::Ipv4Repr ip_header(Ipv4Address src, Ipv4Address dst, uint8_t proto, uint16_t ident = 1) {
  wire::Ipv4Repr h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.ident = ident;
  h.ttl = 64;
  return h;
}

// A whole UDP datagram (header + data) with a correct checksum.
inline std::vector<uint8_t> udp_datagram(Ipv4Address src, Ipv4Address dst, uint16_t sport,
                                         uint16_t dport, Bytes data) {
  std::vector<uint8_t> d(wire::UdpRepr::kHeaderLen + data.size());
  if (!data.empty()) std::memcpy(d.data() + wire::UdpRepr::kHeaderLen, data.data(), data.size());
  wire::UdpRepr u;
  u.src_port = sport;
  u.dst_port = dport;
  u.payload_len = static_cast<uint16_t>(data.size());
  u.emit(d, src, dst);
  return d;
}

inline std::vector<uint8_t> icmp_message(const wire::IcmpRepr& m) {
  std::vector<uint8_t> d(m.len());
  m.emit(d);
  return d;
}

inline PacketBuffer arp_frame(BufferPool& pool, MacAddress eth_dst, const wire::ArpRepr& arp) {
  PacketBuffer b = pool.allocate(wire::ArpRepr::kLen);
  arp.emit(b.append(wire::ArpRepr::kLen));
  wire::EthernetRepr{eth_dst, arp.sender_mac, wire::ethertype::kArp}.emit(
      b.push_front(wire::kEthernetHeaderLen));
  return b;
}

}  // namespace shunt::testing
