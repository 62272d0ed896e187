#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "stack/tcp/recv_buffer.h"

namespace shunt::tcp {
namespace {

using Accepted = RecvBuffer::Accepted;
using wire::SackBlock;

// Stream content: byte at stream offset i (relative to the initial RCV.NXT).
uint8_t byte_at(uint64_t i) {
  return static_cast<uint8_t>((i * 131) ^ (i >> 9) ^ (i >> 17));
}

std::vector<uint8_t> stream(uint64_t from, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = byte_at(from + i);
  return v;
}

// Inserts stream bytes [from, from + n) with the initial RCV.NXT `isn`.
Accepted put(RecvBuffer& b, SeqNum isn, uint32_t from, size_t n) {
  auto data = stream(from, n);
  return b.insert(isn + from, data);
}

std::vector<uint8_t> read_all(RecvBuffer& b, bool peek = false) {
  std::vector<uint8_t> out(b.readable());
  EXPECT_EQ(b.read(out, peek), out.size());
  return out;
}

Accepted acc(size_t in_order, size_t ooo, size_t dup, size_t dropped) {
  return Accepted{in_order, ooo, dup, dropped};
}

std::vector<SackBlock> sacks(const RecvBuffer& b, size_t max) {
  std::vector<SackBlock> out(max);
  out.resize(b.sack_blocks(out));
  return out;
}

SackBlock blk(SeqNum isn, uint32_t l, uint32_t r) {
  return SackBlock{isn + l, isn + r};
}

TEST(RecvBuffer, InOrderDataIsReadableAndConsumed) {
  const SeqNum isn(1000);
  BlockCache cache;
  RecvBuffer b(cache, 10000, isn);
  EXPECT_EQ(b.rcv_nxt(), isn);
  EXPECT_EQ(b.window(), 10000u);
  EXPECT_EQ(put(b, isn, 0, 1448), acc(1448, 0, 0, 0));
  EXPECT_EQ(put(b, isn, 1448, 1448), acc(1448, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), isn + 2896);
  EXPECT_EQ(b.readable(), 2896u);
  EXPECT_EQ(b.ooo_bytes(), 0u);
  EXPECT_EQ(b.window(), 10000u - 2896);

  std::vector<uint8_t> out(1000);
  EXPECT_EQ(b.read(out), 1000u);
  EXPECT_EQ(out, stream(0, 1000));
  EXPECT_EQ(b.readable(), 1896u);
  EXPECT_EQ(b.window(), 10000u - 1896);
  EXPECT_EQ(read_all(b), stream(1000, 1896));
  EXPECT_EQ(b.read(out), 0u);  // nothing left
  EXPECT_EQ(b.rcv_nxt(), isn + 2896);
  EXPECT_EQ(b.insert(isn + 2896, {}), acc(0, 0, 0, 0));
}

TEST(RecvBuffer, PeekDoesNotConsume) {
  const SeqNum isn(7);
  BlockCache cache;
  RecvBuffer b(cache, 1000, isn);
  put(b, isn, 0, 300);
  std::vector<uint8_t> out(200);
  EXPECT_EQ(b.read(out, /*peek=*/true), 200u);
  EXPECT_EQ(out, stream(0, 200));
  EXPECT_EQ(b.readable(), 300u);
  EXPECT_EQ(b.read(out, /*peek=*/true), 200u);
  EXPECT_EQ(out, stream(0, 200));  // the same bytes again
  EXPECT_EQ(b.read(out), 200u);
  EXPECT_EQ(out, stream(0, 200));
  EXPECT_EQ(b.readable(), 100u);
  out.resize(500);
  EXPECT_EQ(b.read(out, true), 100u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 100), stream(200, 100));
}

TEST(RecvBuffer, OutOfOrderThenFillTheHole) {
  const SeqNum isn(5000);
  BlockCache cache;
  RecvBuffer b(cache, 100000, isn);
  EXPECT_EQ(put(b, isn, 2000, 1000), acc(0, 1000, 0, 0));
  EXPECT_EQ(put(b, isn, 4000, 1000), acc(0, 1000, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), isn);
  EXPECT_EQ(b.readable(), 0u);
  EXPECT_EQ(b.ooo_bytes(), 2000u);
  EXPECT_EQ(b.ooo_ranges(), 2u);
  EXPECT_EQ(b.window(), 98000u);

  // The first hole fills: the first range becomes readable, the second stays.
  EXPECT_EQ(put(b, isn, 0, 2000), acc(2000, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), isn + 3000);
  EXPECT_EQ(b.readable(), 3000u);
  EXPECT_EQ(b.ooo_bytes(), 1000u);
  EXPECT_EQ(b.ooo_ranges(), 1u);

  // A segment that only partly fills the second hole stays out of order.
  EXPECT_EQ(put(b, isn, 3500, 500), acc(0, 500, 0, 0));
  EXPECT_EQ(b.ooo_ranges(), 1u);  // merged with its right neighbour
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 3500, 5000)}));
  EXPECT_EQ(put(b, isn, 3000, 500), acc(500, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), isn + 5000);
  EXPECT_EQ(b.ooo_bytes(), 0u);
  EXPECT_EQ(b.ooo_ranges(), 0u);
  EXPECT_EQ(read_all(b), stream(0, 5000));
}

