#include <gtest/gtest.h>

#include <set>

#include "stack/net/ports.h"
#include "stack/net/route.h"
#include "stack/base/token_bucket.h"

namespace shunt {
namespace {

TEST(RoutingTable, LongestPrefixWins) {
  RoutingTable t;
  t.add(Route{Ipv4Cidr(Ipv4Address(), 0), Ipv4Address(198, 18, 0, 1)});            // default
  t.add(Route{Ipv4Cidr(Ipv4Address(198, 18, 0, 0), 24), std::nullopt});            // on-link
  t.add(Route{Ipv4Cidr(Ipv4Address(198, 19, 0, 0), 16), Ipv4Address(198, 18, 0, 9)});
  t.add(Route{Ipv4Cidr(Ipv4Address(198, 19, 7, 0), 24), Ipv4Address(198, 18, 0, 7)});

  auto on_link = t.lookup(Ipv4Address(198, 18, 0, 44));
  ASSERT_TRUE(on_link);
  EXPECT_TRUE(on_link->on_link);
  EXPECT_EQ(on_link->address, Ipv4Address(198, 18, 0, 44));

  auto via16 = t.lookup(Ipv4Address(198, 19, 1, 1));
  ASSERT_TRUE(via16);
  EXPECT_FALSE(via16->on_link);
  EXPECT_EQ(via16->address, Ipv4Address(198, 18, 0, 9));

  EXPECT_EQ(t.lookup(Ipv4Address(198, 19, 7, 200))->address, Ipv4Address(198, 18, 0, 7));
  EXPECT_EQ(t.lookup(Ipv4Address(203, 0, 113, 5))->address, Ipv4Address(198, 18, 0, 1));
}

TEST(RoutingTable, NoDefaultMeansUnreachable) {
  RoutingTable t;
  t.add(Route{Ipv4Cidr(Ipv4Address(198, 18, 0, 0), 24), std::nullopt});
  EXPECT_FALSE(t.lookup(Ipv4Address(198, 18, 1, 1)));
}

TEST(PortAllocator, PeerPortsAreSpreadAndSkipUsed) {
  Rng rng(7);
  PortAllocator ports(32768, 60999, rng);
  std::set<uint16_t> used;
  auto in_use = [&](uint16_t p) { return used.count(p) != 0; };
  Endpoint peer{Ipv4Address(198, 18, 0, 1), 80};
  for (int i = 0; i < 1000; ++i) {
    auto p = ports.pick_for_peer(6, Ipv4Address(198, 18, 0, 2), peer, in_use);
    ASSERT_TRUE(p);
    ASSERT_GE(*p, 32768);
    ASSERT_LE(*p, 60999);
    ASSERT_TRUE(used.insert(*p).second);
  }
  // RFC 6056 algorithm 4: successive ports for one peer move on; a
  // different peer starts somewhere else.
  auto other = ports.pick_for_peer(6, Ipv4Address(198, 18, 0, 2), {Ipv4Address(198, 18, 0, 3), 80},
                                   [](uint16_t) { return false; });
  ASSERT_TRUE(other);
}

TEST(PortAllocator, ExhaustionIsReported) {
  Rng rng(1);
  PortAllocator ports(40000, 40009, rng);
  std::set<uint16_t> used;
  auto in_use = [&](uint16_t p) { return used.count(p) != 0; };
  for (int i = 0; i < 10; ++i) {
    auto p = ports.pick_random(in_use);
    ASSERT_TRUE(p);
    used.insert(*p);
  }
  EXPECT_FALSE(ports.pick_random(in_use));
  EXPECT_FALSE(ports.pick_for_peer(17, Ipv4Address(), {Ipv4Address(1, 2, 3, 4), 5}, in_use));
}

TEST(TokenBucket, BurstThenRate) {
  TokenBucket b(1000, 5);
  Instant t = instant_from_ns(0);
  int taken = 0;
  for (int i = 0; i < 10; ++i) taken += b.take(t);
  EXPECT_EQ(taken, 5);
  EXPECT_FALSE(b.take(t + 500us));
  EXPECT_TRUE(b.take(t + 1ms));
  EXPECT_FALSE(b.take(t + 1ms));
  // Never more than the burst, however long it waited.
  taken = 0;
  for (int i = 0; i < 10; ++i) taken += b.take(t + 10s);
  EXPECT_EQ(taken, 5);
}

}  // namespace
}  // namespace shunt
