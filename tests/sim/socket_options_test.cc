// Socket options the Stack applies, between stacks in virtual time: buffer
// sizes (doubling, clamping, forcing), SO_RCVLOWAT and TCP_NOTSENT_LOWAT
// readiness, TCP_DEFER_ACCEPT, multicast membership and loopback, the
// IP_RECVERR error queue, IP_PMTUDISC_DO, UDP shutdown and TCP
// connect(AF_UNSPEC). tests/compat/checks.cc holds the same behaviours
// against a kernel socket; these pin the stack's side down without one.
#include <gtest/gtest.h>

#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

std::string recv_string(Stack& s, SocketId id, Instant now, RecvResult* meta = nullptr) {
  std::vector<uint8_t> buf(2048);
  auto r = s.recv_from(id, buf, 0, now);
  if (!r) return "<" + std::string(to_string(r.error())) + ">";
  if (meta != nullptr) *meta = *r;
  return std::string(buf.begin(), buf.begin() + static_cast<long>(r->copied));
}

bool has(Stack& s, SocketId id, uint32_t bit) { return (*s.readiness(id) & bit) != 0; }

// Two stacks with a TCP connection: client.c <-> server.s.
struct Conn {
  Lan lan{2};
  Stack& client = lan.stack(0);
  Stack& server = lan.stack(1);
  SocketId listener = *server.tcp_open();
  SocketId c = *client.tcp_open();
  SocketId s{};

  Conn() {
    EXPECT_TRUE(server.bind(listener, {Ipv4Address::any(), 80}));
    EXPECT_TRUE(server.listen(listener, 16, lan.now()));
  }
  void establish() {
    ASSERT_EQ(client.connect(c, {test_ip(2), 80}, lan.now()).error(), Error::kInProgress);
    ASSERT_TRUE(lan.sim.run_until([&] { return has(server, listener, readiness::kReadable); }, 5s));
    auto a = server.accept(listener, lan.now());
    ASSERT_TRUE(a);
    s = a->socket;
    ASSERT_TRUE(lan.sim.run_until([&] { return has(client, c, readiness::kWritable); }, 5s));
  }
};

TEST(SocketOptions, BufferSizesDoubleAndClampLikeLinux) {
  Lan lan(0);
  StackConfig cfg;
  cfg.core.rmem_max = 4194304;
  cfg.core.wmem_max = 4194304;
  Stack& a = lan.add_stack(1500, cfg);
  SocketId t = *a.tcp_open(), u = *a.udp_open();
  // Never set: Linux's starting sizes (tcp_rmem[1], tcp_wmem[1], rmem_default).
  EXPECT_EQ(*a.get_option(t, SockOpt::kRcvBuf), 131072);
  EXPECT_EQ(*a.get_option(t, SockOpt::kSndBuf), 16384);
  EXPECT_EQ(*a.get_option(u, SockOpt::kRcvBuf), 212992);
  for (SocketId s : {t, u}) {
    ASSERT_TRUE(a.set_option(s, SockOpt::kRcvBuf, 10 << 20, lan.now()));
    EXPECT_EQ(*a.get_option(s, SockOpt::kRcvBuf), 8388608);  // clamped to rmem_max, doubled
    ASSERT_TRUE(a.set_option(s, SockOpt::kSndBuf, 0, lan.now()));
    EXPECT_EQ(*a.get_option(s, SockOpt::kSndBuf), 4608);  // SOCK_MIN_SNDBUF
    ASSERT_TRUE(a.set_option(s, SockOpt::kRcvBuf, -1, lan.now()));
    EXPECT_EQ(*a.get_option(s, SockOpt::kRcvBuf), 8388608);  // taken as unsigned: the clamp
    ASSERT_TRUE(a.set_option(s, SockOpt::kRcvBufForce, 10 << 20, lan.now()));
    EXPECT_EQ(*a.get_option(s, SockOpt::kRcvBuf), 20971520);  // not clamped
    ASSERT_TRUE(a.set_option(s, SockOpt::kSndBufForce, -1, lan.now()));
    EXPECT_EQ(*a.get_option(s, SockOpt::kSndBuf), 4608);  // negative counts as 0
  }
}

