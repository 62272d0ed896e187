#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "stack/tcp/sack_scoreboard.h"

namespace shunt::tcp {
namespace {

using Update = SackScoreboard::Update;
using wire::SackBlock;

SackBlock blk(uint32_t l, uint32_t r) {
  return SackBlock{SeqNum(l), SeqNum(r)};
}

Update ack(SackScoreboard& sb, uint32_t una, uint32_t nxt, std::vector<SackBlock> blocks) {
  return sb.on_ack(SeqNum(una), SeqNum(nxt), blocks);
}

std::vector<SackBlock> ranges(const SackScoreboard& sb) {
  auto r = sb.sacked_ranges();
  return {r.begin(), r.end()};
}

const auto kNothingRetransmitted = [](SeqNum) { return false; };

TEST(SackScoreboard, BlocksAreMergedAcrossAcks) {
  SackScoreboard sb;
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(2000, 3000)}), (Update{1000, false}));
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(4000, 5000), blk(2000, 3000)}), (Update{1000, false}));
  EXPECT_EQ(sb.ranges(), 2u);
  EXPECT_EQ(sb.sacked_bytes(), 2000u);
  // The hole between them fills: one range.
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(3000, 4000), blk(4000, 5000), blk(2000, 3000)}),
            (Update{1000, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(2000, 5000)}));
  // Repeats and overlaps count only what is new.
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(2500, 5500)}), (Update{500, false}));
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(1500, 6000), blk(7000, 8000)}), (Update{2000, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(1500, 6000), blk(7000, 8000)}));
  EXPECT_EQ(sb.sacked_bytes(), 5500u);
  // Adjacent blocks in one option merge too.
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(8000, 8500), blk(6000, 7000)}), (Update{1500, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(1500, 8500)}));
  EXPECT_EQ(sb.highest_sacked(), SeqNum(8500));
}

TEST(SackScoreboard, DsackBelowTheCumulativeAck) {
  SackScoreboard sb;
  // RFC 2883 4: a segment received twice after it was cumulatively ACKed
  // (a spurious retransmission, a replicated packet) is reported below the
  // cumulative ACK.
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(4000, 5000)}), (Update{0, true}));
  EXPECT_EQ(sb.ranges(), 0u);
  // With an ordinary block after it, that block still counts.
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(3000, 4000), blk(6000, 7000)}), (Update{1000, true}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(6000, 7000)}));
  // Partly below: still a D-SACK (Linux: left edge before SEG.ACK).
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(4500, 5500)}), (Update{0, true}));
  EXPECT_EQ(sb.sacked_bytes(), 1000u);
}

TEST(SackScoreboard, DsackInsideTheSecondBlock) {
  SackScoreboard sb;
  // RFC 2883 4: a duplicate of data held out of order is reported first,
  // followed by the block that contains it.
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(6000, 6500), blk(6000, 7000)}), (Update{1000, true}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(6000, 7000)}));
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(6000, 7000), blk(6000, 7000), blk(8000, 9000)}),
            (Update{1000, true}));
  // A first block that contains the second, or is disjoint from it, is an
  // ordinary SACK block.
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(7000, 8000), blk(7500, 7600)}), (Update{1000, false}));
  EXPECT_EQ(ack(sb, 5000, 10000, {blk(9500, 9600), blk(6000, 9000)}), (Update{100, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(6000, 9000), blk(9500, 9600)}));
}

TEST(SackScoreboard, BlocksOutsideTheWindowAreIgnored) {
  SackScoreboard sb;
  const Update u = ack(sb, 1000, 5000,
                       {
                           blk(3000, 3500),  // fine
                           blk(4500, 5001),  // beyond SND.NXT: never sent
                           blk(5000, 6000),  // beyond SND.NXT
                           blk(200, 900),    // wholly below SND.UNA (not first: not a D-SACK)
                           blk(2000, 2000),  // empty
                           blk(2600, 2500),  // reversed
                           blk(900, 1500),   // straddles SND.UNA: clipped
                       });
  EXPECT_EQ(u, (Update{1000, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(1000, 1500), blk(3000, 3500)}));
  // A block ending exactly at SND.NXT is fine.
  EXPECT_EQ(ack(sb, 1000, 5000, {blk(4000, 5000)}), (Update{1000, false}));
  EXPECT_EQ(sb.highest_sacked(), SeqNum(5000));
}