TEST(RecvBuffer, DuplicatesFullAndPartial) {
  const SeqNum isn(0);
  BlockCache cache;
  RecvBuffer b(cache, 100000, isn);
  put(b, isn, 0, 1000);
  // Entirely old.
  EXPECT_EQ(put(b, isn, 0, 1000), acc(0, 0, 1000, 0));
  EXPECT_EQ(put(b, isn, 200, 100), acc(0, 0, 100, 0));
  // Partly old: the new tail is in order.
  EXPECT_EQ(put(b, isn, 500, 1000), acc(500, 0, 500, 0));
  EXPECT_EQ(b.rcv_nxt(), isn + 1500);
  // Old data stays old after the application has read it.
  read_all(b);
  EXPECT_EQ(put(b, isn, 1400, 200), acc(100, 0, 100, 0));

  // Out of order, overlapping what is held: the first copy is kept.
  EXPECT_EQ(put(b, isn, 3000, 1000), acc(0, 1000, 0, 0));
  std::vector<uint8_t> other(3000, 0xEE);
  // [2500, 5500) over [3000, 4000): 500 + 1500 new, 1000 duplicate.
  EXPECT_EQ(b.insert(isn + 2500, other), acc(0, 2000, 1000, 0));
  EXPECT_EQ(b.ooo_ranges(), 1u);
  EXPECT_EQ(b.ooo_bytes(), 3000u);
  // A second range, then one segment overlapping both and the hole between.
  EXPECT_EQ(put(b, isn, 6000, 500), acc(0, 500, 0, 0));
  EXPECT_EQ(put(b, isn, 5000, 2000), acc(0, 1000, 1000, 0));  // 5500-6000 and 6500-7000 new
  EXPECT_EQ(b.ooo_ranges(), 1u);
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 2500, 7000)}));
  // Fill the hole [1600, 2500) and check which copy survived where.
  EXPECT_EQ(put(b, isn, 1600, 900), acc(900, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), isn + 7000);
  auto got = read_all(b);
  ASSERT_EQ(got.size(), 7000u - 1500);  // [1500, 1600) was not read yet
  auto at = [&](uint32_t seq) { return got[seq - 1500]; };
  for (uint32_t s : {1500u, 1600u, 2499u, 3000u, 3999u, 5500u, 6000u, 6499u, 6500u, 6999u}) {
    EXPECT_EQ(at(s), byte_at(s)) << s;
  }
  for (uint32_t s : {2500u, 2999u, 4000u, 5499u}) EXPECT_EQ(at(s), 0xEE) << s;
}

