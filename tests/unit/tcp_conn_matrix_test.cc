// The state-by-event matrix (RFC 9293 3.10.7): every state meets SYN, ACK,
// RST, FIN and data.
// Segment-in / segment-out on one TcpConnection with a manual clock
// (docs/design.md section 10, layer 2; the harness is tests/support/tcp_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/tcp_conn_test.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

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

}  // namespace
}  // namespace shunt::testing
