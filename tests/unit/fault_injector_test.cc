#include "driver/fault_injector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "driver/memory_segment.h"
#include "sim/simulation.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/wire/ethernet.h"

namespace shunt {
namespace {

const MacAddress kMacA({0x02, 0, 0, 0, 0, 0x0a});
// Far apart (8 bits), so that no single flipped bit turns one into the other.
const MacAddress kMacB({0x02, 0, 0, 0, 0, 0xf5});
constexpr size_t kHdr = wire::kEthernetHeaderLen;

Instant at(Duration d) {
  return Instant{} + d;
}

// Frame `id`: Ethernet header, the id in 4 big-endian bytes, then bytes
// derived from the id, `payload` bytes after the header in all.
PacketBuffer make_frame(BufferPool& pool, const MacAddress& dst, const MacAddress& src, uint32_t id,
                        size_t payload = 46) {
  PacketBuffer f = pool.allocate(kHdr + payload);
  auto b = f.append(kHdr + payload);
  dst.write(b.data());
  src.write(b.data() + 6);
  b[12] = 0x08;
  b[13] = 0x00;
  for (size_t i = 0; i < payload; ++i) b[kHdr + i] = static_cast<uint8_t>(size_t{id} * 31 + i * 7);
  if (payload >= 4) {
    for (int i = 0; i < 4; ++i) b[kHdr + i] = static_cast<uint8_t>(id >> (24 - 8 * i));
  }
  return f;
}

uint32_t id_of(const PacketBuffer& f) {
  uint32_t id = 0;
  for (int i = 0; i < 4; ++i) id = (id << 8) | f.data()[kHdr + i];
  return id;
}

struct Arrival {
  uint32_t id;
  Instant when;
  std::vector<uint8_t> bytes;
  bool operator==(const Arrival&) const = default;
};

// A FaultInjector around port a of a cable; frames sent through the injector
// are collected at port b.
struct Rig {
  explicit Rig(uint64_t seed = 1) : inj(link.a, seed) {}

  void send(uint32_t id, Instant now, size_t payload = 46) {
    PacketBuffer frames[1] = {make_frame(pool, kMacB, kMacA, id, payload)};
    inj.transmit(frames, now);
    EXPECT_FALSE(frames[0]);
  }
  // Frames that reached b so far, stamped with `now`.
  void collect(Instant now) {
    std::vector<PacketBuffer> got;
    link.b.receive(got, 1'000'000, now);
    for (PacketBuffer& f : got) {
      arrivals.push_back(Arrival{id_of(f), now, {f.data(), f.data() + f.size()}});
    }
  }
  // Follows the injector's deadlines up to `until` (inclusive), flushing and
  // collecting at each.
  void run_until(Instant until) {
    for (Instant t = inj.next_deadline(); t <= until; t = inj.next_deadline()) {
      inj.flush(t);
      collect(t);
    }
  }
  std::vector<uint32_t> ids() const {
    std::vector<uint32_t> v;
    for (const Arrival& a : arrivals) v.push_back(a.id);
    return v;
  }

  BufferPool pool;
  MemoryPair link;
  FaultInjector inj;
  std::vector<Arrival> arrivals;
};

std::vector<uint32_t> iota_ids(uint32_t n) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(FaultInjector, TransparentByDefault) {
  Rig r;
  for (uint32_t i = 0; i < 100; ++i) r.send(i, at(1ms));
  r.collect(at(1ms));
  EXPECT_EQ(r.ids(), iota_ids(100));
  EXPECT_EQ(r.inj.out_stats().passed, 100u);
  EXPECT_EQ(r.inj.out_stats().dropped, 0u);
  EXPECT_EQ(r.inj.out_stats().delayed, 0u);
  EXPECT_EQ(r.inj.in_flight(), 0u);
  EXPECT_EQ(r.inj.next_deadline(), kNever);
  EXPECT_EQ(r.inj.info().mtu, 1500u);
  EXPECT_EQ(r.inj.fd(), -1);
  EXPECT_EQ(&r.inj.inner(), &r.link.a);
  // Inbound too.
  PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, 7)};
  r.link.b.transmit(frames, at(1ms));
  std::vector<PacketBuffer> got;
  EXPECT_EQ(r.inj.receive(got, 10, at(1ms)), 1u);
  EXPECT_EQ(id_of(got[0]), 7u);
  EXPECT_EQ(r.inj.in_stats().passed, 1u);
}

