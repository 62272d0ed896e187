#include "stack/buffer/block_cache.h"

#include <utility>

#include "stack/base/check.h"

namespace shunt {

BlockCache::Block BlockCache::take() {
  ++outstanding_;
  if (!free_.empty()) {
    Block b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  ++allocations_;
  // Uninitialised: buffers write every byte before they read it.
  return std::make_unique_for_overwrite<uint8_t[]>(kBlockSize);
}

void BlockCache::give(Block b) {
  SHUNT_CHECK(b != nullptr && outstanding_ > 0);
  --outstanding_;
  if (free_.size() < max_cached_) free_.push_back(std::move(b));
}

void BlockCache::set_max_cached(size_t n) {
  max_cached_ = n;
  if (free_.size() > n) free_.resize(n);
}

}  // namespace shunt
