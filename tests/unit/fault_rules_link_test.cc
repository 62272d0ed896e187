// RuleFaultDevice as a whole impaired link: loss, duplication, reordering
// (by count, by time, both), corruption (after the Ethernet header or
// anywhere), delay, a rate limit with its bucket and queue, an MTU black
// hole, in both directions, and determinism with everything on. Frames are
// opaque here (an id and filler after an Ethernet header): every rule
// matches every frame. These were FaultInjector's tests, with each
// FaultConfig field written as the rule that does the same; the jitter test
// is FaultRulesDevice.JitterStaysWithinBoundsAndFifoKeepsOrder
// (fault_rules_test.cc).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "driver/fault_rules.h"
#include "driver/memory_segment.h"
#include "driver/rule_fault_device.h"
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

FaultRuleSet rules(std::string_view spec) {
  auto r = parse_fault_rules(spec);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : FaultRuleSet{};
}

FaultRule rule(std::string_view text) {
  auto r = parse_fault_rule(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : FaultRule{};
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

// A RuleFaultDevice around port a of a cable; frames sent through the
// device are collected at port b.
struct Rig {
  explicit Rig(std::string_view spec, uint64_t seed = 1) : dev(link.a, rules(spec), seed) {}

  void send(uint32_t id, Instant now, size_t payload = 46) {
    PacketBuffer frames[1] = {make_frame(pool, kMacB, kMacA, id, payload)};
    dev.transmit(frames, now);
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
  // Follows the device's deadlines up to `until` (inclusive), releasing
  // (an empty transmit) and collecting at each.
  void run_until(Instant until) {
    for (Instant t = dev.next_deadline(); t <= until; t = dev.next_deadline()) {
      dev.transmit({}, t);
      collect(t);
    }
  }
  std::vector<uint32_t> ids() const {
    std::vector<uint32_t> v;
    for (const Arrival& a : arrivals) v.push_back(a.id);
    return v;
  }
  // Faults rule `index` injected.
  uint64_t injected(size_t index = 0) const { return dev.counters(index).injected; }

  BufferPool pool;
  MemoryPair link;
  RuleFaultDevice dev;
  std::vector<Arrival> arrivals;
};

std::vector<uint32_t> iota_ids(uint32_t n) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(FaultRulesLink, TransparentWithoutRules) {
  Rig r("");
  for (uint32_t i = 0; i < 100; ++i) r.send(i, at(1ms));
  r.collect(at(1ms));
  EXPECT_EQ(r.ids(), iota_ids(100));
  EXPECT_TRUE(r.dev.log().empty());
  EXPECT_EQ(r.dev.in_flight(), 0u);
  EXPECT_EQ(r.dev.next_deadline(), kNever);
  EXPECT_EQ(r.dev.info().mtu, 1500u);
  EXPECT_EQ(r.dev.fd(), -1);
  EXPECT_EQ(&r.dev.inner(), &r.link.a);
  // Inbound too.
  PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, 7)};
  r.link.b.transmit(frames, at(1ms));
  std::vector<PacketBuffer> got;
  EXPECT_EQ(r.dev.receive(got, 10, at(1ms)), 1u);
  EXPECT_EQ(id_of(got[0]), 7u);
}

TEST(FaultRulesLink, DropRateWithinStatisticalBounds) {
  Rig r("out drop 10%", 1234);
  for (uint32_t i = 0; i < 10'000; ++i) {
    r.send(i, at(0ms));
    if (i % 1000 == 999) r.collect(at(0ms));  // stay below the port's queue capacity
  }
  const uint64_t dropped = r.injected();
  EXPECT_GE(dropped, 800u);  // mean 1000, sd 30
  EXPECT_LE(dropped, 1200u);
  EXPECT_EQ(r.arrivals.size() + dropped, 10'000u);
  const std::vector<uint32_t> ids = r.ids();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // 100% drops everything.
  ASSERT_TRUE(r.dev.remove_rule(1));
  r.dev.add_rule(rule("out drop 100%"));
  r.arrivals.clear();
  for (uint32_t i = 0; i < 100; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_TRUE(r.arrivals.empty());
  EXPECT_EQ(r.pool.outstanding(), 0u);
}

TEST(FaultRulesLink, DuplicateSendsACopyRightAfter) {
  Rig r("out duplicate");
  for (uint32_t i = 0; i < 5; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}));
  EXPECT_EQ(r.arrivals[0].bytes, r.arrivals[1].bytes);
  EXPECT_EQ(r.injected(), 5u);

  Rig s("out duplicate 25%", 99);
  for (uint32_t i = 0; i < 10'000; ++i) {
    s.send(i, at(0ms));
    if (i % 1000 == 999) s.collect(at(0ms));
  }
  const uint64_t dups = s.injected();
  EXPECT_GE(dups, 2200u);  // mean 2500, sd 43
  EXPECT_LE(dups, 2800u);
  EXPECT_EQ(s.arrivals.size(), 10'000u + dups);
}

TEST(FaultRulesLink, ReorderCountMovesTheFrameExactlyNPlacesLater) {
  for (uint32_t hold : {1u, 3u, 7u}) {
    Rig r(fmt::format("out reorder={} nth=1", hold));
    r.send(0, at(0ms));  // held
    EXPECT_EQ(r.dev.in_flight(), 1u);
    // Held by count, and at most FaultAction::kReorderMaxHold (FaultInjector
    // could hold by count alone, for ever; a rule always has a bound).
    EXPECT_EQ(r.dev.next_deadline(), at(1s));
    for (uint32_t i = 1; i < 12; ++i) r.send(i, at(0ms));
    r.collect(at(0ms));
    std::vector<uint32_t> ids = r.ids();
    ASSERT_EQ(ids.size(), 12u) << hold;
    EXPECT_EQ(ids[hold], 0u) << hold;
    ids.erase(ids.begin() + hold);
    EXPECT_EQ(ids, std::vector<uint32_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})) << hold;
    EXPECT_EQ(r.injected(), 1u);
  }
  // Two held frames in a row each move by the same count.
  Rig r("out reorder=2 first=2");
  for (uint32_t i = 0; i < 6; ++i) r.send(i, at(0ms));
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{2, 3, 0, 1, 4, 5}));
}

