// CaptureDevice: a decorator that writes every frame passing through any
// NetDevice, in both directions, to a pcap or pcapng file (pcap_writer.h),
// like smoltcp's phy::PcapWriter or gVisor's link/sniffer.
//
//   auto tap = TapDevice::open(...);
//   auto writer = PcapWriter::open("/tmp/shunt.pcapng", PcapWriter::kDefaultSnaplen,
//                                  CaptureFormat::kPcapng);
//   CaptureDevice dev(std::move(*tap), std::move(*writer),
//                     realtime_offset_from_monotonic_ns());
//
// - Outbound frames are written before they are handed to the inner device
//   (so a frame the inner device then drops is still in the capture, as the
//   stack sent it); inbound frames after the inner device delivered them.
//   Placement decides what a capture shows: CaptureDevice(RuleFaultDevice(tap))
//   records what the stack sent and received; RuleFaultDevice(CaptureDevice(tap))
//   records what crossed the wire.
// - Fault comments: the device is a FaultObserver (fault_observer.h). With a
//   RuleFaultDevice directly outside it (RuleFaultDevice::set_observer) and a
//   pcapng writer, each frame carries one opt_comment per fault a rule
//   injected on it, outbound frames a rule ended are recorded too (with
//   "not sent" in their comment), and inbound frames are kept back during
//   the fault device's receive() until it has decided (commit_received), so
//   that their comments are known when they are written. The bytes written
//   are the wire's: an inbound frame a rule corrupts is copied before.
// - Filter: with set_filter(), only frames the CaptureFilter keeps are
//   written (capture_filter.h); the others are counted in filtered().
// - Direction: pcapng records each frame's direction (epb_flags).
// - Timestamps: the `now` passed to transmit/receive plus `epoch_offset_ns`,
//   so that the stack stays clock-free; the offset maps the caller's time line
//   to Unix time (realtime_offset_from_monotonic_ns() for CLOCK_MONOTONIC
//   instants; 0 in a simulation, whose captures then start at 1970). A frame
//   a rule ended is stamped with the time of the rule's decision.
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
#include <string>
#include <vector>

#include "driver/capture_filter.h"
#include "driver/fault_observer.h"
#include "driver/pcap_writer.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

class CaptureDevice final : public NetDevice, public FaultObserver {
 public:
  enum class FlushPolicy : uint8_t { kEveryBatch, kWhenFull };

  CaptureDevice(std::unique_ptr<NetDevice> inner, std::unique_ptr<PcapWriter> writer,
                int64_t epoch_offset_ns, FlushPolicy flush = FlushPolicy::kEveryBatch);
  // `inner` must outlive this device.
  CaptureDevice(NetDevice& inner, std::unique_ptr<PcapWriter> writer, int64_t epoch_offset_ns,
                FlushPolicy flush = FlushPolicy::kEveryBatch);
  CaptureDevice(const CaptureDevice&) = delete;
  CaptureDevice& operator=(const CaptureDevice&) = delete;

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  Instant next_deadline() const override { return inner_.next_deadline(); }
  DeviceInfo info() const override { return inner_.info(); }
  int fd() const override { return inner_.fd(); }

  // FaultObserver.
  bool wants_notes() const override { return writer_->supports_comments(); }
  void annotate_transmit(std::span<const std::vector<std::string>> notes) override;
  void record_unsent(Bytes frame, Instant t, std::span<const std::string> notes) override;
  void begin_receive() override;
  void annotate_received(size_t index, std::string_view note) override;
  void commit_received() override;

  void set_filter(CaptureFilter filter) { filter_ = std::move(filter); }
  const CaptureFilter& filter() const { return filter_; }

  NetDevice& inner() { return inner_; }
  const NetDevice& inner() const { return inner_; }
  PcapWriter& writer() { return *writer_; }
  const PcapWriter& writer() const { return *writer_; }
  // Frames handed to the writer, by direction, and outbound frames a fault
  // rule ended (record_unsent).
  uint64_t captured_tx() const { return captured_tx_; }
  uint64_t captured_rx() const { return captured_rx_; }
  uint64_t captured_unsent() const { return captured_unsent_; }
  // Frames the filter left out.
  uint64_t filtered() const { return filtered_; }

 private:
  // A frame kept back until commit_received().
  struct Staged {
    size_t offset = 0;  // into staged_bytes_
    size_t len = 0;
    int64_t ts = 0;
    FrameDirection direction = FrameDirection::kInbound;
    bool keep = true;  // passed the filter
    std::vector<std::string> notes;
  };

  int64_t unix_ns(Instant now) const { return to_ns(now) + epoch_offset_ns_; }
  bool keep(Bytes frame, bool outbound);
  void stage(Bytes frame, int64_t ts, FrameDirection direction, bool keep,
             std::span<const std::string> notes);

  std::unique_ptr<NetDevice> owned_;
  NetDevice& inner_;
  std::unique_ptr<PcapWriter> writer_;
  int64_t epoch_offset_ns_;
  FlushPolicy flush_;
  CaptureFilter filter_;
  uint64_t captured_tx_ = 0;
  uint64_t captured_rx_ = 0;
  uint64_t captured_unsent_ = 0;
  uint64_t filtered_ = 0;

  // Observer state, valid within one call of the fault device.
  std::span<const std::vector<std::string>> tx_notes_;
  bool holding_ = false;
  size_t rx_first_ = 0;  // staged_ index of the last receive()'s first frame
  size_t rx_count_ = 0;
  std::vector<Staged> staged_;
  std::vector<uint8_t> staged_bytes_;
};

}  // namespace shunt
