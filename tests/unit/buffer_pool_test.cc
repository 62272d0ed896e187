#include "stack/buffer/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace shunt {
namespace {

TEST(PacketBuffer, PushAndPullHeaders) {
  BufferPool pool;
  PacketBuffer b = pool.allocate(100);
  ASSERT_TRUE(b);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.headroom(), kDefaultHeadroom);
  auto payload = b.append(4);
  std::memcpy(payload.data(), "data", 4);
  auto l4 = b.push_front(8);
  std::memset(l4.data(), 0x11, 8);
  auto l2 = b.push_front(14);
  std::memset(l2.data(), 0x22, 14);
  EXPECT_EQ(b.size(), 26u);
  EXPECT_EQ(b.headroom(), kDefaultHeadroom - 22);
  EXPECT_EQ(b.data()[0], 0x22);
  b.pull_front(14);
  EXPECT_EQ(b.data()[0], 0x11);
  b.pull_front(8);
  EXPECT_EQ(std::memcmp(b.data(), "data", 4), 0);
  b.truncate(2);
  EXPECT_EQ(b.size(), 2u);
  b.truncate(10);  // never grows
  EXPECT_EQ(b.size(), 2u);
}

TEST(PacketBuffer, MoveTransfersOwnership) {
  BufferPool pool;
  PacketBuffer a = pool.allocate(10);
  a.append(3);
  PacketBuffer b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_TRUE(b);
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(pool.outstanding(), 1u);
  b = PacketBuffer();
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(PacketBuffer, CloneIsDeep) {
  BufferPool pool;
  PacketBuffer a = pool.allocate(10);
  a.append(1)[0] = 7;
  PacketBuffer c = a.clone();
  c.data()[0] = 9;
  EXPECT_EQ(a.data()[0], 7);
  EXPECT_EQ(c.headroom(), a.headroom());
  EXPECT_EQ(pool.outstanding(), 2u);
}

TEST(BufferPool, SizeClassesAndLimit) {
  BufferPool pool;
  EXPECT_GE(pool.allocate(1500).tailroom(), 1500u);
  EXPECT_GE(pool.allocate(9000).tailroom(), 9000u);
  EXPECT_GE(pool.allocate(65535).tailroom(), 65535u);
  EXPECT_FALSE(pool.allocate(BufferPool::kMaxCapacity));  // + headroom is too much
}

TEST(BufferPool, SteadyStateDoesNotAllocate) {
  BufferPool pool;
  std::vector<PacketBuffer> in_flight;
  // Warm up: at most 64 buffers alive at once.
  for (int i = 0; i < 64; ++i) in_flight.push_back(pool.allocate(1500));
  in_flight.clear();
  uint64_t before = pool.system_allocations();
  for (int round = 0; round < 10000; ++round) {
    for (int i = 0; i < 64; ++i) in_flight.push_back(pool.allocate(1500));
    in_flight.clear();
  }
  EXPECT_EQ(pool.system_allocations(), before);
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached(), 64u);
}

}  // namespace
}  // namespace shunt