TEST(SocketOptions, RcvLowatHoldsReadabilityBack) {
  Conn p;
  p.establish();
  ASSERT_TRUE(p.server.set_option(p.s, SockOpt::kRcvLowat, 20, p.lan.now()));
  EXPECT_EQ(*p.server.get_option(p.s, SockOpt::kRcvLowat), 20);
  ASSERT_TRUE(p.client.send_to(p.c, bytes_of("0123456789"), std::nullopt, p.lan.now()));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return *p.server.next_datagram_size(p.s) == 10; }, 1s));
  EXPECT_FALSE(has(p.server, p.s, readiness::kReadable));
  EXPECT_TRUE(has(p.server, p.s, readiness::kBytes));  // a recv holding part of its target wakes
  ASSERT_TRUE(p.client.send_to(p.c, bytes_of("0123456789"), std::nullopt, p.lan.now()));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.server, p.s, readiness::kReadable); }, 1s));
  // Lowering the mark under queued data makes it readable at once;
  // raising it hides it again; the end of the stream shows it.
  ASSERT_TRUE(p.server.set_option(p.s, SockOpt::kRcvLowat, 100, p.lan.now()));
  EXPECT_FALSE(has(p.server, p.s, readiness::kReadable));
  ASSERT_TRUE(p.client.shutdown(p.c, false, true, p.lan.now()));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.server, p.s, readiness::kReadable); }, 1s));
  // Linux tcp_set_rcvlowat: capped by half the buffer once SO_RCVBUF is set.
  ASSERT_TRUE(p.server.set_option(p.s, SockOpt::kRcvBuf, 10000, p.lan.now()));
  ASSERT_TRUE(p.server.set_option(p.s, SockOpt::kRcvLowat, 1000000, p.lan.now()));
  EXPECT_EQ(*p.server.get_option(p.s, SockOpt::kRcvLowat), 10000);
  ASSERT_TRUE(p.server.set_option(p.s, SockOpt::kRcvLowat, 0, p.lan.now()));
  EXPECT_EQ(*p.server.get_option(p.s, SockOpt::kRcvLowat), 1);
}

TEST(SocketOptions, NotSentLowatAndUnsentCounts) {
  Conn p;
  p.establish();
  ASSERT_TRUE(p.client.set_option(p.c, SockOpt::kNotSentLowat, 1000, p.lan.now()));
  ASSERT_TRUE(p.client.set_option(p.c, SockOpt::kCork, 1, p.lan.now()));
  std::vector<uint8_t> data(100, 'x');
  ASSERT_TRUE(p.client.send_to(p.c, data, std::nullopt, p.lan.now()));
  // Corked: queued and never sent (SIOCOUTQ and SIOCOUTQNSD both 100),
  // still writable (100 * 2 < 1000).
  EXPECT_EQ(*p.client.unsent_bytes(p.c), 100u);
  EXPECT_EQ(*p.client.notsent_bytes(p.c), 100u);
  EXPECT_TRUE(has(p.client, p.c, readiness::kWritable));
  std::vector<uint8_t> more(400, 'y');
  ASSERT_TRUE(p.client.send_to(p.c, more, std::nullopt, p.lan.now()));
  EXPECT_FALSE(has(p.client, p.c, readiness::kWritable));  // 500 * 2 >= 1000
  ASSERT_TRUE(p.client.set_option(p.c, SockOpt::kCork, 0, p.lan.now()));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return *p.client.unsent_bytes(p.c) == 0; }, 1s));
  EXPECT_EQ(*p.client.notsent_bytes(p.c), 0u);
  EXPECT_TRUE(has(p.client, p.c, readiness::kWritable));
  EXPECT_EQ(p.server.unsent_bytes(p.listener).error(), Error::kInval);
  EXPECT_EQ(p.server.notsent_bytes(p.listener).error(), Error::kInval);
}

TEST(SocketOptions, DeferAcceptWaitsForDataOrTheTime) {
  Conn p;
  ASSERT_TRUE(p.server.set_option(p.listener, SockOpt::kDeferAccept, 5, p.lan.now()));
  EXPECT_EQ(*p.server.get_option(p.listener, SockOpt::kDeferAccept), 7);  // 1 + 2 + 4 s
  ASSERT_EQ(p.client.connect(p.c, {test_ip(2), 80}, p.lan.now()).error(), Error::kInProgress);
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.client, p.c, readiness::kWritable); }, 1s));
  p.lan.sim.run_for(1s);
  EXPECT_FALSE(has(p.server, p.listener, readiness::kReadable));
  EXPECT_EQ(p.server.accept(p.listener, p.lan.now()).error(), Error::kAgain);
  // A second connection that sends data is accepted first.
  SocketId c2 = *p.client.tcp_open();
  ASSERT_EQ(p.client.connect(c2, {test_ip(2), 80}, p.lan.now()).error(), Error::kInProgress);
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.client, c2, readiness::kWritable); }, 1s));
  ASSERT_TRUE(p.client.send_to(c2, bytes_of("GET"), std::nullopt, p.lan.now()));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.server, p.listener, readiness::kReadable); }, 1s));
  auto first = p.server.accept(p.listener, p.lan.now());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->peer, *p.client.local_endpoint(c2));
  EXPECT_EQ(*p.server.get_option(first->socket, SockOpt::kDeferAccept), 0);
  // The silent one once its time is up.
  EXPECT_FALSE(has(p.server, p.listener, readiness::kReadable));
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.server, p.listener, readiness::kReadable); }, 10s));
  auto second = p.server.accept(p.listener, p.lan.now());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->peer, *p.client.local_endpoint(p.c));
}

