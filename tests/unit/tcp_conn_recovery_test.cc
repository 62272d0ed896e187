// Loss recovery: fast retransmit, limited transmit, NewReno and SACK
// recovery (RFC 5681, 6582, 6675, 3042).
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== loss recovery (RFC 5681, 6582, 6675, 3042) ===========================

class TcpConnRecoveryTest : public TcpConnTest {
 protected:
  static constexpr uint32_t kMss = 1460;
  // Sequence number of the start of segment n (1-based) of our data.
  SeqNum seg_start(uint32_t n) const { return iss + 1 + (n - 1) * kMss; }
  SeqNum seg_end(uint32_t n) const { return seg_start(n) + kMss; }
  // Established (NewReno, for round numbers), `segments` full segments
  // written and the first 10 (the initial window, RFC 6928) sent.
  void start(uint32_t segments, bool sack) {
    cfg.congestion_control = "reno";
    if (sack) peer_syn_options.sack_permitted = true;
    opts.nodelay = true;
    ASSERT_NO_FATAL_FAILURE(establish_active());
    ASSERT_EQ(*app_send(segments * kMss), segments * kMss);
    for (uint32_t n = 1; n <= std::min<uint32_t>(segments, 10); ++n) {
      expect_sent({.flags = static_cast<uint8_t>(n == segments ? kAck | kPsh : kAck),
                   .seq = seg_start(n),
                   .len = kMss});
    }
    expect_nothing_sent();
  }
  // A duplicate ACK for segment 1's start, with SACK blocks.
  void dupack(std::initializer_list<wire::SackBlock> blocks = {}) {
    send(ack(irs + 1, iss + 1).sack(blocks));
  }
  wire::SackBlock segs(uint32_t first, uint32_t last) const {
    return {seg_start(first), seg_end(last)};
  }
};

TEST_F(TcpConnRecoveryTest, FastRetransmitAfterThreeDuplicateAcks) {
  // RFC 5681 3.2: the third duplicate ACK retransmits the first
  // unacknowledged segment at once, without waiting for the RTO.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  dupack();
  dupack();
  expect_nothing_sent();  // nothing new to send for limited transmit
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  EXPECT_EQ(c().info(now).ca_state, 3);  // TCP_CA_Recovery
  // RFC 6582: ssthresh = max(FlightSize / 2, 2*SMSS) = 5 segments.
  EXPECT_EQ(c().info(now).snd_ssthresh, 5u);
}

TEST_F(TcpConnRecoveryTest, LimitedTransmit) {
  // RFC 3042: each of the first two duplicate ACKs sends one new segment,
  // cwnd unchanged.
  ASSERT_NO_FATAL_FAILURE(start(20, false));
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(11), .len = kMss, .retransmit = false});
  expect_nothing_sent();
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(12), .len = kMss, .retransmit = false});
  expect_nothing_sent();
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  expect_nothing_sent();
}

TEST_F(TcpConnRecoveryTest, NoFastRetransmitOnWindowUpdates) {
  // RFC 5681 2: an ACK that changes the window is not a duplicate.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  for (uint16_t w : {60000, 61000, 62000, 63000}) send(ack(irs + 1, iss + 1).win(w));
  expect_nothing_sent();
  EXPECT_EQ(c().info(now).ca_state, 0);
}

TEST_F(TcpConnRecoveryTest, NewRenoPartialAckRetransmitsTheNextHole) {
  // RFC 6582 3.2 step 4 (SACK not negotiated): segments 1 and 4 were lost.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  dupack();
  dupack();
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  // recover = SND.MAX (end of segment 10). The retransmission fills the
  // first hole: a partial ACK up to segment 4, which is lost as well.
  send(ack(irs + 1, seg_start(4)));
  expect_sent({.flags = kAck, .seq = seg_start(4), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  EXPECT_EQ(c().info(now).ca_state, 3);
  // The full ACK (RFC 6582 3.2 step 3) ends recovery with cwnd = ssthresh.
  send(ack(irs + 1, seg_end(10)));
  EXPECT_EQ(c().info(now).ca_state, 0);
  EXPECT_EQ(c().info(now).snd_cwnd, 5u);
  EXPECT_EQ(c().next_deadline(), kNever);
}

TEST_F(TcpConnRecoveryTest, NewRenoInflatesTheWindowPerDuplicateAck) {
  // RFC 6582 3.2 / RFC 5681 3.2 step 4, SACK off: 20 segments written, 10
  // sent. Three duplicates retransmit segment 1 (limited transmit sent 11
  // and 12); cwnd = ssthresh (6) + 3 with 12 in flight. Each further
  // duplicate inflates cwnd by one segment: the 4th one beyond lets
  // segment 13 go, the next one segment 14.
  ASSERT_NO_FATAL_FAILURE(start(20, false));
  for (int i = 0; i < 3; ++i) dupack();
  discard_sent();
  for (int i = 0; i < 3; ++i) dupack();
  expect_nothing_sent();
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(13), .len = kMss, .retransmit = false});
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(14), .len = kMss, .retransmit = false});
  expect_nothing_sent();
}

