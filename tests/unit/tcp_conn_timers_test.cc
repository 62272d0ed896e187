// Timers of an idle or blocked connection: zero-window persist (RFC 9293
// 3.8.6.1), keepalive (RFC 1122 4.2.3.6), and RTO (RFC 6298).
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== zero window and persist (RFC 9293 3.8.6.1) ===========================

TEST_F(TcpConnTest, ZeroWindowProbesWithBackoffThenDataFlows) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(0));  // the peer's window closes
  ASSERT_EQ(*app_send("data"), 4u);
  expect_nothing_sent();
  // The persist timer starts at the RTO (200 ms: RTT 0, the floor) and
  // doubles; each probe is an ACK with an old sequence number (Linux
  // tcp_xmit_probe_skb) that makes the peer repeat its window.
  advance(200ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  advance(400ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  // The peer answers: still closed. The backoff continues.
  send(ack(irs + 1, iss + 1).win(0));
  expect_nothing_sent();
  advance(800ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  EXPECT_EQ(state(), TcpState::kEstablished);
  EXPECT_EQ(c().counters().window_probes, 3u);  // Tcp TCPWinProbe
  // The window opens: the data goes at once and the probes stop.
  send(ack(irs + 1, iss + 1).win(1000));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .ack = irs + 1, .len = 4});
  send(ack(irs + 1, iss + 5).win(1000));
  advance(10s);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, ZeroWindowProbeBackoffIsCapped) {
  cfg.persist_max = 1s;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(0));
  ASSERT_TRUE(app_send("x"));
  std::vector<Duration> gaps;
  Instant last = now;
  for (int i = 0; i < 6; ++i) {
    Instant t = fire_next_timer();
    expect_sent({.flags = kAck, .seq = iss, .len = 0});
    send(ack(irs + 1, iss + 1).win(0));  // answered: the connection lives
    gaps.push_back(t - last);
    last = t;
  }
  EXPECT_EQ(gaps, (std::vector<Duration>{200ms, 400ms, 800ms, 1s, 1s, 1s}));
  EXPECT_EQ(state(), TcpState::kEstablished);
}

TEST_F(TcpConnTest, UnansweredZeroWindowProbesTimeOut) {
  // Like data retransmissions, unanswered probes are bounded by retries2.
  cfg.retries2 = 3;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(0));
  ASSERT_TRUE(app_send("x"));
  for (int i = 0; i < 3; ++i) {
    fire_next_timer();
    expect_sent({.flags = kAck, .seq = iss, .len = 0});
  }
  EXPECT_EQ(fire_next_timer(), Instant{} + 200ms + 400ms + 800ms + 1600ms);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
  // The connection is abandoned with a RST.
  expect_sent({.flags = kRst | kAck, .seq = iss + 1});
  expect_nothing_sent();
}

TEST_F(TcpConnTest, WindowUpdateWithoutProbeRestartsSending) {
  // A window update that arrives on its own (the peer's application read)
  // ends the persist state and lets the data go.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(0));
  ASSERT_TRUE(app_send(3000));
  expect_nothing_sent();
  advance(50ms);
  send(ack(irs + 1, iss + 1).win(2920));
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1460});
  expect_sent({.flags = kAck, .seq = iss + 1461, .len = 1460});
  expect_nothing_sent();
}

// ==== keepalive (RFC 1122 4.2.3.6) ==========================================

class TcpConnKeepaliveTest : public TcpConnTest {
 protected:
  TcpConnKeepaliveTest() {
    opts.keepalive = true;
    opts.keepidle = 10s;
    opts.keepintvl = 2s;
    opts.keepcnt = 3;
  }
};

