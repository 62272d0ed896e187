#include "driver/capture_device.h"

#include <utility>

#include "stack/base/check.h"

namespace shunt {

CaptureDevice::CaptureDevice(std::unique_ptr<NetDevice> inner, std::unique_ptr<PcapWriter> writer,
                             int64_t epoch_offset_ns, FlushPolicy flush)
    : CaptureDevice(*inner, std::move(writer), epoch_offset_ns, flush) {
  owned_ = std::move(inner);
}

CaptureDevice::CaptureDevice(NetDevice& inner, std::unique_ptr<PcapWriter> writer,
                             int64_t epoch_offset_ns, FlushPolicy flush)
    : inner_(inner), writer_(std::move(writer)), epoch_offset_ns_(epoch_offset_ns), flush_(flush) {
  SHUNT_CHECK(writer_ != nullptr);
}

bool CaptureDevice::keep(Bytes frame, bool outbound) {
  if (filter_.empty() || filter_.matches(frame, outbound)) return true;
  ++filtered_;
  return false;
}

void CaptureDevice::transmit(std::span<PacketBuffer> frames, Instant now) {
  const int64_t ts = unix_ns(now);
  // Notes apply only when they describe exactly this batch.
  const bool notes = tx_notes_.size() == frames.size();
  size_t n = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const PacketBuffer& f = frames[i];
    if (!f || !keep(f.bytes(), true)) continue;
    writer_->write(
        f.bytes(), ts, FrameDirection::kOutbound,
        notes ? std::span<const std::string>(tx_notes_[i]) : std::span<const std::string>());
    ++n;
  }
  tx_notes_ = {};
  captured_tx_ += n;
  if (n > 0 && flush_ == FlushPolicy::kEveryBatch) writer_->flush();
  inner_.transmit(frames, now);
}

size_t CaptureDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  const size_t first = out.size();
  const size_t n = inner_.receive(out, max, now);
  const int64_t ts = unix_ns(now);
  if (holding_) {
    rx_first_ = staged_.size();
    rx_count_ = out.size() - first;
    for (size_t i = first; i < out.size(); ++i) {
      stage(out[i].bytes(), ts, FrameDirection::kInbound, keep(out[i].bytes(), false), {});
    }
    return n;
  }
  size_t written = 0;
  for (size_t i = first; i < out.size(); ++i) {
    if (!keep(out[i].bytes(), false)) continue;
    writer_->write(out[i].bytes(), ts, FrameDirection::kInbound);
    ++written;
  }
  captured_rx_ += written;
  if (written > 0 && flush_ == FlushPolicy::kEveryBatch) writer_->flush();
  return n;
}

void CaptureDevice::stage(Bytes frame, int64_t ts, FrameDirection direction, bool keep,
                          std::span<const std::string> notes) {
  Staged s;
  s.offset = staged_bytes_.size();
  s.ts = ts;
  s.direction = direction;
  s.keep = keep;
  if (keep) {
    // A copy: a rule may change the frame (corrupt, truncate) before it is
    // written, and the capture shows the bytes that crossed the wire.
    s.len = frame.size();
    staged_bytes_.insert(staged_bytes_.end(), frame.begin(), frame.end());
    s.notes.assign(notes.begin(), notes.end());
  }
  staged_.push_back(std::move(s));
}

void CaptureDevice::annotate_transmit(std::span<const std::vector<std::string>> notes) {
  tx_notes_ = notes;
}

void CaptureDevice::record_unsent(Bytes frame, Instant t, std::span<const std::string> notes) {
  const bool k = keep(frame, true);
  if (holding_) {
    stage(frame, unix_ns(t), FrameDirection::kOutbound, k, notes);
    return;
  }
  if (!k) return;
  writer_->write(frame, unix_ns(t), FrameDirection::kOutbound, notes);
  ++captured_unsent_;
  if (flush_ == FlushPolicy::kEveryBatch) writer_->flush();
}

void CaptureDevice::begin_receive() {
  // Keeping frames back is only worth it when the file can hold notes.
  holding_ = writer_->supports_comments();
  rx_first_ = 0;
  rx_count_ = 0;
}

void CaptureDevice::annotate_received(size_t index, std::string_view note) {
  if (!holding_ || index >= rx_count_) return;
  Staged& s = staged_[rx_first_ + index];
  if (s.keep) s.notes.emplace_back(note);
}

void CaptureDevice::commit_received() {
  size_t written = 0;
  for (size_t i = 0; i < staged_.size(); ++i) {
    const Staged& s = staged_[i];
    if (!s.keep) continue;
    writer_->write(Bytes(staged_bytes_.data() + s.offset, s.len), s.ts, s.direction, s.notes);
    if (s.direction == FrameDirection::kInbound) {
      ++captured_rx_;
    } else {
      ++captured_unsent_;
    }
    ++written;
  }
  staged_.clear();
  staged_bytes_.clear();
  holding_ = false;
  rx_first_ = 0;
  rx_count_ = 0;
  if (written > 0 && flush_ == FlushPolicy::kEveryBatch) writer_->flush();
}

}  // namespace shunt
