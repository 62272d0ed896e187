// PacketDevice: Ethernet frames through an AF_PACKET socket bound to one
// interface (packet(7)), typically one end of a veth pair whose other end is
// in the kernel peer's network namespace, or a NIC.
//
// - SOCK_RAW: frames include the Ethernet header, both ways.
// - A classic BPF filter (SO_ATTACH_FILTER, socket(7);
//   Documentation/networking/filter.rst) runs in the kernel before a frame is
//   copied: only frames to the stack's MAC, broadcast and (optionally)
//   multicast reach the socket. Everything else the interface sees (the
//   kernel's own traffic, other hosts' frames on a bridge) costs no copy.
// - The stack's MAC is the interface's own by default. Another MAC is added
//   to the interface's unicast filter (PACKET_ADD_MEMBERSHIP with
//   PACKET_MR_UNICAST) so that a NIC accepts it without going promiscuous.
//   Either way the kernel must not own the stack's IP on this interface
//   (docs/design.md section 8): it would answer the stack's peers itself.
// - Our own transmissions are not read back: PACKET_IGNORE_OUTGOING (Linux
//   4.20) drops them in the kernel, and frames marked PACKET_OUTGOING in
//   sll_pkttype are also skipped if the option is missing.
// - Batched: recvmmsg(2) and sendmmsg(2), up to kBatch frames per syscall.
//   The device keeps up to kBatch empty receive buffers from the pool
//   between calls (they count in BufferPool::outstanding()).
// - PACKET_AUXDATA delivers a struct tpacket_auxdata per frame. A frame from
//   a local sender (the veth peer) usually has CHECKSUM_PARTIAL: its TCP or
//   UDP checksum field holds only the pseudo-header sum, because the
//   "hardware" that would finish it never runs. The kernel reports that as
//   TP_STATUS_CSUMNOTREADY. tpacket_auxdata carries no checksum offsets, so
//   this device parses the IPv4 header and writes the full TCP/UDP checksum
//   into the frame (complete_l4_checksum below) before handing it up; the
//   stack then verifies it like any other.
// - Over veth the kernel also hands over GSO "super-frames" of up to 64 KiB
//   (a TCP sender in the peer namespace, TSO on by default on veth). They are
//   received whole: each receive slot is a standard buffer plus an overflow
//   area, and a frame that spills over is copied into a buffer of the right
//   size class. Its IPv4 total length is right, so the stack sees one large
//   TCP segment (as the kernel's own stack does after GRO). A UDP GSO frame
//   (UDP_SEGMENT) cannot be split without the GSO size, which only
//   PACKET_VNET_HDR reports (planned): it is dropped and counted rather than
//   delivered as one merged datagram.
// - Frames with a VLAN tag that the kernel already removed
//   (TP_STATUS_VLAN_VALID) belong to a VLAN the stack does not serve; they
//   are dropped and counted.
// - Not thread-safe: like the BufferPool its receive buffers come from, a
//   device is used under its stack's lock (docs/design.md section 3).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "driver/device_stats.h"
#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

struct PacketOptions {
  // The interface to bind to (must exist and be an Ethernet device).
  std::string interface {};
  // The stack's MAC; all zero means the interface's own MAC.
  MacAddress mac{};
  // Also accept multicast frames (broadcast is always accepted).
  bool accept_multicast = true;
  // Socket buffer sizes requested with SO_RCVBUFFORCE/SO_SNDBUFFORCE (the
  // plain options, capped by net.core.rmem_max/wmem_max, without
  // CAP_NET_ADMIN). 0 keeps the kernel default.
  int rcvbuf_bytes = 4 << 20;
  int sndbuf_bytes = 4 << 20;
};

struct PacketDeviceStats : DeviceStats {
  uint64_t rx_checksum_completed = 0;      // TP_STATUS_CSUMNOTREADY frames fixed up
  uint64_t rx_checksum_partial_other = 0;  // ... that were not IPv4 TCP/UDP (left as they are)
  uint64_t rx_outgoing_skipped = 0;        // our own frames looped back (PACKET_OUTGOING)
  uint64_t rx_vlan_dropped = 0;            // frames of a VLAN the kernel had untagged
  uint64_t rx_truncated = 0;               // larger than a receive slot (MSG_TRUNC)
  uint64_t rx_large = 0;                   // frames copied out of the overflow area (GSO, jumbo)
  uint64_t rx_oversize_dropped = 0;        // larger than the MTU and not IPv4 TCP (UDP GSO)
};

class PacketDevice final : public NetDevice {
 public:
  static constexpr size_t kBatch = 32;
  // The largest frame a slot takes: a 64 KiB IP packet plus Ethernet and a tag.
  static constexpr size_t kMaxFrame = 65535 + 14 + 4;

  // Opens the socket and binds it. Buffers for received frames come from
  // `pool`, which must outlive the device. The error is one line for the user
  // naming the problem and the fix (no such interface, not Ethernet, no
  // CAP_NET_RAW, ...).
  static Expected<std::unique_ptr<PacketDevice>, std::string> open(const PacketOptions& options,
                                                                   BufferPool& pool);
  ~PacketDevice() override;
  PacketDevice(const PacketDevice&) = delete;
  PacketDevice& operator=(const PacketDevice&) = delete;

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  // The interface MTU read when the device was opened.
  DeviceInfo info() const override { return DeviceInfo{.mtu = mtu_}; }
  int fd() const override { return fd_; }

  const std::string& interface() const { return interface_; }
  int ifindex() const { return ifindex_; }
  // The MAC the filter accepts (the stack's).
  MacAddress mac() const { return mac_; }
  // Whether the kernel drops our own transmissions (PACKET_IGNORE_OUTGOING).
  bool ignores_outgoing_in_kernel() const { return ignore_outgoing_; }

  const PacketDeviceStats& stats() const { return stats_; }
  int last_rx_error() const { return last_rx_error_; }
  int last_tx_error() const { return last_tx_error_; }

 private:
  PacketDevice(int fd, BufferPool& pool);

  int fd_;
  BufferPool& pool_;
  std::string interface_;
  int ifindex_ = 0;
  MacAddress mac_;
  uint32_t mtu_ = 1500;
  bool ignore_outgoing_ = false;
  PacketDeviceStats stats_;
  int last_rx_error_ = 0;
  int last_tx_error_ = 0;

  // Receive slots, reused across calls. The overflow areas (kBatch x 64 KiB)
  // are allocated once and only touched by oversized frames.
  std::array<PacketBuffer, kBatch> slot_buf_;
  std::unique_ptr<uint8_t[]> overflow_;
  std::vector<uint8_t> control_;  // kBatch cmsg areas for tpacket_auxdata
};

// If `frame` is an unfragmented IPv4 TCP or UDP packet (in Ethernet, with at
// most one 802.1Q tag), computes its transport checksum over the pseudo
// header and the whole segment and stores it (RFC 9293 3.1, RFC 768; a UDP
// sum of 0 is sent as 0xffff). Returns false, leaving the frame as it is, for
// anything else or when a length does not add up.
bool complete_l4_checksum(MutableBytes frame);

}  // namespace shunt