TEST(FaultRulesLink, ReorderTimeReleasesByTime) {
  Rig r("out reorder=5ms nth=1");
  r.send(0, at(0ms));
  EXPECT_EQ(r.dev.next_deadline(), at(5ms));
  r.send(1, at(1ms));
  r.send(2, at(2ms));
  r.dev.transmit({}, at(5ms) - 1ns);
  r.collect(at(5ms) - 1ns);
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{1, 2}));
  r.dev.transmit({}, at(5ms));  // an empty transmit releases due frames
  r.collect(at(5ms));
  r.send(3, at(6ms));
  r.collect(at(6ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{1, 2, 0, 3}));
  EXPECT_EQ(r.arrivals[2].when, at(5ms));

  // A count bound plus a time bound: whichever comes first.
  Rig s("out reorder=100,3ms nth=1");
  s.send(0, at(0ms));
  s.send(1, at(1ms));
  s.run_until(at(1s));
  EXPECT_EQ(s.ids(), (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(s.arrivals[1].when, at(3ms));
}

TEST(FaultRulesLink, RandomReorderKeepsEveryFrame) {
  Rig r("out reorder=2,1ms 10%", 7);
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
  EXPECT_GE(r.injected(), 800u);
  EXPECT_LE(r.injected(), 1200u);
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

// Sends frames 0..n-1 with `payload` bytes at once and returns, for each
// arrival, the byte of its flipped bit; exactly one bit of each must differ.
std::vector<size_t> corrupted_bytes(Rig& r, uint32_t n, size_t payload) {
  for (uint32_t i = 0; i < n; ++i) r.send(i, at(0ms), payload);
  r.collect(at(0ms));
  EXPECT_EQ(r.arrivals.size(), n);
  std::vector<size_t> bytes;
  for (uint32_t k = 0; k < n && k < r.arrivals.size(); ++k) {
    size_t where = 0;
    // Frames keep their order, so arrival k is frame k (whose id may be hit).
    EXPECT_EQ(diff_bits(original(k, payload), r.arrivals[k].bytes, &where), 1) << k;
    bytes.push_back(where);
  }
  return bytes;
}

TEST(FaultRulesLink, CorruptFlipsExactlyOneBitAfterTheHeader) {
  Rig r("out corrupt", 5);
  const std::vector<size_t> hit = corrupted_bytes(r, 1000, 100);
  for (size_t where : hit) EXPECT_GE(where, kHdr);
  EXPECT_LT(*std::min_element(hit.begin(), hit.end()), kHdr + 10);  // the whole payload is a target
  EXPECT_EQ(r.injected(), 1000u);

  // A frame with no payload has nothing to corrupt.
  r.arrivals.clear();
  r.send(0, at(0ms), 0);
  r.collect(at(0ms));
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.injected(), 1000u);
}

TEST(FaultRulesLink, CorruptFrameReachesTheEthernetHeader) {
  Rig r("out corrupt=frame", 6);
  // b never transmits, so its MAC stays unknown and the segment floods every
  // frame to it, whatever happened to the addresses.
  const std::vector<size_t> hit = corrupted_bytes(r, 500, 10);
  const auto in_header = std::count_if(hit.begin(), hit.end(), [](size_t b) { return b < kHdr; });
  EXPECT_GT(in_header, 200);  // 14 of 24 bytes are header: expect ~290
}

TEST(FaultRulesLink, DelayShiftsArrivalExactly) {
  Rig r("out delay=5ms");
  r.send(0, at(1ms));
  r.send(1, at(1ms));
  r.send(2, at(2ms));
  EXPECT_EQ(r.dev.next_deadline(), at(6ms));
  r.dev.transmit({}, at(6ms) - 1ns);
  r.collect(at(6ms) - 1ns);
  EXPECT_TRUE(r.arrivals.empty());
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(r.arrivals[0].when, at(6ms));
  EXPECT_EQ(r.arrivals[1].when, at(6ms));
  EXPECT_EQ(r.arrivals[2].when, at(7ms));
  EXPECT_EQ(r.injected(), 3u);
  EXPECT_EQ(r.dev.next_deadline(), kNever);
}

TEST(FaultRulesLink, ReceiveAlsoReleasesDueOutboundFrames) {
  Rig r("out delay=1ms");
  r.send(0, at(0ms));
  std::vector<PacketBuffer> got;
  EXPECT_EQ(r.dev.receive(got, 10, at(1ms)), 0u);
  r.collect(at(1ms));
  EXPECT_EQ(r.arrivals.size(), 1u);
}

TEST(FaultRulesLink, RateLimitCapsThroughput) {
  Rig r("out rate=1mbit,burst=15000,queue=50", 3);
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
  const FaultRuleCounters& c = r.dev.counters(0);
  EXPECT_GT(c.rate_dropped, 1000u);
  EXPECT_GT(c.injected - c.rate_dropped, 0u);  // frames that waited
  // Order is kept.
  const std::vector<uint32_t> ids = r.ids();
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST(FaultRulesLink, RateLimitQueueTimingAndOverflow) {
  Rig r("out rate=1mbit,burst=1500,queue=2");  // 1000 bytes take 8 ms
  for (uint32_t i = 0; i < 10; ++i) r.send(i, at(0ms), 1000 - kHdr);
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), std::vector<uint32_t>{0});  // the bucket held 1500 bytes
  const FaultRuleCounters& c = r.dev.counters(0);
  EXPECT_EQ(c.injected - c.rate_dropped, 2u);  // queued
  EXPECT_EQ(c.rate_dropped, 7u);
  // 500 bytes left; 500 more take 4 ms. Then 1000 bytes every 8 ms.
  EXPECT_EQ(r.dev.next_deadline(), at(4ms));
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.arrivals[1].when, at(4ms));
  EXPECT_EQ(r.arrivals[2].when, at(12ms));

  // A policer (no queue) only drops.
  Rig p("out rate=1mbit,burst=3000,queue=0");
  for (uint32_t i = 0; i < 10; ++i) p.send(i, at(0ms), 1000 - kHdr);
  p.collect(at(0ms));
  EXPECT_EQ(p.arrivals.size(), 3u);
  EXPECT_EQ(p.dev.counters(0).rate_dropped, 7u);
  EXPECT_EQ(p.dev.next_deadline(), kNever);
  p.send(10, at(8ms), 1000 - kHdr);  // 1000 bytes of tokens back
  p.collect(at(8ms));
  EXPECT_EQ(p.arrivals.size(), 4u);
}

