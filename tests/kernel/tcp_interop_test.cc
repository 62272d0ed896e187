// Bulk TCP between the Stack and the Linux kernel, over TAP and over
// AF_PACKET/veth (interop_util.h), in both roles (kernel client -> stack
// server, stack client -> kernel server), both directions at once, 256 MiB
// each way, checked by SHA-256. The same with 2% loss on the kernel side
// (nftables numgen rules on the peer interface's ingress and egress, with
// the kernel's address on a bridge so that egress drops are real losses:
// see Topology::add_peer_loss), and with the MTU smaller on one side than on
// the other (each side's MSS option keeps the segments within the smaller
// MTU; over veth the kernel's GSO frames are larger than the stack's MSS
// and the stack takes them whole).
//
// Each case prints its throughput, both sides' retransmissions, the device
// and stack drop counters and the kernel's recovery counters (nstat).
//
// SHUNT_KERNEL_TRANSFER_MIB overrides the size for local experiments; CI
// runs the default.
#include <cstdio>
#include <cstdlib>

#include "tests/kernel/interop_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

size_t transfer_bytes() {
  if (const char* e = std::getenv("SHUNT_KERNEL_TRANSFER_MIB")) {
    return static_cast<size_t>(std::strtoul(e, nullptr, 10)) << 20;
  }
  return size_t{256} << 20;
}

enum class Role : uint8_t { kKernelClient, kStackClient };

struct Case {
  LinkKind link;
  Role role;
  int loss_percent = 0;
  uint32_t stack_mtu = 1500;
  uint32_t peer_mtu = 1500;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string n = c.link == LinkKind::kTap ? "Tap" : "Packet";
  n += c.role == Role::kKernelClient ? "_KernelClient" : "_StackClient";
  if (c.loss_percent > 0) n += "_Loss" + std::to_string(c.loss_percent) + "pct";
  if (c.stack_mtu != 1500 || c.peer_mtu != 1500) {
    n += "_StackMtu" + std::to_string(c.stack_mtu) + "_PeerMtu" + std::to_string(c.peer_mtu);
  }
  return n;
}

// For gtest's (and ctest's) test names.
void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name({c, 0});
}

class TcpInterop : public KernelTest, public ::testing::WithParamInterface<Case> {
 protected:
  void TearDown() override {
    topo_.reset();
    KernelTest::TearDown();
  }
  Topology topo_;
};

TEST_P(TcpInterop, BothDirectionsArriveIntact) {
  const Case& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(topo_.build(
      c.link,
      {.stack_mtu = c.stack_mtu, .peer_mtu = c.peer_mtu, .peer_bridge = c.loss_percent > 0}));
  if (c.loss_percent > 0) {
    ASSERT_NO_FATAL_FAILURE(topo_.add_peer_loss(c.loss_percent));
  }
  Stack& stack = topo_.stack();
  StackRunner& run = topo_.run();
  const size_t bytes = transfer_bytes();
  constexpr uint16_t kPort = 5001;
  const uint64_t stack_seed = 11;
  const uint64_t kernel_seed = 12;

  // Connect, in the role the case asks for.
  std::unique_ptr<KernelTcpPeer> peer;
  std::optional<SocketId> conn;
  if (c.role == Role::kKernelClient) {
    SocketId l = *stack.tcp_open();
    ASSERT_TRUE(stack.bind(l, {Ipv4Address::any(), kPort}));
    ASSERT_TRUE(stack.listen(l, 4, topo_.now()));
    peer = KernelTcpPeer::connect(topo_.peer_ns(), kStackAddr, kPort, bytes, kernel_seed);
    ASSERT_TRUE(run.run_until(
        [&] {
          auto a = stack.accept(l, topo_.now());
          if (a) conn = a->socket;
          return conn.has_value() || peer->done();
        },
        10s));
    ASSERT_TRUE(conn.has_value()) << peer->error();
    ASSERT_TRUE(stack.close(l, topo_.now()));
  } else {
    peer = KernelTcpPeer::listen(topo_.peer_ns(), kPort, bytes, kernel_seed);
    ASSERT_TRUE(peer->error().empty()) << peer->error();
    SocketId s = *stack.tcp_open();
    ASSERT_EQ(stack.connect(s, {kPeerAddr, kPort}, topo_.now()).error(), Error::kInProgress);
    ASSERT_TRUE(run.run_until(
        [&] { return (*stack.readiness(s) & (readiness::kWritable | readiness::kError)) != 0; },
        10s));
    auto err = stack.take_error(s);
    ASSERT_TRUE(err && !err->has_value()) << to_string(**err);
    conn = s;
  }

  StackTcpFlow flow(stack, *conn, bytes, stack_seed);
  const Instant start = topo_.now();
  const bool done = run.run_until([&] { return flow.step(topo_.now()) && peer->done(); }, 600s);
  const double secs = std::chrono::duration<double>(topo_.now() - start).count();
  auto info = stack.tcp_info(*conn, topo_.now());
  if (!done) peer->stop();
  ASSERT_TRUE(done) << "stack sent " << flow.sent() << " received " << flow.received()
                    << "; kernel sent " << peer->sent() << " received " << peer->received()
                    << " of " << bytes << " after " << secs << " s; stack error '" << flow.error()
                    << "'; state " << (info ? tcp::to_string(info->state) : "?") << "\n"
                    << topo_.device_report() << "\nstack drops: " << topo_.stack_drops() << "\n"
                    << (c.loss_percent > 0 ? topo_.peer_loss_counters() : "");
  EXPECT_EQ(flow.error(), "");
  EXPECT_EQ(peer->error(), "");
  EXPECT_EQ(flow.received(), bytes);
  EXPECT_EQ(peer->received(), bytes);
  EXPECT_EQ(flow.recv_hash(), peer->sent_hash()) << "kernel -> stack";
  EXPECT_EQ(peer->recv_hash(), flow.sent_hash()) << "stack -> kernel";
  EXPECT_EQ(stack.stats().tcp.InCsumErrors, 0u);
  if (c.loss_percent > 0) {
    // The loss really happened on both sides.
    EXPECT_GT(stack.stats().tcp.RetransSegs, 0u);
    EXPECT_GT(peer->total_retrans(), 0u);
  }
  if (c.stack_mtu != c.peer_mtu) {
    // The kernel's segments are sized for the smaller MTU.
    EXPECT_LE(static_cast<uint32_t>(peer->mss()), std::min(c.stack_mtu, c.peer_mtu) - 40);
  }
  if (c.loss_percent > 0) std::printf("%s\n", topo_.peer_loss_counters().c_str());
  ASSERT_TRUE(stack.close(*conn, topo_.now()));
  std::printf(
      "[ %s ] %zu MiB each way in %.2f s (%.0f Mbit/s each way); stack retransmitted %lu, "
      "kernel %u; kernel MSS %d\n  %s\n  stack drops: %s\n  kernel: %s\n",
      case_name({c, 0}).c_str(), bytes >> 20, secs, bytes * 8 / secs / 1e6,
      static_cast<unsigned long>(stack.stats().tcp.RetransSegs), peer->total_retrans(), peer->mss(),
      topo_.device_report().c_str(), topo_.stack_drops().c_str(),
      topo_.peer_tcp_counters().c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Links, TcpInterop,
    ::testing::Values(
        Case{LinkKind::kTap, Role::kKernelClient}, Case{LinkKind::kTap, Role::kStackClient},
        Case{LinkKind::kPacket, Role::kKernelClient}, Case{LinkKind::kPacket, Role::kStackClient},
        Case{LinkKind::kTap, Role::kKernelClient, 2}, Case{LinkKind::kTap, Role::kStackClient, 2},
        Case{LinkKind::kPacket, Role::kKernelClient, 2},
        Case{LinkKind::kPacket, Role::kStackClient, 2},
        Case{LinkKind::kTap, Role::kStackClient, 0, 1500, 1280},
        Case{LinkKind::kTap, Role::kKernelClient, 0, 1280, 1500},
        Case{LinkKind::kPacket, Role::kStackClient, 0, 1500, 1280},
        Case{LinkKind::kPacket, Role::kKernelClient, 0, 1280, 1500}),
    case_name);

}  // namespace
}  // namespace shunt

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

