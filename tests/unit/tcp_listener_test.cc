// TcpListener on its own (stack/tcp/listener.h): the verdicts of RFC 9293
// 3.10.7.2 LISTEN, the SYN queue and SYN cookies (RFC 4987 3.6), and the
// cookie's SYN-ACK offering what a normal SYN-ACK offers (syn_options.h).
#include <gtest/gtest.h>

#include "stack/base/random.h"
#include "stack/tcp/listener.h"

namespace shunt::testing {
namespace {

using tcp::ListenVerdict;
using wire::tcp_flag::kAck;
using wire::tcp_flag::kFin;
using wire::tcp_flag::kRst;
using wire::tcp_flag::kSyn;

class TcpListenerTest : public ::testing::Test {
 protected:
  TcpListenerTest() : rng(7), isn(rng), cookies(rng) { cfg.max_syn_backlog = 1; }

  tcp::TcpListener& listener() {
    if (!l) {
      l = std::make_unique<tcp::TcpListener>(cfg, pool, isn, cookies);
      l->set_backlog(8);
    }
    return *l;
  }
  static tcp::FourTuple tuple(uint16_t port) {
    return {{Ipv4Address(198, 18, 0, 2), 80}, {Ipv4Address(198, 18, 0, 1), port}};
  }
  static wire::TcpRepr syn(uint16_t port) {
    wire::TcpRepr r;
    r.src_port = port;
    r.dst_port = 80;
    r.seq = SeqNum(1000);
    r.flags = kSyn;
    r.window = 65535;
    r.options.mss = 1460;
    r.options.window_scale = 7;
    r.options.sack_permitted = true;
    r.options.timestamps = wire::TcpOptions::Timestamps{500, 0};
    return r;
  }
  ListenVerdict input(uint16_t port, const wire::TcpRepr& seg) {
    return listener().input(tuple(port), seg, {}, tcp::ChildTemplate{opts, 1500, 0}, now);
  }

  tcp::TcpConfig cfg;
  tcp::ConnOptions opts;
  BufferPool pool;
  Rng rng;
  tcp::IsnGenerator isn;
  tcp::SynCookies cookies;
  std::unique_ptr<tcp::TcpListener> l;
  Instant now = Instant{} + std::chrono::seconds(100);
};

TEST_F(TcpListenerTest, ListenDropsRstAndAnswersAnAckWithAReset) {
  wire::TcpRepr rst = syn(1);
  rst.flags = kRst;
  EXPECT_EQ(input(1, rst).kind, ListenVerdict::Kind::kIgnore);
  wire::TcpRepr ack = syn(1);
  ack.flags = kAck;
  ack.ack = SeqNum(12345);  // no cookie of ours
  EXPECT_EQ(input(1, ack).kind, ListenVerdict::Kind::kReset);
  EXPECT_EQ(listener().take_counters().syncookies_failed, 1u);
  wire::TcpRepr synfin = syn(1);
  synfin.flags = kSyn | kFin;
  ListenVerdict v = input(1, synfin);
  EXPECT_EQ(v.kind, ListenVerdict::Kind::kDrop);
  EXPECT_EQ(v.reason, DropReason::kTcpSynFin);
  EXPECT_EQ(listener().syn_queue_length(), 0u);
}

TEST_F(TcpListenerTest, SynQueueThenCookiesThenAccept) {
  ListenVerdict first = input(1, syn(1));
  ASSERT_EQ(first.kind, ListenVerdict::Kind::kChild);
  EXPECT_FALSE(first.queued);
  EXPECT_EQ(listener().syn_queue_length(), 1u);
  EXPECT_EQ(first.child->outbox().size(), 1u);  // the child's own SYN-ACK
  // The SYN queue (max_syn_backlog 1) is full: a cookie, nothing kept.
  ListenVerdict second = input(2, syn(2));
  ASSERT_EQ(second.kind, ListenVerdict::Kind::kReply);
  EXPECT_EQ(listener().syn_queue_length(), 1u);
  const tcp::ListenCounters c = listener().take_counters();
  EXPECT_EQ(c.passive_opens, 1u);
  EXPECT_EQ(c.syncookies_sent, 1u);
  // The first child's handshake completes: it moves to the accept queue.
  tcp::TcpConnection* child = first.child;
  wire::TcpRepr ack = syn(1);
  ack.flags = kAck;
  ack.seq = SeqNum(1001);
  ack.ack = child->outbox()[0].hdr.seq + 1;
  ack.options = {};
  ack.options.timestamps = wire::TcpOptions::Timestamps{501, 0};
  EXPECT_FALSE(listener().acceptable());
  const tcp::ConnEvents ev = child->input(ack, {}, now);
  EXPECT_NE(ev & tcp::conn_event::kEstablished, 0);
  EXPECT_TRUE(listener().established(child, 0, now));
  EXPECT_FALSE(listener().established(child, 0, now));  // once
  EXPECT_EQ(listener().syn_queue_length(), 0u);
  EXPECT_TRUE(listener().acceptable());
  auto conn = listener().accept(now);
  ASSERT_EQ(conn.get(), child);
  EXPECT_FALSE(listener().owns(child));
  EXPECT_EQ(listener().accept_queue_length(), 0u);
}

TEST_F(TcpListenerTest, CookieSynAckOffersWhatTheChildsSynAckOffers) {
  // One function builds both: the listener's TCP_MAXSEG and SO_RCVBUF
  // shape the cookie's SYN-ACK like the child's.
  opts.user_mss = 1000;
  opts.rcvbuf = 40000;
  ListenVerdict first = input(1, syn(1));
  ASSERT_EQ(first.kind, ListenVerdict::Kind::kChild);
  const wire::TcpRepr normal = first.child->outbox()[0].hdr;
  ListenVerdict second = input(2, syn(2));
  ASSERT_EQ(second.kind, ListenVerdict::Kind::kReply);
  const wire::TcpRepr cookie = second.reply->hdr;
  EXPECT_EQ(cookie.flags, kSyn | kAck);
  EXPECT_EQ(cookie.ack, SeqNum(1001));
  EXPECT_EQ(cookie.window, normal.window);
  EXPECT_EQ(cookie.window, 40000);
  EXPECT_EQ(cookie.options.mss, normal.options.mss);
  EXPECT_EQ(cookie.options.mss, 1000);
  EXPECT_EQ(cookie.options.window_scale, normal.options.window_scale);
  EXPECT_EQ(cookie.options.sack_permitted, normal.options.sack_permitted);
  ASSERT_TRUE(cookie.options.timestamps);
  ASSERT_TRUE(normal.options.timestamps);
  EXPECT_EQ(cookie.options.timestamps->tsecr, normal.options.timestamps->tsecr);
}

}  // namespace
}  // namespace shunt::testing
