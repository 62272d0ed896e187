// SendBuffer: the bytes the application wrote that the peer has not yet
// acknowledged, [SND.UNA, SND.UNA + size()) (RFC 9293 3.3.1, "send sequence
// space"). Unsent bytes sit at the back, sent-but-unacknowledged bytes at the
// front; the sender keeps SND.NXT and asks for any range with copy_out().
//
// Storage: a chain of fixed 16 KiB blocks (detail::BlockRing) taken from the
// stack's BlockCache (stack/buffer/block_cache.h) rather than a ring buffer
// of the full capacity, so that
//   - memory follows what is held, not SO_SNDBUF: each block goes back to
//     the cache as soon as its bytes are acknowledged, and an empty buffer
//     holds none (an idle connection costs no block memory);
//   - growing or shrinking the capacity never moves data;
//   - a bulk transfer allocates nothing in steady state: acknowledged blocks
//     are the next ones taken.
// Every copy is one memcpy per contiguous piece (at most one block boundary
// per MSS-sized segment; a 64 KiB GSO segment spans at most five blocks).
//
// Pure: no syscalls, no clock, no globals. Not thread-safe (used under the
// stack lock, docs/design.md section 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "stack/buffer/block_cache.h"

namespace shunt::tcp {

namespace detail {

// A double-ended queue of fixed-size byte blocks addressed by their index
// from the front. A slot may be empty (null): RecvBuffer leaves holes where
// out-of-order data has not arrived yet. Blocks come from, and go back to, a
// BlockCache. Shared by SendBuffer and RecvBuffer (recv_buffer.h includes
// this header).
class BlockRing {
 public:
  static constexpr size_t kBlockSize = BlockCache::kBlockSize;

  explicit BlockRing(BlockCache& cache) : cache_(&cache) {}
  ~BlockRing() { clear(); }
  BlockRing(BlockRing&& o) noexcept;
  BlockRing& operator=(BlockRing&& o) noexcept;

  // Slots from the front (some may be empty).
  size_t count() const { return count_; }
  // Block i (< count()), or null when that slot holds no block.
  uint8_t* get(size_t i) const { return slots_[(head_ + i) & (slots_.size() - 1)].get(); }
  // Block i, taking one from the cache (and appending empty slots up to i)
  // if needed.
  uint8_t* ensure(size_t i);
  // Drops the front slot; its block goes back to the cache.
  void pop_front();
  // Drops every slot, giving every block back.
  void clear();
  // The buffer's first byte moved `n` bytes on from offset `front` in
  // block 0: the blocks it left go back and `front` follows. A buffer that
  // is now `empty` gives every block back and starts again at offset 0
  // (the next byte starts a block).
  void consume_front(size_t& front, size_t n, bool empty);

  // Blocks held.
  size_t in_use() const { return in_use_; }

 private:
  using Block = BlockCache::Block;
  void grow_slots(size_t min_slots);

  BlockCache* cache_;
  std::vector<Block> slots_;  // a power of two in size, or empty
  size_t head_ = 0;
  size_t count_ = 0;
  size_t in_use_ = 0;
};

}  // namespace detail

class SendBuffer {
 public:
  static constexpr size_t kBlockSize = detail::BlockRing::kBlockSize;

  // capacity: SO_SNDBUF, the payload bytes the buffer may hold. Blocks come
  // from `cache`, which must outlive the buffer.
  SendBuffer(BlockCache& cache, size_t capacity);

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

  // Bytes of block memory held.
  size_t memory() const { return blocks_.in_use() * kBlockSize; }

 private:
  detail::BlockRing blocks_;
  size_t capacity_;
  size_t size_ = 0;
  size_t front_ = 0;  // offset of SND.UNA in block 0
};

}  // namespace shunt::tcp
