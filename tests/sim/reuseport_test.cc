// SO_REUSEPORT (stack/net/reuseport.h) with Linux's semantics, TCP and UDP:
// who may bind where, how new connections and datagrams spread over a
// group by flow hash, the preference for connected UDP members, and what
// closing a member does. The expected results of the bind rules were
// checked on Linux 6.18 sockets in a network namespace (a Python script
// doing the same binds, listens and connects).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "tests/support/frames.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

constexpr uint16_t kPort = 80;
constexpr uint32_t kOtherUid = 65534;

// ---- TCP binding -----------------------------------------------------------

class TcpReuseportBind : public ::testing::Test {
 protected:
  TcpReuseportBind() : lan(1), st(lan.stack(0)) {}

  SocketId open(bool reuse_port, bool reuse_addr = false, uint32_t uid = 0) {
    SocketId s = *st.tcp_open(uid);
    if (reuse_port) {
      EXPECT_TRUE(st.set_option(s, SockOpt::kReusePort, 1, lan.now()));
    }
    if (reuse_addr) {
      EXPECT_TRUE(st.set_option(s, SockOpt::kReuseAddr, 1, lan.now()));
    }
    return s;
  }
  Result<> bind(SocketId s, uint16_t port, Ipv4Address a = test_ip(1)) {
    return st.bind(s, {a, port});
  }
  Result<> listen(SocketId s) { return st.listen(s, 16, lan.now()); }

  Lan lan;
  Stack& st;
};

TEST_F(TcpReuseportBind, FlagOnBothOrNeither) {
  // Linux inet_bind_conflict: a socket without SO_REUSEPORT cannot join
  // sockets with it, nor the other way round.
  SocketId plain = open(false), rp = open(true);
  ASSERT_TRUE(bind(plain, 1000));
  EXPECT_EQ(bind(rp, 1000).error(), Error::kAddrInUse);
  SocketId rp1 = open(true), plain2 = open(false);
  ASSERT_TRUE(bind(rp1, 1001));
  EXPECT_EQ(bind(plain2, 1001).error(), Error::kAddrInUse);
  // Both with the flag: both bind and both listen.
  SocketId a = open(true), b = open(true);
  ASSERT_TRUE(bind(a, 1002));
  ASSERT_TRUE(bind(b, 1002));
  EXPECT_TRUE(listen(a));
  EXPECT_TRUE(listen(b));
  // A third joins a listening group.
  SocketId c = open(true);
  EXPECT_TRUE(bind(c, 1002));
  EXPECT_TRUE(listen(c));
  // And a plain socket still cannot.
  EXPECT_EQ(bind(open(false), 1002).error(), Error::kAddrInUse);
  // The wildcard overlaps the address: same rules.
  SocketId any = open(true), one = open(true);
  ASSERT_TRUE(bind(any, 1003, Ipv4Address::any()));
  EXPECT_TRUE(bind(one, 1003));
  EXPECT_TRUE(listen(any));
  EXPECT_TRUE(listen(one));
  EXPECT_EQ(bind(open(false), 1003).error(), Error::kAddrInUse);
}

TEST_F(TcpReuseportBind, SameUidOnly) {
  // The uid the socket was created with counts (Linux sock_i_uid).
  SocketId mine = open(true, false, 0), theirs = open(true, false, kOtherUid);
  ASSERT_TRUE(bind(mine, 1000));
  EXPECT_EQ(bind(theirs, 1000).error(), Error::kAddrInUse);
  SocketId theirs2 = open(true, false, kOtherUid);
  ASSERT_TRUE(bind(theirs, 1001));
  EXPECT_TRUE(bind(theirs2, 1001));
}

TEST_F(TcpReuseportBind, OthersFlagIsReadWhenBinding) {
  // Linux reads sk_reuseport of the sockets already there at each bind: a
  // socket bound without the flag that sets it afterwards lets a second
  // one in, and both listen as one group.
  SocketId a = open(false), b = open(true);
  ASSERT_TRUE(bind(a, 1000));
  ASSERT_TRUE(st.set_option(a, SockOpt::kReusePort, 1, lan.now()));
  EXPECT_TRUE(bind(b, 1000));
  EXPECT_TRUE(listen(a));
  EXPECT_TRUE(listen(b));
}