TEST(FaultInjector, DropRateWithinStatisticalBounds) {
  Rig r(1234);
  r.inj.out().drop = 0.1;
  for (uint32_t i = 0; i < 10'000; ++i) {
    r.send(i, at(0ms));
    if (i % 1000 == 999) r.collect(at(0ms));  // stay below the port's queue capacity
  }
  const uint64_t dropped = r.inj.out_stats().dropped;
  EXPECT_GE(dropped, 800u);  // mean 1000, sd 30
  EXPECT_LE(dropped, 1200u);
  EXPECT_EQ(r.arrivals.size() + dropped, 10'000u);
  const std::vector<uint32_t> ids = r.ids();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // p = 1 drops everything.
  r.inj.out().drop = 1.0;
  r.arrivals.clear();
  for (uint32_t i = 0; i < 100; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_TRUE(r.arrivals.empty());
  EXPECT_EQ(r.pool.outstanding(), 0u);
}

TEST(FaultInjector, DuplicateSendsACopyRightAfter) {
  Rig r;
  r.inj.out().duplicate = 1.0;
  for (uint32_t i = 0; i < 5; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}));
  EXPECT_EQ(r.arrivals[0].bytes, r.arrivals[1].bytes);
  EXPECT_EQ(r.inj.out_stats().duplicated, 5u);
  EXPECT_EQ(r.inj.out_stats().passed, 10u);

  Rig s(99);
  s.inj.out().duplicate = 0.25;
  for (uint32_t i = 0; i < 10'000; ++i) {
    s.send(i, at(0ms));
    if (i % 1000 == 999) s.collect(at(0ms));
  }
  const uint64_t dups = s.inj.out_stats().duplicated;
  EXPECT_GE(dups, 2200u);  // mean 2500, sd 43
  EXPECT_LE(dups, 2800u);
  EXPECT_EQ(s.arrivals.size(), 10'000u + dups);
}

TEST(FaultInjector, ReorderHoldMovesTheFrameExactlyNPlacesLater) {
  for (uint32_t hold : {1u, 3u, 7u}) {
    Rig r;
    r.inj.out().reorder_hold = hold;
    r.inj.out().reorder = 1.0;
    r.send(0, at(0ms));  // held
    r.inj.out().reorder = 0.0;
    EXPECT_EQ(r.inj.in_flight(), 1u);
    EXPECT_EQ(r.inj.next_deadline(), kNever);  // held by count only
    for (uint32_t i = 1; i < 12; ++i) r.send(i, at(0ms));
    r.collect(at(0ms));
    std::vector<uint32_t> ids = r.ids();
    ASSERT_EQ(ids.size(), 12u) << hold;
    EXPECT_EQ(ids[hold], 0u) << hold;
    ids.erase(ids.begin() + hold);
    EXPECT_EQ(ids, std::vector<uint32_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})) << hold;
    EXPECT_EQ(r.inj.out_stats().reordered, 1u);
  }
  // Two held frames in a row each move by the same count.
  Rig r;
  r.inj.out().reorder_hold = 2;
  r.inj.out().reorder = 1.0;
  r.send(0, at(0ms));
  r.send(1, at(0ms));
  r.inj.out().reorder = 0.0;
  for (uint32_t i = 2; i < 6; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{2, 3, 0, 1, 4, 5}));
}

