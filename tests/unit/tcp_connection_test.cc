// Segment-in / segment-out tests of one TcpConnection with a manual clock
// (design.md section 10, layer 2). The harness (tests/support/tcp_harness.h)
// plays the peer; each test reads like an RFC example: what arrives, what
// we send, which state we are in.
//
// Reading list: RFC 9293 3.5, 3.6, 3.10.7 (the event processing this file
// walks state by state), RFC 5961 (blind in-window attacks), RFC 7323
// (timestamps, PAWS, window scale), RFC 6298 (RTO), RFC 5681 / 6582 /
// 6675 / 3042 (loss recovery), RFC 1122 4.2.3 (delayed ACK, keepalive).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_harness.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

class TcpConnTest : public ::testing::Test, public TcpHarness {};

// ==== the state-by-event matrix (RFC 9293 3.10.7) ==========================

enum class Ev { kSyn, kAck, kRst, kFin, kData };
enum class Reply { kNone, kAck, kSynAck };

struct Row {
  TcpState from;
  Ev ev;
  TcpState to;
  Reply reply;
  uint32_t rcv_advance = 0;  // how far RCV.NXT moves (FIN 1, "hello" 5)
  std::optional<Error> error = std::nullopt;
};

std::string_view ev_name(Ev e) {
  switch (e) {
    case Ev::kSyn:
      return "Syn";
    case Ev::kAck:
      return "Ack";
    case Ev::kRst:
      return "Rst";
    case Ev::kFin:
      return "Fin";
    case Ev::kData:
      return "Data";
  }
  return "?";
}

std::string row_name(const ::testing::TestParamInfo<Row>& i) {
  std::string s(tcp::to_string(i.param.from));
  std::erase(s, '-');
  return s + "_" + std::string(ev_name(i.param.ev));
}

class TcpConnMatrix : public ::testing::TestWithParam<Row>, public TcpHarness {
 protected:
  // The event as it arrives in `from`: in the window, at RCV.NXT, with an
  // acceptable ACK. A FIN after the peer's FIN is its retransmission; data
  // acknowledges nothing new (so FIN-WAIT-1, CLOSING, LAST-ACK stay put).
  Seg event(Ev ev, TcpState from) const {
    const bool fin_seen = from == TcpState::kCloseWait || from == TcpState::kClosing ||
                          from == TcpState::kLastAck || from == TcpState::kTimeWait;
    const bool opening = from == TcpState::kSynSent || from == TcpState::kSynReceived;
    switch (ev) {
      case Ev::kSyn:
        return syn(theirs);
      case Ev::kAck:
        return ack(theirs, ours);
      case Ev::kRst:
        // SYN-SENT: a RST counts only with an acceptable ACK (RFC 9293 3.10.7.3).
        return from == TcpState::kSynSent ? rst_ack(SeqNum(0), iss + 1) : rst(theirs);
      case Ev::kFin:
        return fin(fin_seen ? theirs - 1 : theirs, ours);
      case Ev::kData:
        return data(theirs, opening ? ours : una, "hello");
    }
    return seg();
  }
};

TEST_P(TcpConnMatrix, Event) {
  const Row& r = GetParam();
  ASSERT_NO_FATAL_FAILURE(to_state(r.from));
  send(event(r.ev, r.from));
  EXPECT_EQ(state(), r.to) << "now " << tcp::to_string(state());
  switch (r.reply) {
    case Reply::kNone:
      break;
    case Reply::kAck:
      expect_sent({.flags = kAck, .seq = ours, .ack = theirs + r.rcv_advance});
      break;
    case Reply::kSynAck:
      expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1});
      break;
  }
  expect_nothing_sent();
  EXPECT_EQ(c().pending_error(), r.error);
}

constexpr auto kSynSent = TcpState::kSynSent;
constexpr auto kSynRcvd = TcpState::kSynReceived;
constexpr auto kEstab = TcpState::kEstablished;
constexpr auto kFw1 = TcpState::kFinWait1;
constexpr auto kFw2 = TcpState::kFinWait2;
constexpr auto kCloseWait = TcpState::kCloseWait;
constexpr auto kClosing = TcpState::kClosing;
constexpr auto kLastAck = TcpState::kLastAck;
constexpr auto kTimeWait = TcpState::kTimeWait;
constexpr auto kClosed = TcpState::kClosed;