TEST(FaultRulesLink, RateLimitThenDelayCombine) {
  Rig r("out rate=8mbit,burst=1000; out delay=10ms");  // 1000 bytes per ms
  for (uint32_t i = 0; i < 3; ++i) r.send(i, at(0ms), 1000 - kHdr);
  r.run_until(at(1s));
  ASSERT_EQ(r.arrivals.size(), 3u);
  EXPECT_EQ(r.arrivals[0].when, at(10ms));
  EXPECT_EQ(r.arrivals[1].when, at(11ms));
  EXPECT_EQ(r.arrivals[2].when, at(12ms));
}

// FaultInjector could also advertise the clamp in info(); a rule does not
// (the stack reads info() once, before any rule can be added at run time):
// a smaller MTU the stack knows of is StackConfig::mtu (--mtu).
TEST(FaultRulesLink, MtuDropsLargeFramesUnseen) {
  Rig r("out mtu=1000");
  r.send(0, at(0ms), 1000);
  r.send(1, at(0ms), 1001);
  r.send(2, at(0ms), 10);
  r.collect(at(0ms));
  EXPECT_EQ(r.ids(), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(r.injected(), 1u);
  EXPECT_EQ(r.dev.counters(0).matched, 3u);
  EXPECT_EQ(r.dev.info().mtu, 1500u);  // invisible
}

TEST(FaultRulesLink, InboundFaults) {
  Rig r("in drop");
  auto from_b = [&](uint32_t id, Instant now) {
    PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, id)};
    r.link.b.transmit(frames, now);
  };
  auto all_inbound = [&] {
    return std::none_of(r.dev.log().begin(), r.dev.log().end(),
                        [](const FaultLogEntry& e) { return e.outbound; });
  };
  std::vector<PacketBuffer> got;

  // Drop.
  for (uint32_t i = 0; i < 10; ++i) from_b(i, at(0ms));
  EXPECT_EQ(r.dev.receive(got, 64, at(0ms)), 0u);
  EXPECT_EQ(r.link.a.pending(), 0u);  // drained from the inner device
  EXPECT_EQ(r.injected(), 10u);
  EXPECT_TRUE(all_inbound());
  ASSERT_TRUE(r.dev.remove_rule(1));

  // Delay: nothing until due.
  const uint32_t delay = r.dev.add_rule(rule("in delay=2ms"));
  from_b(20, at(1ms));
  EXPECT_EQ(r.dev.receive(got, 64, at(1ms)), 0u);
  EXPECT_EQ(r.dev.next_deadline(), at(3ms));
  EXPECT_EQ(r.dev.receive(got, 64, at(3ms) - 1ns), 0u);
  EXPECT_EQ(r.dev.receive(got, 64, at(3ms)), 1u);
  EXPECT_EQ(id_of(got.back()), 20u);
  EXPECT_EQ(r.dev.find_counters(delay)->injected, 1u);
  ASSERT_TRUE(r.dev.remove_rule(delay));

  // Duplicate, and receive() honours max.
  got.clear();
  const uint32_t dup = r.dev.add_rule(rule("in duplicate"));
  for (uint32_t i = 0; i < 5; ++i) from_b(i, at(4ms));
  EXPECT_EQ(r.dev.receive(got, 4, at(4ms)), 4u);
  EXPECT_EQ(r.dev.receive(got, 100, at(4ms)), 6u);
  EXPECT_EQ(r.dev.receive(got, 100, at(4ms)), 0u);
  ASSERT_EQ(got.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(id_of(got[i]), i / 2);
  EXPECT_EQ(r.dev.find_counters(dup)->injected, 5u);
  ASSERT_TRUE(r.dev.remove_rule(dup));

  // Corruption.
  got.clear();
  const uint32_t corrupt = r.dev.add_rule(rule("in corrupt"));
  from_b(1, at(5ms));
  ASSERT_EQ(r.dev.receive(got, 1, at(5ms)), 1u);
  PacketBuffer orig = make_frame(r.pool, kMacA, kMacB, 1);
  size_t where = 0;
  EXPECT_EQ(diff_bits({orig.data(), orig.data() + orig.size()},
                      {got[0].data(), got[0].data() + got[0].size()}, &where),
            1);
  EXPECT_EQ(r.dev.find_counters(corrupt)->injected, 1u);
  EXPECT_TRUE(all_inbound());
}

