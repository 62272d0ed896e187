// Opening a connection: the handshake both ways, simultaneous open, and
// the options of the SYN (RFC 9293 3.5, RFC 6691, RFC 7323, RFC 2018).
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

// ==== opening: RFC 9293 3.5, options (RFC 6691, RFC 7323, RFC 2018) ========

TEST_F(TcpConnTest, ActiveOpenSynCarriesEveryOptionInLinuxLayout) {
  c().connect(iss, now);
  auto syn = expect_sent({.flags = kSyn, .seq = iss, .win = 65535, .len = 0});
  ASSERT_TRUE(syn);
  // MSS from the MTU (RFC 6691: 1500 - 40); window scale for the largest
  // receive buffer (6 MiB needs shift 7); SACK-permitted; TSecr 0.
  wire::TcpOptions want;
  want.mss = 1460;
  want.window_scale = 7;
  want.sack_permitted = true;
  want.timestamps = wire::TcpOptions::Timestamps{our_tsval(), 0};
  EXPECT_EQ(syn->hdr.options, want);
  // On the wire: MSS; SACK-permitted + TS; NOP WS (Linux tcp_options_write).
  std::vector<uint8_t> bytes(syn->hdr.header_len_for_emit());
  syn->hdr.emit(bytes, tuple.local.addr, tuple.remote.addr);
  const std::vector<uint8_t> options(bytes.begin() + 20, bytes.end());
  const uint32_t tsv = our_tsval();
  const std::vector<uint8_t> golden = {2,
                                       4,
                                       0x05,
                                       0xb4,  // MSS 1460
                                       4,
                                       2,  // SACK permitted
                                       8,
                                       10,
                                       static_cast<uint8_t>(tsv >> 24),
                                       static_cast<uint8_t>(tsv >> 16),
                                       static_cast<uint8_t>(tsv >> 8),
                                       static_cast<uint8_t>(tsv),
                                       0,
                                       0,
                                       0,
                                       0,  // TS
                                       1,
                                       3,
                                       3,
                                       7};  // NOP, window scale 7
  EXPECT_EQ(options, golden);
  EXPECT_EQ(state(), TcpState::kSynSent);
}

TEST_F(TcpConnTest, SynOffersOnlyWhatTheConfigEnables) {
  cfg.window_scaling = false;
  cfg.timestamps = false;
  cfg.sack = false;
  c().connect(iss, now);
  wire::TcpOptions want;
  want.mss = 1460;
  expect_sent({.flags = kSyn, .seq = iss, .options = want});
}

TEST_F(TcpConnTest, SynAckEchoesOnlyWhatThePeerOffered) {
  // RFC 7323 2.2 / 3.2, RFC 2018 2: a SYN-ACK carries window scale,
  // timestamps and SACK-permitted only when the SYN did. This peer's SYN
  // has only an MSS.
  ASSERT_NO_FATAL_FAILURE(open_passive());
  // (open_passive checked the SYN-ACK; look at its options again.)
  TcpHarness plain;
  plain.c().accept_syn(plain.syn().repr, plain.iss, plain.now);
  wire::TcpOptions mss_only;
  mss_only.mss = 1460;
  plain.expect_sent({.flags = kSyn | kAck, .options = mss_only});

  TcpHarness all;
  all.peer_syn_options.window_scale = 2;
  all.peer_syn_options.sack_permitted = true;
  all.peer_syn_options.timestamps = wire::TcpOptions::Timestamps{777, 0};
  all.c().accept_syn(all.syn().repr, all.iss, all.now);
  wire::TcpOptions want;
  want.mss = 1460;
  want.window_scale = 7;
  want.sack_permitted = true;
  want.timestamps = wire::TcpOptions::Timestamps{all.our_tsval(), 777};
  all.expect_sent({.flags = kSyn | kAck, .seq = all.iss, .ack = all.irs + 1, .options = want});
  all.expect_nothing_sent();
}

TEST_F(TcpConnTest, PassiveOpen) {
  // RFC 9293 3.5 figure 6 from TCP B's side.
  ASSERT_NO_FATAL_FAILURE(open_passive());
  send(ack(irs + 1, iss + 1));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kEstablished);
  send(data(irs + 1, iss + 1, "hello"));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 6});
  EXPECT_EQ(app_recv(), "hello");
}

