// CaptureDevice: a decorator that writes every frame passing through any
// NetDevice, in both directions, to a pcap file (pcap_writer.h), like
// smoltcp's phy::PcapWriter or gVisor's link/sniffer.
//
//   auto tap = TapDevice::open(...);
//   auto writer = PcapWriter::open("/tmp/shunt.pcap");
//   CaptureDevice dev(std::move(*tap), std::move(*writer),
//                     realtime_offset_from_monotonic_ns());
//
// - Outbound frames are written before they are handed to the inner device
//   (so a frame the inner device then drops is still in the capture, as the
//   stack sent it); inbound frames after the inner device delivered them.
//   Placement decides what a capture shows: CaptureDevice(FaultInjector(tap))
//   records what the stack sent and received; FaultInjector(CaptureDevice(tap))
//   records what crossed the wire.
// - Timestamps: the `now` passed to transmit/receive plus `epoch_offset_ns`,
//   so that the stack stays clock-free; the offset maps the caller's time line
//   to Unix time (realtime_offset_from_monotonic_ns() for CLOCK_MONOTONIC
//   instants; 0 in a simulation, whose captures then start at 1970).
// - Flush policy: FlushPolicy::kEveryBatch (the default) flushes the writer at
//   the end of every transmit() and receive() call that captured a frame: one
//   write(2) per batch, and the file is complete up to the last batch (tail it
//   with `tshark -r`, or read it after a crash). kWhenFull only writes when
//   the writer's 64 KiB buffer fills and on destruction: fewer syscalls for
//   long benchmark captures.
// - A write error is counted by the writer (writer().write_errors()) and never
//   disturbs the traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "driver/pcap_writer.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

class CaptureDevice final : public NetDevice {
 public:
  enum class FlushPolicy : uint8_t { kEveryBatch, kWhenFull };

  CaptureDevice(std::unique_ptr<NetDevice> inner, std::unique_ptr<PcapWriter> writer,
                int64_t epoch_offset_ns, FlushPolicy flush = FlushPolicy::kEveryBatch);

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  Instant next_deadline() const override { return inner_->next_deadline(); }
  DeviceInfo info() const override { return inner_->info(); }
  int fd() const override { return inner_->fd(); }

  NetDevice& inner() { return *inner_; }
  const NetDevice& inner() const { return *inner_; }
  PcapWriter& writer() { return *writer_; }
  const PcapWriter& writer() const { return *writer_; }
  // Frames handed to the writer, by direction.
  uint64_t captured_tx() const { return captured_tx_; }
  uint64_t captured_rx() const { return captured_rx_; }

 private:
  int64_t unix_ns(Instant now) const { return to_ns(now) + epoch_offset_ns_; }

  std::unique_ptr<NetDevice> inner_;
  std::unique_ptr<PcapWriter> writer_;
  int64_t epoch_offset_ns_;
  FlushPolicy flush_;
  uint64_t captured_tx_ = 0;
  uint64_t captured_rx_ = 0;
};

}  // namespace shunt
