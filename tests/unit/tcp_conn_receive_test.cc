// Receiving: window updates on reading (RFC 9293 3.8.6.2.2), zero windows,
// FINs beyond holes, trimming, sequence wrap.
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== window updates on reading (RFC 9293 3.8.6.2.2) =======================

TEST_F(TcpConnTest, ReadingDoesNotRepeatAWindowThatCannotGrow) {
  // Without window scaling the field says at most 65535: reading from a
  // 1 MiB buffer opens nothing the peer can see, and an ACK repeating the
  // same window would be a duplicate ACK to it (RFC 5681 2).
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, "hello"));
  expect_sent({.flags = kAck, .ack = irs + 6, .win = 65535});
  EXPECT_EQ(app_recv(), "hello");
  expect_nothing_sent();
}

TEST_F(TcpConnTest, ReadingOpensAClosedWindow) {
  opts.rcvbuf = 4096;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, 4096));
  expect_sent({.flags = kAck, .ack = irs + 4097, .win = 0});
  EXPECT_EQ(app_recv().size(), 4096u);
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 4097, .win = 4096});
  expect_nothing_sent();
}

// ==== reopening a closed window (RFC 9293 3.8.6.2.2, RFC 1122 4.2.3.3) =====
//
// A peer like Linux over a veth: MSS 1460, window scale 7, timestamps, so a
// wire segment carries 1448 bytes; with GSO it hands over aggregates of 45
// of them (65,160 bytes) that an AF_PACKET socket delivers whole.

class TcpConnReopenTest : public TcpConnTest {
 protected:
  static constexpr size_t kGso = 45 * 1448;
  static constexpr uint8_t kShift = 7;  // our window scale (6 MiB rcvbuf_max)
  uint32_t peer_ts = 5000;
  SeqNum edge{};  // the right edge of our window, as the peer saw it last

  void establish_like_linux(uint32_t rcvbuf) {
    opts.rcvbuf = rcvbuf;
    peer_syn_options.window_scale = 7;
    peer_syn_options.timestamps = wire::TcpOptions::Timestamps{peer_ts, 0};
    peer_syn_options.sack_permitted = true;
    ASSERT_NO_FATAL_FAILURE(open_active());
    send(syn_ack());
    auto a = expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
    ASSERT_TRUE(a);
    ASSERT_EQ(state(), TcpState::kEstablished);
    theirs = irs + 1;
    edge = a->hdr.ack + (uint32_t{a->hdr.window} << kShift);
  }
  // The peer's data: n bytes at `theirs` (ACKing our SYN), with a newer
  // timestamp each time.
  void peer_sends(size_t n) {
    send(data(theirs, iss + 1, n, theirs - (irs + 1)).ts(++peer_ts, our_tsval()));
    theirs += static_cast<uint32_t>(n);
  }
  // Takes every ACK we sent, moving the edge the peer sees.
  void take_acks() {
    while (sent_count() > 0) {
      auto a = expect_sent({.flags = kAck, .ack = theirs, .len = 0});
      if (!a) return;
      edge = a->hdr.ack + (uint32_t{a->hdr.window} << kShift);
    }
  }
  // The peer sends segments of at most `seg` bytes up to the edge it saw
  // last, as a sender does (the last piece may be shorter: Linux sends it
  // from its persist timer, tcp_write_wakeup), until that edge is reached.
  void fill_window(size_t seg) {
    take_acks();
    while (edge - theirs > 0) {
      peer_sends(std::min<size_t>(seg, static_cast<uint32_t>(edge - theirs)));
      take_acks();
    }
    advance(cfg.delack_max);  // a delayed ACK of the last segment
    take_acks();
  }
  // The window we advertise for `space` bytes of free receive buffer: one
  // scale unit of slack, truncated to the scale (window_field).
  static uint16_t window_for(size_t space) {
    return static_cast<uint16_t>((space - ((1u << kShift) - 1)) >> kShift);
  }
};

