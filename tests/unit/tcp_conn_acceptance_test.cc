// Which segments are accepted: RFC 5961 at the window edges, and PAWS and
// RTTM with timestamps (RFC 7323).
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== RFC 5961 at the window edges =========================================

TEST_F(TcpConnTest, RstExactlyAtRcvNxtResets) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(rst(irs + 1));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kConnReset);
}

TEST_F(TcpConnTest, RstInsideTheWindowGetsAChallengeAck) {
  // RFC 5961 3.2: in the window but not at RCV.NXT: a challenge ACK
  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the connection lives on.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(rst(irs + 2));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(rst(irs + 1 + 65534));  // the last sequence number in the window
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_EQ(state(), TcpState::kEstablished);
  EXPECT_EQ(c().info(now).challenge_acks, 2u);
  EXPECT_EQ(c().counters().challenge_acks, 2u);  // Tcp TCPChallengeACK
  // The peer that really reset answers the challenge ACK with a RST at
  // exactly RCV.NXT.
  send(rst(irs + 1));
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, RstOutsideTheWindowIsDroppedSilently) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  // Like Linux tcp_sequence(), a segment without text is acceptable up to
  // and including RCV.NXT + RCV.WND; one beyond is outside.
  ASSERT_EQ(c().info(now).rcv_wnd, 65535u);
  send(rst(irs + 1 + 65536));
  expect_nothing_sent();
  send(rst(irs));  // RCV.NXT - 1
  expect_nothing_sent();
  send(rst(irs - 100000));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kEstablished);
  EXPECT_EQ(c().info(now).challenge_acks, 0u);
  EXPECT_EQ(c().counters().challenge_acks, 0u);
}

TEST_F(TcpConnTest, RstWithZeroWindowOnlyAtRcvNxt) {
  // RFC 9293 3.10.7.4: with RCV.WND = 0 only SEG.SEQ = RCV.NXT is acceptable.
  opts.rcvbuf = 4096;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, 4096));
  expect_sent({.flags = kAck, .ack = irs + 4097, .win = 0});
  send(rst(irs + 4098));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kEstablished);
  send(rst(irs + 4097));
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, SynInSynchronizedStateGetsChallengeAck) {
  // RFC 5961 4.2 / RFC 9293 3.10.7.4 "fourth": a SYN, "irrespective of the
  // sequence number", gets a challenge ACK; the connection is not reset.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(syn(irs + 1000));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(syn(irs - 5000));  // below the window
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(syn(irs + 1 + 70000));  // above it
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_EQ(state(), TcpState::kEstablished);
  EXPECT_EQ(c().info(now).challenge_acks, 3u);
}

TEST_F(TcpConnTest, AckRangeEdges) {
  // RFC 5961 5.2: acceptable iff SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT;
  // anything else is discarded (its data too) and answered with an ACK.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  opts.nodelay = true;
  c().options() = opts;
  ASSERT_EQ(*app_send(100), 100u);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 100});
  // SND.UNA = ISS+1, SND.NXT = ISS+101, MAX.SND.WND = 65535.
  send(data(irs + 1, iss + 102, "a"));  // acknowledges what we never sent
  expect_sent({.flags = kAck, .seq = iss + 101, .ack = irs + 1});
  send(data(irs + 1, iss + 1 - 65536, "b"));  // one below the bottom
  expect_sent({.flags = kAck, .seq = iss + 101, .ack = irs + 1});
  EXPECT_EQ(c().readable(), 0u);
  send(data(irs + 1, iss + 1 - 65535, "c"));  // exactly the bottom: accepted
  expect_sent({.flags = kAck, .seq = iss + 101, .ack = irs + 2});
  send(data(irs + 2, iss + 101, "d"));  // exactly SND.NXT: accepted
  expect_sent({.flags = kAck, .seq = iss + 101, .ack = irs + 3});
  EXPECT_EQ(app_recv(), "cd");
  EXPECT_EQ(state(), TcpState::kEstablished);
}

