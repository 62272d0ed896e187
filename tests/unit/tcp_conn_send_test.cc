// Sending: delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2), Nagle, TCP_NODELAY,
// TCP_CORK and MSG_MORE (RFC 9293 3.7.4), and the sender's override timeout.
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2) ==========================

class TcpConnDelackTest : public TcpConnTest {
 protected:
  // Established, past the 16 immediate ACKs a new connection gets (Linux
  // quickack mode, RFC 5681 4.2 "at connection start").
  void establish_delayed() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    for (int i = 0; i < 16; ++i) {
      send(data(theirs, iss + 1, "q"));
      theirs = theirs + 1;
      expect_sent({.flags = kAck, .ack = theirs});
    }
    EXPECT_EQ(app_recv().size(), 16u);
    expect_nothing_sent();
  }
};

TEST_F(TcpConnDelackTest, FirstSegmentsAreAckedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, 1460));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1461});
}

TEST_F(TcpConnDelackTest, AckEverySecondFullSegment) {
  ASSERT_NO_FATAL_FAILURE(establish_delayed());
  send(data(theirs, iss + 1, 1460));
  expect_nothing_sent();
  send(data(theirs + 1460, iss + 1, 1460));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = theirs + 2920});
  send(data(theirs + 2920, iss + 1, 1460));
  expect_nothing_sent();
  send(data(theirs + 4380, iss + 1, 1460));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = theirs + 5840});
}

TEST_F(TcpConnDelackTest, TimerFiresWithinDelackMin) {
  // A lone segment is acknowledged when the delayed-ACK timer fires:
  // delack_min (40 ms, Linux TCP_DELACK_MIN), well under RFC 1122's 500 ms.
  ASSERT_NO_FATAL_FAILURE(establish_delayed());
  send(data(theirs, iss + 1, 100));
  expect_nothing_sent();
  EXPECT_EQ(c().next_deadline(), now + 40ms);
  advance(40ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = theirs + 100});
  advance(1s);
  expect_nothing_sent();
}

TEST_F(TcpConnDelackTest, OutgoingDataCarriesTheAck) {
  // RFC 1122 4.2.3.2: data sent before the timer fires piggybacks the ACK.
  ASSERT_NO_FATAL_FAILURE(establish_delayed());
  send(data(theirs, iss + 1, "request"));
  expect_nothing_sent();
  ASSERT_TRUE(app_send("response"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .ack = theirs + 7, .len = 8});
  // No separate ACK is left pending for the delayed-ACK timer.
  advance(100ms);
  expect_nothing_sent();
}

TEST_F(TcpConnDelackTest, OutOfOrderDataIsAckedAtOnceWithSackBlocks) {
  // RFC 5681 4.2 / RFC 2018 4: out-of-order data gets an immediate ACK
  // carrying SACK blocks, the most recent block first; filling the hole
  // is acknowledged at once too.
  peer_syn_options.sack_permitted = true;
  ASSERT_NO_FATAL_FAILURE(establish_delayed());
  const SeqNum h = theirs;
  send(data(h + 100, iss + 1, 100));
  expect_sent({.flags = kAck, .ack = h, .sack = std::vector<wire::SackBlock>{{h + 100, h + 200}}});
  send(data(h + 300, iss + 1, 100));
  expect_sent({.flags = kAck,
               .ack = h,
               .sack = std::vector<wire::SackBlock>{{h + 300, h + 400}, {h + 100, h + 200}}});
  send(data(h, iss + 1, 100));
  expect_sent(
      {.flags = kAck, .ack = h + 200, .sack = std::vector<wire::SackBlock>{{h + 300, h + 400}}});
  send(data(h + 200, iss + 1, 100));
  expect_sent({.flags = kAck, .ack = h + 400, .sack = std::vector<wire::SackBlock>{}});
  EXPECT_EQ(app_recv().size(), 400u);
}

TEST_F(TcpConnDelackTest, DuplicateDataIsAckedAtOnce) {
  // RFC 9293 3.10.7.4: an old segment is answered with an ACK.
  ASSERT_NO_FATAL_FAILURE(establish_delayed());
  send(data(theirs - 1, iss + 1, "q"));
  expect_sent({.flags = kAck, .ack = theirs});
}

