// Closing: TIME-WAIT and FIN-WAIT-2 timers, RST on unread data, SO_LINGER
// 0, half-close (RFC 9293 3.6).
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== TIME-WAIT and FIN-WAIT-2 timers ======================================

TEST_F(TcpConnTest, TimeWaitLastsExactlyTwoMsl) {
  // RFC 9293 3.10.7.4 / 3.10.8: 2*MSL (config time_wait, 60 s like Linux),
  // then the TCB is deleted; nothing is sent.
  ASSERT_NO_FATAL_FAILURE(to_time_wait());
  const Instant entered = now;
  EXPECT_EQ(c().next_deadline(), entered + 60s);
  advance(60s - 1ns);
  EXPECT_EQ(state(), TcpState::kTimeWait);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
  expect_nothing_sent();
  EXPECT_EQ(c().pending_error(), std::nullopt);
}

TEST_F(TcpConnTest, TimeWaitFollowsTheConfig) {
  cfg.time_wait = 7s;
  ASSERT_NO_FATAL_FAILURE(to_time_wait());
  advance(7s - 1ns);
  EXPECT_EQ(state(), TcpState::kTimeWait);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, RetransmittedFinRestartsTimeWait) {
  // RFC 9293 3.10.7.4 "eighth", TIME-WAIT: "Remain in the TIME-WAIT state.
  // Restart the 2 MSL time-wait timeout." The FIN is acknowledged again.
  ASSERT_NO_FATAL_FAILURE(to_time_wait());
  advance(30s);
  send(fin(irs + 1, iss + 2));
  expect_sent({.flags = kAck, .seq = iss + 2, .ack = irs + 2});
  advance(60s - 1ns);
  EXPECT_EQ(state(), TcpState::kTimeWait);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, TimeWaitFromClosing) {
  // RFC 9293 3.6 figure 13: both sides in CLOSING, then TIME-WAIT.
  ASSERT_NO_FATAL_FAILURE(to_closing());
  send(ack(irs + 2, iss + 2));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kTimeWait);
  advance(60s);
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, LastAckRetransmitsItsFinThenCloses) {
  ASSERT_NO_FATAL_FAILURE(to_last_ack());
  advance(200ms);  // the RTO (RTT 0: RFC 6298 2.4 floor, Linux's 200 ms)
  expect_sent({.flags = kFin | kAck, .seq = iss + 1, .ack = irs + 2, .retransmit = true});
  send(ack(irs + 2, iss + 2));
  EXPECT_EQ(state(), TcpState::kClosed);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, OrphanInFinWait2TimesOut) {
  // close() makes the connection an orphan; in FIN-WAIT-2 it waits at most
  // fin_timeout for the peer's FIN (Linux tcp_fin_timeout), then goes
  // away silently.
  cfg.fin_timeout = 30s;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  app_close();
  expect_sent({.flags = kFin | kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_TRUE(c().orphan());
  advance(100ms);
  send(ack(irs + 1, iss + 2));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  advance(30s - 1ns);
  EXPECT_EQ(state(), TcpState::kFinWait2);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, HalfClosedFinWait2WaitsForever) {
  // Not an orphan (shutdown(SHUT_WR)): the application may still read, so
  // FIN-WAIT-2 has no timeout, as on Linux.
  ASSERT_NO_FATAL_FAILURE(to_fin_wait_2());
  advance(std::chrono::hours(3));
  EXPECT_EQ(state(), TcpState::kFinWait2);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, OrphanReceivingDataResets) {
  // Linux tcp_rcv_state_process: data for a socket the application closed
  // gets a RST (RFC 1122 4.2.2.13: the data can never be read).
  ASSERT_NO_FATAL_FAILURE(establish_active());
  app_close();
  expect_sent({.flags = kFin | kAck, .seq = iss + 1});
  send(ack(irs + 1, iss + 2));
  send(data(irs + 1, iss + 2, "late"));
  expect_sent({.flags = kRst | kAck, .seq = iss + 2});
  EXPECT_EQ(state(), TcpState::kClosed);
}

// ==== closing: RST on unread data, SO_LINGER 0, half-close ===================

TEST_F(TcpConnTest, CloseWithUnreadDataSendsRst) {
  // RFC 2525 2.17 / Linux tcp_close: data the application will never read
  // means the peer must learn it was not delivered: RST, not FIN.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, "unread"));
  expect_sent({.flags = kAck, .ack = irs + 7});
  app_close();
  expect_sent({.flags = kRst | kAck, .seq = iss + 1, .ack = irs + 7});
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, LingerZeroAborts) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("pending"));
  discard_sent();
  app_close(/*linger_zero=*/true);
  expect_sent({.flags = kRst | kAck, .seq = iss + 8, .ack = irs + 1});
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kClosed);
  advance(10s);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, CloseSendsFinAfterQueuedData) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  ASSERT_TRUE(app_send("bc"));  // held by Nagle
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  app_close();
  // Closing flushes what Nagle held, with the FIN on it.
  expect_sent({.flags = kAck | kPsh | kFin, .seq = iss + 2, .len = 2});
  send(ack(irs + 1, iss + 5));
  EXPECT_EQ(state(), TcpState::kFinWait2);
}

TEST_F(TcpConnTest, HalfCloseKeepsReceiving) {
  // shutdown(SHUT_WR): our FIN goes, the peer's data still comes in and
  // is acknowledged and readable; its FIN ends the stream.
  ASSERT_NO_FATAL_FAILURE(to_fin_wait_2());
  send(data(irs + 1, iss + 2, "more"));
  expect_sent({.flags = kAck, .seq = iss + 2, .ack = irs + 5});
  EXPECT_EQ(app_recv(), "more");
  send(data(irs + 5, iss + 2, "tail").flags(kFin));
  expect_sent({.flags = kAck, .seq = iss + 2, .ack = irs + 10});
  EXPECT_EQ(state(), TcpState::kTimeWait);
  EXPECT_EQ(app_recv(), "tail");
  auto r = c().recv(std::span<uint8_t>(), false, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0u);  // end of stream
}

TEST_F(TcpConnTest, PeerHalfCloseKeepsSending) {
  // CLOSE-WAIT: the peer finished, we may still send.
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(to_close_wait());
  auto eof = c().recv(std::span<uint8_t>(), false, now);
  ASSERT_TRUE(eof);
  EXPECT_EQ(*eof, 0u);  // the peer's end of stream
  ASSERT_TRUE(app_send("reply"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .ack = irs + 2, .len = 5});
  app_shutdown_write();
  expect_sent({.flags = kAck | kFin, .seq = iss + 6, .ack = irs + 2});
  EXPECT_EQ(state(), TcpState::kLastAck);
  send(ack(irs + 2, iss + 7));
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), std::nullopt);
}

TEST_F(TcpConnTest, AbortSendsRstFromAnySynchronizedState) {
  ASSERT_NO_FATAL_FAILURE(to_close_wait());
  c().abort(now);
  expect_sent({.flags = kRst | kAck, .seq = iss + 1, .ack = irs + 2});
  EXPECT_EQ(state(), TcpState::kClosed);
}

TEST_F(TcpConnTest, CloseInSynSentSendsNothing) {
  ASSERT_NO_FATAL_FAILURE(open_active());
  app_close();
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kClosed);
  advance(5s);
  expect_nothing_sent();
}

}  // namespace
}  // namespace shunt::testing