TEST_F(TcpConnTest, ChallengeAcksAreRateLimited) {
  // RFC 5961 7: at most challenge_ack_limit per second (per connection).
  cfg.challenge_ack_limit = 2;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(10s);
  for (int i = 0; i < 5; ++i) send(rst(irs + 10));
  expect_sent({.flags = kAck, .ack = irs + 1});
  expect_sent({.flags = kAck, .ack = irs + 1});
  expect_nothing_sent();
  advance(999ms);
  send(syn(irs + 10));
  expect_nothing_sent();
  advance(1ms);
  send(syn(irs + 10));
  expect_sent({.flags = kAck, .ack = irs + 1});
  EXPECT_EQ(c().info(now).challenge_acks, 3u);
  EXPECT_EQ(state(), TcpState::kEstablished);
}

TEST_F(TcpConnTest, OutOfWindowSegmentsGetARateLimitedAck) {
  // RFC 9293 3.10.7.4 "first": an unacceptable segment gets an ACK, at most
  // one per invalid_ratelimit (Linux tcp_invalid_ratelimit).
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1 + 70000, iss + 1, "far"));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(data(irs + 1 + 70000, iss + 1, "far"));
  expect_nothing_sent();
  advance(cfg.invalid_ratelimit);
  send(data(irs - 10, iss + 1, "old"));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_EQ(c().readable(), 0u);
}

// ==== timestamps: PAWS and RTTM (RFC 7323) ==================================

class TcpConnTsTest : public TcpConnTest {
 protected:
  // Established with timestamps; the peer's clock is at `peer_ts`.
  void establish_ts(Duration rtt = 0ms) {
    peer_syn_options.timestamps = wire::TcpOptions::Timestamps{peer_ts, 0};
    ASSERT_NO_FATAL_FAILURE(open_active());
    const uint32_t syn_tsval = our_tsval();
    advance(rtt);
    send(syn_ack().ts(peer_ts, syn_tsval));
    expect_sent({.flags = kAck,
                 .seq = iss + 1,
                 .ack = irs + 1,
                 .ts = wire::TcpOptions::Timestamps{our_tsval(), peer_ts}});
    ASSERT_EQ(state(), TcpState::kEstablished);
    theirs = irs + 1;
  }
  // Peer data at RCV.NXT with its clock at `tsval`.
  void peer_data(std::string_view text, uint32_t tsval) {
    send(data(theirs, iss + 1, text).ts(tsval, our_tsval()));
    theirs = theirs + static_cast<uint32_t>(text.size());
  }
  // Past the 16 quick ACKs of a new connection (Linux quickack mode).
  void leave_quickack() {
    for (int i = 0; i < 16; ++i) {
      peer_data("q", peer_ts);
      expect_sent({.flags = kAck, .ack = theirs});
    }
  }
  uint32_t peer_ts = 5000;
};

TEST_F(TcpConnTsTest, PawsDropsAnOldTimestampWithAnAck) {
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  peer_data("new", 5001);
  expect_sent(
      {.flags = kAck, .ack = irs + 4, .ts = wire::TcpOptions::Timestamps{our_tsval(), 5001}});
  // RFC 7323 5.3 R1: SEG.TSval < TS.Recent: not acceptable; ACK and drop.
  // (Like Linux's TCP_PAWS_WINDOW, one tick behind still passes.)
  send(data(irs + 4, iss + 1, "old").ts(4990, our_tsval()));
  expect_sent(
      {.flags = kAck, .ack = irs + 4, .ts = wire::TcpOptions::Timestamps{our_tsval(), 5001}});
  EXPECT_EQ(app_recv(), "new");
  EXPECT_EQ(c().ts_recent(), 5001u);
  // Equal is not older, nor is one tick behind (TCP_PAWS_WINDOW).
  send(data(irs + 4, iss + 1, "same").ts(5000, our_tsval()));
  expect_sent({.flags = kAck, .ack = irs + 8});
  EXPECT_EQ(app_recv(), "same");
}