TEST_F(TcpReuseportBind, ReuseAddrDoesNotLetTwoListen) {
  // SO_REUSEADDR + SO_REUSEPORT listening; SO_REUSEADDR alone cannot bind.
  SocketId l = open(true, true);
  ASSERT_TRUE(bind(l, 1000));
  ASSERT_TRUE(listen(l));
  EXPECT_EQ(bind(open(false, true), 1000).error(), Error::kAddrInUse);
  // Both SO_REUSEADDR bind while neither listens; the one with
  // SO_REUSEPORT listens, the other then cannot.
  SocketId ra = open(false, true), ra_rp = open(true, true);
  ASSERT_TRUE(bind(ra, 1001));
  ASSERT_TRUE(bind(ra_rp, 1001));
  EXPECT_TRUE(listen(ra_rp));
  EXPECT_EQ(listen(ra).error(), Error::kAddrInUse);
  // Two with SO_REUSEADDR only: the first listens, the second cannot.
  SocketId x = open(false, true), y = open(false, true);
  ASSERT_TRUE(bind(x, 1002));
  ASSERT_TRUE(bind(y, 1002));
  EXPECT_TRUE(listen(x));
  EXPECT_EQ(listen(y).error(), Error::kAddrInUse);
}

TEST_F(TcpReuseportBind, GetsockoptReturnsTheFlag) {
  SocketId s = open(false);
  EXPECT_EQ(*st.get_option(s, SockOpt::kReusePort), 0);
  ASSERT_TRUE(st.set_option(s, SockOpt::kReusePort, 5, lan.now()));
  EXPECT_EQ(*st.get_option(s, SockOpt::kReusePort), 1);
  ASSERT_TRUE(st.set_option(s, SockOpt::kReusePort, 0, lan.now()));
  EXPECT_EQ(*st.get_option(s, SockOpt::kReusePort), 0);
}

TEST(TcpReuseportPort0, BindToPortZeroNeverShares) {
  // Linux inet_csk_find_open_port takes no port anyone holds, whatever
  // the flags (checked with ip_local_port_range "40000 40001").
  Lan lan(0);
  StackConfig cfg;
  cfg.ephemeral_low = 40000;
  cfg.ephemeral_high = 40001;
  Stack& st = lan.add_stack(1500, cfg);
  auto open_rp = [&] {
    SocketId s = *st.tcp_open();
    EXPECT_TRUE(st.set_option(s, SockOpt::kReusePort, 1, lan.now()));
    return s;
  };
  ASSERT_TRUE(st.bind(open_rp(), {test_ip(1), 40000}));
  SocketId b = open_rp();
  ASSERT_TRUE(st.bind(b, {test_ip(1), 0}));
  EXPECT_EQ(st.local_endpoint(b)->port, 40001);
  EXPECT_EQ(st.bind(open_rp(), {test_ip(1), 0}).error(), Error::kAddrInUse);
}

// ---- TCP: two stacks ------------------------------------------------------

class TcpReuseport : public ::testing::Test {
 protected:
  TcpReuseport() : lan(2), client(lan.stack(0)), server(lan.stack(1)) { lan.sim.settle(); }

  SocketId listener(bool reuse_port = true, Ipv4Address addr = Ipv4Address::any(),
                    uint16_t port = kPort) {
    SocketId l = *server.tcp_open();
    if (reuse_port) {
      EXPECT_TRUE(server.set_option(l, SockOpt::kReusePort, 1, lan.now()));
    }
    EXPECT_TRUE(server.bind(l, {addr, port}));
    EXPECT_TRUE(server.listen(l, 128, lan.now()));
    return l;
  }