TEST(FaultInjector, ReorderDelayReleasesByTime) {
  Rig r;
  r.inj.out().reorder_hold = 0;
  r.inj.out().reorder_delay = 5ms;
  r.inj.out().reorder = 1.0;
  r.send(0, at(0ms));
  r.inj.out().reorder = 0.0;
  EXPECT_EQ(r.inj.next_deadline(), at(5ms));
  r.send(1, at(1ms));
  r.send(2, at(2ms));
  r.inj.flush(at(5ms) - 1ns);
  r.collect(at(5ms) - 1ns);
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{1, 2}));
  r.inj.transmit({}, at(5ms));  // an empty transmit releases due frames
  r.collect(at(5ms));
  r.send(3, at(6ms));
  r.collect(at(6ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{1, 2, 0, 3}));
  EXPECT_EQ(r.arrivals[2].when, at(5ms));

  // A count bound plus a time bound: whichever comes first.
  Rig s;
  s.inj.out().reorder_hold = 100;
  s.inj.out().reorder_delay = 3ms;
  s.inj.out().reorder = 1.0;
  s.send(0, at(0ms));
  s.inj.out().reorder = 0.0;
  s.send(1, at(1ms));
  s.run_until(at(1s));
  EXPECT_EQ(s.ids(), (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(s.arrivals[1].when, at(3ms));
}

TEST(FaultInjector, RandomReorderKeepsEveryFrame) {
  Rig r(7);
  r.inj.out().reorder = 0.1;
  r.inj.out().reorder_hold = 2;
  r.inj.out().reorder_delay = 1ms;
  for (uint32_t i = 0; i < 10'000; ++i) {
    r.run_until(at(10us * i));
    r.send(i, at(10us * i));
    r.collect(at(10us * i));
  }
  r.run_until(at(1s));
  std::vector<uint32_t> ids = r.ids();
  EXPECT_FALSE(std::is_sorted(ids.begin(), ids.end()));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, iota_ids(10'000));
  EXPECT_GE(r.inj.out_stats().reordered, 800u);
  EXPECT_LE(r.inj.out_stats().reordered, 1200u);
}

// Counts the bits that differ; returns the index of the last differing byte.
int diff_bits(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, size_t* where) {
  int bits = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      bits += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
      *where = i;
    }
  }
  return bits;
}

// The bytes frame `k` of a sequence was sent with.
std::vector<uint8_t> original(uint32_t k, size_t payload) {
  BufferPool pool;
  PacketBuffer f = make_frame(pool, kMacB, kMacA, k, payload);
  return {f.data(), f.data() + f.size()};
}

TEST(FaultInjector, CorruptFlipsExactlyOneBitAfterTheHeader) {
  Rig r(5);
  r.inj.out().corrupt = 1.0;
  for (uint32_t i = 0; i < 1000; ++i) r.send(i, at(0ms), 100);
  r.collect(at(0ms));
  ASSERT_EQ(r.arrivals.size(), 1000u);
  size_t lowest = 1000;
  for (uint32_t k = 0; k < 1000; ++k) {
    size_t where = 0;
    // Frames keep their order, so arrival k is frame k (whose id may be hit).
    ASSERT_EQ(diff_bits(original(k, 100), r.arrivals[k].bytes, &where), 1);
    EXPECT_GE(where, kHdr);
    lowest = std::min(lowest, where);
  }
  EXPECT_LT(lowest, kHdr + 10);  // the whole payload is a target
  EXPECT_EQ(r.inj.out_stats().corrupted, 1000u);

  // A frame with no payload has nothing to corrupt.
  r.arrivals.clear();
  r.send(0, at(0ms), 0);
  r.collect(at(0ms));
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.inj.out_stats().corrupted, 1000u);
}

TEST(FaultInjector, CorruptHeadersFlagReachesTheEthernetHeader) {
  Rig r(6);
  r.inj.out().corrupt = 1.0;
  r.inj.out().corrupt_headers = true;
  // b never transmits, so its MAC stays unknown and the segment floods every
  // frame to it, whatever happened to the addresses.
  for (uint32_t i = 0; i < 500; ++i) r.send(i, at(0ms), 10);
  r.collect(at(0ms));
  ASSERT_EQ(r.arrivals.size(), 500u);
  size_t in_header = 0;
  for (uint32_t k = 0; k < 500; ++k) {
    size_t where = 0;
    ASSERT_EQ(diff_bits(original(k, 10), r.arrivals[k].bytes, &where), 1);
    if (where < kHdr) ++in_header;
  }
  EXPECT_GT(in_header, 200u);  // 14 of 24 bytes are header: expect ~290
}

TEST(FaultInjector, DelayShiftsArrivalExactly) {
  Rig r;
  r.inj.out().delay = 5ms;
  r.send(0, at(1ms));
  r.send(1, at(1ms));
  r.send(2, at(2ms));
  EXPECT_EQ(r.inj.next_deadline(), at(6ms));
  r.inj.flush(at(6ms) - 1ns);
  r.collect(at(6ms) - 1ns);
  EXPECT_TRUE(r.arrivals.empty());
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(r.arrivals[0].when, at(6ms));
  EXPECT_EQ(r.arrivals[1].when, at(6ms));
  EXPECT_EQ(r.arrivals[2].when, at(7ms));
  EXPECT_EQ(r.inj.out_stats().delayed, 3u);
  EXPECT_EQ(r.inj.next_deadline(), kNever);
}

