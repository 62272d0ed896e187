#include "driver/fault_injector.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "stack/base/check.h"
#include "stack/wire/ethernet.h"

namespace shunt {
namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;
// Longest wait the rate limiter computes (about 31 years): keeps the
// arithmetic far from the ends of Instant's range.
constexpr uint64_t kMaxWaitNs = uint64_t{1} << 60;

// Time to send `bytes` at `bps`, in whole nanoseconds.
uint64_t wire_time_ns(uint64_t bytes, uint64_t bps, bool round_up) {
  const unsigned __int128 bit_ns = static_cast<unsigned __int128>(bytes) * 8 * kNanosPerSecond;
  unsigned __int128 ns = bit_ns / bps;
  if (round_up && ns * bps != bit_ns) ++ns;
  return ns > kMaxWaitNs ? kMaxWaitNs : static_cast<uint64_t>(ns);
}

}  // namespace

// ---- one direction ----------------------------------------------------------

FaultInjector::Direction::Direction(Rng& master)
    : drop_rng_(master.next()),
      duplicate_rng_(master.next()),
      corrupt_rng_(master.next()),
      reorder_rng_(master.next()),
      jitter_rng_(master.next()) {}

void FaultInjector::Direction::push(PacketBuffer frame, Instant now) {
  // 1. mtu clamp
  if (config.mtu != 0 && frame.size() > size_t{config.mtu} + wire::kEthernetHeaderLen) {
    ++stats.mtu_dropped;
    return;
  }
  // 2. drop
  if (chance(drop_rng_, config.drop)) {
    ++stats.dropped;
    return;
  }
  // 3. duplicate: the copy follows the original through the later stages.
  PacketBuffer copy;
  if (chance(duplicate_rng_, config.duplicate)) {
    copy = frame.clone();
    ++stats.duplicated;
  }
  for (PacketBuffer* f : {&frame, &copy}) {
    if (!*f) continue;
    // 4. corrupt
    if (chance(corrupt_rng_, config.corrupt)) corrupt(*f);
    // 5.-7.
    reorder_stage(std::move(*f), now);
  }
}