  // n client connections (from the port given, or ephemeral ones when 0),
  // run until all are established.
  std::vector<SocketId> connect_clients(int n, uint16_t from_port = 0) {
    std::vector<SocketId> out;
    for (int i = 0; i < n; ++i) {
      SocketId c = *client.tcp_open();
      if (from_port != 0) {
        EXPECT_TRUE(client.bind(c, {Ipv4Address::any(), static_cast<uint16_t>(from_port + i)}));
      }
      EXPECT_EQ(client.connect(c, {test_ip(2), kPort}, lan.now()).error(), Error::kInProgress);
      out.push_back(c);
    }
    EXPECT_TRUE(lan.sim.run_until(
        [&] {
          for (SocketId c : out) {
            if ((*client.readiness(c) & readiness::kWritable) == 0) return false;
          }
          return true;
        },
        5s));
    return out;
  }

  // Accepts everything queued on `l`; the peers (client endpoints).
  std::vector<Endpoint> accept_all(SocketId l, std::vector<SocketId>* accepted = nullptr) {
    std::vector<Endpoint> peers;
    while (true) {
      auto a = server.accept(l, lan.now());
      if (!a) {
        EXPECT_EQ(a.error(), Error::kAgain);
        return peers;
      }
      peers.push_back(a->peer);
      if (accepted != nullptr) accepted->push_back(a->socket);
    }
  }

  Lan lan;
  Stack& client;
  Stack& server;
};

TEST_F(TcpReuseport, NewConnectionsSpreadByFlowHash) {
  SocketId a = listener(), b = listener();
  constexpr int kN = 40;
  std::vector<SocketId> conns = connect_clients(kN, 41000);
  std::vector<Endpoint> at_a = accept_all(a), at_b = accept_all(b);
  EXPECT_EQ(at_a.size() + at_b.size(), static_cast<size_t>(kN));
  // Both get a share (40 flows all on one of two members would be a
  // broken hash: odds 2^-39).
  EXPECT_GT(at_a.size(), 0u);
  EXPECT_GT(at_b.size(), 0u);
  std::map<uint16_t, SocketId> first;
  for (const Endpoint& e : at_a) first[e.port] = a;
  for (const Endpoint& e : at_b) first[e.port] = b;

  // The same 4-tuple again reaches the same listener: abort every client
  // (RST, so no TIME-WAIT holds the pair) and reconnect from the same
  // ports.
  for (SocketId c : conns) {
    ASSERT_TRUE(client.set_option(c, SockOpt::kLinger, 0, lan.now()));
    ASSERT_TRUE(client.close(c, lan.now()));
  }
  lan.sim.run_for(10ms);
  conns = connect_clients(kN, 41000);
  std::vector<Endpoint> again_a = accept_all(a), again_b = accept_all(b);
  EXPECT_EQ(again_a.size(), at_a.size());
  EXPECT_EQ(again_b.size(), at_b.size());
  for (const Endpoint& e : again_a) EXPECT_EQ(first[e.port], a) << e.to_string();
  for (const Endpoint& e : again_b) EXPECT_EQ(first[e.port], b) << e.to_string();
}

TEST_F(TcpReuseport, ClosingAListenerResetsItsQueueAndTheOthersServe) {
  SocketId a = listener(), b = listener();
  std::vector<SocketId> conns = connect_clients(30);
  // Nothing accepted yet: close A. Its queued connections are reset (no
  // migration to B: Linux net.ipv4.tcp_migrate_req = 0), B's stay.
  std::map<Endpoint, SocketId> by_end;
  for (SocketId c : conns) by_end[*client.local_endpoint(c)] = c;
  ASSERT_TRUE(server.close(a, lan.now()));
  lan.sim.run_for(10ms);
  std::vector<Endpoint> at_b = accept_all(b);
  ASSERT_GT(at_b.size(), 0u);
  ASSERT_LT(at_b.size(), conns.size());
  std::set<Endpoint> kept(at_b.begin(), at_b.end());
  std::vector<uint8_t> buf(10);
  for (auto& [end, c] : by_end) {
    auto r = client.recv_from(c, buf, 0, lan.now());
    if (kept.count(end) != 0) {
      EXPECT_EQ(r.error(), Error::kAgain) << end.to_string();  // alive, accepted by B
    } else {
      EXPECT_EQ(r.error(), Error::kConnReset) << end.to_string();
    }
  }
  // New connections all go to B now.
  std::vector<SocketId> more = connect_clients(10);
  EXPECT_EQ(accept_all(b).size(), 10u);
}