TEST(FaultInjector, ReceiveAlsoReleasesDueOutboundFrames) {
  Rig r;
  r.inj.out().delay = 1ms;
  r.send(0, at(0ms));
  std::vector<PacketBuffer> got;
  EXPECT_EQ(r.inj.receive(got, 10, at(1ms)), 0u);
  r.collect(at(1ms));
  EXPECT_EQ(r.arrivals.size(), 1u);
}

TEST(FaultInjector, JitterStaysWithinBounds) {
  for (bool keep_order : {false, true}) {
    Rig r(11);
    r.inj.out().delay = 10ms;
    r.inj.out().jitter = 5ms;
    r.inj.out().jitter_keeps_order = keep_order;
    for (uint32_t i = 0; i < 1000; ++i) r.send(i, at(0ms));
    r.run_until(at(1s));
    ASSERT_EQ(r.arrivals.size(), 1000u);
    Instant first = kNever;
    Instant last = Instant{};
    for (const Arrival& a : r.arrivals) {
      EXPECT_GE(a.when, at(10ms));
      EXPECT_LE(a.when, at(15ms));
      first = std::min(first, a.when);
      last = std::max(last, a.when);
    }
    if (!keep_order) {
      EXPECT_GT(last - first, 4ms);  // the draws spread over the range
    }
    const std::vector<uint32_t> ids = r.ids();
    // Without the flag frames overtake one another; with it they do not.
    EXPECT_EQ(std::is_sorted(ids.begin(), ids.end()), keep_order);
  }
}

TEST(FaultInjector, RateLimitCapsThroughput) {
  Rig r(3);
  FaultConfig& c = r.inj.out();
  c.rate_bps = 1'000'000;
  c.rate_bucket_bytes = 15'000;
  c.rate_queue_frames = 50;
  // Offer 2 Mbit/s for 10 s: a 1000-byte frame every 4 ms.
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < 2500; ++i) {
    const Instant t = at(4ms * i);
    r.run_until(t);
    r.send(i, t, 1000 - kHdr);
    r.collect(t);
  }
  r.run_until(at(10s));
  for (const Arrival& a : r.arrivals) bytes += a.bytes.size();
  // 1 Mbit/s for 10 s is 1.25 MB, plus at most one bucket.
  EXPECT_GE(bytes, 1'250'000u - 2000);
  EXPECT_LE(bytes, 1'250'000u + 15'000 + 1000);
  EXPECT_GT(r.inj.out_stats().rate_limited_dropped, 1000u);
  EXPECT_GT(r.inj.out_stats().rate_limited, 0u);
  // Order is kept.
  const std::vector<uint32_t> ids = r.ids();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST(FaultInjector, RateLimitQueueTimingAndOverflow) {
  Rig r;
  FaultConfig& c = r.inj.out();
  c.rate_bps = 1'000'000;  // 1000 bytes take 8 ms
  c.rate_bucket_bytes = 1500;
  c.rate_queue_frames = 2;
  for (uint32_t i = 0; i < 10; ++i) r.send(i, at(0ms), 1000 - kHdr);
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), std::vector<uint32_t>{0});  // the bucket held 1500 bytes
  EXPECT_EQ(r.inj.out_stats().rate_limited, 2u);
  EXPECT_EQ(r.inj.out_stats().rate_limited_dropped, 7u);
  // 500 bytes left; 500 more take 4 ms. Then 1000 bytes every 8 ms.
  EXPECT_EQ(r.inj.next_deadline(), at(4ms));
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.arrivals[1].when, at(4ms));
  EXPECT_EQ(r.arrivals[2].when, at(12ms));

  // A policer (no queue) only drops.
  Rig p;
  p.inj.out().rate_bps = 1'000'000;
  p.inj.out().rate_bucket_bytes = 3000;
  p.inj.out().rate_queue_frames = 0;
  for (uint32_t i = 0; i < 10; ++i) p.send(i, at(0ms), 1000 - kHdr);
  p.collect(at(0ms));
  EXPECT_EQ(p.arrivals.size(), 3u);
  EXPECT_EQ(p.inj.out_stats().rate_limited_dropped, 7u);
  EXPECT_EQ(p.inj.next_deadline(), kNever);
  p.send(10, at(8ms), 1000 - kHdr);  // 1000 bytes of tokens back
  p.collect(at(8ms));
  EXPECT_EQ(p.arrivals.size(), 4u);
}