TEST_F(TcpConnReopenTest, SmallReadsReopenAWindowClosedByGsoSegments) {
  // The bug of issue 11: 64 KiB GSO aggregates made the receive-MSS
  // estimate 65,160, so a reader taking 16 KiB at a time (curl) never
  // moved the window by "one MSS" and the peer waited for its zero-window
  // probe (200 ms, then 400 ms...). Linux caps the estimate at the MSS it
  // offered (tcp_measure_rcv_mss) and sends the update from recvmsg as
  // soon as the window can double (tcp_cleanup_rbuf).
  constexpr uint32_t kBuf = 256 * 1024;
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(kBuf));
  ASSERT_NO_FATAL_FAILURE(fill_window(kGso));
  ASSERT_EQ(edge, theirs);  // closed: the last ACK said 0
  EXPECT_EQ(c().info(now).rcv_wnd, 0u);
  EXPECT_EQ(c().info(now).rcv_mss, 1448u);  // not 65,160
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    ASSERT_EQ(app_recv(16384).size(), 16384u);
    // At once, from recv(): no timer has to fire, no probe has to come.
    const size_t space = kBuf - c().readable();
    ASSERT_GE(space, 16384u);
    expect_sent({.flags = kAck, .ack = theirs, .win = window_for(space), .len = 0});
    expect_nothing_sent();
    edge = theirs + (uint32_t{window_for(space)} << kShift);
    // The peer fills what opened (one aggregate); our ACK of it, if not
    // delayed, says 0 again.
    peer_sends(static_cast<uint32_t>(edge - theirs));
    if (sent_count() > 0) expect_sent({.flags = kAck, .ack = theirs, .win = 0});
  }
}

TEST_F(TcpConnReopenTest, ReadsSmallerThanTwoSegmentsReopenAWindowTheRoundingOverran) {
  // Our held edge is rounded up to the window scale, so the peer may send
  // up to 127 bytes past RCV.ADV and RCV.NXT passes it. The window still
  // advertised is then 0, not 2^32 - n (Linux tcp_receive_window clamps the
  // same difference): a read that frees one MSS must open it.
  constexpr uint32_t kBuf = 128 * 1024;
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(kBuf));
  ASSERT_NO_FATAL_FAILURE(fill_window(1448));
  ASSERT_EQ(edge, theirs);
  EXPECT_EQ(c().info(now).rcv_wnd, 0u);  // not 2^32 - overrun
  ASSERT_EQ(app_recv(2000).size(), 2000u);
  const size_t space = kBuf - c().readable();
  expect_sent({.flags = kAck, .ack = theirs, .win = window_for(space), .len = 0});
  expect_nothing_sent();
}

TEST_F(TcpConnReopenTest, ReopeningAvoidsTheSillyWindowSyndrome) {
  // RFC 9293 3.8.6.2.2: the edge moves only by min(buffer / 2, MSS) or
  // more. Reads that free less than one segment's worth send nothing; the
  // read that reaches it sends the update.
  constexpr uint32_t kBuf = 128 * 1024;
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(kBuf));
  ASSERT_NO_FATAL_FAILURE(fill_window(1448));
  ASSERT_EQ(edge, theirs);
  const size_t left = kBuf - c().readable();  // free, but less than a segment
  ASSERT_LT(left, 1448u);
  // Free space up to 1448 + 127 - 1: the window would be 1447 bytes.
  const size_t first = 1448 + 127 - 1 - left;
  ASSERT_EQ(app_recv(first / 2).size(), first / 2);
  expect_nothing_sent();
  ASSERT_EQ(app_recv(first - first / 2).size(), first - first / 2);
  expect_nothing_sent();
  ASSERT_EQ(app_recv(1).size(), 1u);
  expect_sent({.flags = kAck, .ack = theirs, .win = window_for(1448 + 127), .len = 0});
  expect_nothing_sent();
}