TEST_F(TcpConnKeepaliveTest, ProbesThenTimesOut) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  // TCP_KEEPIDLE after the last segment: a probe, an ACK with SEG.SEQ =
  // SND.NXT - 1 and no data (RFC 1122 4.2.3.6, as Linux sends it).
  advance(10s - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  // Then every TCP_KEEPINTVL, TCP_KEEPCNT probes in all.
  advance(2s);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  advance(2s);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 1, .len = 0});
  EXPECT_EQ(state(), TcpState::kEstablished);
  // KEEPCNT unanswered: ETIMEDOUT at idle + cnt * intvl, with a RST (Linux
  // tcp_keepalive_timer sends tcp_send_active_reset).
  advance(2s - 1ns);
  EXPECT_EQ(state(), TcpState::kEstablished);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(now, Instant{} + 16s);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
  expect_sent({.flags = kRst | kAck, .seq = iss + 1});
  expect_nothing_sent();
}

TEST_F(TcpConnKeepaliveTest, AnsweredProbeRestartsTheIdleTime) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(10s);
  expect_sent({.flags = kAck, .seq = iss, .len = 0});
  advance(5ms);
  send(ack(irs + 1, iss + 1));  // the peer is alive
  // The next probe comes a full TCP_KEEPIDLE after that answer, and the
  // count starts again.
  advance(10s - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .len = 0});
  advance(6s - 1ns);
  EXPECT_EQ(sent_count(), 2u);  // probes 2 and 3
  discard_sent();
  EXPECT_EQ(state(), TcpState::kEstablished);
  advance(1ns);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
}

TEST_F(TcpConnKeepaliveTest, IdleCountsFromTheLastSegmentReceived) {
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(4s);
  send(data(irs + 1, iss + 1, "ping"));
  expect_sent({.flags = kAck, .ack = irs + 5});
  advance(10s - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss, .ack = irs + 5, .len = 0});
}

TEST_F(TcpConnKeepaliveTest, OffByDefault) {
  opts.keepalive = false;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(std::chrono::hours(5));
  expect_nothing_sent();
  EXPECT_EQ(c().next_deadline(), kNever);
}

TEST_F(TcpConnKeepaliveTest, DefaultsFromTheConfig) {
  opts.keepidle = 0s;
  opts.keepintvl = 0s;
  opts.keepcnt = 0;
  cfg.keepalive_time = 100s;
  cfg.keepalive_intvl = 5s;
  cfg.keepalive_probes = 2;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  advance(100s);
  expect_sent({.flags = kAck, .seq = iss, .len = 0});
  advance(5s);
  expect_sent({.flags = kAck, .seq = iss, .len = 0});
  advance(5s);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(now, Instant{} + 110s);
}

// ==== RTO (RFC 6298) ========================================================

TEST_F(TcpConnTest, SynRetransmissionsBackOffThenTimeOut) {
  // RFC 6298 2.1: 1 s before any sample; 5.5: double per expiry;
  // tcp_syn_retries = 6: SYNs at 0, 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s.
  ASSERT_NO_FATAL_FAILURE(open_active());
  const std::vector<int> at = {1, 3, 7, 15, 31, 63};
  for (int s : at) {
    EXPECT_EQ(fire_next_timer(), Instant{} + std::chrono::seconds(s));
    expect_sent({.flags = kSyn, .seq = iss, .retransmit = true});
    expect_nothing_sent();
  }
  EXPECT_EQ(fire_next_timer(), Instant{} + 127s);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
  expect_nothing_sent();  // no RST for a connection never synchronized
}

TEST_F(TcpConnTest, SynRetriesFollowTheConfig) {
  cfg.syn_retries = 2;
  cfg.rto_initial = 500ms;
  ASSERT_NO_FATAL_FAILURE(open_active());
  EXPECT_EQ(fire_next_timer(), Instant{} + 500ms);
  EXPECT_EQ(fire_next_timer(), Instant{} + 1500ms);
  discard_sent();
  EXPECT_EQ(fire_next_timer(), Instant{} + 3500ms);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
}