TEST(FaultInjector, RateLimitThenDelayCombine) {
  Rig r;
  r.inj.out().rate_bps = 8'000'000;  // 1000 bytes per ms
  r.inj.out().rate_bucket_bytes = 1000;
  r.inj.out().delay = 10ms;
  for (uint32_t i = 0; i < 3; ++i) r.send(i, at(0ms), 1000 - kHdr);
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.arrivals[0].when, at(10ms));
  EXPECT_EQ(r.arrivals[1].when, at(11ms));
  EXPECT_EQ(r.arrivals[2].when, at(12ms));
}

TEST(FaultInjector, MtuClampDropsLargeFrames) {
  Rig r;
  r.inj.out().mtu = 1000;
  r.send(0, at(0ms), 1000);
  r.send(1, at(0ms), 1001);
  r.send(2, at(0ms), 10);
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(r.inj.out_stats().mtu_dropped, 1u);
  EXPECT_EQ(r.inj.info().mtu, 1500u);  // invisible by default
  r.inj.out().advertise_mtu = true;
  EXPECT_EQ(r.inj.info().mtu, 1000u);
}

TEST(FaultInjector, InboundFaults) {
  Rig r;
  auto from_b = [&](uint32_t id, Instant now) {
    PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, id)};
    r.link.b.transmit(frames, now);
  };
  std::vector<PacketBuffer> got;

  // Drop.
  r.inj.in().drop = 1.0;
  for (uint32_t i = 0; i < 10; ++i) from_b(i, at(0ms));
  EXPECT_EQ(r.inj.receive(got, 64, at(0ms)), 0u);
  EXPECT_EQ(r.link.a.pending(), 0u);  // drained from the inner device
  EXPECT_EQ(r.inj.in_stats().dropped, 10u);
  EXPECT_EQ(r.inj.out_stats().dropped, 0u);
  r.inj.in().drop = 0.0;

  // Delay: nothing until due.
  r.inj.in().delay = 2ms;
  from_b(20, at(1ms));
  EXPECT_EQ(r.inj.receive(got, 64, at(1ms)), 0u);
  EXPECT_EQ(r.inj.next_deadline(), at(3ms));
  EXPECT_EQ(r.inj.receive(got, 64, at(3ms) - 1ns), 0u);
  EXPECT_EQ(r.inj.receive(got, 64, at(3ms)), 1u);
  EXPECT_EQ(id_of(got.back()), 20u);
  EXPECT_EQ(r.inj.in_stats().delayed, 1u);
  r.inj.in().delay = 0ms;

  // Duplicate, and receive() honours max.
  got.clear();
  r.inj.in().duplicate = 1.0;
  for (uint32_t i = 0; i < 5; ++i) from_b(i, at(4ms));
  EXPECT_EQ(r.inj.receive(got, 4, at(4ms)), 4u);
  EXPECT_EQ(r.inj.receive(got, 100, at(4ms)), 6u);
  EXPECT_EQ(r.inj.receive(got, 100, at(4ms)), 0u);
  ASSERT_EQ(got.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(id_of(got[i]), i / 2);
  EXPECT_EQ(r.inj.in_stats().duplicated, 5u);
  r.inj.in().duplicate = 0.0;

  // Corruption.
  got.clear();
  r.inj.in().corrupt = 1.0;
  from_b(1, at(5ms));
  ASSERT_EQ(r.inj.receive(got, 1, at(5ms)), 1u);
  PacketBuffer orig = make_frame(r.pool, kMacA, kMacB, 1);
  size_t where = 0;
  EXPECT_EQ(diff_bits({orig.data(), orig.data() + orig.size()},
                      {got[0].data(), got[0].data() + got[0].size()}, &where),
            1);
  EXPECT_EQ(r.inj.in_stats().corrupted, 1u);
  EXPECT_EQ(r.inj.out_stats().corrupted, 0u);
}

