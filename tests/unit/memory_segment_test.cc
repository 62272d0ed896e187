#include "driver/memory_segment.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "stack/buffer/buffer_pool.h"
#include "stack/wire/ethernet.h"

namespace shunt {
namespace {

const MacAddress kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kMacB({0x02, 0, 0, 0, 0, 0x0b});
const MacAddress kMulticast({0x01, 0x00, 0x5e, 0, 0, 1});

// An Ethernet frame: dst, src, IPv4 ethertype, then `payload` bytes whose
// first byte is `tag`.
PacketBuffer make_frame(BufferPool& pool, const MacAddress& dst, const MacAddress& src,
                        uint8_t tag = 0, size_t payload = 46) {
  PacketBuffer f = pool.allocate(wire::kEthernetHeaderLen + payload);
  auto b = f.append(wire::kEthernetHeaderLen + payload);
  dst.write(b.data());
  src.write(b.data() + 6);
  b[12] = 0x08;
  b[13] = 0x00;
  std::memset(b.data() + wire::kEthernetHeaderLen, 0, payload);
  if (payload > 0) b[wire::kEthernetHeaderLen] = tag;
  return f;
}

void send(NetDevice& port, PacketBuffer frame) {
  PacketBuffer frames[1] = {std::move(frame)};
  port.transmit(frames, Instant{});
  EXPECT_FALSE(frames[0]);  // the device took it
}

std::vector<PacketBuffer> drain(NetDevice& port) {
  std::vector<PacketBuffer> out;
  port.receive(out, 1'000'000, Instant{});
  return out;
}

TEST(MemorySegment, PairCarriesFramesBothWays) {
  BufferPool pool;
  MemoryPair link;
  send(link.a, make_frame(pool, kMacB, kMacA, 1));
  send(link.b, make_frame(pool, kMacA, kMacB, 2));
  auto at_b = drain(link.b);
  auto at_a = drain(link.a);
  ASSERT_EQ(at_b.size(), 1u);
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_b[0].data()[wire::kEthernetHeaderLen], 1);
  EXPECT_EQ(at_a[0].data()[wire::kEthernetHeaderLen], 2);
  EXPECT_EQ(link.a.stats().tx_frames, 1u);
  EXPECT_EQ(link.a.stats().tx_bytes, 60u);
  EXPECT_EQ(link.b.stats().rx_frames, 1u);
  EXPECT_EQ(link.b.stats().rx_bytes, 60u);
  EXPECT_EQ(link.a.info().mtu, 1500u);
  EXPECT_EQ(link.a.fd(), -1);
  EXPECT_EQ(link.a.next_deadline(), kNever);
}

TEST(MemorySegment, ReceiveIsFifoAndHonoursMax) {
  BufferPool pool;
  MemoryPair link;
  for (uint8_t i = 0; i < 5; ++i) send(link.a, make_frame(pool, kMacB, kMacA, i));
  EXPECT_EQ(link.b.pending(), 5u);
  std::vector<PacketBuffer> out;
  EXPECT_EQ(link.b.receive(out, 2, Instant{}), 2u);
  EXPECT_EQ(link.b.receive(out, 10, Instant{}), 3u);
  EXPECT_EQ(link.b.receive(out, 10, Instant{}), 0u);
  ASSERT_EQ(out.size(), 5u);
  for (uint8_t i = 0; i < 5; ++i) EXPECT_EQ(out[i].data()[wire::kEthernetHeaderLen], i);
}

TEST(MemorySegment, FloodsUnknownUnicastThenLearns) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  MemoryPort& c = seg.add_port();

  // B is unknown: A's frame floods to B and C, never back to A.
  send(a, make_frame(pool, kMacB, kMacA));
  EXPECT_EQ(a.pending(), 0u);
  EXPECT_EQ(b.pending(), 1u);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(seg.stats().flooded, 1u);
  EXPECT_EQ(seg.lookup(kMacA), 0u);
  EXPECT_FALSE(seg.lookup(kMacB));

  // A was learned: B's answer goes to A only.
  send(b, make_frame(pool, kMacA, kMacB));
  EXPECT_EQ(a.pending(), 1u);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(seg.stats().unicast, 1u);
  EXPECT_EQ(seg.lookup(kMacB), 1u);

  // Both known now: A to B reaches B only.
  send(a, make_frame(pool, kMacB, kMacA));
  EXPECT_EQ(b.pending(), 2u);
  EXPECT_EQ(c.pending(), 1u);
  EXPECT_EQ(seg.stats().unicast, 2u);

  // Forgetting makes the switch flood again.
  seg.clear_mac_table();
  send(a, make_frame(pool, kMacB, kMacA));
  EXPECT_EQ(b.pending(), 3u);
  EXPECT_EQ(c.pending(), 2u);
}