TEST_F(TcpConnReopenTest, ReadingAcksAnAggregateWhoseAckWasDelayed) {
  // Past quick-ACK mode one segment waits for a second or the delayed-ACK
  // timer; but one GSO aggregate is 45 full-sized segments. Linux
  // tcp_cleanup_rbuf: when the application reads while an ACK is pending
  // for more than one MSS, the ACK goes at once (RFC 5681 4.2: at least
  // every second full-sized segment), even if the window does not double.
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(1 << 20));
  for (int i = 0; i < 16; ++i) {  // quick-ACK mode: each one ACKed
    peer_sends(1448);
    expect_sent({.flags = kAck, .ack = theirs});
  }
  peer_sends(kGso);
  expect_nothing_sent();
  ASSERT_NE(c().next_deadline(), kNever);  // the delayed-ACK timer
  ASSERT_EQ(app_recv(16384).size(), 16384u);
  expect_sent({.flags = kAck, .ack = theirs, .len = 0});
  expect_nothing_sent();
}

TEST_F(TcpConnReopenTest, ReceiveMssStartsAt536AndIsMeasuredUpToOurMss) {
  // Linux tcp_initialize_rcv_mss: before any data the estimate is
  // min(advmss, 536); tcp_measure_rcv_mss then takes each larger segment,
  // capped at the MSS we offered less the timestamp option (1448).
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(256 * 1024));
  EXPECT_EQ(c().info(now).rcv_mss, 536u);
  peer_sends(1000);
  EXPECT_EQ(c().info(now).rcv_mss, 1000u);
  peer_sends(1448);
  EXPECT_EQ(c().info(now).rcv_mss, 1448u);
  peer_sends(kGso);
  EXPECT_EQ(c().info(now).rcv_mss, 1448u);
  // Smaller segments count only when two in a row have the same size and
  // neither ends a write (PSH): the peer's MSS really is smaller.
  peer_sends(1200);
  EXPECT_EQ(c().info(now).rcv_mss, 1448u);
  peer_sends(1200);
  EXPECT_EQ(c().info(now).rcv_mss, 1200u);
}

TEST_F(TcpConnReopenTest, ZeroWindowProbesAreCounted) {
  // A segment is a zero-window probe when our window is closed and it is
  // either the empty one below RCV.NXT (Linux tcp_xmit_probe_skb) or data
  // at RCV.NXT (RFC 9293 3.8.6.1, Linux tcp_write_wakeup). Pure ACKs at
  // RCV.NXT and anything while the window is open are not.
  constexpr uint32_t kBuf = 128 * 1024;
  ASSERT_NO_FATAL_FAILURE(establish_like_linux(kBuf));
  send(ack(irs, iss + 1).ts(++peer_ts, our_tsval()));  // a keepalive, window open
  discard_sent();
  EXPECT_EQ(c().counters().zero_window_probes_recv, 0u);
  ASSERT_NO_FATAL_FAILURE(fill_window(1448));
  ASSERT_EQ(edge, theirs);
  EXPECT_EQ(c().counters().zero_window_probes_recv, 0u);
  send(ack(theirs, iss + 1).ts(++peer_ts, our_tsval()));  // pure ACK at RCV.NXT
  expect_nothing_sent();
  advance(1s);  // past the rate limit of ACKs to old sequence numbers
  send(ack(theirs - 1, iss + 1).ts(++peer_ts, our_tsval()));
  expect_sent({.flags = kAck, .ack = theirs, .win = 0});
  EXPECT_EQ(c().counters().zero_window_probes_recv, 1u);
  // (The byte may be kept: the buffer has room for the scale's rounding.)
  send(data(theirs, iss + 1, 1).ts(++peer_ts, our_tsval()));
  expect_sent({.flags = kAck, .win = 0});
  EXPECT_EQ(c().counters().zero_window_probes_recv, 2u);
}

// ==== receiving edge cases ==================================================