TEST(SackScoreboard, AdvanceDropsRangesBelowSndUna) {
  SackScoreboard sb;
  ack(sb, 1000, 10000, {blk(2000, 3000), blk(4000, 5000), blk(6000, 7000)});
  EXPECT_EQ(sb.highest_sacked(), SeqNum(7000));
  sb.advance(SeqNum(2500));  // inside the first range: clipped
  EXPECT_EQ(ranges(sb), (std::vector{blk(2500, 3000), blk(4000, 5000), blk(6000, 7000)}));
  EXPECT_EQ(sb.sacked_bytes(), 2500u);
  sb.advance(SeqNum(5000));  // exactly at a right edge
  EXPECT_EQ(ranges(sb), (std::vector{blk(6000, 7000)}));
  EXPECT_EQ(sb.sacked_bytes(), 1000u);
  // on_ack advances too.
  EXPECT_EQ(ack(sb, 6500, 10000, {blk(8000, 9000)}), (Update{1000, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(6500, 7000), blk(8000, 9000)}));
  sb.advance(SeqNum(9500));
  EXPECT_EQ(sb.ranges(), 0u);
  EXPECT_EQ(sb.sacked_bytes(), 0u);
  EXPECT_EQ(sb.highest_sacked(), SeqNum(9500));  // nothing SACKed: SND.UNA
}

TEST(SackScoreboard, ResetForgetsRanges) {
  SackScoreboard sb;
  ack(sb, 1000, 10000, {blk(2000, 3000)});
  sb.reset();
  EXPECT_EQ(sb.ranges(), 0u);
  EXPECT_EQ(sb.sacked_bytes(), 0u);
  EXPECT_FALSE(sb.is_sacked(SeqNum(2500)));
  EXPECT_EQ(sb.highest_sacked(), SeqNum(1000));
  EXPECT_EQ(ack(sb, 1000, 10000, {blk(2000, 3000)}), (Update{1000, false}));  // new again
}

TEST(SackScoreboard, IsSackedAtTheEdges) {
  SackScoreboard sb;
  ack(sb, 0, 10000, {blk(2000, 3000), blk(5000, 6000)});
  EXPECT_FALSE(sb.is_sacked(SeqNum(1999)));
  EXPECT_TRUE(sb.is_sacked(SeqNum(2000)));
  EXPECT_TRUE(sb.is_sacked(SeqNum(2999)));
  EXPECT_FALSE(sb.is_sacked(SeqNum(3000)));
  EXPECT_FALSE(sb.is_sacked(SeqNum(4999)));
  EXPECT_TRUE(sb.is_sacked(SeqNum(5000)));
  EXPECT_FALSE(sb.is_sacked(SeqNum(6000)));
}

TEST(SackScoreboard, IsLostWithThreeSegmentsSackedAboveButNotTwo) {
  const uint32_t smss = 1000;
  SackScoreboard sb;
  // Segment 1 [0, 1000) missing; segments 2 and 3 SACKed: 2 * SMSS is not
  // "more than (DupThresh - 1) * SMSS" and it is one range, not three.
  ack(sb, 0, 10000, {blk(1000, 3000)});
  EXPECT_FALSE(sb.is_lost(SeqNum(0), smss));
  EXPECT_FALSE(sb.is_lost(SeqNum(999), smss));
  // Segment 4 SACKed too: 3 * SMSS above.
  ack(sb, 0, 10000, {blk(3000, 4000)});
  EXPECT_TRUE(sb.is_lost(SeqNum(0), smss));
  EXPECT_TRUE(sb.is_lost(SeqNum(999), smss));
  // Only the octets above count: above 1500, 2499 bytes are SACKed.
  EXPECT_TRUE(sb.is_lost(SeqNum(1500), smss));
  EXPECT_FALSE(sb.is_lost(SeqNum(2000), smss));  // 1999 above: not more than 2000
  EXPECT_FALSE(sb.is_lost(SeqNum(4000), smss));  // nothing above
}