TEST(RecvBuffer, DataBeyondTheWindowIsDropped) {
  const SeqNum isn(100);
  BlockCache cache;
  RecvBuffer b(cache, 1000, isn);
  // Straddles the right edge: the part inside is kept.
  EXPECT_EQ(put(b, isn, 900, 200), acc(0, 100, 0, 100));
  EXPECT_EQ(put(b, isn, 1000, 10), acc(0, 0, 0, 10));
  EXPECT_EQ(put(b, isn, 5000, 10), acc(0, 0, 0, 10));
  EXPECT_EQ(b.window(), 900u);
  // Unread data narrows what can be accepted beyond RCV.NXT.
  EXPECT_EQ(put(b, isn, 0, 400), acc(400, 0, 0, 0));
  EXPECT_EQ(b.receive_space(), 600u);
  EXPECT_EQ(b.window(), 500u);
  EXPECT_EQ(put(b, isn, 900, 200), acc(0, 0, 100, 100));  // 900-1000 held, the rest beyond
  EXPECT_EQ(put(b, isn, 400, 700), acc(500, 0, 100, 100));
  EXPECT_EQ(b.readable(), 1000u);
  EXPECT_EQ(b.window(), 0u);
  EXPECT_EQ(b.receive_space(), 0u);
  EXPECT_EQ(put(b, isn, 1000, 1), acc(0, 0, 0, 1));
  std::vector<uint8_t> out(300);
  b.read(out);
  EXPECT_EQ(b.receive_space(), 300u);
  EXPECT_EQ(put(b, isn, 1000, 400), acc(300, 0, 0, 100));
  EXPECT_EQ(b.readable(), 1000u);
  EXPECT_EQ(read_all(b), stream(300, 1000));
}

TEST(RecvBuffer, WindowArithmeticAndShrinkingCapacity) {
  const SeqNum isn(0);
  BlockCache cache;
  RecvBuffer b(cache, 10000, isn);
  put(b, isn, 0, 3000);
  put(b, isn, 5000, 1000);
  EXPECT_EQ(b.readable(), 3000u);
  EXPECT_EQ(b.ooo_bytes(), 1000u);
  EXPECT_EQ(b.window(), 6000u);
  EXPECT_EQ(b.receive_space(), 7000u);
  b.set_capacity(3500);  // below what is held: nothing is discarded
  EXPECT_EQ(b.capacity(), 3500u);
  EXPECT_EQ(b.window(), 0u);
  EXPECT_EQ(b.receive_space(), 500u);
  EXPECT_EQ(b.ooo_bytes(), 1000u);
  EXPECT_EQ(put(b, isn, 3500, 100), acc(0, 0, 0, 100));
  EXPECT_EQ(put(b, isn, 3000, 600), acc(500, 0, 0, 100));
  std::vector<uint8_t> out(3000);
  b.read(out);
  EXPECT_EQ(b.window(), 2000u);  // 3500 - 500 readable - 1000 out of order
  b.set_capacity(2000);
  EXPECT_EQ(b.window(), 500u);
  EXPECT_EQ(b.receive_space(), 1500u);
  // Filling [3500, 5000) makes the kept out-of-order range readable.
  EXPECT_EQ(put(b, isn, 3500, 1500), acc(1500, 0, 0, 0));
  EXPECT_EQ(b.readable(), 3000u);
  EXPECT_EQ(b.window(), 0u);
  EXPECT_EQ(read_all(b), stream(3000, 3000));
  EXPECT_EQ(b.window(), 2000u);
  b.set_capacity(size_t{1} << 40);
  EXPECT_EQ(b.capacity(), RecvBuffer::kMaxCapacity);
}

