// Stack::list_sockets, the snapshot `shunt ss` prints: listeners with their
// queues, connections with ss's Recv-Q/Send-Q and TCP_INFO, orphans, UDP.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

using tcp::TcpState;

const SocketEntry* find(const std::vector<SocketEntry>& v, SocketEntry::Proto p, TcpState s,
                        uint16_t lport) {
  auto it = std::find_if(v.begin(), v.end(), [&](const SocketEntry& e) {
    return e.proto == p && e.state == s && e.local.port == lport;
  });
  return it == v.end() ? nullptr : &*it;
}

TEST(SocketList, ListenersConnectionsOrphansAndUdp) {
  Lan lan{2};
  Stack& client = lan.stack(0);
  Stack& server = lan.stack(1);
  SocketId listener = *server.tcp_open();
  ASSERT_TRUE(server.bind(listener, {Ipv4Address::any(), 80}));
  ASSERT_TRUE(server.listen(listener, 7, lan.now()));

  // Two connections: one accepted, one left in the accept queue.
  SocketId c1 = *client.tcp_open();
  SocketId c2 = *client.tcp_open();
  (void)client.connect(c1, {test_ip(2), 80}, lan.now());
  (void)client.connect(c2, {test_ip(2), 80}, lan.now());
  ASSERT_TRUE(lan.sim.run_until(
      [&] {
        return (*client.readiness(c1) & readiness::kWritable) != 0 &&
               (*client.readiness(c2) & readiness::kWritable) != 0;
      },
      5s));
  auto a = server.accept(listener, lan.now());
  ASSERT_TRUE(a);
  // 1000 bytes the server has not read yet.
  std::vector<uint8_t> data(1000, 0x5a);
  ASSERT_EQ(*client.send_to(c1, data, std::nullopt, lan.now()), 1000u);
  lan.sim.run_for(100ms);

  std::vector<SocketEntry> got;
  server.list_sockets(got, lan.now());
  const SocketEntry* l = find(got, SocketEntry::Proto::kTcp, TcpState::kListen, 80);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->id, listener);
  EXPECT_EQ(l->recv_q, 1u);  // c2's connection waits in the accept queue
  EXPECT_EQ(l->send_q, 7u);  // the backlog
  EXPECT_FALSE(l->info.has_value());

  auto estab = std::count_if(got.begin(), got.end(), [](const SocketEntry& e) {
    return e.proto == SocketEntry::Proto::kTcp && e.state == TcpState::kEstablished;
  });
  EXPECT_EQ(estab, 2);
  auto accepted = std::find_if(got.begin(), got.end(), [&](const SocketEntry& e) {
    return e.id && *e.id == a->socket;
  });
  ASSERT_NE(accepted, got.end());
  EXPECT_EQ(accepted->recv_q, 1000u);
  EXPECT_EQ(accepted->remote, *client.local_endpoint(c1));
  ASSERT_TRUE(accepted->info.has_value());
  EXPECT_EQ(accepted->info->bytes_received, 1000u);
  auto queued = std::find_if(got.begin(), got.end(), [&](const SocketEntry& e) {
    return e.state == TcpState::kEstablished && !e.id;
  });
  ASSERT_NE(queued, got.end());  // the unaccepted child has no socket
  EXPECT_EQ(queued->remote, *client.local_endpoint(c2));

  // The client: after close() the connection lives on as an orphan in
  // FIN-WAIT; a UDP socket, connected and not.
  Endpoint c1_local = *client.local_endpoint(c1);
  ASSERT_TRUE(client.close(c1, lan.now()));
  lan.sim.run_for(10ms);
  SocketId u1 = *client.udp_open();
  ASSERT_TRUE(client.bind(u1, {Ipv4Address::any(), 5353}));
  SocketId u2 = *client.udp_open();
  ASSERT_TRUE(client.connect(u2, {test_ip(2), 53}, lan.now()));
  got.clear();
  client.list_sockets(got, lan.now());
  auto orphan = std::find_if(got.begin(), got.end(), [&](const SocketEntry& e) {
    return e.proto == SocketEntry::Proto::kTcp && e.local == c1_local;
  });
  ASSERT_NE(orphan, got.end());
  EXPECT_FALSE(orphan->id.has_value());
  EXPECT_EQ(orphan->state, TcpState::kFinWait2);
  const SocketEntry* unconn = find(got, SocketEntry::Proto::kUdp, TcpState::kClosed, 5353);
  ASSERT_NE(unconn, nullptr);
  EXPECT_EQ(unconn->id, u1);
  auto conn_udp = std::find_if(got.begin(), got.end(), [&](const SocketEntry& e) {
    return e.proto == SocketEntry::Proto::kUdp && e.state == TcpState::kEstablished;
  });
  ASSERT_NE(conn_udp, got.end());
  EXPECT_EQ(conn_udp->remote, (Endpoint{test_ip(2), 53}));
  // TCP entries come before UDP ones.
  auto first_udp = std::find_if(got.begin(), got.end(),
                                [](const SocketEntry& e) { return e.proto == SocketEntry::Proto::kUdp; });
  EXPECT_TRUE(std::all_of(first_udp, got.end(),
                          [](const SocketEntry& e) { return e.proto == SocketEntry::Proto::kUdp; }));
}

}  // namespace
}  // namespace shunt::testing