TEST_F(TcpConnTest, ZeroReceiveWindowStillAcksProbes) {
  // RFC 9293 3.8.6.1: with RCV.WND = 0 a probe at RCV.NXT is not accepted
  // but is answered with an ACK (window still 0), and the old-sequence
  // probe Linux sends gets one too.
  opts.rcvbuf = 4096;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, 4096));
  expect_sent({.flags = kAck, .ack = irs + 4097, .win = 0});
  send(data(irs + 4097, iss + 1, "x"));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 4097, .win = 0});
  advance(1s);
  send(ack(irs + 4096, iss + 1));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 4097, .win = 0});
  EXPECT_EQ(c().readable(), 4096u);
  EXPECT_EQ(c().counters().zero_window_probes_recv, 2u);  // both were probes
}

TEST_F(TcpConnTest, FinBeyondAHoleWaitsForTheHole) {
  // RFC 9293 3.10.7.4 "eighth": a FIN counts only once everything before
  // it arrived.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 4, iss + 1, "def").flags(kFin));
  expect_sent({.flags = kAck, .ack = irs + 1});
  EXPECT_EQ(state(), TcpState::kEstablished);
  send(data(irs + 1, iss + 1, "abc"));
  expect_sent({.flags = kAck, .ack = irs + 8});
  EXPECT_EQ(state(), TcpState::kCloseWait);
  EXPECT_EQ(app_recv(), "abcdef");
}

TEST_F(TcpConnTest, DataAndFinInOneSegment) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, "bye").flags(kFin));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 5});
  EXPECT_EQ(state(), TcpState::kCloseWait);
  EXPECT_EQ(app_recv(), "bye");
}

TEST_F(TcpConnTest, OverlappingRetransmissionIsTrimmed) {
  // RFC 9293 3.10.7.4: a segment starting before RCV.NXT is acceptable if
  // it reaches into the window; only the new part is delivered.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, "abc"));
  expect_sent({.flags = kAck, .ack = irs + 4});
  send(data(irs + 2, iss + 1, "bcdef"));
  expect_sent({.flags = kAck, .ack = irs + 7});
  EXPECT_EQ(app_recv(), "abcdef");
}

class TcpConnWrapTest : public TcpConnTest,
                        public ::testing::WithParamInterface<std::pair<uint32_t, uint32_t>> {};

TEST_P(TcpConnWrapTest, SequenceNumbersWrap) {
  // RFC 9293 3.4: sequence arithmetic is modulo 2^32.
  iss = SeqNum(GetParam().first);
  irs = SeqNum(GetParam().second);
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send(3000));
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1460});
  expect_sent({.flags = kAck, .seq = iss + 1461, .len = 1460});
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2921, .len = 80});
  send(data(irs + 1, iss + 3001, 2000));
  expect_sent({.flags = kAck, .seq = iss + 3001, .ack = irs + 2001});
  EXPECT_EQ(c().readable(), 2000u);
  EXPECT_EQ(c().next_deadline(), kNever);  // all acknowledged
  send(rst(irs + 2001 + 65536));           // outside: silent
  send(rst(irs + 2000));                   // below: silent
  expect_nothing_sent();
  send(rst(irs + 2002));  // inside: challenge
  expect_sent({.flags = kAck, .seq = iss + 3001, .ack = irs + 2001});
  send(rst(irs + 2001));
  EXPECT_EQ(state(), TcpState::kClosed);
}

INSTANTIATE_TEST_SUITE_P(Rfc9293, TcpConnWrapTest,
                         ::testing::Values(std::pair<uint32_t, uint32_t>{0xfffffc00u, 0xfffffa00u},
                                           std::pair<uint32_t, uint32_t>{0x7ffffc00u, 0x7ffffa00u},
                                           std::pair<uint32_t, uint32_t>{0, 0xffffffffu},
                                           std::pair<uint32_t, uint32_t>{0x80000000u, 1}));

}  // namespace
}  // namespace shunt::testing
