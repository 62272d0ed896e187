// A new process reopening a 4-tuple its peer still holds in TIME-WAIT (the
// peer closed first, as an HTTP/1.0 server does). Each preloaded process has
// its own Stack; with a shared StackConfig::tcp_secret (the runtime derives
// it from the boot id) the new stack's ISN and timestamps are newer than the
// old connection's, so the peer reopens the pair at once (RFC 6191,
// TimeWaitRecycled). With unrelated secrets, about half the SYNs are older
// and stall for an RTO, which `shunt ab`'s nginx scenario found.
#include <gtest/gtest.h>

#include <memory>

#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

constexpr uint16_t kPort = 40000;

struct Reopen {
  Lan lan{1};
  Stack& server = lan.stack(0);
  SocketId listener = *server.tcp_open();

  Reopen() {
    EXPECT_TRUE(server.bind(listener, {Ipv4Address::any(), 80}));
    EXPECT_TRUE(server.listen(listener, 16, lan.now()));
  }

  // A client "process": a stack with the address and MAC of the last one
  // (the same host), on a port of its own. The switch learns the move from
  // its first frame.
  std::unique_ptr<Stack> client(uint64_t seed, std::optional<SipKey> secret) {
    NetDevice& port = lan.segment.add_port();
    StackConfig cfg;
    cfg.mac = test_mac(2);
    cfg.address = Ipv4Cidr(test_ip(2), 24);
    cfg.seed = seed;
    cfg.tcp_secret = secret;
    auto s = std::make_unique<Stack>(port, lan.pool, cfg);
    lan.sim.add_host(*s, port);
    return s;
  }

  // Connects from kPort; true when established within `limit`.
  bool connect(Stack& c, SocketId& id, Duration limit) {
    id = *c.tcp_open();
    EXPECT_TRUE(c.bind(id, {Ipv4Address::any(), kPort}));
    (void)c.connect(id, {test_ip(1), 80}, lan.now());
    return lan.sim.run_until([&] { return (*c.readiness(id) & readiness::kWritable) != 0; }, limit) &&
           !c.take_error(id)->has_value();
  }

  // One connection, closed by the server first: the server keeps the
  // 4-tuple in TIME-WAIT; the client ends in CLOSED (its stack goes quiet,
  // like a process that exited).
  void first_connection(Stack& c) {
    SocketId id;
    ASSERT_TRUE(connect(c, id, 5s));
    auto a = server.accept(listener, lan.now());
    ASSERT_TRUE(a);
    std::vector<uint8_t> data(3000, 7);
    ASSERT_TRUE(c.send_to(id, data, std::nullopt, lan.now()));
    lan.sim.run_for(50ms);
    std::vector<uint8_t> got(4096);
    ASSERT_EQ(server.recv_from(a->socket, got, 0, lan.now())->copied, data.size());
    ASSERT_TRUE(server.close(a->socket, lan.now()));
    lan.sim.run_for(50ms);
    ASSERT_TRUE(c.close(id, lan.now()));
    lan.sim.run_for(200ms);
    ASSERT_EQ(server.tcp_connection_count(), 1u);  // the TIME-WAIT
  }
};

TEST(TcpReopen, SharedSecretReopensTimeWaitAtOnce) {
  const SipKey secret{0x0123456789abcdefull, 0xfedcba9876543210ull};
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Reopen r;
    auto c1 = r.client(100 + seed, secret);
    ASSERT_NO_FATAL_FAILURE(r.first_connection(*c1));
    r.lan.sim.run_for(2s);  // a new process, a little later
    auto c2 = r.client(200 + seed, secret);
    SocketId id;
    EXPECT_TRUE(r.connect(*c2, id, 100ms)) << "seed " << seed;
    EXPECT_EQ(r.server.stats().tcp.TimeWaitRecycled, 1u) << "seed " << seed;
  }
}

TEST(TcpReopen, UnrelatedSecretsStallSometimes) {
  // The control: the same runs with a secret per process. Some SYNs carry
  // an older ISN and timestamp; the TIME-WAIT answers them with an ACK, the
  // client resets and retries after its 1 s RTO.
  int stalled = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Reopen r;
    auto c1 = r.client(100 + seed, std::nullopt);
    ASSERT_NO_FATAL_FAILURE(r.first_connection(*c1));
    r.lan.sim.run_for(2s);
    auto c2 = r.client(200 + seed, std::nullopt);
    SocketId id;
    if (!r.connect(*c2, id, 100ms)) ++stalled;
  }
  EXPECT_GE(stalled, 1);
  EXPECT_LE(stalled, 7);
}

}  // namespace
}  // namespace shunt::testing