TEST(SocketOptions, MulticastMembershipDeliveryAndLoopback) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  const Ipv4Address group(239, 1, 2, 3);
  SocketId joined = *a.udp_open(), other = *a.udp_open();
  ASSERT_TRUE(a.set_option(joined, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(a.set_option(other, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(a.bind(joined, {Ipv4Address::any(), 5000}));
  ASSERT_TRUE(a.bind(other, {Ipv4Address::any(), 5000}));
  EXPECT_EQ(a.join_group(joined, test_ip(2), Ipv4Address::any()).error(), Error::kInval);
  EXPECT_EQ(a.join_group(joined, group, test_ip(9)).error(), Error::kNoDev);
  ASSERT_TRUE(a.join_group(joined, group, Ipv4Address::any()));
  EXPECT_EQ(a.join_group(joined, group, test_ip(1)).error(), Error::kAddrInUse);
  EXPECT_EQ(a.join_group(*a.tcp_open(), group, Ipv4Address::any()).error(), Error::kProto);
  EXPECT_TRUE(a.joined(group));

  SocketId tx = *b.udp_open();
  ASSERT_TRUE(b.send_to(tx, bytes_of("one"), Endpoint{group, 5000}, lan.now()));
  lan.sim.run_until_idle(1s);
  RecvResult meta;
  EXPECT_EQ(recv_string(a, joined, lan.now(), &meta), "one");
  EXPECT_EQ(meta.to, group);
  EXPECT_EQ(meta.spec_dst, test_ip(1));
  EXPECT_EQ(meta.ttl, 1);  // IP_MULTICAST_TTL's default
  // IP_MULTICAST_ALL (on): a socket on the port that did not join gets it too.
  EXPECT_EQ(recv_string(a, other, lan.now()), "one");
  ASSERT_TRUE(a.set_option(other, SockOpt::kMulticastAll, 0, lan.now()));
  ASSERT_TRUE(b.send_to(tx, bytes_of("two"), Endpoint{group, 5000}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(recv_string(a, joined, lan.now()), "two");
  EXPECT_EQ(recv_string(a, other, lan.now()), "<EAGAIN>");

  // Our own datagram to the group comes back to our member (loopback on),
  // and not with IP_MULTICAST_LOOP off.
  SocketId self_tx = *a.udp_open();
  ASSERT_TRUE(a.send_to(self_tx, bytes_of("loop"), Endpoint{group, 5000}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(recv_string(a, joined, lan.now()), "loop");
  ASSERT_TRUE(a.set_option(self_tx, SockOpt::kMulticastLoop, 0, lan.now()));
  ASSERT_TRUE(a.send_to(self_tx, bytes_of("no"), Endpoint{group, 5000}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(recv_string(a, joined, lan.now()), "<EAGAIN>");

  // After the last member leaves the interface no longer takes the group.
  EXPECT_EQ(a.leave_group(other, group, Ipv4Address::any()).error(), Error::kAddrNotAvail);
  ASSERT_TRUE(a.leave_group(joined, group, Ipv4Address::any()));
  EXPECT_FALSE(a.joined(group));
  const uint64_t not_for_us = a.stats().drop_count(DropReason::kEthNotForUs);
  ASSERT_TRUE(b.send_to(tx, bytes_of("gone"), Endpoint{group, 5000}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(recv_string(a, joined, lan.now()), "<EAGAIN>");
  EXPECT_EQ(a.stats().drop_count(DropReason::kEthNotForUs), not_for_us + 1);
  // Closing a member leaves its groups.
  ASSERT_TRUE(a.join_group(other, group, Ipv4Address::any()));
  ASSERT_TRUE(a.close(other, lan.now()));
  EXPECT_FALSE(a.joined(group));
}

TEST(SocketOptions, RecvErrQueuesIcmpErrors) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  SocketId u = *a.udp_open();
  ASSERT_TRUE(a.set_option(u, SockOpt::kRecvErr, 1, lan.now()));
  // Unconnected: with IP_RECVERR the port unreachable is queued.
  ASSERT_TRUE(a.send_to(u, bytes_of("abcd"), Endpoint{test_ip(2), 9999}, lan.now()));
  ASSERT_TRUE(lan.sim.run_until([&] { return has(a, u, readiness::kErrQueue); }, 1s));
  EXPECT_TRUE(has(a, u, readiness::kError));
  EXPECT_FALSE(has(a, u, readiness::kReadable));  // Linux datagram_poll: POLLERR only
  EXPECT_EQ(recv_string(a, u, lan.now()), "<ECONNREFUSED>");  // reported once by recv
  EXPECT_FALSE(has(a, u, readiness::kError));
  EXPECT_TRUE(has(a, u, readiness::kErrQueue));  // the queue keeps it
  auto e = a.take_queued_error(u);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, Error::kConnRefused);
  EXPECT_EQ(e->type, 3);
  EXPECT_EQ(e->code, 3);
  EXPECT_EQ(e->offender, test_ip(2));
  EXPECT_EQ(e->dest, (Endpoint{test_ip(2), 9999}));
  EXPECT_EQ(std::string(e->payload.begin(), e->payload.end()), "abcd");
  EXPECT_EQ(a.take_queued_error(u).error(), Error::kAgain);
  EXPECT_FALSE(has(a, u, readiness::kErrQueue));
  // Without IP_RECVERR an unconnected socket hears nothing.
  SocketId plain = *a.udp_open();
  ASSERT_TRUE(a.send_to(plain, bytes_of("x"), Endpoint{test_ip(2), 9998}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_FALSE(has(a, plain, readiness::kError | readiness::kErrQueue));
  EXPECT_EQ(a.take_queued_error(plain).error(), Error::kAgain);
}

TEST(SocketOptions, PmtudiscDoRefusesWhatWouldFragment) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  SocketId u = *a.udp_open();
  std::vector<uint8_t> big(2000, 'b');
  ASSERT_TRUE(a.set_option(u, SockOpt::kMtuDiscover, 2, lan.now()));  // IP_PMTUDISC_DO
  EXPECT_EQ(a.send_to(u, big, Endpoint{test_ip(2), 7}, lan.now()).error(), Error::kMsgSize);
  EXPECT_EQ(a.set_option(u, SockOpt::kMtuDiscover, 6, lan.now()).error(), Error::kInval);
  ASSERT_TRUE(a.set_option(u, SockOpt::kMtuDiscover, 0, lan.now()));  // IP_PMTUDISC_DONT
  EXPECT_TRUE(a.send_to(u, big, Endpoint{test_ip(2), 7}, lan.now()));
  EXPECT_EQ(a.path_mtu(u).error(), Error::kNotConn);
  ASSERT_TRUE(a.connect(u, {test_ip(2), 7}, lan.now()));
  EXPECT_EQ(*a.path_mtu(u), 1500u);
}

TEST(SocketOptions, UdpShutdownEndsReadsAndSends) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  SocketId u = *a.udp_open();
  // Unconnected: ENOTCONN, and the flags are set all the same (Linux).
  EXPECT_EQ(a.shutdown(u, true, false, lan.now()).error(), Error::kNotConn);
  EXPECT_TRUE(has(a, u, readiness::kReadable | readiness::kReadHangup));
  SocketId c = *a.udp_open();
  ASSERT_TRUE(a.connect(c, {test_ip(2), 7}, lan.now()));
  ASSERT_TRUE(a.shutdown(c, false, true, lan.now()));
  EXPECT_EQ(a.send_to(c, bytes_of("x"), std::nullopt, lan.now()).error(), Error::kPipe);
}

TEST(SocketOptions, ConnectUnspecResetsATcpConnection) {
  Conn p;
  p.establish();
  ASSERT_TRUE(p.client.disconnect(p.c, p.lan.now()));
  EXPECT_EQ(p.client.remote_endpoint(p.c).error(), Error::kNotConn);
  EXPECT_TRUE(has(p.client, p.c, readiness::kError | readiness::kHangup | readiness::kWritable));
  EXPECT_EQ(**p.client.take_error(p.c), Error::kConnReset);
  // The server's side got the RST.
  ASSERT_TRUE(p.lan.sim.run_until([&] { return has(p.server, p.s, readiness::kError); }, 1s));
  // And the socket connects again.
  EXPECT_EQ(p.client.connect(p.c, {test_ip(2), 80}, p.lan.now()).error(), Error::kInProgress);
}

TEST(SocketOptions, FreebindAllowsAnAddressNotOurs) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  SocketId t = *a.tcp_open(), u = *a.udp_open();
  EXPECT_EQ(a.bind(t, {test_ip(77), 0}).error(), Error::kAddrNotAvail);
  ASSERT_TRUE(a.set_option(t, SockOpt::kFreeBind, 1, lan.now()));
  EXPECT_TRUE(a.bind(t, {test_ip(77), 0}));
  ASSERT_TRUE(a.set_option(u, SockOpt::kFreeBind, 1, lan.now()));
  EXPECT_TRUE(a.bind(u, {test_ip(77), 0}));
  // An IP_PKTINFO source not ours: ENETUNREACH without freebind.
  SocketId v = *a.udp_open();
  SendOptions src;
  src.src = test_ip(77);
  EXPECT_EQ(a.send_to(v, bytes_of("x"), Endpoint{test_ip(2), 7}, lan.now(), 0, src).error(), Error::kNetUnreach);
}

}  // namespace
}  // namespace shunt::testing
