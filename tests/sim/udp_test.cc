// UDP sockets between stacks: echo, binding rules, connected filtering,
// peek/truncation, broadcast, receive queue bounds, error reporting.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/frames.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

std::string recv_string(Stack& s, SocketId id, Instant now, size_t max = 2048) {
  std::vector<uint8_t> buf(max);
  auto r = s.recv_from(id, buf, 0, now);
  if (!r) return "<" + std::string(to_string(r.error())) + ">";
  return std::string(buf.begin(), buf.begin() + static_cast<long>(r->copied));
}

TEST(Udp, EchoBetweenStacks) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto server = b.udp_open();
  ASSERT_TRUE(b.bind(*server, {Ipv4Address::any(), 7}));
  auto client = a.udp_open();
  ASSERT_TRUE(a.connect(*client, {test_ip(2), 7}, lan.now()));
  for (int i = 0; i < 50; ++i) {
    std::string msg = "ping " + std::to_string(i);
    ASSERT_TRUE(a.send_to(*client, bytes_of(msg), std::nullopt, lan.now()));
    ASSERT_TRUE(lan.sim.run_until([&] { return *b.next_datagram_size(*server) > 0; }, 1s));
    std::vector<uint8_t> buf(100);
    auto r = b.recv_from(*server, buf, 0, lan.now());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->from, *a.local_endpoint(*client));
    ASSERT_TRUE(b.send_to(*server, {buf.data(), r->copied}, r->from, lan.now()));
    ASSERT_TRUE(lan.sim.run_until([&] { return *a.next_datagram_size(*client) > 0; }, 1s));
    EXPECT_EQ(recv_string(a, *client, lan.now()), msg);
  }
  EXPECT_EQ(a.stats().udp.OutDatagrams, 50u);
  EXPECT_EQ(b.stats().udp.InDatagrams, 50u);
  // Nothing dropped but the other side's gratuitous ARP (not for us).
  EXPECT_EQ(a.stats().total_drops(), a.stats().drop_count(DropReason::kArpNotForUs));
  EXPECT_EQ(b.stats().total_drops(), b.stats().drop_count(DropReason::kArpNotForUs));
}

TEST(Udp, EphemeralPortsAreInRangeAndNotSequential) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  std::vector<uint16_t> ports;
  for (int i = 0; i < 50; ++i) {
    auto s = a.udp_open();
    ASSERT_TRUE(a.bind(*s, {Ipv4Address::any(), 0}));
    uint16_t p = a.local_endpoint(*s)->port;
    EXPECT_GE(p, a.config().ephemeral_low);
    EXPECT_LE(p, a.config().ephemeral_high);
    ports.push_back(p);
  }
  EXPECT_EQ(std::set<uint16_t>(ports.begin(), ports.end()).size(), ports.size());
  int sequential = 0;
  for (size_t i = 1; i < ports.size(); ++i) sequential += ports[i] == ports[i - 1] + 1;
  EXPECT_LT(sequential, 3);
}

