// ReuseportGroups (stack/net/reuseport.h): membership order as Linux's
// sock_reuseport keeps it, selection by reciprocal_scale with wrap-around,
// and the flow hash.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "stack/net/reuseport.h"
#include "stack/wire/ipv4.h"

namespace shunt {
namespace {

SocketId sock(uint32_t n) {
  return SocketId{n, 1};
}
const ReuseportGroups::Key kKey{wire::ip_proto::kUdp, {Ipv4Address(198, 18, 0, 2), 53}, 0};

TEST(ReuseportGroups, KeyIsExactAddressPortProtocolAndUid) {
  ReuseportGroups g(SipKey{1, 2});
  g.join(kKey, sock(1));
  auto other_addr = kKey;
  other_addr.local.addr = Ipv4Address::any();
  auto other_uid = kKey;
  other_uid.uid = 1000;
  auto other_proto = kKey;
  other_proto.protocol = wire::ip_proto::kTcp;
  g.join(other_addr, sock(2));
  g.join(other_uid, sock(3));
  g.join(other_proto, sock(4));
  EXPECT_EQ(g.group_count(), 4u);
  ASSERT_EQ(g.members(kKey).size(), 1u);
  EXPECT_EQ(g.members(kKey)[0], sock(1));
}

TEST(ReuseportGroups, LeaverSlotTakesTheLastMember) {
  // __reuseport_detach_sock: socks[i] = socks[--num_socks].
  ReuseportGroups g(SipKey{1, 2});
  for (uint32_t i = 1; i <= 4; ++i) g.join(kKey, sock(i));
  g.join(kKey, sock(2));  // joining twice changes nothing
  g.leave(kKey, sock(2));
  auto m = g.members(kKey);
  EXPECT_EQ(std::vector<SocketId>(m.begin(), m.end()),
            (std::vector<SocketId>{sock(1), sock(4), sock(3)}));
  g.leave(kKey, sock(9));  // not a member
  EXPECT_EQ(g.members(kKey).size(), 3u);
  for (uint32_t i : {1u, 3u, 4u}) g.leave(kKey, sock(i));
  EXPECT_TRUE(g.members(kKey).empty());
  EXPECT_EQ(g.group_count(), 0u);  // an empty group is gone
}

TEST(ReuseportGroups, SelectScalesTheHashAndSkipsIneligible) {
  ReuseportGroups g(SipKey{1, 2});
  for (uint32_t i = 0; i < 4; ++i) g.join(kKey, sock(i));
  auto all = [](SocketId) { return true; };
  // reciprocal_scale(hash, 4) = hash * 4 >> 32: the top two bits.
  EXPECT_EQ(g.select(kKey, 0x00000000u, all), sock(0));
  EXPECT_EQ(g.select(kKey, 0x40000000u, all), sock(1));
  EXPECT_EQ(g.select(kKey, 0xbfffffffu, all), sock(2));
  EXPECT_EQ(g.select(kKey, 0xffffffffu, all), sock(3));
  // Ineligible members are passed over, wrapping around.
  auto not3 = [](SocketId s) { return s != sock(3); };
  EXPECT_EQ(g.select(kKey, 0xffffffffu, not3), sock(0));
  EXPECT_EQ(g.select(kKey, 0xffffffffu, [](SocketId) { return false; }), SocketId{});
  auto none = kKey;
  none.local.port = 54;
  EXPECT_EQ(g.select(none, 0, all), SocketId{});
}

TEST(ReuseportGroups, FlowHashIsKeyedAndCoversTheFourTuple) {
  ReuseportGroups g(SipKey{1, 2}), same(SipKey{1, 2}), other(SipKey{3, 4});
  const Endpoint local{Ipv4Address(198, 18, 0, 2), 53};
  const Endpoint remote{Ipv4Address(198, 18, 0, 1), 40000};
  const uint32_t h = g.flow_hash(local, remote);
  EXPECT_EQ(h, same.flow_hash(local, remote));
  EXPECT_NE(h, other.flow_hash(local, remote));
  std::set<uint32_t> hashes{h};
  hashes.insert(g.flow_hash({local.addr, 54}, remote));
  hashes.insert(g.flow_hash({Ipv4Address(198, 18, 0, 3), 53}, remote));
  hashes.insert(g.flow_hash(local, {remote.addr, 40001}));
  hashes.insert(g.flow_hash(local, {Ipv4Address(198, 18, 0, 9), 40000}));
  hashes.insert(g.flow_hash(remote, local));  // direction matters
  EXPECT_EQ(hashes.size(), 6u);
}

}  // namespace
}  // namespace shunt