TEST(RecvBuffer, SequenceWrapAround) {
  const SeqNum isn(0xffffff00u);
  BlockCache cache;
  RecvBuffer b(cache, 200000, isn);
  // Segments on both sides of 2**32, out of order.
  EXPECT_EQ(put(b, isn, 0x180, 0x100), acc(0, 0x100, 0, 0));  // 0x80..0x180 after the wrap
  EXPECT_EQ(put(b, isn, 0xc0, 0x80), acc(0, 0x80, 0, 0));     // 0xffffffc0..0x40
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 0xc0, 0x140), blk(isn, 0x180, 0x280)}));
  EXPECT_EQ(b.sack_blocks(std::span<SackBlock>()), 0u);
  EXPECT_EQ(sacks(b, 4)[0].left, SeqNum(0xffffffc0u));
  EXPECT_EQ(sacks(b, 4)[0].right, SeqNum(0x40u));
  EXPECT_EQ(put(b, isn, 0, 0xc0), acc(0xc0, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), SeqNum(0x40));
  EXPECT_EQ(put(b, isn, 0x140, 0x40), acc(0x40, 0, 0, 0));
  EXPECT_EQ(b.rcv_nxt(), SeqNum(0x180));
  EXPECT_EQ(b.ooo_ranges(), 0u);
  // A duplicate from before the wrap.
  EXPECT_EQ(put(b, isn, 0x10, 0x20), acc(0, 0, 0x20, 0));
  EXPECT_EQ(read_all(b), stream(0, 0x280));
}

TEST(RecvBuffer, SackBlocksMostRecentFirst) {
  const SeqNum isn(1);
  BlockCache cache;
  RecvBuffer b(cache, 1 << 20, isn);
  EXPECT_TRUE(sacks(b, 4).empty());
  // Five holes' worth of ranges, received in this order.
  put(b, isn, 3000, 100);
  put(b, isn, 1000, 100);
  put(b, isn, 7000, 100);
  put(b, isn, 5000, 100);
  put(b, isn, 9000, 100);
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 9000, 9100), blk(isn, 5000, 5100),
                                      blk(isn, 7000, 7100), blk(isn, 1000, 1100)}));
  // With timestamps only 3 blocks fit.
  EXPECT_EQ(sacks(b, 3),
            (std::vector{blk(isn, 9000, 9100), blk(isn, 5000, 5100), blk(isn, 7000, 7100)}));
  // A segment extending the oldest range makes it the first block.
  put(b, isn, 3100, 100);
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 3000, 3200), blk(isn, 9000, 9100),
                                      blk(isn, 5000, 5100), blk(isn, 7000, 7100)}));
  // So does a duplicate inside a range (RFC 2018 4: the block containing
  // the segment that triggered the ACK comes first).
  put(b, isn, 1020, 50);
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 1000, 1100), blk(isn, 3000, 3200),
                                      blk(isn, 9000, 9100), blk(isn, 5000, 5100)}));
  // A segment joining two ranges reports the merged block first.
  put(b, isn, 5100, 1900);
  EXPECT_EQ(sacks(b, 4), (std::vector{blk(isn, 5000, 7100), blk(isn, 1000, 1100),
                                      blk(isn, 3000, 3200), blk(isn, 9000, 9100)}));
  // Data that becomes readable is no longer reported.
  put(b, isn, 0, 1000);
  EXPECT_EQ(sacks(b, 4),
            (std::vector{blk(isn, 5000, 7100), blk(isn, 3000, 3200), blk(isn, 9000, 9100)}));
  EXPECT_EQ(sacks(b, 1), (std::vector{blk(isn, 5000, 7100)}));
}