TEST(SackScoreboard, IsLostWithThreeDiscontiguousRanges) {
  const uint32_t smss = 1460;
  SackScoreboard sb;
  // Small segments: the byte rule never fires, the range count does.
  ack(sb, 0, 10000, {blk(1000, 1100), blk(2000, 2100)});
  EXPECT_FALSE(sb.is_lost(SeqNum(500), smss));
  ack(sb, 0, 10000, {blk(3000, 3100)});
  EXPECT_TRUE(sb.is_lost(SeqNum(500), smss));
  EXPECT_FALSE(sb.is_lost(SeqNum(1500), smss));  // only two ranges above it
  // Joining two of them leaves two ranges: no longer lost.
  ack(sb, 0, 10000, {blk(1100, 2000)});
  EXPECT_FALSE(sb.is_lost(SeqNum(500), smss));
}

// The hand-worked example. SMSS = 1000, ten segments S1..S10 in flight
// from `base` (SND.UNA) to base + 10000 (SND.NXT); segment Sk is
// [base + 1000 (k-1), base + 1000 k). The receiver SACKed S3, S5, S6, S8:
//
//   S1  S2  S3  S4  S5  S6  S7  S8  S9  S10
//   .   .   ##  .   ##  ##  .   ##  .   .
//
// IsLost, hole by hole (ranges above / SACKed bytes above):
//   S1, S2   3 ranges / 4000 bytes  -> lost (3 >= DupThresh)
//   S4       2 ranges / 3000 bytes  -> lost (3000 > 2 * SMSS)
//   S7       1 range  / 1000 bytes  -> not lost
//   S9, S10  nothing above          -> not lost
// SetPipe (a): not SACKed and not lost: S7, S9, S10 -> 3000.
// SetPipe (b): retransmitted octets count once more.
//   Nothing retransmitted:                       pipe = 3000
//   S1 retransmitted (HighRxt + 1 = base + 1000):  pipe = 4000
//   S1, S2, S4 retransmitted (up to base + 5000): pipe = 6000
// NextSeg (1) from SND.UNA: S1; from S2: S2; from S3 (SACKed): S4; from S5: none (S7 is not lost).
class SackScoreboardExample : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    base_ = SeqNum(GetParam());
    auto u = sb_.on_ack(base_, base_ + 10000,
                        std::vector{seg(8), seg(6), seg(5), seg(3)});  // as a receiver sends them
    EXPECT_EQ(u, (Update{4000, false}));
  }
  SackBlock seg(uint32_t k) const { return SackBlock{s(k), s(k) + 1000}; }
  SeqNum s(uint32_t k) const { return base_ + 1000 * (k - 1); }  // start of segment k
  SeqNum nxt() const { return base_ + 10000; }

  SeqNum base_;
  SackScoreboard sb_;
};

TEST_P(SackScoreboardExample, Ranges) {
  EXPECT_EQ(sb_.ranges(), 3u);
  EXPECT_EQ(sb_.sacked_bytes(), 4000u);
  EXPECT_EQ(sb_.highest_sacked(), s(9));
  EXPECT_TRUE(sb_.is_sacked(s(3)));
  EXPECT_FALSE(sb_.is_sacked(s(4)));
  EXPECT_TRUE(sb_.is_sacked(s(6) + 999));
}

