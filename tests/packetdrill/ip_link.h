// IpLink: the device packetdrill's netdev stands for. packetdrill speaks IP
// packets (so_testing.c passes layer 3 both ways); the Stack speaks
// Ethernet. IpLink adds and strips the Ethernet header and plays the
// neighbour: every ARP request the stack sends is answered at once with
// the peer's MAC, so no ARP frame ever reaches the script.
//
// No packet leaves the process: transmitted frames wait in a queue until
// the adapter hands them to packetdrill (netdev_receive), and frames only
// come in from packetdrill (netdev_send).
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/device.h"

namespace shunt::packetdrill {

class IpLink : public NetDevice {
 public:
  // packetdrill's tun device has TSO (a 5,840-byte write leaves as one
  // segment); shunt's DeviceInfo has no TSO/GSO size and the stack always
  // cuts segments at the MSS, so this device cannot offer it (README.md).
  IpLink(BufferPool& pool, MacAddress stack_mac, MacAddress peer_mac, uint32_t mtu);

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  DeviceInfo info() const override;

  // From packetdrill: one IP packet for the stack. False if it is empty or
  // too large for a buffer.
  bool inject(Bytes ip_packet);

  // An IP packet the stack sent, with when it left.
  struct Sent {
    std::vector<uint8_t> ip;
    Instant at;
  };
  bool has_sent() const { return !sent_.empty(); }
  Sent take_sent();

 private:
  void answer_arp(Bytes arp);

  BufferPool& pool_;
  MacAddress stack_mac_;
  MacAddress peer_mac_;
  uint32_t mtu_;
  std::deque<PacketBuffer> rx_;
  std::deque<Sent> sent_;
};

}  // namespace shunt::packetdrill