INSTANTIATE_TEST_SUITE_P(
    Rfc9293, TcpConnMatrix,
    ::testing::Values(
        // SYN-SENT (3.10.7.3): a SYN is a simultaneous open (3.5 figure 8);
        // without SYN or RST the segment is dropped ("fifth"); a RST with an
        // acceptable ACK refuses the connection.
        Row{kSynSent, Ev::kSyn, kSynRcvd, Reply::kSynAck},
        Row{kSynSent, Ev::kAck, kSynSent, Reply::kNone},
        Row{kSynSent, Ev::kRst, kClosed, Reply::kNone, 0, Error::kConnRefused},
        Row{kSynSent, Ev::kFin, kSynSent, Reply::kNone},
        Row{kSynSent, Ev::kData, kSynSent, Reply::kNone},
        // SYN-RECEIVED (passive): SYN gets a challenge ACK (RFC 5961 4.2);
        // the ACK establishes, and FIN or data on it are then processed; a
        // RST at RCV.NXT returns the child to LISTEN (it disappears).
        Row{kSynRcvd, Ev::kSyn, kSynRcvd, Reply::kAck},
        Row{kSynRcvd, Ev::kAck, kEstab, Reply::kNone},
        Row{kSynRcvd, Ev::kRst, kClosed, Reply::kNone},
        Row{kSynRcvd, Ev::kFin, kCloseWait, Reply::kAck, 1},
        Row{kSynRcvd, Ev::kData, kEstab, Reply::kAck, 5},
        // ESTABLISHED.
        Row{kEstab, Ev::kSyn, kEstab, Reply::kAck}, Row{kEstab, Ev::kAck, kEstab, Reply::kNone},
        Row{kEstab, Ev::kRst, kClosed, Reply::kNone, 0, Error::kConnReset},
        Row{kEstab, Ev::kFin, kCloseWait, Reply::kAck, 1},
        Row{kEstab, Ev::kData, kEstab, Reply::kAck, 5},
        // FIN-WAIT-1: the ACK of our FIN goes to FIN-WAIT-2; a FIN that
        // acknowledges ours goes straight to TIME-WAIT.
        Row{kFw1, Ev::kSyn, kFw1, Reply::kAck}, Row{kFw1, Ev::kAck, kFw2, Reply::kNone},
        Row{kFw1, Ev::kRst, kClosed, Reply::kNone, 0, Error::kConnReset},
        Row{kFw1, Ev::kFin, kTimeWait, Reply::kAck, 1}, Row{kFw1, Ev::kData, kFw1, Reply::kAck, 5},
        // FIN-WAIT-2: data still flows in (half-close).
        Row{kFw2, Ev::kSyn, kFw2, Reply::kAck}, Row{kFw2, Ev::kAck, kFw2, Reply::kNone},
        Row{kFw2, Ev::kRst, kClosed, Reply::kNone, 0, Error::kConnReset},
        Row{kFw2, Ev::kFin, kTimeWait, Reply::kAck, 1}, Row{kFw2, Ev::kData, kFw2, Reply::kAck, 5},
        // CLOSE-WAIT: a retransmitted FIN is acknowledged again; text after
        // the FIN is ignored ("seventh"). Linux reports EPIPE for a RST here.
        Row{kCloseWait, Ev::kSyn, kCloseWait, Reply::kAck},
        Row{kCloseWait, Ev::kAck, kCloseWait, Reply::kNone},
        Row{kCloseWait, Ev::kRst, kClosed, Reply::kNone, 0, Error::kPipe},
        Row{kCloseWait, Ev::kFin, kCloseWait, Reply::kAck},
        Row{kCloseWait, Ev::kData, kCloseWait, Reply::kAck},
        // CLOSING: the ACK of our FIN goes to TIME-WAIT.
        Row{kClosing, Ev::kSyn, kClosing, Reply::kAck},
        Row{kClosing, Ev::kAck, kTimeWait, Reply::kNone},
        Row{kClosing, Ev::kRst, kClosed, Reply::kNone},
        Row{kClosing, Ev::kFin, kClosing, Reply::kAck},
        Row{kClosing, Ev::kData, kClosing, Reply::kAck},
        // LAST-ACK: the ACK of our FIN closes.
        Row{kLastAck, Ev::kSyn, kLastAck, Reply::kAck},
        Row{kLastAck, Ev::kAck, kClosed, Reply::kNone},
        Row{kLastAck, Ev::kRst, kClosed, Reply::kNone},
        Row{kLastAck, Ev::kFin, kLastAck, Reply::kAck},
        Row{kLastAck, Ev::kData, kLastAck, Reply::kAck},
        // TIME-WAIT: the retransmitted FIN is acknowledged (and restarts
        // 2*MSL, tested below); a RST closes (RFC 1337 is off, as on Linux).
        Row{kTimeWait, Ev::kSyn, kTimeWait, Reply::kAck},
        Row{kTimeWait, Ev::kAck, kTimeWait, Reply::kNone},
        Row{kTimeWait, Ev::kRst, kClosed, Reply::kNone},
        Row{kTimeWait, Ev::kFin, kTimeWait, Reply::kAck},
        Row{kTimeWait, Ev::kData, kTimeWait, Reply::kAck}),
    row_name);

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
  // RFC 6298 2.4: RTO = SRTT + 4 * RTTVAR = 285 ms.
  EXPECT_EQ(c().info(now).rto, 285ms);
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

TEST_F(TcpConnTest, SmallWindowIsUsedAfterTheOverrideTimeout) {
  // Sender SWS avoidance (RFC 9293 3.8.6.2.1) holds a piece smaller than
  // one MSS and half the largest window offered, but "an override timeout"
  // sends it when nothing is in flight (Linux: the probe timer,
  // tcp_write_wakeup), instead of probing an open window for ever.
  ASSERT_NO_FATAL_FAILURE(establish_active());
  send(ack(irs + 1, iss + 1).win(1000));
  ASSERT_TRUE(app_send(2500));
  expect_nothing_sent();
  advance(200ms - 1ns);
  expect_nothing_sent();
  advance(1ns);
  expect_sent({.flags = kAck, .seq = iss + 1, .len = 1000});
  expect_nothing_sent();
  advance(10ms);
  send(ack(irs + 1, iss + 1001).win(1000));
  expect_nothing_sent();
  advance(200ms);
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