TEST_F(TcpConnTest, SynAckRetransmissionsThenTheChildGoesAway) {
  // tcp_synack_retries = 5: SYN-ACKs at 0, 1, 3, 7, 15, 31 s; at 63 s the
  // half-open child is dropped silently.
  ASSERT_NO_FATAL_FAILURE(open_passive());
  for (int s : {1, 3, 7, 15, 31}) {
    EXPECT_EQ(fire_next_timer(), Instant{} + std::chrono::seconds(s));
    expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1, .retransmit = true});
  }
  EXPECT_EQ(fire_next_timer(), Instant{} + 63s);
  EXPECT_EQ(state(), TcpState::kClosed);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, SynAckAfterARetransmittedSynTakesNoRttSample) {
  // Karn (RFC 6298 3): the SYN was sent twice, so the SYN-ACK's RTT is
  // ambiguous; without a sample RFC 6298 (5.7) sets the RTO to 3 s for the
  // data (Linux TCP_TIMEOUT_FALLBACK).
  cfg.timestamps = false;
  ASSERT_NO_FATAL_FAILURE(open_active());
  fire_next_timer();
  expect_sent({.flags = kSyn, .seq = iss, .retransmit = true});
  advance(100ms);
  send(syn_ack());
  expect_sent({.flags = kAck, .seq = iss + 1});
  EXPECT_EQ(c().info(now).rtt, 0ms);
  EXPECT_EQ(c().info(now).rto, 3s);
  ASSERT_TRUE(app_send("x"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  advance(3s - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1, .retransmit = true});
}

TEST_F(TcpConnTest, DataRtoFloorBackoffAndRetryLimit) {
  // RTT 0 from the handshake: RTO = max(SRTT + 4*RTTVAR, 200 ms) = 200 ms
  // (RFC 6298 2.4 with Linux's floor). Retransmissions at 0.2, 0.6, 1.4 s;
  // retries2 = 3 gives up at 3.0 s with ETIMEDOUT (no RST, like Linux).
  cfg.retries2 = 3;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("hello"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 5, .retransmit = false});
  for (auto t : {200ms, 600ms, 1400ms}) {
    EXPECT_EQ(fire_next_timer(), Instant{} + t);
    expect_sent(
        {.flags = kAck | kPsh, .seq = iss + 1, .ack = irs + 1, .len = 5, .retransmit = true});
    expect_nothing_sent();
  }
  EXPECT_EQ(c().info(now).backoff, 3u);
  EXPECT_EQ(fire_next_timer(), Instant{} + 3000ms);
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, DataRtoFromTheMeasuredRtt) {
  // A 300 ms handshake: SRTT 300, RTTVAR 150, RTO = 300 + 600 = 900 ms.
  ASSERT_NO_FATAL_FAILURE(open_active());
  advance(300ms);
  send(syn_ack());
  expect_sent({.flags = kAck});
  EXPECT_EQ(c().info(now).rto, 900ms);
  const Instant sent_at = now;
  ASSERT_TRUE(app_send("x"));
  expect_sent({.flags = kAck | kPsh, .len = 1});
  advance(900ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1, .retransmit = true});
  EXPECT_EQ(now - sent_at, 900ms);
}

TEST_F(TcpConnTest, RtoRestartsOnEachAckAndStopsWhenAllIsAcked) {
  // RFC 6298 5.2 / 5.3.
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  ASSERT_TRUE(app_send("a"));
  advance(150ms);
  ASSERT_TRUE(app_send("b"));
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1, .len = 1});
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2, .len = 1});
  advance(40ms);
  send(ack(irs + 1, iss + 2));             // "a" acknowledged at 190 ms: restart
  const Duration rto = c().info(now).rto;  // with the 190 ms sample
  EXPECT_EQ(c().next_deadline(), now + rto);
  advance(rto - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck | kPsh, .seq = iss + 2, .len = 1, .retransmit = true});
  send(ack(irs + 1, iss + 3));
  EXPECT_EQ(c().next_deadline(), kNever);
}

TEST_F(TcpConnTest, RetransmittedFinTimesOutToo) {
  cfg.retries2 = 2;
  ASSERT_NO_FATAL_FAILURE(to_fin_wait_1());
  fire_next_timer();
  expect_sent({.flags = kFin | kAck, .seq = iss + 1, .retransmit = true});
  fire_next_timer();
  expect_sent({.flags = kFin | kAck, .seq = iss + 1, .retransmit = true});
  fire_next_timer();
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kTimedOut);
}

}  // namespace
}  // namespace shunt::testing