TEST_F(TcpConnTest, SynReceivedUnacceptableAckGetsReset) {
  // RFC 9293 3.10.7.4 "fifth", SYN-RECEIVED: SEG.ACK outside
  // (SND.UNA, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>.
  ASSERT_NO_FATAL_FAILURE(open_passive());
  send(ack(irs + 1, iss + 5));
  expect_sent({.flags = kRst, .seq = iss + 5});
  EXPECT_EQ(state(), TcpState::kSynReceived);
}

TEST_F(TcpConnTest, SynReceivedRetransmittedSynGetsSynAckAgain) {
  // The SYN-ACK was lost and the peer retransmits its SYN: answer with the
  // SYN-ACK again (Linux tcp_check_req), not a bare ACK the peer in
  // SYN-SENT would drop.
  ASSERT_NO_FATAL_FAILURE(open_passive());
  advance(100ms);
  send(syn());
  expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1, .retransmit = true});
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kSynReceived);
  send(ack(irs + 1, iss + 1));
  EXPECT_EQ(state(), TcpState::kEstablished);
}

TEST_F(TcpConnTest, SynSentUnacceptableAckGetsReset) {
  // RFC 9293 3.10.7.3 "first": SEG.ACK =< ISS or > SND.NXT: <SEQ=SEG.ACK><CTL=RST>.
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn_ack(irs, iss));
  expect_sent({.flags = kRst, .seq = iss});
  send(syn_ack(irs, iss + 2));
  expect_sent({.flags = kRst, .seq = iss + 2});
  EXPECT_EQ(state(), TcpState::kSynSent);
  // ... and a RST carrying an unacceptable ACK is dropped.
  send(rst_ack(irs, iss + 2));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kSynSent);
}

TEST_F(TcpConnTest, SynSentRstWithoutAckIsIgnored) {
  // RFC 9293 3.10.7.3 "second": without an ACK a RST is dropped (RFC 5961 3.2).
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(rst(irs));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kSynSent);
  EXPECT_EQ(c().pending_error(), std::nullopt);
}

TEST_F(TcpConnTest, SimultaneousOpen) {
  // RFC 9293 3.5 figure 8.
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn(irs));                                                   // line 3
  expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1});  // line 5
  EXPECT_EQ(state(), TcpState::kSynReceived);
  send(syn_ack(irs, iss + 1));  // line 6: <SEQ=300><ACK=101><CTL=SYN,ACK>
  // The peer's SYN-ACK repeats its SYN: we answer with an ACK...
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  // ... and its ACK of our SYN-ACK (or the SYN-ACK itself) establishes.
  send(ack(irs + 1, iss + 1));
  EXPECT_EQ(state(), TcpState::kEstablished);
  expect_nothing_sent();
}

TEST_F(TcpConnTest, SimultaneousOpenRefusedByRst) {
  // RFC 9293 3.10.7.4 "second", SYN-RECEIVED from an active OPEN: a RST at
  // RCV.NXT refuses the connection (ECONNREFUSED); elsewhere in the window
  // it only draws a challenge ACK (RFC 5961 3.2).
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn(irs));
  expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1});
  send(rst(irs + 5));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_EQ(state(), TcpState::kSynReceived);
  send(rst(irs + 1));
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kClosed);
  EXPECT_EQ(c().pending_error(), Error::kConnRefused);
}

TEST_F(TcpConnTest, SynAckWithDataDeliversIt) {
  // RFC 9293 3.10.7.3: "If there are other controls or text in the segment,
  // then continue processing at the sixth step": the text starts at IRS+1.
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn_ack().data("early"));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 6});
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kEstablished);
  EXPECT_EQ(app_recv(), "early");
}

TEST_F(TcpConnTest, SynAckWithFinClosesTheReadSide) {
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn_ack().flags(kFin));
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 2});
  expect_nothing_sent();
  EXPECT_EQ(state(), TcpState::kCloseWait);
}

