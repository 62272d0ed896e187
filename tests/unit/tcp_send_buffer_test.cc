#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "stack/tcp/send_buffer.h"

namespace shunt::tcp {
namespace {

constexpr size_t kB = SendBuffer::kBlockSize;

// The byte at stream offset i. The period is a prime, so a copy taken from a
// wrong offset (off by a block, a piece, one byte) shows up as a mismatch.
constexpr size_t kPatternPeriod = 1000003;

class Pattern {
 public:
  explicit Pattern(size_t max_piece) : bytes_(kPatternPeriod + max_piece) {
    uint32_t x = 0x12345678;
    for (auto& b : bytes_) {
      x = x * 1103515245u + 12345u;
      b = static_cast<uint8_t>(x >> 24);
    }
    for (size_t i = 0; i < max_piece; ++i) bytes_[kPatternPeriod + i] = bytes_[i];
  }
  // n <= max_piece bytes of the stream starting at offset.
  std::span<const uint8_t> at(uint64_t offset, size_t n) const {
    return {bytes_.data() + offset % kPatternPeriod, n};
  }

 private:
  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> copy(const SendBuffer& b, size_t offset, size_t n) {
  std::vector<uint8_t> out(n);
  b.copy_out(offset, out);
  return out;
}

std::vector<uint8_t> vec(std::span<const uint8_t> s) {
  return {s.begin(), s.end()};
}

TEST(SendBuffer, AppendStopsAtCapacity) {
  BlockCache cache;
  SendBuffer b(cache, 1000);
  Pattern p(4000);
  EXPECT_EQ(b.capacity(), 1000u);
  EXPECT_EQ(b.space(), 1000u);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.append(p.at(0, 600)), 600u);
  EXPECT_EQ(b.size(), 600u);
  EXPECT_EQ(b.space(), 400u);
  EXPECT_EQ(b.append(p.at(600, 600)), 400u);  // only what fits
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.space(), 0u);
  EXPECT_EQ(b.append(p.at(1000, 10)), 0u);
  EXPECT_EQ(copy(b, 0, 1000), vec(p.at(0, 1000)));
  EXPECT_EQ(b.append({}), 0u);
}

TEST(SendBuffer, CopyOutAcrossBlockBoundariesAtManyOffsets) {
  const size_t cap = 3 * kB + 777;
  BlockCache cache;
  SendBuffer b(cache, cap);
  Pattern p(cap);
  // Fill in odd-sized writes so appends themselves straddle blocks.
  size_t written = 0;
  while (written < cap) written += b.append(p.at(written, std::min<size_t>(4099, cap - written)));
  ASSERT_EQ(b.size(), cap);

  const size_t lens[] = {0, 1, 2, 1448, kB - 1, kB, kB + 1, 2 * kB + 3};
  for (size_t offset :
       {size_t{0}, size_t{1}, kB - 1, kB, kB + 1, 2 * kB - 700, 2 * kB + 5, cap - 1}) {
    for (size_t len : lens) {
      if (offset + len > cap) continue;
      EXPECT_EQ(copy(b, offset, len), vec(p.at(offset, len))) << offset << "+" << len;
    }
  }
  // The whole content in one call.
  EXPECT_EQ(copy(b, 0, cap), vec(p.at(0, cap)));
}

TEST(SendBuffer, ConsumeDropsFromTheFront) {
  BlockCache cache;
  SendBuffer b(cache, 5 * kB);
  Pattern p(5 * kB);
  ASSERT_EQ(b.append(p.at(0, 5 * kB)), 5 * kB);
  b.consume(100);
  EXPECT_EQ(b.size(), 5 * kB - 100);
  EXPECT_EQ(b.space(), 100u);
  EXPECT_EQ(copy(b, 0, 50), vec(p.at(100, 50)));
  b.consume(kB);  // crosses a block boundary: the front is now in block 1
  EXPECT_EQ(copy(b, 0, kB), vec(p.at(kB + 100, kB)));
  // Space freed by the acknowledgment is usable at the back.
  ASSERT_EQ(b.append(p.at(5 * kB, kB + 100)), kB + 100);
  EXPECT_EQ(b.space(), 0u);
  EXPECT_EQ(copy(b, 4 * kB - 100, kB + 100), vec(p.at(5 * kB, kB + 100)));
  b.consume(b.size());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.space(), 5 * kB);
  // Appending after draining restarts cleanly.
  ASSERT_EQ(b.append(p.at(7, 3)), 3u);
  EXPECT_EQ(copy(b, 0, 3), vec(p.at(7, 3)));
}

TEST(SendBuffer, ShrinkingCapacityBlocksAppendsUntilAcksDrain) {
  BlockCache cache;
  SendBuffer b(cache, 10000);
  Pattern p(10000);
  ASSERT_EQ(b.append(p.at(0, 8000)), 8000u);
  b.set_capacity(5000);
  EXPECT_EQ(b.capacity(), 5000u);
  EXPECT_EQ(b.size(), 8000u);  // nothing is thrown away
  EXPECT_EQ(b.space(), 0u);
  EXPECT_EQ(b.append(p.at(8000, 10)), 0u);
  EXPECT_EQ(copy(b, 0, 8000), vec(p.at(0, 8000)));
  b.consume(2000);
  EXPECT_EQ(b.space(), 0u);  // 6000 still above 5000
  b.consume(2000);
  EXPECT_EQ(b.space(), 1000u);
  EXPECT_EQ(b.append(p.at(8000, 2000)), 1000u);
  EXPECT_EQ(copy(b, 0, 5000), vec(p.at(4000, 5000)));
  b.set_capacity(20000);
  EXPECT_EQ(b.space(), 15000u);
}

