// NetDevice: where the stack's frames leave and arrive. Implementations live
// in driver/ (TAP, AF_PACKET, in-memory segment, decorators); the stack
// only sees this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"

namespace shunt {

struct DeviceInfo {
  // Largest IP packet the link carries (Ethernet payload), e.g. 1500.
  uint32_t mtu = 1500;
  // The device verifies received checksums (the stack may skip them).
  bool rx_checksum_offload = false;
};

class NetDevice {
 public:
  virtual ~NetDevice() = default;

  // Takes ownership of every frame in `frames` (each is moved out, leaving
  // the span's elements empty). A frame the device cannot queue is dropped
  // and counted by the device.
  virtual void transmit(std::span<PacketBuffer> frames, Instant now) = 0;

  // Appends up to `max` received frames to `out`; returns how many.
  virtual size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) = 0;

  // The earliest instant at which the device has something to do (a delayed
  // frame to release); kNever when it only reacts to calls.
  virtual Instant next_deadline() const { return kNever; }

  virtual DeviceInfo info() const = 0;

  // A file descriptor that becomes readable when frames arrive, or -1 for
  // devices that are not backed by the kernel (in-memory ones).
  virtual int fd() const { return -1; }
};

}  // namespace shunt