TEST_F(TcpConnTest, MssClampedToTheMtuAndThePeer) {
  // RFC 6691 / RFC 9293 3.7.1: segments are at most min(our MTU - 40, the
  // peer's MSS); our SYN announces MTU - 40.
  mtu = 1000;
  c().connect(iss, now);
  expect_sent({.flags = kSyn, .seq = iss, .options = [] {
                 wire::TcpOptions o;
                 o.mss = 960;
                 o.window_scale = 7;
                 o.sack_permitted = true;
                 o.timestamps = wire::TcpOptions::Timestamps{1000, 0};
                 return o;
               }()});
  send(syn_ack());
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
  EXPECT_EQ(c().mss(), 960u);
  opts.nodelay = true;
  c().options() = opts;
  ASSERT_EQ(*app_send(2000), 2000u);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 960});
  expect_sent({.flags = kAck, .seq = iss + 961, .len = 960});
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1921, .len = 80});
  expect_nothing_sent();
}

TEST_F(TcpConnTest, MssClampedToASmallPeerMss) {
  peer_syn_options.mss = 500;
  opts.nodelay = true;
  ASSERT_NO_FATAL_FAILURE(establish_active());
  EXPECT_EQ(c().mss(), 500u);
  ASSERT_EQ(*app_send(1200), 1200u);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 500});
  expect_sent({.flags = kAck, .seq = iss + 501, .len = 500});
  expect_sent({.flags = kAck | kPsh, .seq = iss + 1001, .len = 200});
}

TEST_F(TcpConnTest, MssDefaultsTo536WithoutTheOption) {
  peer_syn_options.mss.reset();
  ASSERT_NO_FATAL_FAILURE(establish_active());
  EXPECT_EQ(c().mss(), 536u);
}

TEST_F(TcpConnTest, TimestampsTakeTwelveBytesOfTheMss) {
  peer_syn_options.timestamps = wire::TcpOptions::Timestamps{5000, 0};
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn_ack().ts(5000, our_tsval()));
  expect_sent({.flags = kAck, .ts = wire::TcpOptions::Timestamps{our_tsval(), 5000}});
  EXPECT_EQ(c().mss(), 1448u);
}

TEST_F(TcpConnTest, WindowScaleNegotiated) {
  // RFC 7323 2.2-2.3: both sides sent the option, so our window field is
  // shifted by 7 and the peer's by its 2 -- except in the SYN-ACK itself,
  // whose window is never scaled.
  peer_syn_options.window_scale = 2;
  peer_window = 1000;
  ASSERT_NO_FATAL_FAILURE(open_active());
  send(syn_ack());
  // (1 MiB of receive space less one scale unit of slack) >> 7.
  expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1, .win = ((1 << 20) - 127) >> 7});
  // The SYN-ACK's window is 1000 bytes, not 4000: one 1000-byte segment
  // fills it (sender SWS avoidance allows it: half the largest window).
  ASSERT_EQ(*app_send(5000), 5000u);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1000});
  expect_nothing_sent();
  // An ACK's window is scaled: 730 << 2 = 2920 = two full segments.
  send(ack(irs + 1, iss + 1001).win(730));
  expect_sent({.flags = kAck, .seq = iss + 1001, .len = 1460});
  expect_sent({.flags = kAck, .seq = iss + 2461, .len = 1460});
  expect_nothing_sent();
}

TEST_F(TcpConnTest, WindowScaleNotNegotiated) {
  // The peer did not send the option: neither side scales (RFC 7323 2.2),
  // and our window field saturates at 65535.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(data(irs + 1, iss + 1, "x"));
  expect_sent({.flags = kAck, .ack = irs + 2, .win = 65535});
  peer_window = 3000;
  send(ack(irs + 2, iss + 1));  // the window is 3000 bytes, unscaled
  opts.nodelay = true;
  c().options() = opts;
  ASSERT_EQ(*app_send(5000), 5000u);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1460});
  expect_sent({.flags = kAck, .seq = iss + 1461, .len = 1460});
  expect_nothing_sent();  // 80 bytes left in the window: SWS avoidance holds them
}

}  // namespace
}  // namespace shunt::testing