TEST(SendBuffer, MemoryFollowsContentNotCapacity) {
  BlockCache cache;
  SendBuffer b(cache, 4 << 20);
  EXPECT_EQ(b.memory(), 0u);
  Pattern p(100);
  ASSERT_EQ(b.append(p.at(0, 100)), 100u);
  EXPECT_EQ(b.memory(), kB);
  EXPECT_EQ(cache.outstanding(), 1u);
  b.consume(100);
  // Drained: the block goes back to the stack's cache, the buffer holds none
  // (an idle connection costs no block memory).
  EXPECT_EQ(b.memory(), 0u);
  EXPECT_EQ(cache.outstanding(), 0u);
  EXPECT_EQ(cache.cached(), 1u);
  const uint64_t allocs = cache.allocations();
  for (int i = 0; i < 100; ++i) {  // request/response: no allocation per write
    ASSERT_EQ(b.append(p.at(0, 100)), 100u);
    b.consume(100);
  }
  EXPECT_EQ(cache.allocations(), allocs);
  // A burst of more blocks than the cache keeps: once drained, the cache
  // keeps max_cached() of them and frees the rest.
  const size_t burst = cache.max_cached() + 10;
  SendBuffer big(cache, burst * kB);
  for (size_t i = 0; i < burst; ++i) ASSERT_EQ(big.append(p.at(0, kB)), kB);
  EXPECT_EQ(big.memory(), burst * kB);
  big.consume(big.size());
  EXPECT_EQ(big.memory(), 0u);
  EXPECT_EQ(cache.cached(), cache.max_cached());
  cache.trim();
  EXPECT_EQ(cache.cached(), 0u);
}

// Blocks move between buffers through the cache: one connection's drained
// blocks are the next ones another takes.
TEST(SendBuffer, BlocksAreSharedThroughTheCache) {
  BlockCache cache;
  SendBuffer a(cache, 1 << 20), c(cache, 1 << 20);
  Pattern p(8 * kB);
  ASSERT_EQ(a.append(p.at(0, 8 * kB)), 8 * kB);
  a.consume(8 * kB);
  const uint64_t allocs = cache.allocations();
  ASSERT_EQ(c.append(p.at(0, 8 * kB)), 8 * kB);
  EXPECT_EQ(cache.allocations(), allocs);
  std::vector<uint8_t> out(8 * kB);
  c.copy_out(0, out);
  EXPECT_EQ(out, vec(p.at(0, 8 * kB)));
}

// A buffer destroyed or replaced while holding data gives its blocks back.
TEST(SendBuffer, DestroyedBufferGivesBlocksBack) {
  BlockCache cache;
  Pattern p(3 * kB);
  {
    SendBuffer b(cache, 1 << 20);
    ASSERT_EQ(b.append(p.at(0, 3 * kB)), 3 * kB);
    EXPECT_EQ(cache.outstanding(), 3u);
    SendBuffer moved = std::move(b);
    EXPECT_EQ(cache.outstanding(), 3u);
    b = SendBuffer(cache, 1000);
    EXPECT_EQ(cache.outstanding(), 3u);
    moved = SendBuffer(cache, 1000);
    EXPECT_EQ(cache.outstanding(), 0u);
    ASSERT_EQ(moved.append(p.at(0, 1000)), 1000u);
  }
  EXPECT_EQ(cache.outstanding(), 0u);
}

// 100 MiB through a 256 KiB buffer in random-sized writes, reads of random
// ranges (as the sender would build segments and retransmissions) and
// random-sized acknowledgments; every byte is checked against the pattern.
// Writes are larger than acknowledgments on average, as in a bulk transfer
// where the application keeps the buffer full.
TEST(SendBuffer, HundredMebibytesInRandomPieces) {
  const size_t cap = 256 * 1024;
  const uint64_t total = 100ull << 20;
  const size_t max_piece = 64 * 1024;
  BlockCache cache;
  SendBuffer b(cache, cap);
  Pattern p(max_piece);
  std::mt19937_64 rng(42);
  std::vector<uint8_t> out(max_piece);
  uint64_t una = 0;      // stream offset of the front
  uint64_t written = 0;  // stream offset of the back
  uint64_t checked = 0;  // every byte below this was read back and compared
  while (una < total) {
    if (written < total) {
      size_t n = std::min<uint64_t>(rng() % max_piece + 1, total - written);
      size_t took = b.append(p.at(written, n));
      EXPECT_EQ(took, std::min(n, cap - (written - una)));
      written += took;
    }
    ASSERT_EQ(b.size(), written - una);
    // Read back what has not been checked yet (in-order transmission) ...
    while (checked < written) {
      size_t n = std::min<uint64_t>(rng() % 1500 + 1, written - checked);
      std::span<uint8_t> o(out.data(), n);
      b.copy_out(checked - una, o);
      ASSERT_EQ(vec(o), vec(p.at(checked, n))) << "at " << checked;
      checked += n;
    }
    // ... and one random range, as a retransmission would.
    if (b.size() > 0) {
      size_t off = rng() % b.size();
      size_t n = std::min<size_t>(rng() % max_piece + 1, b.size() - off);
      std::span<uint8_t> o(out.data(), n);
      b.copy_out(off, o);
      ASSERT_EQ(vec(o), vec(p.at(una + off, n)));
    }
    size_t ack = std::min<uint64_t>(rng() % (3 * max_piece / 4), b.size());
    b.consume(ack);
    una += ack;
  }
  EXPECT_EQ(written, total);
  EXPECT_TRUE(b.empty());
  // Blocks are recycled: the allocator was asked for about one buffer's worth,
  // not one block per 16 KiB of the stream.
  EXPECT_LE(cache.allocations(), cap / kB + 1);
}

}  // namespace
}  // namespace shunt::tcp