void FaultInjector::Direction::corrupt(PacketBuffer& frame) {
  const size_t first = config.corrupt_headers ? 0 : wire::kEthernetHeaderLen;
  if (frame.size() <= first) return;  // no byte to corrupt: not counted
  const uint64_t bit = corrupt_rng_.below((frame.size() - first) * 8);
  frame.data()[first + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  ++stats.corrupted;
}

void FaultInjector::Direction::reorder_stage(PacketBuffer frame, Instant t) {
  const bool can_hold = config.reorder_hold > 0 || config.reorder_delay > Duration::zero();
  if (config.reorder > 0.0 && can_hold && chance(reorder_rng_, config.reorder)) {
    const Instant release_at =
        config.reorder_delay > Duration::zero() ? t + config.reorder_delay : kNever;
    held_.push_back(Held{std::move(frame), config.reorder_hold, release_at});
    ++stats.reordered;
    return;
  }
  rate_stage(std::move(frame), t);
  // This frame overtook every held frame: count them down, and let those
  // that reach zero follow it, in the order they were held.
  for (size_t i = 0; i < held_.size();) {
    if (held_[i].remaining > 0 && --held_[i].remaining == 0) {
      PacketBuffer released = std::move(held_[i].frame);
      held_.erase(held_.begin() + static_cast<ptrdiff_t>(i));
      rate_stage(std::move(released), t);
    } else {
      ++i;
    }
  }
}

Instant FaultInjector::Direction::conform_time(size_t bytes, Instant arrived) const {
  if (config.rate_bps == 0 || !tat_valid_) return arrived;
  // A frame larger than the bucket waits for a full bucket and leaves the
  // bucket in debt; otherwise it needs `bytes` tokens. At t < tat_ the
  // bucket holds bucket - (tat_ - t) * rate, so it conforms from
  // tat_ - (bucket - need) / rate on.
  const uint64_t bucket = config.rate_bucket_bytes;
  const uint64_t need = std::min<uint64_t>(bytes, bucket);
  const uint64_t slack_ns = wire_time_ns(bucket - need, config.rate_bps, /*round_up=*/false);
  const Instant t = tat_ - Duration(static_cast<int64_t>(slack_ns));
  return std::max(arrived, t);
}

Instant FaultInjector::Direction::rate_head_release() const {
  if (rate_queue_.empty()) return kNever;
  const Waiting& head = rate_queue_.front();
  return conform_time(head.frame.size(), head.arrived);
}

void FaultInjector::Direction::rate_send(PacketBuffer frame, Instant t) {
  if (config.rate_bps != 0) {
    const uint64_t cost_ns = wire_time_ns(frame.size(), config.rate_bps, /*round_up=*/true);
    tat_ = (tat_valid_ ? std::max(t, tat_) : t) + Duration(static_cast<int64_t>(cost_ns));
    tat_valid_ = true;
  }
  delay_stage(std::move(frame), t);
}

void FaultInjector::Direction::rate_stage(PacketBuffer frame, Instant t) {
  if (rate_queue_.empty() && conform_time(frame.size(), t) <= t) {
    rate_send(std::move(frame), t);
    return;
  }
  if (rate_queue_.size() >= config.rate_queue_frames) {
    ++stats.rate_limited_dropped;
    return;
  }
  ++stats.rate_limited;
  rate_queue_.push_back(Waiting{std::move(frame), t});
}

void FaultInjector::Direction::delay_stage(PacketBuffer frame, Instant t) {
  Duration d = config.delay;
  if (config.jitter > Duration::zero()) {
    d += Duration(
        static_cast<int64_t>(jitter_rng_.below(static_cast<uint64_t>(config.jitter.count()) + 1)));
  }
  Instant due = t + d;
  if (config.jitter_keeps_order) due = std::max(due, last_due_);
  last_due_ = std::max(last_due_, due);
  if (due > t) ++stats.delayed;
  // multimap inserts after equal keys: equal due times keep FIFO order.
  delayed_.emplace(due, std::move(frame));
}

void FaultInjector::Direction::advance(Instant now) {
  // Events in time order: a held frame timing out, or the rate queue's head
  // getting its tokens. Either moves a frame to a later stage at the
  // event's own time.
  for (;;) {
    size_t held_index = held_.size();
    Instant held_time = kNever;
    for (size_t i = 0; i < held_.size(); ++i) {
      if (held_[i].release_at < held_time) {
        held_time = held_[i].release_at;
        held_index = i;
      }
    }
    const Instant rate_time = rate_head_release();
    if (std::min(held_time, rate_time) > now) return;
    if (held_time <= rate_time) {
      PacketBuffer released = std::move(held_[held_index].frame);
      held_.erase(held_.begin() + static_cast<ptrdiff_t>(held_index));
      rate_stage(std::move(released), held_time);
    } else {
      PacketBuffer head = std::move(rate_queue_.front().frame);
      rate_queue_.pop_front();
      rate_send(std::move(head), rate_time);
    }
  }
}

size_t FaultInjector::Direction::pop_due(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  size_t n = 0;
  while (n < max && !delayed_.empty() && delayed_.begin()->first <= now) {
    out.push_back(std::move(delayed_.begin()->second));
    delayed_.erase(delayed_.begin());
    ++stats.passed;
    ++n;
  }
  return n;
}

Instant FaultInjector::Direction::next_deadline() const {
  Instant next = rate_head_release();
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  for (const Held& h : held_) next = std::min(next, h.release_at);
  return next;
}

// ---- the device -------------------------------------------------------------

// The seed feeds one master stream that seeds every per-action stream, out
// direction first (member order).
FaultInjector::FaultInjector(NetDevice& inner, uint64_t seed)
    : inner_(inner), master_(seed), out_(master_), in_(master_) {}

void FaultInjector::transmit(std::span<PacketBuffer> frames, Instant now) {
  out_.advance(now);
  for (PacketBuffer& f : frames) {
    if (f) out_.push(std::move(f), now);
  }
  flush(now);
}

void FaultInjector::flush(Instant now) {
  out_.advance(now);
  batch_.clear();
  out_.pop_due(batch_, std::numeric_limits<size_t>::max(), now);
  // An empty transmit still lets a decorated decorator release its frames.
  if (!batch_.empty() || inner_.next_deadline() <= now) inner_.transmit(batch_, now);
  batch_.clear();
}

size_t FaultInjector::receive(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  flush(now);
  in_.advance(now);
  size_t n = in_.pop_due(out, max, now);
  while (n < max) {
    batch_.clear();
    const size_t got = inner_.receive(batch_, max - n, now);
    if (got == 0) break;
    for (PacketBuffer& f : batch_) in_.push(std::move(f), now);
    batch_.clear();
    n += in_.pop_due(out, max - n, now);
  }
  return n;
}

Instant FaultInjector::next_deadline() const {
  return std::min({out_.next_deadline(), in_.next_deadline(), inner_.next_deadline()});
}

DeviceInfo FaultInjector::info() const {
  DeviceInfo info = inner_.info();
  const FaultConfig& c = out_.config;
  if (c.mtu != 0 && c.advertise_mtu) info.mtu = std::min(info.mtu, c.mtu);
  return info;
}

}  // namespace shunt
