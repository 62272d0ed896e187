// The Stack, embedded in the test, against the Linux kernel in a peer
// namespace, over TAP and over AF_PACKET/veth (interop_util.h): the
// kernel's `ping` gets replies, ARP resolves both ways, UDP echoes both
// ways between the stack and kernel sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/kernel/interop_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

class Interop : public InteropTest {};

TEST_P(Interop, KernelPingGetsRepliesAndKernelResolvesStack) {
  ASSERT_NO_FATAL_FAILURE(build());
  // Nothing has been sent yet: the kernel must resolve the stack by ARP
  // before its first echo request.
  Child ping({"ip", "netns", "exec", peer_ns(), "ping", "-n", "-c", "5", "-i", "0.2", "-W", "2",
              "-s", "1000", kStackAddr.to_string()});
  ASSERT_TRUE(ping.started());
  ASSERT_TRUE(run().run_until([&] { return ping.exited(); }, 20s)) << ping.output();
  EXPECT_EQ(ping.exit_code(), 0) << ping.output();
  EXPECT_NE(ping.output().find("5 packets transmitted, 5 received"), std::string::npos)
      << ping.output();
  EXPECT_EQ(stack().stats().icmp.InEchos, 5u);
  EXPECT_EQ(stack().stats().icmp.OutEchoReps, 5u);
  EXPECT_GE(stack().stats().arp.InRequests, 1u);
  EXPECT_GE(stack().stats().arp.OutReplies, 1u);
  // The kernel learned the stack's MAC from the stack's ARP reply.
  const std::string neigh = peer_sh("ip neigh show " + kStackAddr.to_string());
  EXPECT_NE(neigh.find("lladdr " + stack().config().mac.to_string()), std::string::npos) << neigh;
}

TEST_P(Interop, LargePingIsFragmentedAndReassembledBothWays) {
  ASSERT_NO_FATAL_FAILURE(build());
  // 4000 bytes of ICMP data: the kernel fragments the request, the stack
  // reassembles it, fragments its reply, and the kernel reassembles that.
  Child ping({"ip", "netns", "exec", peer_ns(), "ping", "-n", "-c", "2", "-i", "0.2", "-W", "2",
              "-s", "4000", kStackAddr.to_string()});
  ASSERT_TRUE(run().run_until([&] { return ping.exited(); }, 20s)) << ping.output();
  EXPECT_EQ(ping.exit_code(), 0) << ping.output();
  EXPECT_GE(stack().stats().ip.ReasmOKs, 2u);
  EXPECT_GE(stack().stats().ip.FragOKs, 2u);
}

TEST_P(Interop, StackResolvesPeerByArpAndUdpEchoesThroughKernel) {
  ASSERT_NO_FATAL_FAILURE(build());
  // A kernel UDP echo server in the peer namespace (socket made there).
  int k = in_netns(peer_ns(), [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0); });
  ASSERT_GE(k, 0);
  sockaddr_in sa = to_sockaddr(kPeerAddr, 7007);
  ASSERT_EQ(::bind(k, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);

  SocketId s = *stack().udp_open();
  ASSERT_TRUE(stack().bind(s, {kStackAddr, 5555}));
  // The stack knows nothing about the peer yet.
  EXPECT_FALSE(stack().arp_cache().state(kPeerAddr).has_value());

  constexpr int kCount = 20;
  std::vector<std::string> replies;
  int sent = 0;
  std::vector<uint8_t> buf(65536);
  ASSERT_TRUE(run().run_until(
      [&] {
        while (sent < kCount) {
          std::string msg = "datagram " + std::to_string(sent) + std::string(sent * 50, 'x');
          auto r =
              stack().send_to(s, Bytes(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()),
                              Endpoint{kPeerAddr, 7007}, now());
          if (!r) break;
          ++sent;
        }
        // The kernel side echoes whatever it got.
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n;
        while ((n = ::recvfrom(k, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                               &flen)) > 0) {
          ::sendto(k, buf.data(), static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from),
                   flen);
        }
        while (true) {
          auto r = stack().recv_from(s, buf, 0, now());
          if (!r) break;
          EXPECT_EQ(r->from, (Endpoint{kPeerAddr, 7007}));
          replies.emplace_back(reinterpret_cast<const char*>(buf.data()), r->copied);
        }
        return replies.size() == kCount;
      },
      10s))
      << replies.size() << " of " << kCount << " echoes";
  ::close(k);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(replies[i], "datagram " + std::to_string(i) + std::string(i * 50, 'x'));
  }
  // The stack asked for the peer and got its MAC.
  EXPECT_GE(stack().stats().arp.OutRequests, 1u);
  EXPECT_GE(stack().stats().arp.InReplies, 1u);
  EXPECT_EQ(stack().arp_cache().state(kPeerAddr), ArpCache::State::kReachable);
  EXPECT_EQ(stack().stats().udp.InCsumErrors, 0u);
}

TEST_P(Interop, KernelClientGetsUdpEchoesFromStack) {
  ASSERT_NO_FATAL_FAILURE(build());
  SocketId s = *stack().udp_open();
  ASSERT_TRUE(stack().bind(s, {Ipv4Address::any(), 7}));
  int k = in_netns(peer_ns(), [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0); });
  ASSERT_GE(k, 0);
  sockaddr_in to = to_sockaddr(kStackAddr, 7);
  ASSERT_EQ(::connect(k, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);

  // Sizes up to 8000 bytes: the large ones are fragmented by the kernel and
  // reassembled by the stack, and the other way round for the echo.
  const std::vector<size_t> sizes = {1, 100, 1472, 1473, 3000, 8000};
  size_t next = 0;
  std::vector<std::string> got;
  std::vector<uint8_t> buf(65536);
  ASSERT_TRUE(run().run_until(
      [&] {
        if (next < sizes.size()) {
          std::string msg(sizes[next], static_cast<char>('a' + next));
          if (::send(k, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size())) ++next;
        }
        while (true) {
          auto r = stack().recv_from(s, buf, 0, now());
          if (!r) break;
          auto w = stack().send_to(s, Bytes(buf).first(r->copied), r->from, now());
          EXPECT_TRUE(w) << to_string(w.error());
        }
        ssize_t n;
        while ((n = ::recv(k, buf.data(), buf.size(), 0)) > 0) {
          got.emplace_back(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n));
        }
        return got.size() == sizes.size();
      },
      10s))
      << got.size() << " of " << sizes.size() << " echoes";
  ::close(k);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i], std::string(sizes[i], static_cast<char>('a' + i))) << "datagram " << i;
  }
  EXPECT_EQ(stack().stats().udp.InDatagrams, sizes.size());
  EXPECT_EQ(stack().stats().udp.InCsumErrors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Links, Interop, ::testing::Values(LinkKind::kTap, LinkKind::kPacket),
                         link_name);

}  // namespace
}  // namespace shunt