TEST_F(TcpConnTsTest, PawsWrapsModulo2To32) {
  peer_ts = 0xfffffff0u;
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  peer_data("a", 0x00000010u);  // 32 ticks later, across the wrap
  expect_sent({.flags = kAck, .ack = irs + 2});
  send(data(irs + 2, iss + 1, "b").ts(0xfffffff8u, our_tsval()));  // older
  expect_sent({.flags = kAck, .ack = irs + 2});
  EXPECT_EQ(app_recv(), "a");
}

TEST_F(TcpConnTsTest, PawsDoesNotApplyToRst) {
  // RFC 7323 5.3 R1 exempts segments with RST.
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  send(rst(irs + 1).ts(1, 0));
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTsTest, PawsForgetsTsRecentAfter24IdleDays) {
  // RFC 7323 5.5: after 24 days idle TS.Recent is no longer a reference.
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  advance(std::chrono::hours(24 * 24) + 1s);
  peer_data("back", 100);
  expect_sent({.flags = kAck, .ack = irs + 5});
  EXPECT_EQ(app_recv(), "back");
}

TEST_F(TcpConnTsTest, RttmFromTheEcho) {
  // RFC 7323 4.1: RTT = now - TSecr of an ACK for new data; RFC 6298 2.2
  // then 2.3: SRTT 100 ms, RTTVAR 50 ms; then 60 ms: SRTT 95, RTTVAR 47.5.
  ASSERT_NO_FATAL_FAILURE(establish_ts(100ms));
  EXPECT_EQ(c().info(now).rtt, 100ms);
  EXPECT_EQ(c().info(now).rttvar, 50ms);
  opts.nodelay = true;
  c().options() = opts;
  ASSERT_EQ(*app_send(10), 10u);
  auto s = expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 10});
  ASSERT_TRUE(s && s->hdr.options.timestamps);
  const uint32_t echoed = s->hdr.options.timestamps->tsval;
  advance(60ms);
  send(ack(irs + 1, iss + 11).ts(peer_ts + 1, echoed));
  EXPECT_EQ(c().info(now).rtt, 95ms);
  EXPECT_EQ(c().info(now).rttvar, 47500us);
  // RFC 6298 2.4 with Linux's floor on the variance term: RTO = SRTT +
  // max(4 * RTTVAR, 200 ms) = 95 + 200 ms.
  EXPECT_EQ(c().info(now).rto, 295ms);
}

TEST_F(TcpConnTsTest, TsRecentFollowsTheDelayedAckRule) {
  // RFC 7323 4.3 (A): with delayed ACKs, TSecr echoes the earliest
  // unacknowledged segment's TSval: TS.Recent is updated only from a
  // segment with SEG.SEQ =< Last.ACK.sent.
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  ASSERT_NO_FATAL_FAILURE(leave_quickack());
  peer_data(std::string(1448, 'a'), 6001);
  expect_nothing_sent();  // delayed
  peer_data(std::string(1448, 'b'), 6002);
  expect_sent(
      {.flags = kAck, .ack = theirs, .ts = wire::TcpOptions::Timestamps{our_tsval(), 6001}});
  EXPECT_EQ(c().ts_recent(), 6001u);
}

TEST_F(TcpConnTsTest, TsRecentAcrossAHole) {
  // RFC 7323 4.3 (B): a segment beyond a hole does not update TS.Recent;
  // the one that fills the hole does.
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  ASSERT_NO_FATAL_FAILURE(leave_quickack());
  const SeqNum hole = theirs;
  send(data(hole + 100, iss + 1, 100).ts(7002, our_tsval()));
  expect_sent(
      {.flags = kAck, .ack = hole, .ts = wire::TcpOptions::Timestamps{our_tsval(), peer_ts}});
  send(data(hole, iss + 1, 100).ts(7001, our_tsval()));
  expect_sent(
      {.flags = kAck, .ack = hole + 200, .ts = wire::TcpOptions::Timestamps{our_tsval(), 7001}});
  EXPECT_EQ(c().ts_recent(), 7001u);
}