TEST(RecvBuffer, NumberOfOutOfOrderRangesIsBounded) {
  const SeqNum isn(0);
  BlockCache cache;
  RecvBuffer b(cache, 1 << 20, isn);
  const size_t max = RecvBuffer::kMaxOooRanges;
  for (uint32_t i = 0; i < max; ++i) {
    ASSERT_EQ(put(b, isn, 1000 + 200 * i, 100), acc(0, 100, 0, 0));
  }
  EXPECT_EQ(b.ooo_ranges(), max);
  // A new disjoint range is refused ...
  const uint32_t above = 1000 + 200 * max + 1000;
  EXPECT_EQ(put(b, isn, above, 100), acc(0, 0, 0, 100));
  EXPECT_EQ(put(b, isn, 500, 100), acc(0, 0, 0, 100));  // below the first range too
  EXPECT_EQ(b.ooo_ranges(), max);
  EXPECT_EQ(b.ooo_bytes(), 100 * max);
  // ... but data that extends or joins held ranges is taken,
  EXPECT_EQ(put(b, isn, 1100, 50), acc(0, 50, 0, 0));
  EXPECT_EQ(put(b, isn, 1150, 50), acc(0, 50, 0, 0));  // joins the first two ranges
  EXPECT_EQ(b.ooo_ranges(), max - 1);
  // and so is in-order data, which never needs a range.
  EXPECT_EQ(put(b, isn, 0, 500), acc(500, 0, 0, 0));
  EXPECT_EQ(b.ooo_ranges(), max - 1);
  // With one range free again, a new one fits.
  EXPECT_EQ(put(b, isn, above, 100), acc(0, 100, 0, 0));
  EXPECT_EQ(b.ooo_ranges(), max);
  // One segment over every hole drains the whole set.
  put(b, isn, 0, above + 100);
  EXPECT_EQ(b.ooo_ranges(), 0u);
  EXPECT_EQ(b.rcv_nxt(), isn + above + 100);
  EXPECT_EQ(read_all(b), stream(0, above + 100));
}

TEST(RecvBuffer, ResetStartsOver) {
  BlockCache cache;
  RecvBuffer b(cache, 1000, SeqNum(0));
  put(b, SeqNum(0), 0, 100);
  put(b, SeqNum(0), 300, 100);
  b.reset(SeqNum(777));
  EXPECT_EQ(b.rcv_nxt(), SeqNum(777));
  EXPECT_EQ(b.readable(), 0u);
  EXPECT_EQ(b.ooo_bytes(), 0u);
  EXPECT_EQ(b.ooo_ranges(), 0u);
  EXPECT_EQ(b.window(), 1000u);
  EXPECT_EQ(put(b, SeqNum(777), 0, 10), acc(10, 0, 0, 0));
  EXPECT_EQ(read_all(b), stream(0, 10));
}

TEST(RecvBuffer, MemoryFollowsContent) {
  const SeqNum isn(0);
  BlockCache cache;
  RecvBuffer b(cache, 4 << 20, isn);
  EXPECT_EQ(b.memory(), 0u);
  // Far out-of-order data allocates only the block it lands in.
  put(b, isn, 3 << 20, 100);
  EXPECT_EQ(b.memory(), RecvBuffer::kBlockSize);
  put(b, isn, 0, 100);
  EXPECT_EQ(b.memory(), 2 * RecvBuffer::kBlockSize);
  b.reset(isn);
  EXPECT_EQ(b.memory(), 0u);
  EXPECT_EQ(cache.outstanding(), 0u);
  // Request/response: an emptied buffer holds no block, and the block it
  // gave back is the next one it takes: none allocated per segment.
  put(b, isn, 0, 100);
  read_all(b);
  EXPECT_EQ(b.memory(), 0u);
  const uint64_t allocs = cache.allocations();
  for (uint32_t i = 1; i <= 100; ++i) {
    put(b, isn, 100 * i, 100);
    EXPECT_EQ(b.memory(), RecvBuffer::kBlockSize);
    read_all(b);
    EXPECT_EQ(b.memory(), 0u);
  }
  EXPECT_EQ(cache.allocations(), allocs);
  cache.trim();
  EXPECT_EQ(cache.cached(), 0u);
}