TEST_P(SackScoreboardExample, IsLost) {
  EXPECT_TRUE(sb_.is_lost(s(1), 1000));
  EXPECT_TRUE(sb_.is_lost(s(2) + 999, 1000));
  EXPECT_TRUE(sb_.is_lost(s(4), 1000));
  EXPECT_TRUE(sb_.is_lost(s(4) + 999, 1000));
  EXPECT_FALSE(sb_.is_lost(s(7), 1000));
  EXPECT_FALSE(sb_.is_lost(s(9), 1000));
  EXPECT_FALSE(sb_.is_lost(s(10) + 999, 1000));
}

TEST_P(SackScoreboardExample, Pipe) {
  EXPECT_EQ(sb_.pipe(base_, nxt(), base_, 1000, kNothingRetransmitted), 3000u);

  std::vector<SeqNum> asked;
  auto only = [&](std::vector<SeqNum> rtx) {
    return [&asked, rtx](SeqNum x) {
      asked.push_back(x);
      return std::find(rtx.begin(), rtx.end(), x) != rtx.end();
    };
  };
  EXPECT_EQ(sb_.pipe(base_, nxt(), s(2), 1000, only({s(1)})), 4000u);
  EXPECT_EQ(asked, (std::vector{s(1)}));  // only below HighRxt, once per segment

  asked.clear();
  EXPECT_EQ(sb_.pipe(base_, nxt(), s(5), 1000, only({s(1), s(2), s(4)})), 6000u);
  EXPECT_EQ(asked, (std::vector{s(1), s(2), s(4)}));  // SACKed S3 is skipped

  // A retransmission the caller no longer counts (e.g. declared lost again)
  // only drops out of (b).
  EXPECT_EQ(sb_.pipe(base_, nxt(), s(5), 1000, only({s(1), s(4)})), 5000u);

  // RFC 6675's plain rule: every un-SACKed octet below HighRxt counts.
  EXPECT_EQ(sb_.pipe(base_, nxt(), s(8), 1000, [](SeqNum) { return true; }),
            3000u + 4000u);  // S1, S2, S4, S7

  // The cumulative ACK covers S1-S3 (S3 was SACKed): S4 still has two
  // ranges and 3000 bytes above it, so it is still lost.
  sb_.advance(s(4));
  EXPECT_EQ(sb_.pipe(s(4), nxt(), s(4), 1000, kNothingRetransmitted), 3000u);  // S7, S9, S10
  // S9 SACKed: S7 has one range of 2000 bytes above it, not lost.
  sb_.on_ack(s(4), nxt(), std::vector{seg(9)});
  EXPECT_EQ(sb_.pipe(s(4), nxt(), s(4), 1000, kNothingRetransmitted), 2000u);  // S7, S10
  // S10 SACKed: 3000 bytes above S7, now lost too; nothing is in flight.
  sb_.on_ack(s(4), nxt(), std::vector{seg(10)});
  EXPECT_EQ(sb_.pipe(s(4), nxt(), s(4), 1000, kNothingRetransmitted), 0u);
  EXPECT_EQ(sb_.next_lost(s(5), nxt(), 1000), (std::optional{std::pair{s(7), 1000u}}));
}