TEST(MemorySegment, FloodsBroadcastAndMulticastToEveryOtherPort) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  MemoryPort& c = seg.add_port();
  MemoryPort& d = seg.add_port();
  send(b, make_frame(pool, kMacA, kMacB));  // learn B on port 1 (floods once)
  for (MemoryPort* p : {&a, &c, &d}) drain(*p);

  send(b, make_frame(pool, MacAddress::broadcast(), kMacB, 7));
  send(b, make_frame(pool, kMulticast, kMacB, 8));
  EXPECT_EQ(b.pending(), 0u);
  for (MemoryPort* p : {&a, &c, &d}) {
    auto got = drain(*p);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].data()[wire::kEthernetHeaderLen], 7);
    EXPECT_EQ(got[1].data()[wire::kEthernetHeaderLen], 8);
    EXPECT_TRUE(MacAddress::from_bytes(got[0].data()).is_broadcast());
  }
  // Clones are independent: each port owns its own copy.
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(MemorySegment, MulticastSourceIsNotLearned) {
  BufferPool pool;
  MemoryPair link;
  send(link.a, make_frame(pool, kMacB, kMulticast));
  EXPECT_FALSE(link.segment.lookup(kMulticast));
}

TEST(MemorySegment, NeverSendsBackToTheSender) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  send(a, make_frame(pool, kMacB, kMacA));  // learn A on port 0
  drain(b);
  // A frame to A's own MAC sent from A's port is filtered, not reflected.
  send(a, make_frame(pool, kMacA, kMacA));
  EXPECT_EQ(a.pending(), 0u);
  EXPECT_EQ(b.pending(), 0u);
  EXPECT_EQ(seg.stats().filtered, 1u);
  // A lone port has nobody to flood to.
  MemorySegment alone;
  MemoryPort& x = alone.add_port();
  send(x, make_frame(pool, MacAddress::broadcast(), kMacA));
  EXPECT_EQ(x.pending(), 0u);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(MemorySegment, LearnsAMacThatMoves) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  MemoryPort& c = seg.add_port();
  send(a, make_frame(pool, MacAddress::broadcast(), kMacA));
  EXPECT_EQ(seg.lookup(kMacA), 0u);
  send(c, make_frame(pool, MacAddress::broadcast(), kMacA));  // A moved to port 2
  EXPECT_EQ(seg.lookup(kMacA), 2u);
  drain(a);
  drain(c);
  send(b, make_frame(pool, kMacA, kMacB));
  EXPECT_EQ(a.pending(), 0u);
  EXPECT_EQ(c.pending(), 1u);
}

TEST(MemorySegment, QueueOverflowIsCounted) {
  BufferPool pool;
  MemoryPair link(1500, /*queue_capacity=*/3);
  EXPECT_EQ(link.b.queue_capacity(), 3u);
  for (uint8_t i = 0; i < 5; ++i) send(link.a, make_frame(pool, kMacB, kMacA, i));
  EXPECT_EQ(link.b.stats().rx_frames, 3u);
  EXPECT_EQ(link.b.stats().rx_dropped, 2u);
  EXPECT_EQ(link.a.stats().tx_frames, 5u);
  auto got = drain(link.b);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].data()[wire::kEthernetHeaderLen], 2);  // the newest frames were refused
  EXPECT_EQ(MemorySegment::kDefaultQueueCapacity, 4096u);
  EXPECT_EQ(MemoryPair().a.queue_capacity(), 4096u);
}

TEST(MemorySegment, OversizeFrameDroppedAtTheReceivingPort) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& jumbo = seg.add_port(9000);
  MemoryPort& small = seg.add_port(1500);
  MemoryPort& tiny = seg.add_port(576);
  EXPECT_EQ(jumbo.info().mtu, 9000u);
  // 1500 bytes of payload: fits `small` exactly, too big for `tiny`.
  send(jumbo, make_frame(pool, MacAddress::broadcast(), kMacA, 0, 1500));
  EXPECT_EQ(small.pending(), 1u);
  EXPECT_EQ(tiny.pending(), 0u);
  EXPECT_EQ(tiny.stats().rx_dropped, 1u);
  EXPECT_EQ(small.stats().rx_dropped, 0u);
  send(jumbo, make_frame(pool, MacAddress::broadcast(), kMacA, 0, 1501));
  EXPECT_EQ(small.pending(), 1u);
  EXPECT_EQ(small.stats().rx_dropped, 1u);
  EXPECT_EQ(tiny.stats().rx_dropped, 2u);
  // Known unicast destination too.
  send(small, make_frame(pool, kMacA, kMacB, 0, 8000));
  EXPECT_EQ(jumbo.pending(), 1u);
  send(jumbo, make_frame(pool, kMacB, kMacA, 0, 8000));
  EXPECT_EQ(small.stats().rx_dropped, 2u);
}

TEST(MemorySegment, RuntIsDroppedAtTheSender) {
  BufferPool pool;
  MemoryPair link;
  PacketBuffer runt = pool.allocate(13);
  std::memset(runt.append(13).data(), 0xff, 13);
  send(link.a, std::move(runt));
  PacketBuffer header_only = make_frame(pool, kMacB, kMacA, 0, 0);
  send(link.a, std::move(header_only));
  EXPECT_EQ(link.a.stats().tx_dropped, 1u);
  EXPECT_EQ(link.a.stats().tx_frames, 1u);
  EXPECT_EQ(link.b.pending(), 1u);  // a bare 14-byte header is switched
  EXPECT_EQ(pool.outstanding(), 1u);
}

TEST(MemorySegment, PortsKeepStableAddresses) {
  MemorySegment seg;
  MemoryPort& first = seg.add_port();
  for (int i = 0; i < 100; ++i) seg.add_port();
  EXPECT_EQ(&seg.port(0), &first);
  EXPECT_EQ(seg.port_count(), 101u);
  EXPECT_EQ(seg.port(57).index(), 57u);
}

}  // namespace
}  // namespace shunt
