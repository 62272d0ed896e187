// PacketBuffer: one frame's bytes, move-only, with headroom so that each
// layer pushes its header in front of the payload without copying, and
// consumes (pulls) its header on the way in.
//
// Storage comes from a BufferPool (buffer_pool.h). A PacketBuffer returns its
// chunk to the pool when destroyed; the pool must outlive its buffers.
//
//   [ headroom | data (head..tail) | tailroom ]
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "stack/base/check.h"

namespace shunt {

class BufferPool;

// Room for every header the stack may put in front of a transport payload:
// Ethernet (14) + 802.1Q slack (4) + IPv4 with options (60) + TCP with
// options (60) = 138, rounded up, leaving space for a virtio-net header.
inline constexpr size_t kDefaultHeadroom = 160;

namespace detail {
struct Chunk {
  BufferPool* pool;
  Chunk* next_free;
  uint32_t capacity;
  uint8_t size_class;
  // The bytes follow the header; alignas keeps them 16-byte aligned.
  alignas(16) uint8_t bytes[];
};
}  // namespace detail

class PacketBuffer {
 public:
  PacketBuffer() = default;
  ~PacketBuffer() { release(); }
  PacketBuffer(const PacketBuffer&) = delete;
  PacketBuffer& operator=(const PacketBuffer&) = delete;
  PacketBuffer(PacketBuffer&& o) noexcept
      : chunk_(std::exchange(o.chunk_, nullptr)), head_(o.head_), tail_(o.tail_) {}
  PacketBuffer& operator=(PacketBuffer&& o) noexcept {
    if (this != &o) {
      release();
      chunk_ = std::exchange(o.chunk_, nullptr);
      head_ = o.head_;
      tail_ = o.tail_;
    }
    return *this;
  }

  // True when the buffer owns storage.
  explicit operator bool() const { return chunk_ != nullptr; }

  uint8_t* data() { return chunk_->bytes + head_; }
  const uint8_t* data() const { return chunk_->bytes + head_; }
  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }
  std::span<uint8_t> bytes() { return {data(), size()}; }
  std::span<const uint8_t> bytes() const { return {data(), size()}; }

  size_t headroom() const { return head_; }
  size_t tailroom() const { return chunk_ ? chunk_->capacity - tail_ : 0; }

  // Grows the data at the front by n bytes (a header being pushed) and
  // returns them. Precondition: headroom() >= n.
  std::span<uint8_t> push_front(size_t n) {
    SHUNT_CHECK(n <= head_);
    head_ -= static_cast<uint32_t>(n);
    return {data(), n};
  }
  // Removes n bytes from the front (a header consumed). Precondition: size() >= n.
  void pull_front(size_t n) {
    SHUNT_CHECK(n <= size());
    head_ += static_cast<uint32_t>(n);
  }
  // Grows the data at the back by n bytes and returns them. Precondition: tailroom() >= n.
  std::span<uint8_t> append(size_t n) {
    SHUNT_CHECK(n <= tailroom());
    uint8_t* p = chunk_->bytes + tail_;
    tail_ += static_cast<uint32_t>(n);
    return {p, n};
  }
  // Keeps the first n bytes (drops link padding, trims to a length field).
  void truncate(size_t n) {
    if (n < size()) tail_ = head_ + static_cast<uint32_t>(n);
  }

  // A deep copy from the same pool, with the same headroom.
  PacketBuffer clone() const;

 private:
  friend class BufferPool;
  PacketBuffer(detail::Chunk* c, uint32_t head) : chunk_(c), head_(head), tail_(head) {}
  void release();

  detail::Chunk* chunk_ = nullptr;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
};

}  // namespace shunt