TEST_F(TcpReuseport, AcceptedSocketInheritsTheFlags) {
  SocketId l = *server.tcp_open();
  ASSERT_TRUE(server.set_option(l, SockOpt::kReusePort, 1, lan.now()));
  ASSERT_TRUE(server.set_option(l, SockOpt::kReuseAddr, 1, lan.now()));
  ASSERT_TRUE(server.bind(l, {Ipv4Address::any(), kPort}));
  ASSERT_TRUE(server.listen(l, 8, lan.now()));
  connect_clients(1);
  std::vector<SocketId> accepted;
  ASSERT_EQ(accept_all(l, &accepted).size(), 1u);
  // Linux sk_clone_lock copies both flags into the child.
  EXPECT_EQ(*server.get_option(accepted[0], SockOpt::kReusePort), 1);
  EXPECT_EQ(*server.get_option(accepted[0], SockOpt::kReuseAddr), 1);
  // With the listener gone, its child still holds the port with the
  // flags: SO_REUSEPORT may bind over it, a plain socket may not.
  ASSERT_TRUE(server.close(l, lan.now()));
  SocketId plain = *server.tcp_open();
  EXPECT_EQ(server.bind(plain, {Ipv4Address::any(), kPort}).error(), Error::kAddrInUse);
  SocketId rp = *server.tcp_open();
  ASSERT_TRUE(server.set_option(rp, SockOpt::kReusePort, 1, lan.now()));
  EXPECT_TRUE(server.bind(rp, {Ipv4Address::any(), kPort}));
}

TEST_F(TcpReuseport, ConnectedClientsShareALocalPort) {
  // Clients with SO_REUSEPORT may bind one local port and connect to
  // different peers (Linux: the connection keeps the flag on the port).
  listener(false, Ipv4Address::any(), 80);
  listener(false, Ipv4Address::any(), 81);
  SocketId c1 = *client.tcp_open(), c2 = *client.tcp_open();
  for (SocketId c : {c1, c2}) ASSERT_TRUE(client.set_option(c, SockOpt::kReusePort, 1, lan.now()));
  ASSERT_TRUE(client.bind(c1, {Ipv4Address::any(), 42000}));
  EXPECT_EQ(client.connect(c1, {test_ip(2), 80}, lan.now()).error(), Error::kInProgress);
  ASSERT_TRUE(client.bind(c2, {Ipv4Address::any(), 42000}));
  EXPECT_EQ(client.connect(c2, {test_ip(2), 81}, lan.now()).error(), Error::kInProgress);
  ASSERT_TRUE(lan.sim.run_until(
      [&] {
        return (*client.readiness(c1) & readiness::kWritable) != 0 &&
               (*client.readiness(c2) & readiness::kWritable) != 0;
      },
      5s));
  EXPECT_EQ(*client.take_error(c1), std::nullopt);
  EXPECT_EQ(*client.take_error(c2), std::nullopt);
  // Without the flag, the port is taken.
  EXPECT_EQ(client.bind(*client.tcp_open(), {Ipv4Address::any(), 42000}).error(),
            Error::kAddrInUse);
}

