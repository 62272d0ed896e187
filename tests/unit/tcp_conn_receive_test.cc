// Receiving: window updates on reading (RFC 9293 3.8.6.2.2), zero windows,
// FINs beyond holes, trimming, sequence wrap.
// Segment-in / segment-out on one TcpConnection with a manual clock
// (design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
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