// Drives one rig with every fault on, in both directions, and returns what
// came out of each side.
std::pair<std::vector<Arrival>, std::vector<Arrival>> chaos_run(uint64_t seed) {
  Rig r(seed);
  for (FaultConfig* c : {&r.inj.out(), &r.inj.in()}) {
    c->drop = 0.05;
    c->duplicate = 0.05;
    c->reorder = 0.05;
    c->reorder_hold = 2;
    c->reorder_delay = 3ms;
    c->corrupt = 0.05;
    c->delay = 1ms;
    c->jitter = 2ms;
    c->rate_bps = 200'000'000;
    c->rate_bucket_bytes = 3000;
    c->rate_queue_frames = 20;
  }
  std::vector<Arrival> inbound;
  std::vector<PacketBuffer> got;
  auto collect_in = [&](Instant t) {
    got.clear();
    r.inj.receive(got, 1'000'000, t);
    for (PacketBuffer& f : got) inbound.push_back({id_of(f), t, {f.data(), f.data() + f.size()}});
  };
  for (uint32_t i = 0; i < 2000; ++i) {
    const Instant t = at(50us * i);
    for (Instant d = r.inj.next_deadline(); d < t; d = r.inj.next_deadline()) {
      r.inj.flush(d);
      r.collect(d);
      collect_in(d);
    }
    r.send(i, t, 200 + i % 700);
    PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, i + 100'000, 100 + i % 500)};
    r.link.b.transmit(frames, t);
    r.collect(t);
    collect_in(t);
  }
  for (Instant d = r.inj.next_deadline(); d != kNever; d = r.inj.next_deadline()) {
    r.inj.flush(d);
    r.collect(d);
    collect_in(d);
  }
  EXPECT_EQ(r.inj.in_flight(), 0u);
  return {r.arrivals, inbound};
}

TEST(FaultInjector, SameSeedSameDecisions) {
  const auto a = chaos_run(2024);
  const auto b = chaos_run(2024);
  const auto c = chaos_run(2025);
  EXPECT_GT(a.first.size(), 1500u);
  EXPECT_GT(a.second.size(), 1500u);
  EXPECT_TRUE(a.first == b.first);
  EXPECT_TRUE(a.second == b.second);
  EXPECT_FALSE(a.first == c.first);
  EXPECT_FALSE(a.second == c.second);
}

TEST(FaultInjector, DecoratorsStack) {
  Rig r;
  FaultInjector outer(r.inj, 9);
  r.inj.out().delay = 1ms;
  outer.out().delay = 1ms;
  PacketBuffer frames[1] = {make_frame(r.pool, kMacB, kMacA, 0)};
  outer.transmit(frames, at(0ms));
  std::vector<Instant> seen;
  for (Instant t = outer.next_deadline(); t != kNever; t = outer.next_deadline()) {
    seen.push_back(t);
    outer.flush(t);
    r.collect(t);
  }
  EXPECT_EQ(seen, (std::vector<Instant>{at(1ms), at(2ms)}));
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.arrivals[0].when, at(2ms));
}

// The simulation follows the injector's deadlines like a node's.
class Echo {
 public:
  Echo(BufferPool& pool, NetDevice& dev, MacAddress mac, MacAddress peer)
      : pool_(pool), dev_(dev), mac_(mac), peer_(peer) {}
  void ping(Instant now) { send(0, now); }
  void receive(PacketBuffer f, Instant now) {
    if (id_of(f) == 0) {
      send(1, now);
    } else {
      replies.push_back(now);
    }
  }
  void poll(Instant) {}
  Instant next_deadline() const { return kNever; }
  std::vector<Instant> replies;

 private:
  void send(uint32_t id, Instant now) {
    PacketBuffer frames[1] = {make_frame(pool_, peer_, mac_, id)};
    dev_.transmit(frames, now);
  }
  BufferPool& pool_;
  NetDevice& dev_;
  MacAddress mac_;
  MacAddress peer_;
};

TEST(FaultInjector, DelaysDriveTheSimulationClock) {
  BufferPool pool;
  MemoryPair link;
  FaultInjector slow(link.a, 1);
  slow.out().delay = 3ms;  // A's frames take 3 ms
  slow.in().delay = 2ms;   // frames to A take 2 ms
  Echo a(pool, slow, kMacA, kMacB);
  Echo b(pool, link.b, kMacB, kMacA);
  Simulation sim;
  sim.add_host(a, slow);
  sim.add_host(b, link.b);
  a.ping(sim.now());
  EXPECT_TRUE(sim.run_until_idle(1s));
  ASSERT_EQ(a.replies.size(), 1u);
  EXPECT_EQ(a.replies[0], at(5ms));
  EXPECT_EQ(sim.now(), at(5ms));
  EXPECT_EQ(sim.steps(), 2u);
}

}  // namespace
}  // namespace shunt