// A reader that keeps up (reads everything every few segments) empties the
// buffer constantly; the blocks kept on emptying are enough to stream any
// amount without asking the allocator again.
TEST(RecvBuffer, KeepingUpReaderDoesNotAllocatePerSegment) {
  const SeqNum isn(0x7ffff000u);
  BlockCache cache;
  RecvBuffer b(cache, 6 << 20, isn);
  std::mt19937 rng(3);
  const size_t mss = 1448;
  std::vector<uint8_t> seg = stream(0, mss);
  std::vector<uint8_t> out(64 * 1024);
  uint32_t off = 0;
  while (off < (64u << 20)) {
    const int segs = static_cast<int>(rng() % 40) + 1;  // up to 57 KiB between reads
    for (int i = 0; i < segs; ++i, off += mss) {
      ASSERT_EQ(b.insert(isn + off, seg).in_order, mss);
    }
    while (b.readable() > 0) b.read(out);
  }
  EXPECT_LE(cache.allocations(), 8u);  // ~57 KiB between reads: at most 5 blocks live
}

// A long stream cut into random segments, delivered with reordering,
// duplication and retransmission of whatever is missing, read in random
// pieces; every byte and every count is checked. Starts just below 2**32.
TEST(RecvBuffer, RandomReorderingAndDuplication) {
  const SeqNum isn(0xfff00000u);
  const size_t cap = 256 * 1024;
  const uint64_t total = 16ull << 20;
  BlockCache cache;
  RecvBuffer b(cache, cap, isn);
  std::mt19937 rng(7);
  std::vector<uint8_t> data = stream(0, total);
  uint64_t read = 0;
  uint64_t sent = 0;  // highest stream offset "transmitted"
  std::vector<uint8_t> out(70000);
  size_t in_order = 0, ooo = 0;
  while (read < total) {
    const uint64_t nxt = b.rcv_nxt() - isn;  // stream offset of RCV.NXT (no wrap past 2**32 of it)
    // A burst of segments: retransmissions at RCV.NXT, new data, and
    // random overlapping copies of earlier data.
    for (int k = 0; k < 8; ++k) {
      uint64_t from;
      switch (rng() % 4) {
        case 0:
          from = nxt;
          break;
        case 1:
          from = sent;
          break;
        default:
          from = nxt + rng() % (cap + 5000);
          if (from > 3000) from -= rng() % 3000;
          break;
      }
      if (from >= total) continue;
      const size_t len = std::min<uint64_t>(rng() % 3000 + 1, total - from);
      const size_t window_before = b.window();
      const size_t ooo_before = b.ooo_bytes();
      const size_t readable_before = b.readable();
      Accepted a = b.insert(isn + static_cast<uint32_t>(from), {data.data() + from, len});
      ASSERT_EQ(a.in_order + a.out_of_order + a.duplicate + a.dropped_no_space, len);
      ASSERT_EQ(b.window(), window_before - a.in_order - a.out_of_order);
      ASSERT_EQ(b.readable() + b.ooo_bytes(),
                readable_before + ooo_before + a.in_order + a.out_of_order);
      ASSERT_LE(b.readable() + b.ooo_bytes(), cap);
      ASSERT_LE(b.ooo_ranges(), RecvBuffer::kMaxOooRanges);
      in_order += a.in_order;
      ooo += a.out_of_order;
      sent = std::max(sent, from + len);
    }
    const size_t n = std::min<size_t>(rng() % out.size(), b.readable());
    ASSERT_EQ(b.read({out.data(), n}), n);
    ASSERT_TRUE(std::equal(out.begin(), out.begin() + n, data.begin() + read)) << "at " << read;
    read += n;
  }
  EXPECT_EQ(b.rcv_nxt(), isn + static_cast<uint32_t>(total));
  EXPECT_EQ(in_order + ooo, total);  // every byte was new exactly once
  EXPECT_GT(ooo, total / 10);        // the test did exercise reordering
  // Blocks are recycled, not allocated per segment.
  EXPECT_LE(cache.allocations(), cap / RecvBuffer::kBlockSize + 2);
}

}  // namespace
}  // namespace shunt::tcp
