// BlockCache: the stack-wide store of the 16 KiB blocks that TCP send and
// receive buffers are made of (tcp::detail::BlockRing).
//
// A buffer takes blocks from the cache as data arrives and gives each back
// as soon as the data in it is consumed, so an idle connection holds no
// block at all (an idle connection should cost no more than the kernel's
// ~5 KB), while a busy one still allocates nothing in steady state:
// the blocks one connection releases are the next ones any connection takes.
// The cache keeps at most max_cached() free blocks; beyond that a returned
// block goes back to the system allocator, so a burst of many connections
// does not pin its peak memory for ever (Linux bounds its socket memory
// the same way with tcp_mem, without a per-socket reserve).
//
// Not thread-safe: it belongs to one stack (or to stacks sharing a thread,
// as in the simulation) and is used under that stack's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace shunt {

class BlockCache {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;
  // 256 blocks: 4 MiB, a few bulk connections' worth of churn.
  static constexpr size_t kDefaultMaxCached = 256;

  using Block = std::unique_ptr<uint8_t[]>;

  explicit BlockCache(size_t max_cached = kDefaultMaxCached) : max_cached_(max_cached) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of kBlockSize uninitialised bytes (a cached one if any).
  Block take();
  // Returns a block; freed at once when max_cached() are already kept.
  void give(Block b);
  // Frees every cached block.
  void trim() { free_.clear(); }

  size_t max_cached() const { return max_cached_; }
  void set_max_cached(size_t n);
  // Free blocks kept for reuse.
  size_t cached() const { return free_.size(); }
  // Blocks handed out and not yet given back.
  size_t outstanding() const { return outstanding_; }
  // Blocks obtained from the system allocator since construction (tests and
  // benchmarks count them to show the steady state allocates nothing).
  uint64_t allocations() const { return allocations_; }

 private:
  std::vector<Block> free_;
  size_t max_cached_;
  size_t outstanding_ = 0;
  uint64_t allocations_ = 0;
};

}  // namespace shunt
