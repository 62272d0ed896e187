#include "driver/capture_device.h"

#include <utility>

#include "stack/base/check.h"

namespace shunt {

CaptureDevice::CaptureDevice(std::unique_ptr<NetDevice> inner, std::unique_ptr<PcapWriter> writer,
                             int64_t epoch_offset_ns, FlushPolicy flush)
    : inner_(std::move(inner)),
      writer_(std::move(writer)),
      epoch_offset_ns_(epoch_offset_ns),
      flush_(flush) {
  SHUNT_CHECK(inner_ != nullptr);
  SHUNT_CHECK(writer_ != nullptr);
}

void CaptureDevice::transmit(std::span<PacketBuffer> frames, Instant now) {
  const int64_t ts = unix_ns(now);
  size_t n = 0;
  for (const PacketBuffer& f : frames) {
    if (!f) continue;
    writer_->write(f.bytes(), ts);
    ++n;
  }
  captured_tx_ += n;
  if (n > 0 && flush_ == FlushPolicy::kEveryBatch) writer_->flush();
  inner_->transmit(frames, now);
}

size_t CaptureDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  const size_t first = out.size();
  const size_t n = inner_->receive(out, max, now);
  const int64_t ts = unix_ns(now);
  for (size_t i = first; i < out.size(); ++i) writer_->write(out[i].bytes(), ts);
  captured_rx_ += out.size() - first;
  if (out.size() > first && flush_ == FlushPolicy::kEveryBatch) writer_->flush();
  return n;
}

}  // namespace shunt
