// BlockCache (stack/buffer/block_cache.h): the bound on cached blocks and
// the counts the memory benchmarks rely on.
#include "stack/buffer/block_cache.h"

#include <gtest/gtest.h>

#include <vector>

namespace shunt {
namespace {

TEST(BlockCache, ReusesGivenBlocks) {
  BlockCache cache(4);
  BlockCache::Block b = cache.take();
  uint8_t* p = b.get();
  EXPECT_EQ(cache.allocations(), 1u);
  EXPECT_EQ(cache.outstanding(), 1u);
  cache.give(std::move(b));
  EXPECT_EQ(cache.outstanding(), 0u);
  EXPECT_EQ(cache.cached(), 1u);
  BlockCache::Block again = cache.take();
  EXPECT_EQ(again.get(), p);
  EXPECT_EQ(cache.allocations(), 1u);
  cache.give(std::move(again));
}

TEST(BlockCache, KeepsAtMostMaxCached) {
  BlockCache cache(4);
  std::vector<BlockCache::Block> held;
  for (int i = 0; i < 10; ++i) held.push_back(cache.take());
  EXPECT_EQ(cache.allocations(), 10u);
  for (auto& b : held) cache.give(std::move(b));
  EXPECT_EQ(cache.cached(), 4u);
  EXPECT_EQ(cache.outstanding(), 0u);
  cache.set_max_cached(2);
  EXPECT_EQ(cache.cached(), 2u);
  cache.trim();
  EXPECT_EQ(cache.cached(), 0u);
  BlockCache::Block b = cache.take();
  EXPECT_EQ(cache.allocations(), 11u);
  cache.give(std::move(b));
}

}  // namespace
}  // namespace shunt
