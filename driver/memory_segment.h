// MemorySegment: a simulated Ethernet switch that connects several in-memory
// ports inside one process. Simulations and unit tests wire stacks together
// with it: each stack transmits through and receives from its own port.
//
//   MemorySegment seg;
//   MemoryPort& a = seg.add_port();       // a NetDevice for stack A
//   MemoryPort& b = seg.add_port(9000);   // a jumbo port for stack B
//   // a.transmit(...) lands in b's receive queue (and in every other port's
//   // queue while the destination MAC is still unknown).
//
// Behaviour (a learning switch, IEEE 802.1D in miniature):
// - It learns source MAC -> port from every transmitted frame (bytes 6..11),
//   ignoring multicast source addresses, which are invalid.
// - A frame to a learned unicast MAC goes to that port only; when that port
//   is the sender's own port the frame is filtered (a real switch does not
//   send a frame back out of the port it came in on).
// - Broadcast, multicast and unknown unicast flood to every other port.
// - Delivery is immediate: the link has no latency and never loses a frame
//   on its own. Latency, loss and the rest come from a RuleFaultDevice
//   (driver/rule_fault_device.h) wrapped around a port.
// - Frames move: a frame is cloned only when flooding to several ports, and
//   then for all receivers but the last.
// - Frames shorter than an Ethernet header (14 bytes) are dropped at the
//   sender (tx_dropped). A frame longer than the receiving port's mtu + 14
//   is dropped at that port (rx_dropped), as is a frame that finds the port's
//   receive queue full.
//
// The segment owns its ports; their addresses stay valid for the segment's
// lifetime. Not thread-safe (used under one lock or in one thread, like the
// BufferPool the frames come from).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "driver/device_stats.h"
#include "stack/base/addr.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

class MemorySegment;

// One port of a MemorySegment. Created by MemorySegment::add_port().
class MemoryPort final : public NetDevice {
 public:
  MemoryPort(const MemoryPort&) = delete;
  MemoryPort& operator=(const MemoryPort&) = delete;

  // Hands every frame to the segment (each element is left empty).
  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  // Pops up to `max` frames from the receive queue, oldest first.
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  DeviceInfo info() const override { return DeviceInfo{.mtu = mtu_}; }
  // Frames waiting to be received are work for "now": a harness that only
  // looks at deadlines (after an application sent frames between two
  // settles) still delivers them before moving the clock.
  Instant next_deadline() const override { return rx_queue_.empty() ? kNever : Instant::min(); }

  // rx_frames/rx_bytes count frames accepted into the receive queue;
  // tx_frames/tx_bytes count frames accepted from the stack (runts excluded).
  const DeviceStats& stats() const { return stats_; }
  // Frames waiting in the receive queue.
  size_t pending() const { return rx_queue_.size(); }
  size_t queue_capacity() const { return capacity_; }
  // Position in the segment (0 for the first add_port()).
  size_t index() const { return index_; }

 private:
  friend class MemorySegment;
  MemoryPort(MemorySegment& segment, size_t index, uint32_t mtu, size_t capacity)
      : segment_(segment), index_(index), mtu_(mtu), capacity_(capacity) {}
  // Called by the segment: whether a frame of this size fits (the mtu and the
  // queue); counts rx_dropped when it does not.
  bool admit(size_t frame_size);
  // Called by the segment after admit(): queues the frame.
  void deliver(PacketBuffer frame);

  MemorySegment& segment_;
  size_t index_;
  uint32_t mtu_;
  size_t capacity_;
  std::deque<PacketBuffer> rx_queue_;
  DeviceStats stats_;
};

// Switch-level counters (per-port counters live in MemoryPort::stats()).
struct SegmentStats {
  uint64_t unicast = 0;   // frames sent to one learned port
  uint64_t flooded = 0;   // frames sent to every other port
  uint64_t filtered = 0;  // frames whose destination sits on the sender's port
};

class MemorySegment {
 public:
  static constexpr size_t kDefaultQueueCapacity = 4096;

  MemorySegment() = default;
  MemorySegment(const MemorySegment&) = delete;
  MemorySegment& operator=(const MemorySegment&) = delete;

  // A new port. `mtu` is the largest Ethernet payload it accepts and reports
  // in info(); `queue_capacity` bounds its receive queue, in frames.
  MemoryPort& add_port(uint32_t mtu = 1500, size_t queue_capacity = kDefaultQueueCapacity);

  size_t port_count() const { return ports_.size(); }
  MemoryPort& port(size_t i) { return *ports_.at(i); }
  const MemoryPort& port(size_t i) const { return *ports_.at(i); }

  // The port a MAC address was learned on, if any.
  std::optional<size_t> lookup(const MacAddress& mac) const;
  // Forgets every learned address (as after a switch reboot).
  void clear_mac_table() { mac_table_.clear(); }
  const SegmentStats& stats() const { return stats_; }

 private:
  friend class MemoryPort;
  // Switches one frame (at least 14 bytes) sent by `from`.
  void forward(MemoryPort& from, PacketBuffer frame);

  std::deque<std::unique_ptr<MemoryPort>> ports_;
  std::unordered_map<MacAddress, MemoryPort*> mac_table_;
  SegmentStats stats_;
};

// Two ports on a private segment: the in-memory equivalent of a cable.
struct MemoryPair {
  explicit MemoryPair(uint32_t mtu = 1500,
                      size_t queue_capacity = MemorySegment::kDefaultQueueCapacity)
      : a(segment.add_port(mtu, queue_capacity)), b(segment.add_port(mtu, queue_capacity)) {}
  MemoryPair(const MemoryPair&) = delete;
  MemoryPair& operator=(const MemoryPair&) = delete;

  MemorySegment segment;
  MemoryPort& a;
  MemoryPort& b;
};

}  // namespace shunt