TEST_F(TcpReuseport, TimeWaitHoldsThePortWithItsFlags) {
  // The client closes first and keeps the pair in TIME-WAIT.
  SocketId l = listener(false);
  auto open_bound = [&](bool rp, bool ra, uint16_t port, uint32_t uid = 0) {
    SocketId c = *client.tcp_open(uid);
    if (rp) {
      EXPECT_TRUE(client.set_option(c, SockOpt::kReusePort, 1, lan.now()));
    }
    if (ra) {
      EXPECT_TRUE(client.set_option(c, SockOpt::kReuseAddr, 1, lan.now()));
    }
    auto r = client.bind(c, {Ipv4Address::any(), port});
    return std::make_pair(c, r);
  };
  auto time_wait_on = [&](uint16_t port, bool rp) {
    auto [c, r] = open_bound(rp, false, port);
    ASSERT_TRUE(r);
    EXPECT_EQ(client.connect(c, {test_ip(2), kPort}, lan.now()).error(), Error::kInProgress);
    ASSERT_TRUE(
        lan.sim.run_until([&] { return (*client.readiness(c) & readiness::kWritable) != 0; }, 5s));
    std::vector<SocketId> accepted;
    ASSERT_EQ(accept_all(l, &accepted).size(), 1u);
    ASSERT_TRUE(client.close(c, lan.now()));
    lan.sim.run_for(100ms);
    ASSERT_TRUE(server.close(accepted[0], lan.now()));
    lan.sim.run_for(100ms);
    ASSERT_EQ(client.tcp_connection_count(), 1u);
  };
  // Without SO_REUSEADDR on the closed socket, SO_REUSEADDR on the new
  // one is not enough (Linux: both need it).
  ASSERT_NO_FATAL_FAILURE(time_wait_on(42001, false));
  EXPECT_EQ(open_bound(false, true, 42001).second.error(), Error::kAddrInUse);
  EXPECT_EQ(open_bound(false, false, 42001).second.error(), Error::kAddrInUse);
  lan.sim.run_for(2min);  // TIME-WAIT ends
  ASSERT_EQ(client.tcp_connection_count(), 0u);
  // A TIME-WAIT pair with SO_REUSEPORT lets any uid's SO_REUSEPORT in.
  ASSERT_NO_FATAL_FAILURE(time_wait_on(42002, true));
  EXPECT_TRUE(open_bound(true, false, 42002, kOtherUid).second);
}

TEST_F(TcpReuseport, AddressGroupBeatsWildcardGroup) {
  // Linux looks the address up before INADDR_ANY: a group on the address
  // takes every connection while it listens.
  SocketId w1 = listener(), w2 = listener();
  SocketId s1 = listener(true, test_ip(2)), s2 = listener(true, test_ip(2));
  connect_clients(20);
  EXPECT_EQ(accept_all(w1).size() + accept_all(w2).size(), 0u);
  EXPECT_EQ(accept_all(s1).size() + accept_all(s2).size(), 20u);
}

TEST_F(TcpReuseport, SameSeedSameSpread) {
  // Deterministic: the flow hash key comes from the stack's seed. A second
  // pair of stacks with the same seeds spreads the same flows the same way.
  auto spread = [](Lan& l) {
    Stack& c = l.stack(0);
    Stack& s = l.stack(1);
    l.sim.settle();
    std::vector<SocketId> ls;
    for (int i = 0; i < 3; ++i) {
      SocketId x = *s.tcp_open();
      EXPECT_TRUE(s.set_option(x, SockOpt::kReusePort, 1, l.now()));
      EXPECT_TRUE(s.bind(x, {Ipv4Address::any(), kPort}));
      EXPECT_TRUE(s.listen(x, 64, l.now()));
      ls.push_back(x);
    }
    for (int i = 0; i < 24; ++i) {
      SocketId cs = *c.tcp_open();
      EXPECT_TRUE(c.bind(cs, {Ipv4Address::any(), static_cast<uint16_t>(43000 + i)}));
      (void)c.connect(cs, {test_ip(2), kPort}, l.now());
    }
    l.sim.run_for(1s);
    std::map<uint16_t, int> who;
    for (int i = 0; i < 3; ++i) {
      while (auto a = s.accept(ls[static_cast<size_t>(i)], l.now())) who[a->peer.port] = i;
    }
    return who;
  };
  Lan other(2);
  auto one = spread(lan), two = spread(other);
  EXPECT_EQ(one.size(), 24u);
  EXPECT_EQ(one, two);
}

// ---- UDP -------------------------------------------------------------------

class UdpReuseport : public ::testing::Test {
 protected:
  UdpReuseport() : lan(2), client(lan.stack(0)), server(lan.stack(1)) { lan.sim.settle(); }

  SocketId member(Ipv4Address addr = Ipv4Address::any()) {
    SocketId s = *server.udp_open();
    EXPECT_TRUE(server.set_option(s, SockOpt::kReusePort, 1, lan.now()));
    EXPECT_TRUE(server.bind(s, {addr, kPort}));
    return s;
  }