// ==== drops and skipped ACKs, counted (ConnCounters) =======================
// The Stack adds these to its drop reasons and TcpExt counters
// (sim TcpListenTest.DropsInsideAConnectionAreCounted).

TEST_F(TcpConnTest, DropsAreCountedByReason) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1 + 70000, iss + 1, "far"));  // beyond the window: ACK and drop
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(rst(irs + 1 + 65536));  // a RST beyond it: silently
  send(rst(irs + 2));          // a RST inside, not at RCV.NXT: challenge ACK
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(syn(irs + 1000));  // a SYN: challenge ACK
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(data(irs + 1, iss + 1, "x").clear_flags(kAck));  // no ACK: dropped
  send(data(irs + 1, iss + 5, "y"));                    // acknowledges nothing we sent
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  send(data(irs + 1, iss + 1 - 70000, "z"));  // below SND.UNA - MAX.SND.WND
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  expect_nothing_sent();
  const tcp::ConnCounters& cc = c().counters();
  EXPECT_EQ(cc.bad_seq, 2u);
  EXPECT_EQ(cc.bad_rst, 1u);
  EXPECT_EQ(cc.bad_syn, 1u);
  EXPECT_EQ(cc.no_ack, 1u);
  EXPECT_EQ(cc.unsent_ack, 1u);
  EXPECT_EQ(cc.old_ack, 1u);
  EXPECT_EQ(cc.paws_rejected, 0u);
  EXPECT_EQ(cc.challenge_acks, 4u);
  EXPECT_EQ(c().readable(), 0u);
  EXPECT_EQ(state(), TcpState::kEstablished);
  // What is accepted is not counted.
  send(data(irs + 1, iss + 1, "ok"));
  EXPECT_EQ(c().take_counters().bad_seq, 2u);
  EXPECT_EQ(c().counters().bad_seq, 0u);
}

TEST_F(TcpConnTest, AckedRateLimitsCountWhatTheySkip) {
  cfg.challenge_ack_limit = 1;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(10s);
  send(data(irs + 1 + 70000, iss + 1, "far"));
  send(data(irs + 1 + 70000, iss + 1, "far"));  // within invalid_ratelimit
  send(rst(irs + 10));
  send(rst(irs + 10));  // past challenge_ack_limit
  EXPECT_EQ(c().counters().bad_seq, 2u);
  EXPECT_EQ(c().counters().ack_skipped_seq, 1u);      // TcpExt TCPACKSkippedSeq
  EXPECT_EQ(c().counters().bad_rst, 2u);
  EXPECT_EQ(c().counters().ack_skipped_challenge, 1u);  // TCPACKSkippedChallenge
  EXPECT_EQ(c().counters().challenge_acks, 1u);
}

TEST_F(TcpConnTest, RetransmittedSynInSynReceivedCountsItsSkippedSynAck) {
  ASSERT_NO_FATAL_FAILURE(open_passive());
  send(syn());  // our SYN-ACK was lost: it goes again
  expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1});
  send(syn());  // too soon for another (invalid_ratelimit)
  expect_nothing_sent();
  EXPECT_EQ(c().counters().ack_skipped_syn_recv, 1u);  // TcpExt TCPACKSkippedSynRecv
}

TEST_F(TcpConnTsTest, PawsRejectionsAreCounted) {
  ASSERT_NO_FATAL_FAILURE(establish_ts());
  peer_data("new", 5001);
  expect_sent({.flags = kAck, .ack = irs + 4});
  send(data(irs + 4, iss + 1, "old").ts(4990, our_tsval()));
  expect_sent({.flags = kAck, .ack = irs + 4});
  send(data(irs + 4, iss + 1, "old").ts(4990, our_tsval()));  // its ACK rate-limited
  expect_nothing_sent();
  EXPECT_EQ(c().counters().paws_rejected, 2u);    // TcpExt PAWSEstab
  EXPECT_EQ(c().counters().ack_skipped_paws, 1u);  // TcpExt TCPACKSkippedPAWS
  EXPECT_EQ(c().counters().bad_seq, 0u);
}

}  // namespace
}  // namespace shunt::testing