TEST(Udp, BindRules) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  auto s1 = a.udp_open();
  auto s2 = a.udp_open();
  ASSERT_TRUE(a.bind(*s1, {Ipv4Address::any(), 5000}));
  EXPECT_EQ(a.bind(*s1, {Ipv4Address::any(), 5001}).error(), Error::kInval);  // already bound
  EXPECT_EQ(a.bind(*s2, {Ipv4Address::any(), 5000}).error(), Error::kAddrInUse);
  EXPECT_EQ(a.bind(*s2, {test_ip(1), 5000}).error(), Error::kAddrInUse);  // overlaps the wildcard
  EXPECT_EQ(a.bind(*s2, {test_ip(9), 5002}).error(), Error::kAddrNotAvail);  // not our address
  ASSERT_TRUE(a.bind(*s2, {test_ip(1), 5002}));
  // SO_REUSEADDR on both lets them share a port.
  auto r1 = a.udp_open();
  auto r2 = a.udp_open();
  ASSERT_TRUE(a.set_option(*r1, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(a.set_option(*r2, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(a.bind(*r1, {Ipv4Address::any(), 6000}));
  ASSERT_TRUE(a.bind(*r2, {Ipv4Address::any(), 6000}));
  // Closing frees the port; a stale handle is EBADF.
  ASSERT_TRUE(a.close(*s1, lan.now()));
  EXPECT_EQ(a.bind(*s1, {Ipv4Address::any(), 1}).error(), Error::kBadFd);
  auto s3 = a.udp_open();
  EXPECT_TRUE(a.bind(*s3, {Ipv4Address::any(), 5000}));
  EXPECT_EQ(a.socket_count(), 4u);
}

TEST(Udp, ConnectedSocketFiltersSources) {
  Lan lan(3);
  Stack& a = lan.stack(0);
  auto s = a.udp_open();
  ASSERT_TRUE(a.bind(*s, {Ipv4Address::any(), 9000}));
  ASSERT_TRUE(a.connect(*s, {test_ip(2), 9001}, lan.now()));
  EXPECT_EQ(a.local_endpoint(*s)->addr, test_ip(1));  // connect picked the source
  auto from_b = lan.stack(1).udp_open();
  ASSERT_TRUE(lan.stack(1).bind(*from_b, {Ipv4Address::any(), 9001}));
  auto from_c = lan.stack(2).udp_open();
  ASSERT_TRUE(lan.stack(2).bind(*from_c, {Ipv4Address::any(), 9001}));
  ASSERT_TRUE(lan.stack(2).send_to(*from_c, bytes_of("from c"), Endpoint{test_ip(1), 9000}, lan.now()));
  ASSERT_TRUE(lan.stack(1).send_to(*from_b, bytes_of("from b"), Endpoint{test_ip(1), 9000}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(recv_string(a, *s, lan.now()), "from b");
  EXPECT_EQ(recv_string(a, *s, lan.now()), "<EAGAIN>");
  // C's datagram found no socket: port unreachable went back to C.
  EXPECT_EQ(a.stats().udp.NoPorts, 1u);
  EXPECT_EQ(a.stats().icmp.OutDestUnreachs, 1u);
  EXPECT_EQ(lan.stack(2).stats().icmp.InDestUnreachs, 1u);
  ASSERT_TRUE(a.disconnect(*s, lan.now()));
  EXPECT_EQ(a.remote_endpoint(*s).error(), Error::kNotConn);
  EXPECT_EQ(a.local_endpoint(*s)->addr, Ipv4Address::any());
  EXPECT_EQ(a.local_endpoint(*s)->port, 9000);  // explicitly bound: kept
}

TEST(Udp, PeekTruncateAndSizes) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto rx = b.udp_open();
  ASSERT_TRUE(b.bind(*rx, {Ipv4Address::any(), 4000}));
  auto tx = a.udp_open();
  ASSERT_TRUE(a.send_to(*tx, bytes_of("0123456789"), Endpoint{test_ip(2), 4000}, lan.now()));
  ASSERT_TRUE(a.send_to(*tx, bytes_of("second"), Endpoint{test_ip(2), 4000}, lan.now()));
  ASSERT_TRUE(a.send_to(*tx, {}, Endpoint{test_ip(2), 4000}, lan.now()));  // empty datagram
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(*b.next_datagram_size(*rx), 10u);
  std::vector<uint8_t> small(4);
  auto p = b.recv_from(*rx, small, msg_flag::kPeek, lan.now());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->copied, 4u);
  EXPECT_EQ(p->datagram_len, 10u);
  EXPECT_TRUE(p->truncated());
  auto t = b.recv_from(*rx, small, 0, lan.now());  // truncates and discards the rest
  ASSERT_TRUE(t);
  EXPECT_EQ(std::string(small.begin(), small.end()), "0123");
  EXPECT_EQ(t->datagram_len, 10u);
  EXPECT_EQ(recv_string(b, *rx, lan.now()), "second");
  auto e = b.recv_from(*rx, small, 0, lan.now());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->datagram_len, 0u);
  EXPECT_EQ(b.recv_from(*rx, small, 0, lan.now()).error(), Error::kAgain);
}

TEST(Udp, SendErrors) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  auto s = a.udp_open();
  EXPECT_EQ(a.send_to(*s, bytes_of("x"), std::nullopt, lan.now()).error(), Error::kDestAddrReq);
  EXPECT_EQ(a.send_to(*s, bytes_of("x"), Endpoint{test_ip(2), 0}, lan.now()).error(), Error::kInval);
  std::vector<uint8_t> huge(65508);
  EXPECT_EQ(a.send_to(*s, huge, Endpoint{test_ip(2), 9}, lan.now()).error(), Error::kMsgSize);
  EXPECT_EQ(a.send_to(*s, bytes_of("x"), Endpoint{Ipv4Address(203, 0, 113, 1), 9}, lan.now()).error(),
            Error::kNetUnreach);  // no gateway: off-link is unreachable (never sent)
  EXPECT_EQ(a.stats().ip.OutNoRoutes, 1u);
  // Broadcast needs SO_BROADCAST (EACCES, as Linux).
  EXPECT_EQ(a.send_to(*s, bytes_of("x"), Endpoint{Ipv4Address::broadcast(), 9}, lan.now()).error(),
            Error::kAccess);
  EXPECT_EQ(a.connect(*s, {test_ip(255), 9}, lan.now()).error(), Error::kAccess);
  EXPECT_EQ(a.send_to(SocketId{77, 1}, bytes_of("x"), std::nullopt, lan.now()).error(), Error::kBadFd);
}

TEST(Udp, BroadcastReachesEveryListener) {
  Lan lan(3);
  auto tx = lan.stack(0).udp_open();
  ASSERT_TRUE(lan.stack(0).set_option(*tx, SockOpt::kBroadcast, 1, lan.now()));
  SocketId rx1 = *lan.stack(1).udp_open(), rx2 = *lan.stack(2).udp_open();
  ASSERT_TRUE(lan.stack(1).bind(rx1, {Ipv4Address::any(), 5353}));
  ASSERT_TRUE(lan.stack(2).bind(rx2, {Ipv4Address::any(), 5353}));
  ASSERT_TRUE(lan.stack(0).send_to(*tx, bytes_of("all"), Endpoint{Ipv4Address::broadcast(), 5353}, lan.now()));
  ASSERT_TRUE(lan.stack(0).send_to(*tx, bytes_of("subnet"), Endpoint{test_ip(255), 5353}, lan.now()));
  lan.sim.run_until_idle(1s);
  for (auto [st, id] : {std::pair{&lan.stack(1), rx1}, std::pair{&lan.stack(2), rx2}}) {
    EXPECT_EQ(recv_string(*st, id, lan.now()), "all");
    EXPECT_EQ(recv_string(*st, id, lan.now()), "subnet");
  }
  // No ARP was needed and nobody answered a broadcast with an ICMP error.
  EXPECT_EQ(lan.stack(0).stats().arp.OutRequests, 0u);
  EXPECT_EQ(lan.stack(1).stats().icmp.OutMsgs, 0u);
}

TEST(Udp, ReceiveQueueIsBoundedByRcvbuf) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto rx = b.udp_open();
  ASSERT_TRUE(b.set_option(*rx, SockOpt::kRcvBuf, 4096, lan.now()));
  EXPECT_EQ(*b.get_option(*rx, SockOpt::kRcvBuf), 8192);  // Linux doubles it
  ASSERT_TRUE(b.bind(*rx, {Ipv4Address::any(), 4000}));
  auto tx = a.udp_open();
  std::vector<uint8_t> kb(1000, 'x');
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a.send_to(*tx, kb, Endpoint{test_ip(2), 4000}, lan.now()));
  lan.sim.run_until_idle(1s);
  // Each datagram costs 1000 + 256 bytes: 6 fit in 8192.
  EXPECT_EQ(b.stats().udp.InDatagrams, 6u);
  EXPECT_EQ(b.stats().udp.RcvbufErrors, 14u);
  EXPECT_EQ(b.stats().drop_count(DropReason::kUdpRcvBufFull), 14u);
  int got = 0;
  std::vector<uint8_t> buf(2000);
  while (b.recv_from(*rx, buf, 0, lan.now())) ++got;
  EXPECT_EQ(got, 6);
}