// Drives one rig with every fault on, in both directions, and returns what
// came out of each side.
std::pair<std::vector<Arrival>, std::vector<Arrival>> chaos_run(uint64_t seed) {
  Rig r(
      "both drop 5%; both duplicate 5%; both corrupt 5%; both reorder=2,3ms 5%; "
      "both rate=200mbit,burst=3000,queue=20; both delay=1ms~2ms",
      seed);
  std::vector<Arrival> inbound;
  std::vector<PacketBuffer> got;
  auto collect_in = [&](Instant t) {
    got.clear();
    r.dev.receive(got, 1'000'000, t);
    for (PacketBuffer& f : got) inbound.push_back({id_of(f), t, {f.data(), f.data() + f.size()}});
  };
  auto release = [&](Instant t) {
    r.dev.transmit({}, t);
    r.collect(t);
    collect_in(t);
  };
  for (uint32_t i = 0; i < 2000; ++i) {
    const Instant t = at(50us * i);
    for (Instant d = r.dev.next_deadline(); d < t; d = r.dev.next_deadline()) release(d);
    r.send(i, t, 200 + i % 700);
    PacketBuffer frames[1] = {make_frame(r.pool, kMacA, kMacB, i + 100'000, 100 + i % 500)};
    r.link.b.transmit(frames, t);
    r.collect(t);
    collect_in(t);
  }
  for (Instant d = r.dev.next_deadline(); d != kNever; d = r.dev.next_deadline()) release(d);
  EXPECT_EQ(r.dev.in_flight(), 0u);
  return {r.arrivals, inbound};
}

TEST(FaultRulesLink, SameSeedSameDecisions) {
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

TEST(FaultRulesLink, DecoratorsStack) {
  Rig r("out delay=1ms");
  RuleFaultDevice outer(r.dev, rules("out delay=1ms"), 9);
  PacketBuffer frames[1] = {make_frame(r.pool, kMacB, kMacA, 0)};
  outer.transmit(frames, at(0ms));
  std::vector<Instant> seen;
  for (Instant t = outer.next_deadline(); t != kNever; t = outer.next_deadline()) {
    seen.push_back(t);
    outer.transmit({}, t);
    r.collect(t);
  }
  EXPECT_EQ(seen, (std::vector<Instant>{at(1ms), at(2ms)}));
  ASSERT_EQ(r.arrivals.size(), 1u);
  EXPECT_EQ(r.arrivals[0].when, at(2ms));
}

// The simulation follows the device's deadlines like a node's.
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

TEST(FaultRulesLink, DelaysDriveTheSimulationClock) {
  BufferPool pool;
  MemoryPair link;
  // A's frames take 3 ms, frames to A 2 ms.
  RuleFaultDevice slow(link.a, rules("out delay=3ms; in delay=2ms"), 1);
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