TEST_F(TcpConnRecoveryTest, GrownWindowIsUsedRightAway) {
  // The control for the idle test below: one ACK for 10 segments in slow
  // start grows cwnd by 2 segments (RFC 3465, L = 2*SMSS) to 12, and the
  // next write sends 12 segments at once.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  send(ack(irs + 1, seg_end(10)));
  discard_sent();
  EXPECT_EQ(c().info(now).snd_cwnd, 12u);
  ASSERT_EQ(*app_send(40 * kMss), 40 * kMss);
  EXPECT_EQ(sent_count(), 12u);
}

TEST_F(TcpConnRecoveryTest, IdleLongerThanRtoRestartsFromTheInitialWindow) {
  // RFC 5681 4.1: after an idle period longer than the RTO, the sender
  // restarts from the restart window (the initial window, 10 segments)
  // instead of bursting the grown cwnd.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  send(ack(irs + 1, seg_end(10)));
  discard_sent();
  EXPECT_EQ(c().info(now).snd_cwnd, 12u);
  advance(5s);
  ASSERT_EQ(*app_send(40 * kMss), 40 * kMss);
  EXPECT_EQ(sent_count(), 10u);
}

TEST_F(TcpConnRecoveryTest, SackRecoveryRetransmitsOnlyTheHoles) {
  // RFC 6675: segments 1 and 5 are lost; the receiver SACKs the rest.
  ASSERT_NO_FATAL_FAILURE(start(10, true));
  dupack({segs(2, 2)});
  dupack({segs(2, 3)});
  expect_nothing_sent();
  // Three segments SACKed above segment 1: IsLost(1) (RFC 6675 4), the
  // third duplicate: retransmit it.
  dupack({segs(2, 4)});
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  // Segments 6, 7, 8 arrive: now segment 5 has three SACKed segments
  // above it and is lost too; NextSeg() (RFC 6675 5 (C)) resends it once
  // pipe allows, and never a SACKed segment.
  dupack({segs(6, 6), segs(2, 4)});
  dupack({segs(6, 7), segs(2, 4)});
  dupack({segs(6, 8), segs(2, 4)});
  expect_sent({.flags = kAck, .seq = seg_start(5), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  // The retransmissions arrive: cumulative ACK to the end, recovery ends.
  send(ack(irs + 1, seg_end(10)));
  EXPECT_EQ(c().info(now).ca_state, 0);
  expect_nothing_sent();
}

TEST_F(TcpConnRecoveryTest, RtoAfterALostRetransmission) {
  // RFC 6298 5.4-5.6 / RFC 5681 3.1: the retransmission is lost too: the
  // RTO resends the first unacknowledged segment with cwnd = 1 SMSS.
  ASSERT_NO_FATAL_FAILURE(start(10, false));
  dupack();
  dupack();
  dupack();
  expect_sent({.flags = kAck, .seq = seg_start(1), .retransmit = true});
  fire_next_timer();
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  EXPECT_EQ(c().info(now).ca_state, 4);  // TCP_CA_Loss
  EXPECT_EQ(c().info(now).snd_cwnd, 1u);
  // Go-back-N: the ACK of segment 1 lets segments 2 and 3 go (slow start).
  send(ack(irs + 1, seg_end(1)));
  expect_sent({.flags = kAck, .seq = seg_start(2), .len = kMss, .retransmit = true});
  expect_sent({.flags = kAck, .seq = seg_start(3), .len = kMss, .retransmit = true});
  expect_nothing_sent();
}

TEST_F(TcpConnRecoveryTest, SackRecoveryKeepsPipeBelowCwnd) {
  // RFC 6675 5: limited transmit (segments 11, 12), then recovery with
  // cwnd = ssthresh = 12 / 2 = 6 segments; a segment goes out only while
  // pipe (SetPipe) < cwnd: lost holes first (NextSeg rule 1), then new
  // data (rule 2).
  ASSERT_NO_FATAL_FAILURE(start(20, true));
  dupack({segs(2, 2)});
  expect_sent({.flags = kAck, .seq = seg_start(11), .len = kMss, .retransmit = false});
  dupack({segs(2, 3)});
  expect_sent({.flags = kAck, .seq = seg_start(12), .len = kMss, .retransmit = false});
  dupack({segs(2, 4)});
  expect_sent({.flags = kAck, .seq = seg_start(1), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  // pipe: 1 (retransmitted) + 5..12 not SACKed (8) = 9, then 8, then 7.
  dupack({segs(6, 6), segs(2, 4)});
  dupack({segs(6, 7), segs(2, 4)});
  expect_nothing_sent();
  // 6..8 SACKed: segment 5 is lost; pipe = 1 + 9..12 (4) = 5 < 6: resend it.
  dupack({segs(6, 8), segs(2, 4)});
  expect_sent({.flags = kAck, .seq = seg_start(5), .len = kMss, .retransmit = true});
  expect_nothing_sent();
  // 9 SACKed: pipe = 1 + 1 + 10..12 (3) = 5 < 6: new data, segment 13.
  dupack({segs(6, 9), segs(2, 4)});
  expect_sent({.flags = kAck, .seq = seg_start(13), .len = kMss, .retransmit = false});
  expect_nothing_sent();
}

}  // namespace
}  // namespace shunt::testing