  // `n` client sockets on ports from 44000; each sends `per` datagrams
  // (its port number as text) to the server.
  std::vector<SocketId> send_from(int n, int per, uint16_t first_port = 44000) {
    std::vector<SocketId> out;
    for (int i = 0; i < n; ++i) {
      SocketId c = *client.udp_open();
      EXPECT_TRUE(client.bind(c, {Ipv4Address::any(), static_cast<uint16_t>(first_port + i)}));
      for (int k = 0; k < per; ++k) {
        EXPECT_TRUE(client.send_to(c, bytes_of("x"), Endpoint{test_ip(2), kPort}, lan.now()));
      }
      out.push_back(c);
      lan.sim.run_until_idle(1s);  // the first waits for ARP, which queues only a few
    }
    return out;
  }

  // The source ports of every datagram queued on `s`.
  std::vector<uint16_t> drain(SocketId s) {
    std::vector<uint16_t> ports;
    std::vector<uint8_t> buf(100);
    while (auto r = server.recv_from(s, buf, 0, lan.now())) ports.push_back(r->from.port);
    return ports;
  }

  Lan lan;
  Stack& client;
  Stack& server;
};

TEST_F(UdpReuseport, BindConflictsMatchLinux) {
  auto open = [&](bool rp, bool ra = false, uint32_t uid = 0) {
    SocketId s = *server.udp_open(uid);
    if (rp) {
      EXPECT_TRUE(server.set_option(s, SockOpt::kReusePort, 1, lan.now()));
    }
    if (ra) {
      EXPECT_TRUE(server.set_option(s, SockOpt::kReuseAddr, 1, lan.now()));
    }
    return s;
  };
  auto bind = [&](SocketId s, uint16_t port, Ipv4Address a = test_ip(2)) {
    return server.bind(s, {a, port});
  };
  ASSERT_TRUE(bind(open(false), 1000));
  EXPECT_EQ(bind(open(true), 1000).error(), Error::kAddrInUse);
  ASSERT_TRUE(bind(open(true), 1001));
  EXPECT_EQ(bind(open(false), 1001).error(), Error::kAddrInUse);
  ASSERT_TRUE(bind(open(true), 1002));
  EXPECT_TRUE(bind(open(true), 1002));
  EXPECT_TRUE(bind(open(true), 1002, Ipv4Address::any()));  // overlapping, compatible
  // Another uid is refused...
  ASSERT_TRUE(bind(open(true), 1003));
  EXPECT_EQ(bind(open(true, false, kOtherUid), 1003).error(), Error::kAddrInUse);
  // ...unless SO_REUSEADDR on both, which lets any UDP sockets share.
  ASSERT_TRUE(bind(open(false, true), 1004));
  EXPECT_TRUE(bind(open(true, true, kOtherUid), 1004));
  // The flag of the socket already bound is read when the next binds.
  SocketId late = open(false);
  ASSERT_TRUE(bind(late, 1005));
  ASSERT_TRUE(server.set_option(late, SockOpt::kReusePort, 1, lan.now()));
  EXPECT_TRUE(bind(open(true), 1005));
  EXPECT_EQ(*server.get_option(late, SockOpt::kReusePort), 1);
  EXPECT_EQ(*server.get_option(open(false), SockOpt::kReusePort), 0);
}

TEST(UdpReuseportPort0, BindToPortZeroMayShareWithACompatibleSocket) {
  // Linux udp_lib_get_port skips only the ports an incompatible socket
  // holds: with two ephemeral ports, three SO_REUSEPORT sockets all bind
  // port 0 (Linux 6.18 put the second on the first's port), a plain one
  // finds none.
  Lan lan(0);
  StackConfig cfg;
  cfg.ephemeral_low = 40000;
  cfg.ephemeral_high = 40001;
  Stack& st = lan.add_stack(1500, cfg);
  std::set<uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    SocketId s = *st.udp_open();
    ASSERT_TRUE(st.set_option(s, SockOpt::kReusePort, 1, lan.now()));
    ASSERT_TRUE(st.bind(s, {test_ip(1), 0}));
    ports.insert(st.local_endpoint(s)->port);
  }
  EXPECT_LE(ports.size(), 2u);
  EXPECT_EQ(st.bind(*st.udp_open(), {test_ip(1), 0}).error(), Error::kAddrInUse);
}