// ==== Nagle, TCP_NODELAY, TCP_CORK, MSG_MORE (RFC 9293 3.7.4) ==============

TEST_F(TcpConnTest, NagleHoldsASmallSegmentWhileDataIsUnacked) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  ASSERT_TRUE(app_send("b"));
  ASSERT_TRUE(app_send("c"));
  expect_nothing_sent();
  send(ack(irs + 1, iss + 2));
  auto s = expect_sent({.flags = kAck | kPsh, .seq = iss + 2, .len = 2});
  ASSERT_TRUE(s);
  EXPECT_EQ(std::string(s->payload.begin(), s->payload.end()), "bc");
}

TEST_F(TcpConnTest, NagleLetsFullSegmentsGo) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  ASSERT_TRUE(app_send(1460 + 10));
  expect_sent({.flags = kAck, .seq = iss + 2, .len = 1460});
  expect_nothing_sent();  // the 10-byte tail waits
  send(ack(irs + 1, iss + 1462));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1462, .len = 10});
}

TEST_F(TcpConnTest, NodelaySendsAtOnce) {
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  ASSERT_TRUE(app_send("b"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2, .len = 1});
}

TEST_F(TcpConnTest, NodelaySetLaterFlushesWhatNagleHeld) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  ASSERT_TRUE(app_send("b"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  expect_nothing_sent();
  c().options().nodelay = true;
  options_changed();
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2, .len = 1});
}

TEST_F(TcpConnTest, CorkHoldsPartialSegments) {
  opts.cork = true;
  opts.nodelay = true;  // cork wins over nodelay, as on Linux
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send(100));
  expect_nothing_sent();
  ASSERT_TRUE(app_send(1400));
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1460});
  expect_nothing_sent();
  c().options().cork = false;
  options_changed();
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1461, .len = 40});
}

TEST_F(TcpConnTest, MsgMoreHoldsLikeACork) {
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("head", /*more=*/true));
  expect_nothing_sent();
  ASSERT_TRUE(app_send("body"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 8});
}

TEST_F(TcpConnTest, SendBeforeEstablishedAndAfterShutdown) {
  ASSERT_NO_FATAL_FAILURE(open_active());
  EXPECT_EQ(app_send("x").error(), Error::kAgain);
  send(syn_ack());
  discard_sent();
  app_shutdown_write();
  discard_sent();
  EXPECT_EQ(app_send("x").error(), Error::kPipe);
}

TEST_F(TcpConnTest, SmallWindowIsUsedAfterTheOverrideTimeout) {
  // Sender SWS avoidance (RFC 9293 3.8.6.2.1) holds a piece smaller than
  // one MSS and half the largest window offered, but "an override timeout"
  // sends it when nothing is in flight (Linux: the probe timer,
  // tcp_write_wakeup), instead of probing an open window for ever.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(1000));
  ASSERT_TRUE(app_send(2500));
  expect_nothing_sent();
  // The override timeout is the probe timer: the RTO (SRTT + 200 ms).
  const Duration rto = c().info(now).rto;
  advance(rto - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1000});
  expect_nothing_sent();
  advance(10ms);
  send(ack(irs + 1, iss + 1001).win(1000));
  expect_nothing_sent();
  advance(c().info(now).rto);
  expect_sent({.flags = kAck, .seq = iss + 1001, .len = 1000});
  // The rest fits the window and ends the write: no reason to wait.
  send(ack(irs + 1, iss + 2001).win(1000));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2001, .len = 500});
  expect_nothing_sent();
}

TEST_F(TcpConnTest, CorkHoldsAtMostTheProbeTimeout) {
  // tcp(7) TCP_CORK: "there is a 200 millisecond ceiling on the time for
  // which output is corked" (Linux's probe timer, at the RTO floor here).
  opts.cork = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send(100));
  advance(200ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 100});
  expect_nothing_sent();
  send(ack(irs + 1, iss + 101));
  advance(10s);
  expect_nothing_sent();  // nothing waits: no probes either
}

TEST_F(TcpConnTest, MsgMoreHoldsAtMostTheProbeTimeout) {
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("head", /*more=*/true));
  advance(200ms);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 4});
}

}  // namespace
}  // namespace shunt::testing
