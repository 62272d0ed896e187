// Many TCP connections: 1,000 at once exchanging data, and 100,000 short
// ones one after another with nothing leaking (the connection count goes
// back to zero once TIME-WAIT has passed).
#include <gtest/gtest.h>

#include <string>

#include "tests/support/lan.h"
#include "tests/support/sha256.h"

namespace shunt::testing {
namespace {

TEST(TcpScale, ThousandConcurrentConnectionsEcho) {
  Lan lan(2);
  Stack& client = lan.stack(0);
  Stack& server = lan.stack(1);
  SocketId l = *server.tcp_open();
  ASSERT_TRUE(server.bind(l, {Ipv4Address::any(), 7}));
  ASSERT_TRUE(server.listen(l, 4096, lan.now()));
  constexpr int kConns = 1000;
  constexpr size_t kBytes = 20000;  // per connection, each way
  std::vector<SocketId> cs(kConns);
  for (auto& c : cs) {
    c = *client.tcp_open();
    ASSERT_EQ(client.connect(c, {test_ip(2), 7}, lan.now()).error(), Error::kInProgress);
  }
  std::vector<SocketId> ss;
  ASSERT_TRUE(lan.sim.run_until(
      [&] {
        while (auto a = server.accept(l, lan.now())) ss.push_back(a->socket);
        return ss.size() == kConns;
      },
      10s));
  EXPECT_EQ(server.tcp_connection_count(), size_t{kConns});
  EXPECT_EQ(client.tcp_connection_count(), size_t{kConns});

  // Each client sends its own pattern; the server echoes; the client
  // checks that what came back is what it sent.
  std::vector<std::vector<uint8_t>> sent(kConns), echoed(kConns);
  std::vector<size_t> offset(kConns, 0);
  for (int i = 0; i < kConns; ++i) {
    sent[i].resize(kBytes);
    PatternStream(static_cast<uint64_t>(i) + 1).fill(sent[i]);
  }
  std::vector<uint8_t> buf(65536);
  size_t complete = 0;
  ASSERT_TRUE(lan.sim.run_until(
      [&] {
        for (int i = 0; i < kConns; ++i) {
          if (offset[i] < kBytes) {
            auto r = client.send_to(cs[i], Bytes(sent[i]).subspan(offset[i]), std::nullopt, lan.now());
            if (r) offset[i] += *r;
          }
        }
        for (SocketId s : ss) {
          while (auto r = server.recv_from(s, buf, 0, lan.now())) {
            if (r->copied == 0) break;
            auto w = server.send_to(s, Bytes(buf).first(r->copied), std::nullopt, lan.now());
            EXPECT_TRUE(w && *w == r->copied);  // 20 KB fits the 1 MiB send buffer
          }
        }
        complete = 0;
        for (int i = 0; i < kConns; ++i) {
          while (auto r = client.recv_from(cs[i], buf, 0, lan.now())) {
            if (r->copied == 0) break;
            echoed[i].insert(echoed[i].end(), buf.begin(), buf.begin() + static_cast<long>(r->copied));
          }
          complete += echoed[i].size() == kBytes;
        }
        return complete == kConns;
      },
      30s));
  for (int i = 0; i < kConns; ++i) ASSERT_EQ(echoed[i], sent[i]) << "connection " << i;

  for (auto c : cs) ASSERT_TRUE(client.close(c, lan.now()));
  lan.sim.run_for(1s);
  for (auto s : ss) ASSERT_TRUE(server.close(s, lan.now()));
  lan.sim.run_for(70s);
  EXPECT_EQ(client.tcp_connection_count(), 0u);
  EXPECT_EQ(server.tcp_connection_count(), 0u);
  // (Retransmissions do happen: 1,000 initial windows at one instant
  // overflow the simulated switch port's 4,096-frame queue, as a NIC ring
  // would.)
}

TEST(TcpScale, HundredThousandSequentialConnectionsLeaveNothing) {
  Lan lan(2);
  Stack& client = lan.stack(0);
  Stack& server = lan.stack(1);
  SocketId l = *server.tcp_open();
  ASSERT_TRUE(server.bind(l, {Ipv4Address::any(), 80}));
  ASSERT_TRUE(server.listen(l, 128, lan.now()));
  constexpr int kConns = 100000;
  const std::string request = "GET / HTTP/1.0\r\n\r\n";
  const std::string response = "HTTP/1.0 200 OK\r\n\r\nhello";
  std::vector<uint8_t> buf(4096);
  size_t max_conns = 0;
  for (int i = 0; i < kConns; ++i) {
    SocketId c = *client.tcp_open();
    ASSERT_EQ(client.connect(c, {test_ip(2), 80}, lan.now()).error(), Error::kInProgress);
    lan.sim.settle();
    auto a = server.accept(l, lan.now());
    ASSERT_TRUE(a) << "connection " << i;
    ASSERT_TRUE(client.send_to(c, Bytes(reinterpret_cast<const uint8_t*>(request.data()), request.size()),
                               std::nullopt, lan.now()));
    lan.sim.settle();
    auto r = server.recv_from(a->socket, buf, 0, lan.now());
    ASSERT_TRUE(r && r->copied == request.size()) << "connection " << i;
    ASSERT_TRUE(server.send_to(a->socket,
                               Bytes(reinterpret_cast<const uint8_t*>(response.data()), response.size()),
                               std::nullopt, lan.now()));
    // HTTP/1.0: the server closes first and keeps the TIME-WAIT.
    ASSERT_TRUE(server.close(a->socket, lan.now()));
    lan.sim.settle();
    auto got = client.recv_from(c, buf, 0, lan.now());
    ASSERT_TRUE(got && got->copied == response.size()) << "connection " << i;
    auto eof = client.recv_from(c, buf, 0, lan.now());
    ASSERT_TRUE(eof && eof->copied == 0) << "connection " << i;
    ASSERT_TRUE(client.close(c, lan.now()));
    lan.sim.run_for(1ms);
    max_conns = std::max(max_conns, server.tcp_connection_count());
    ASSERT_EQ(client.tcp_connection_count(), 0u) << "connection " << i;
  }
  // 100 s of virtual time at 1 ms each: the server would hold 60 s of
  // TIME-WAIT, but the client's 28,232 ephemeral ports come round again
  // sooner and each new SYN (newer ISN) reopens its TIME-WAIT pair
  // (RFC 6191), so TIME-WAIT never outgrows the port range.
  EXPECT_GT(max_conns, 20000u);
  EXPECT_LE(max_conns, 28232u + 1);
  EXPECT_GT(server.stats().tcp.TimeWaitRecycled, 50000u);
  EXPECT_EQ(server.stats().tcp.PassiveOpens, static_cast<uint64_t>(kConns));
  lan.sim.run_for(61s);
  EXPECT_EQ(server.tcp_connection_count(), 0u);
  EXPECT_EQ(client.tcp_connection_count(), 0u);
  EXPECT_EQ(server.socket_count(), 1u);  // the listener
  EXPECT_EQ(client.socket_count(), 0u);
  EXPECT_EQ(client.stats().tcp.AttemptFails, 0u);
  EXPECT_EQ(client.stats().tcp.RetransSegs + server.stats().tcp.RetransSegs, 0u);
  // No buffer is held by anyone but the pool's free lists.
  EXPECT_EQ(lan.pool.outstanding(), 0u);
}

}  // namespace
}  // namespace shunt::testing