TEST_F(UdpReuseport, DatagramsSpreadByFlowHash) {
  SocketId m[3] = {member(), member(), member()};
  send_from(30, 3);
  std::map<uint16_t, std::set<int>> seen_at;  // source port -> members
  size_t total = 0;
  for (int i = 0; i < 3; ++i) {
    auto ports = drain(m[i]);
    EXPECT_GT(ports.size(), 0u) << "member " << i << " got nothing";
    total += ports.size();
    for (uint16_t p : ports) seen_at[p].insert(i);
  }
  EXPECT_EQ(total, 90u);
  EXPECT_EQ(seen_at.size(), 30u);
  // One flow, one member.
  for (auto& [port, members] : seen_at) EXPECT_EQ(members.size(), 1u) << port;
  EXPECT_EQ(server.stats().udp.NoPorts, 0u);
}

TEST_F(UdpReuseport, ConnectedMemberIsPreferred) {
  // Linux compute_score: a connected socket matching the datagram scores
  // higher than the group; the group's hash passes over connected members.
  // One connected member bound to the wildcard (connect() moves it out of
  // the group, udp_lib_rehash) and one bound to the address (it stays in
  // the group, skipped by the hash).
  SocketId a = member(), b = member(), c = member();
  SocketId s1 = member(test_ip(2)), s2 = member(test_ip(2)), s3 = member(test_ip(2));
  ASSERT_TRUE(server.connect(b, {test_ip(1), 44000}, lan.now()));
  ASSERT_TRUE(server.connect(s2, {test_ip(1), 44000}, lan.now()));
  // The address group wins over the wildcard one; its connected member
  // wins for its peer.
  std::vector<SocketId> senders = send_from(30, 2);
  std::vector<uint16_t> at_s2 = drain(s2);
  EXPECT_EQ(at_s2, (std::vector<uint16_t>{44000, 44000}));
  std::vector<uint16_t> at_s1 = drain(s1), at_s3 = drain(s3);
  EXPECT_EQ(at_s1.size() + at_s3.size(), 58u);
  EXPECT_GT(at_s1.size(), 0u);
  EXPECT_GT(at_s3.size(), 0u);
  for (auto* v : {&at_s1, &at_s3}) {
    EXPECT_EQ(std::count(v->begin(), v->end(), uint16_t{44000}), 0);
  }
  EXPECT_TRUE(drain(a).empty() && drain(b).empty() && drain(c).empty());

  // Without the address group, the wildcard one: b keeps its peer's
  // datagrams, a and c share the rest.
  for (SocketId s : {s1, s2, s3}) ASSERT_TRUE(server.close(s, lan.now()));
  send_from(30, 2, 44000 + 100);
  EXPECT_TRUE(drain(b).empty());  // from other ports than its peer
  std::vector<uint16_t> at_a = drain(a), at_c = drain(c);
  EXPECT_EQ(at_a.size() + at_c.size(), 60u);
  EXPECT_GT(at_a.size(), 0u);
  EXPECT_GT(at_c.size(), 0u);
  SocketId peer = senders[0];  // port 44000
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.send_to(peer, bytes_of("x"), Endpoint{test_ip(2), kPort}, lan.now()));
  }
  lan.sim.run_until_idle(1s);
  EXPECT_EQ(drain(b).size(), 5u);
  EXPECT_TRUE(drain(a).empty() && drain(c).empty());
}

TEST_F(UdpReuseport, ClosedMemberLeavesTheGroup) {
  SocketId a = member(), b = member();
  send_from(20, 1);
  auto first_a = drain(a), first_b = drain(b);
  ASSERT_GT(first_a.size(), 0u);
  ASSERT_GT(first_b.size(), 0u);
  ASSERT_TRUE(server.close(a, lan.now()));
  send_from(20, 1, 44000 + 100);
  EXPECT_EQ(drain(b).size(), 20u);
  EXPECT_EQ(server.stats().udp.NoPorts, 0u);
  EXPECT_EQ(server.stats().icmp.OutDestUnreachs, 0u);
}

}  // namespace
}  // namespace shunt::testing
