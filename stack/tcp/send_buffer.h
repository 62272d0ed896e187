// SendBuffer: the bytes the application wrote that the peer has not yet
// acknowledged, [SND.UNA, SND.UNA + size()) (RFC 9293 3.3.1, "send sequence
// space"). Unsent bytes sit at the back, sent-but-unacknowledged bytes at the
// front; the sender keeps SND.NXT and asks for any range with copy_out().
//
// Storage: a chain of fixed 16 KiB blocks (detail::BlockRing) rather than a
// ring buffer of the full capacity, so that
//   - memory follows what is held, not SO_SNDBUF (an emptied buffer keeps at
//     most BlockRing::kCachedWhenEmpty blocks; trim() releases those too);
//   - growing or shrinking the capacity never moves data;
//   - acknowledged blocks are recycled through a free list bounded by the
//     capacity, so a bulk transfer allocates nothing in steady state.
// Every copy is one memcpy per contiguous piece (at most one block boundary
// per MSS-sized segment; a 64 KiB GSO segment spans at most five blocks).
//
// Pure: no syscalls, no clock, no globals. Not thread-safe (used under the
// stack lock, design.md section 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace shunt::tcp {

namespace detail {

// A double-ended queue of fixed-size byte blocks addressed by their index
// from the front, with a free list. A slot may be empty (null): RecvBuffer
// leaves holes where out-of-order data has not arrived yet. Shared by
// SendBuffer and RecvBuffer (recv_buffer.h includes this header).
class BlockRing {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;
  // Blocks kept for reuse when a buffer empties: enough that a reader or
  // writer that keeps the buffer nearly empty allocates nothing, few enough
  // that an idle connection holds at most 64 KiB per buffer (trim() frees it).
  static constexpr size_t kCachedWhenEmpty = 64;

  BlockRing() = default;
  BlockRing(BlockRing&&) noexcept = default;
  BlockRing& operator=(BlockRing&&) noexcept = default;

  // Slots from the front (some may be empty).
  size_t count() const { return count_; }
  // Block i (< count()), or null when that slot holds no block.
  uint8_t* get(size_t i) const { return slots_[(head_ + i) & (slots_.size() - 1)].get(); }
  // Block i, allocating it (and appending empty slots up to i) if needed.
  uint8_t* ensure(size_t i);
  // Drops the front slot; its block goes to the free list.
  void pop_front();
  // Drops every slot; keeps at most `keep_cached` blocks on the free list.
  void clear(size_t keep_cached);
  // Bounds blocks in use plus cached blocks: beyond it, released blocks are freed.
  void set_max_blocks(size_t n) { max_blocks_ = n; }
  // Frees every cached block.
  void release_cached() { free_.clear(); }

  size_t cached() const { return free_.size(); }
  size_t in_use() const { return in_use_; }
  // Blocks obtained from the allocator since construction (tests count them).
  uint64_t allocations() const { return allocations_; }

 private:
  using Block = std::unique_ptr<uint8_t[]>;
  void release(Block b);
  void grow_slots(size_t min_slots);

  std::vector<Block> slots_;  // a power of two in size, or empty
  size_t head_ = 0;
  size_t count_ = 0;
  std::vector<Block> free_;
  size_t in_use_ = 0;
  size_t max_blocks_ = 0;
  uint64_t allocations_ = 0;
};

}  // namespace detail

class SendBuffer {
 public:
  static constexpr size_t kBlockSize = detail::BlockRing::kBlockSize;

  // capacity: SO_SNDBUF, the payload bytes the buffer may hold.
  explicit SendBuffer(size_t capacity);

  // May shrink below size(): space() is then 0 until acknowledgments drain it.
  void set_capacity(size_t c);

  size_t size() const { return size_; }
  size_t space() const { return size_ < capacity_ ? capacity_ - size_ : 0; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  // Copies up to space() bytes to the back; returns the bytes taken.
  size_t append(std::span<const uint8_t> data);

  // Copies out.size() bytes starting `offset` bytes after the front
  // (SND.UNA). Precondition: offset + out.size() <= size().
  void copy_out(size_t offset, std::span<uint8_t> out) const;

  // n bytes acknowledged: drops them from the front. Precondition: n <= size().
  void consume(size_t n);

  // Releases cached free blocks (e.g. when the connection goes idle).
  void trim() { blocks_.release_cached(); }

  // Blocks obtained from the allocator since construction.
  uint64_t block_allocations() const { return blocks_.allocations(); }
  // Bytes of block memory held (in use and cached).
  size_t memory() const { return (blocks_.in_use() + blocks_.cached()) * kBlockSize; }

 private:
  static size_t max_blocks_for(size_t capacity);

  detail::BlockRing blocks_;
  size_t capacity_;
  size_t size_ = 0;
  size_t front_ = 0;  // offset of SND.UNA in block 0
};

}  // namespace shunt::tcp