TEST(Udp, ConnectedSocketGetsEconnrefusedFromPortUnreachable) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  auto s = a.udp_open();
  ASSERT_TRUE(a.connect(*s, {test_ip(2), 9999}, lan.now()));  // nothing listens there
  ASSERT_TRUE(a.send_to(*s, bytes_of("x"), std::nullopt, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_NE(*a.readiness(*s) & readiness::kError, 0u);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(a.recv_from(*s, buf, 0, lan.now()).error(), Error::kConnRefused);
  EXPECT_EQ(a.recv_from(*s, buf, 0, lan.now()).error(), Error::kAgain);
  // The next send reports it too (Linux sock_error in the send path).
  ASSERT_TRUE(a.send_to(*s, bytes_of("x"), std::nullopt, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(a.send_to(*s, bytes_of("x"), std::nullopt, lan.now()).error(), Error::kConnRefused);
  auto err = a.take_error(*s);
  EXPECT_FALSE(err->has_value());
}

TEST(Udp, UnconnectedSocketIgnoresPortUnreachable) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  auto s = a.udp_open();
  ASSERT_TRUE(a.send_to(*s, bytes_of("x"), Endpoint{test_ip(2), 9999}, lan.now()));
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(a.stats().icmp.InDestUnreachs, 1u);
  EXPECT_EQ(*a.readiness(*s) & readiness::kError, 0u);
}

TEST(Udp, ReadyChangesAreReported) {
  Lan lan(2);
  Stack& b = lan.stack(1);
  auto rx = b.udp_open();
  ASSERT_TRUE(b.bind(*rx, {Ipv4Address::any(), 4000}));
  std::vector<SocketId> changed;
  b.take_ready_changes(changed);
  EXPECT_TRUE(changed.empty());
  auto tx = lan.stack(0).udp_open();
  ASSERT_TRUE(lan.stack(0).send_to(*tx, bytes_of("a"), Endpoint{test_ip(2), 4000}, lan.now()));
  ASSERT_TRUE(lan.stack(0).send_to(*tx, bytes_of("b"), Endpoint{test_ip(2), 4000}, lan.now()));
  lan.sim.run_until_idle(1s);
  b.take_ready_changes(changed);
  ASSERT_EQ(changed.size(), 1u);  // once, however many datagrams arrived
  EXPECT_EQ(changed[0], *rx);
  EXPECT_NE(*b.readiness(*rx) & readiness::kReadable, 0u);
}

}  // namespace
}  // namespace shunt::testing

namespace shunt::testing {
namespace {

TEST(Gateway, OffLinkTrafficGoesToTheGatewayMac) {
  Lan lan(0);
  StackConfig cfg;
  cfg.gateway = test_ip(2);  // the second stack plays the router
  Stack& a = lan.add_stack(1500, cfg);
  Stack& router = lan.add_stack();
  RawHost& sniffer = lan.add_raw();
  (void)sniffer;
  auto s = a.udp_open();
  ASSERT_TRUE(a.send_to(*s, bytes_of("via gw"), Endpoint{Ipv4Address(203, 0, 113, 9), 53}, lan.now()));
  lan.sim.run_until_idle(1s);
  // A resolved the gateway, not the far address, and sent the datagram to
  // the gateway's MAC; the router is not 203.0.113.9 so it drops it.
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kReachable);
  EXPECT_FALSE(a.arp_cache().state(Ipv4Address(203, 0, 113, 9)));
  EXPECT_EQ(router.stats().drop_count(DropReason::kIpNotForUs), 1u);
}

}  // namespace
}  // namespace shunt::testing