// The kernel peer's link goes down for a second in the middle of a
// transfer (the TAP's netdev, or the veth's far end, which takes the
// carrier of the stack's end with it): the stack's frames are refused or
// lost, its connection stalls and retransmits with backoff, and once the
// link is back the transfer completes intact. Nothing crashes.
class TcpLinkDown : public InteropTest {};

TEST_P(TcpLinkDown, TransferStallsAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(build());
  constexpr size_t kBytes = size_t{32} << 20;
  auto peer = KernelTcpPeer::listen(peer_ns(), 5001, kBytes, 21);
  ASSERT_TRUE(peer->error().empty()) << peer->error();
  SocketId s = *stack().tcp_open();
  ASSERT_EQ(stack().connect(s, {kPeerAddr, 5001}, now()).error(), Error::kInProgress);
  ASSERT_TRUE(
      run().run_until([&] { return (*stack().readiness(s) & readiness::kWritable) != 0; }, 10s));
  auto nl = Netlink::open(peer_ns());
  ASSERT_TRUE(nl.ok()) << nl.error();
  const std::string dev = topo_.peer_if();

  StackTcpFlow flow(stack(), s, kBytes, 22);
  enum { kBefore, kDown, kUp } phase = kBefore;
  Instant down_at{};
  size_t received_when_up = 0;
  const bool done = run().run_until(
      [&] {
        const bool finished = flow.step(now()) && peer->done();
        if (phase == kBefore && flow.received() > kBytes / 4 && peer->received() > kBytes / 4) {
          EXPECT_TRUE(nl->set_up(dev, false).ok());
          phase = kDown;
          down_at = now();
        } else if (phase == kDown && now() - down_at > 1s) {
          EXPECT_TRUE(nl->set_up(dev, true).ok());
          phase = kUp;
          received_when_up = flow.received();
        }
        return finished;
      },
      120s);
  ASSERT_TRUE(done) << "phase " << phase << "; stack received " << flow.received() << ", kernel "
                    << peer->received() << " of " << kBytes << "\n"
                    << topo_.device_report();
  EXPECT_EQ(phase, kUp);
  EXPECT_LT(received_when_up, kBytes) << "the link came back after the transfer had ended";
  EXPECT_EQ(flow.error(), "");
  EXPECT_EQ(peer->error(), "");
  EXPECT_EQ(flow.recv_hash(), peer->sent_hash());
  EXPECT_EQ(peer->recv_hash(), flow.sent_hash());
  EXPECT_GT(stack().stats().tcp.RetransSegs, 0u);
  std::printf("[ link down ] %s\n  stack retransmitted %lu\n", topo_.device_report().c_str(),
              static_cast<unsigned long>(stack().stats().tcp.RetransSegs));
}

INSTANTIATE_TEST_SUITE_P(Links, TcpLinkDown, ::testing::Values(LinkKind::kTap, LinkKind::kPacket),
                         link_name);

}  // namespace
}  // namespace shunt
