#include "stack/tcp/send_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "stack/base/check.h"

namespace shunt::tcp {

namespace detail {

BlockRing::BlockRing(BlockRing&& o) noexcept
    : cache_(o.cache_),
      slots_(std::move(o.slots_)),
      head_(std::exchange(o.head_, 0)),
      count_(std::exchange(o.count_, 0)),
      in_use_(std::exchange(o.in_use_, 0)) {
  o.slots_.clear();
}

BlockRing& BlockRing::operator=(BlockRing&& o) noexcept {
  if (this != &o) {
    clear();
    cache_ = o.cache_;
    slots_ = std::move(o.slots_);
    o.slots_.clear();
    head_ = std::exchange(o.head_, 0);
    count_ = std::exchange(o.count_, 0);
    in_use_ = std::exchange(o.in_use_, 0);
  }
  return *this;
}

void BlockRing::grow_slots(size_t min_slots) {
  size_t n = std::max<size_t>(slots_.size(), 4);
  while (n < min_slots) n *= 2;
  if (n == slots_.size()) return;
  std::vector<Block> grown(n);
  for (size_t i = 0; i < count_; ++i) {
    grown[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
  }
  slots_ = std::move(grown);
  head_ = 0;
}

uint8_t* BlockRing::ensure(size_t i) {
  if (i >= count_) {
    if (i >= slots_.size()) grow_slots(i + 1);
    count_ = i + 1;  // the new slots are empty: slots outside [head, head+count) are null
  }
  Block& slot = slots_[(head_ + i) & (slots_.size() - 1)];
  if (!slot) {
    slot = cache_->take();
    ++in_use_;
  }
  return slot.get();
}

void BlockRing::pop_front() {
  SHUNT_CHECK(count_ > 0);
  Block& slot = slots_[head_];
  if (slot) {
    --in_use_;
    cache_->give(std::move(slot));
  }
  slot.reset();  // keeps the invariant that slots outside the live range are null
  head_ = (head_ + 1) & (slots_.size() - 1);
  --count_;
}

void BlockRing::clear() {
  while (count_ > 0) pop_front();
  head_ = 0;  // the slot array stays: a few pointers, reused by the next write
}

void BlockRing::consume_front(size_t& front, size_t n, bool empty) {
  if (empty) {
    clear();
    front = 0;
    return;
  }
  front += n;
  while (front >= kBlockSize) {
    pop_front();
    front -= kBlockSize;
  }
}

}  // namespace detail

namespace {
constexpr size_t kB = SendBuffer::kBlockSize;
}  // namespace

SendBuffer::SendBuffer(BlockCache& cache, size_t capacity) : blocks_(cache), capacity_(capacity) {}

void SendBuffer::set_capacity(size_t c) { capacity_ = c; }

size_t SendBuffer::append(std::span<const uint8_t> data) {
  const size_t n = std::min(data.size(), space());
  size_t pos = front_ + size_;
  size_t done = 0;
  while (done < n) {
    const size_t off = pos % kB;
    const size_t chunk = std::min(kB - off, n - done);
    std::memcpy(blocks_.ensure(pos / kB) + off, data.data() + done, chunk);
    done += chunk;
    pos += chunk;
  }
  size_ += n;
  return n;
}

void SendBuffer::copy_out(size_t offset, std::span<uint8_t> out) const {
  SHUNT_CHECK(offset <= size_ && out.size() <= size_ - offset);
  size_t pos = front_ + offset;
  size_t done = 0;
  while (done < out.size()) {
    const size_t off = pos % kB;
    const size_t chunk = std::min(kB - off, out.size() - done);
    std::memcpy(out.data() + done, blocks_.get(pos / kB) + off, chunk);
    done += chunk;
    pos += chunk;
  }
}

void SendBuffer::consume(size_t n) {
  SHUNT_CHECK(n <= size_);
  size_ -= n;
  // Drained: every block goes back to the cache, and the next write starts
  // at the beginning of a block.
  blocks_.consume_front(front_, n, size_ == 0);
}

}  // namespace shunt::tcp
