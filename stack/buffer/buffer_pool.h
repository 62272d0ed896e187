// BufferPool: fixed size classes with free lists, so the steady-state packet
// path does no malloc per packet (tests/unit/buffer_pool_test.cc counts).
//
// Not thread-safe: a pool belongs to one stack and is used under that
// stack's lock (docs/design.md section 3). Buffers may move between stacks that
// share a pool in one thread (the simulation does this).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/buffer/block_cache.h"
#include "stack/buffer/packet_buffer.h"

namespace shunt {

class BufferPool {
 public:
  // Capacities (headroom included) of the size classes: a standard frame,
  // a jumbo frame, and a 64 KiB datagram or GSO frame.
  static constexpr std::array<uint32_t, 3> kClassCapacity = {2048, 16384, 65536 + 512};
  static constexpr size_t kMaxCapacity = kClassCapacity.back();

  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // An empty buffer with `headroom` bytes in front and at least `size`
  // bytes of tailroom. Returns an empty (false) buffer when
  // headroom + size > kMaxCapacity.
  PacketBuffer allocate(size_t size, size_t headroom = kDefaultHeadroom);

  // Buffers handed out and not yet returned.
  size_t outstanding() const { return outstanding_; }
  // Chunks obtained from the system allocator since construction.
  uint64_t system_allocations() const { return system_allocations_; }
  // Free chunks kept for reuse.
  size_t cached() const;

  // The 16 KiB blocks of the TCP send and receive buffers of the stacks that
  // use this pool (block_cache.h).
  BlockCache& blocks() { return blocks_; }
  const BlockCache& blocks() const { return blocks_; }

 private:
  friend class PacketBuffer;
  void give_back(detail::Chunk* c);

  std::array<detail::Chunk*, kClassCapacity.size()> free_{};
  std::array<size_t, kClassCapacity.size()> free_count_{};
  size_t outstanding_ = 0;
  uint64_t system_allocations_ = 0;
  BlockCache blocks_;
};

}  // namespace shunt