TEST_P(SackScoreboardExample, NextLost) {
  using Seg = std::optional<std::pair<SeqNum, uint32_t>>;
  EXPECT_EQ(sb_.next_lost(s(1), nxt(), 1000), (Seg{{s(1), 1000}}));
  EXPECT_EQ(sb_.next_lost(s(2), nxt(), 1000), (Seg{{s(2), 1000}}));
  EXPECT_EQ(sb_.next_lost(s(2) + 500, nxt(), 1000), (Seg{{s(2) + 500, 500}}));
  EXPECT_EQ(sb_.next_lost(s(3), nxt(), 1000), (Seg{{s(4), 1000}}));
  EXPECT_EQ(sb_.next_lost(s(4), nxt(), 1000), (Seg{{s(4), 1000}}));
  EXPECT_EQ(sb_.next_lost(s(5), nxt(), 1000), std::nullopt);
  EXPECT_EQ(sb_.next_lost(s(7), nxt(), 1000), std::nullopt);
  EXPECT_EQ(sb_.next_lost(s(9), nxt(), 1000), std::nullopt);
  // A larger SMSS still stops at the SACKed S3. (With SMSS 1500, S4 has
  // 3000 bytes above it, not more than 2 * 1500: not lost.)
  EXPECT_EQ(sb_.next_lost(s(1), nxt(), 1500), (Seg{{s(1), 1500}}));
  EXPECT_EQ(sb_.next_lost(s(2) + 500, nxt(), 1500), (Seg{{s(2) + 500, 500}}));
  EXPECT_EQ(sb_.next_lost(s(3), nxt(), 1500), std::nullopt);
}

// Plain numbers, and SND.UNA just below 2**32 so that the flight wraps
// between S3 and S4.
INSTANTIATE_TEST_SUITE_P(SackScoreboard, SackScoreboardExample,
                         ::testing::Values(1000u, 0xffffd000u, 0xffffffffu));

TEST(SackScoreboard, WrapAround) {
  SackScoreboard sb;
  const uint32_t una = 0xfffff000u;
  const uint32_t nxt = 0x2000u;  // 12 KiB in flight across 2**32
  EXPECT_EQ(ack(sb, una, nxt, {blk(0xfffffc00u, 0x400u)}), (Update{0x800, false}));
  EXPECT_EQ(ack(sb, una, nxt, {blk(0x800u, 0x1000u), blk(0x400u, 0x600u)}), (Update{0xa00, false}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(0xfffffc00u, 0x600u), blk(0x800u, 0x1000u)}));
  EXPECT_TRUE(sb.is_sacked(SeqNum(0xffffffffu)));
  EXPECT_TRUE(sb.is_sacked(SeqNum(0)));
  EXPECT_FALSE(sb.is_sacked(SeqNum(0x700u)));
  EXPECT_EQ(sb.highest_sacked(), SeqNum(0x1000u));
  // A block beyond SND.NXT across the wrap is still recognised as such.
  EXPECT_EQ(ack(sb, una, nxt, {blk(0x1800u, 0x2001u)}), (Update{0, false}));
  // D-SACK below SND.UNA across the wrap.
  EXPECT_EQ(ack(sb, 0x100u, nxt, {blk(0xfffff800u, 0xfffffc00u)}), (Update{0, true}));
  EXPECT_EQ(ranges(sb), (std::vector{blk(0x100u, 0x600u), blk(0x800u, 0x1000u)}));
  EXPECT_EQ(sb.sacked_bytes(), 0x500u + 0x800u);
}

TEST(SackScoreboard, NumberOfRangesIsBounded) {
  SackScoreboard sb;
  const uint32_t max = SackScoreboard::kMaxRanges;
  for (uint32_t i = 0; i < max; ++i) {
    ASSERT_EQ(ack(sb, 0, 1000000, {blk(1000 + 2000 * i, 2000 + 2000 * i)}).newly_sacked, 1000u);
  }
  EXPECT_EQ(sb.ranges(), max);
  // One more disjoint range is not recorded ...
  EXPECT_EQ(ack(sb, 0, 1000000, {blk(900000, 901000)}).newly_sacked, 0u);
  EXPECT_FALSE(sb.is_sacked(SeqNum(900000)));
  // ... but blocks that extend or join held ranges are.
  EXPECT_EQ(ack(sb, 0, 1000000, {blk(2000, 3000)}).newly_sacked, 1000u);
  EXPECT_EQ(sb.ranges(), max - 1);
  EXPECT_EQ(ack(sb, 0, 1000000, {blk(900000, 901000)}).newly_sacked, 1000u);
  EXPECT_EQ(sb.ranges(), max);
}

}  // namespace
}  // namespace shunt::tcp
