// TapDevice against the Linux kernel: the kernel answers ARP and ping sent
// through the TAP, resolves and reaches the "stack" (raw frames built here),
// and open() errors are one clear line. Also CaptureDevice over a TAP.
#include "driver/tap_device.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "driver/capture_device.h"
#include "driver/link.h"
#include "driver/pcap_writer.h"
#include "tests/kernel/kernel_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

const MacAddress kStackMac({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});
const Ipv4Address kHostIp(198, 18, 0, 1);
const Ipv4Address kStackIp(198, 18, 0, 2);

class TapTest : public KernelTest {
 protected:
  // Creates the TAP and configures its kernel side as 198.18.0.1/24, up.
  std::unique_ptr<TapDevice> open_configured_tap() {
    auto tap = TapDevice::open({.name = ifname("t")}, pool_);
    EXPECT_TRUE(tap.ok()) << tap.error();
    if (!tap.ok()) return nullptr;
    auto nl = Netlink::open();
    EXPECT_TRUE(nl.ok()) << nl.error();
    if (!nl.ok()) return nullptr;
    auto r = nl->add_address((*tap)->name(), Ipv4Cidr(kHostIp, 24));
    EXPECT_TRUE(r.ok()) << r.error();
    r = nl->set_up((*tap)->name(), true);
    EXPECT_TRUE(r.ok()) << r.error();
    return std::move(*tap);
  }

  void send(NetDevice& dev, const Frame& f) {
    std::vector<PacketBuffer> out;
    PacketBuffer b = pool_.allocate(f.size());
    auto d = b.append(f.size());
    std::copy(f.begin(), f.end(), d.begin());
    out.push_back(std::move(b));
    dev.transmit(out, now());
    EXPECT_FALSE(out[0]);  // the device took it
  }

  static bool is_arp_reply_from_host(Bytes f) {
    auto a = parse_arp(f);
    return a && a->op == 2 && a->sender_ip == kHostIp;
  }

  // Sends an ARP request for the host side and returns the reply.
  std::optional<Frame> resolve_host(NetDevice& dev) {
    send(dev, arp(1, MacAddress::broadcast(), kStackMac, kStackIp, MacAddress(), kHostIp));
    return receive_until(dev, is_arp_reply_from_host);
  }

  BufferPool pool_;
};

TEST_F(TapTest, OpensWithKernelChosenNameAndInfo) {
  auto tap = TapDevice::open({}, pool_);
  ASSERT_TRUE(tap.ok()) << tap.error();
  EXPECT_EQ((*tap)->name().rfind("tap", 0), 0u) << (*tap)->name();
  EXPECT_TRUE((*tap)->created());
  EXPECT_GT((*tap)->ifindex(), 0);
  EXPECT_GE((*tap)->fd(), 0);
  EXPECT_EQ((*tap)->info().mtu, 1500u);
  EXPECT_FALSE((*tap)->kernel_mac().is_zero());
  // Non-blocking: nothing to read returns at once.
  std::vector<PacketBuffer> out;
  EXPECT_EQ((*tap)->receive(out, 8, now()), 0u);
  EXPECT_EQ((*tap)->last_rx_error(), 0);
}

TEST_F(TapTest, KernelAnswersArpAndPing) {
  auto tap = open_configured_tap();
  ASSERT_NE(tap, nullptr);

  auto reply = resolve_host(*tap);
  ASSERT_TRUE(reply.has_value()) << "no ARP reply from the kernel";
  auto a = parse_arp(*reply);
  EXPECT_EQ(a->sender_mac, tap->kernel_mac());
  EXPECT_EQ(a->target_mac, kStackMac);
  EXPECT_EQ(a->target_ip, kStackIp);
  EXPECT_EQ(eth_dst(*reply), kStackMac);

  // The kernel learned our MAC from the request; it answers a ping.
  send(*tap, icmp_echo_request(tap->kernel_mac(), kStackMac, kStackIp, kHostIp, 0x5348, 7,
                               "shunt tap ping"));
  auto echo = receive_until(*tap, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 1 && ip->l4.size() >= 8 && ip->l4[0] == 0;  // echo reply
  });
  ASSERT_TRUE(echo.has_value()) << "no echo reply from the kernel";
  auto ip = parse_ipv4(*echo);
  EXPECT_EQ(ip->src, kHostIp);
  EXPECT_EQ(ip->dst, kStackIp);
  EXPECT_TRUE(checksum::verify(ip->header));
  EXPECT_TRUE(checksum::verify(ip->l4));
  EXPECT_EQ(load_be16(ip->l4.data() + 4), 0x5348);
  EXPECT_EQ(load_be16(ip->l4.data() + 6), 7);
  EXPECT_EQ(std::string(ip->l4.begin() + 8, ip->l4.end()), "shunt tap ping");

  EXPECT_EQ(tap->stats().tx_frames, 2u);
  EXPECT_EQ(tap->stats().tx_dropped, 0u);
  EXPECT_GE(tap->stats().rx_frames, 2u);
}

TEST_F(TapTest, KernelResolvesStackAndExchangesUdp) {
  auto tap = open_configured_tap();
  ASSERT_NE(tap, nullptr);

  // A kernel UDP socket on the host side sends to the stack's address.
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(kHostIp.value());
  local.sin_port = htons(40000);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(kStackIp.value());
  to.sin_port = htons(7);
  const std::string hello = "hello from the kernel";
  ASSERT_EQ(::sendto(s, hello.data(), hello.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(hello.size()));

  // The kernel asks for us by ARP; we answer.
  auto request = receive_until(*tap, [](Bytes f) {
    auto a = parse_arp(f);
    return a && a->op == 1 && a->target_ip == kStackIp;
  });
  ASSERT_TRUE(request.has_value()) << "the kernel sent no ARP request";
  EXPECT_EQ(eth_dst(*request), MacAddress::broadcast());
  send(*tap, arp(2, tap->kernel_mac(), kStackMac, kStackIp, tap->kernel_mac(), kHostIp));

  // Then the datagram arrives, fully checksummed (no offload on a TAP
  // without IFF_VNET_HDR).
  auto dgram = receive_until(*tap, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 17 && ip->l4.size() >= 8 && load_be16(ip->l4.data() + 2) == 7;
  });
  ASSERT_TRUE(dgram.has_value()) << "no UDP datagram after ARP";
  auto ip = parse_ipv4(*dgram);
  EXPECT_EQ(eth_dst(*dgram), kStackMac);
  EXPECT_TRUE(l4_checksum_ok(*ip));
  EXPECT_EQ(std::string(ip->l4.begin() + 8, ip->l4.end()), hello);

  // Our answer reaches the kernel socket (which drops bad checksums).
  const std::string answer = "hello from the stack";
  send(*tap, udp(tap->kernel_mac(), kStackMac, kStackIp, 7, kHostIp, 40000, answer));
  pollfd p{s, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1) << "the kernel socket got nothing";
  char buf[256];
  ssize_t n = ::recv(s, buf, sizeof buf, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), answer);
  ::close(s);

  // The kernel's neighbour table has the stack's MAC.
  const std::string neigh = sh("ip neigh show " + kStackIp.to_string());
  EXPECT_NE(neigh.find(kStackMac.to_string()), std::string::npos) << neigh;
}

TEST_F(TapTest, LinkDownDropsFramesAndRecoversWhenUp) {
  auto tap = open_configured_tap();
  ASSERT_NE(tap, nullptr);
  auto nl = Netlink::open();
  ASSERT_TRUE(nl.ok()) << nl.error();
  ASSERT_TRUE(nl->set_up(tap->name(), false).ok());
  send(*tap, arp(1, MacAddress::broadcast(), kStackMac, kStackIp, MacAddress(), kHostIp));
  EXPECT_EQ(tap->stats().tx_dropped, 1u);
  EXPECT_EQ(tap->last_tx_error(), EIO);  // tun_get_user() refuses while down
  std::vector<PacketBuffer> out;
  EXPECT_EQ(tap->receive(out, 8, now()), 0u);

  ASSERT_TRUE(nl->set_up(tap->name(), true).ok());
  // The address and its routes went with the link; put the address back.
  ASSERT_TRUE(nl->add_address(tap->name(), Ipv4Cidr(kHostIp, 24)).ok());
  EXPECT_TRUE(resolve_host(*tap).has_value());
}

TEST_F(TapTest, PersistentTapCanBeAttachedAndDeleted) {
  const std::string name = ifname("p");
  {
    auto tap =
        TapDevice::open({.name = name, .mode = TapOptions::Mode::kCreate, .persist = true}, pool_);
    ASSERT_TRUE(tap.ok()) << tap.error();
    EXPECT_TRUE((*tap)->created());
  }
  auto nl = Netlink::open();
  ASSERT_TRUE(nl.ok()) << nl.error();
  auto info = nl->link(name);
  ASSERT_TRUE(info.ok()) << "a persistent TAP outlives its fd: " << info.error();
  EXPECT_EQ(info->kind, "tun");
  {
    auto tap = TapDevice::open({.name = name, .mode = TapOptions::Mode::kAttach}, pool_);
    ASSERT_TRUE(tap.ok()) << tap.error();
    EXPECT_FALSE((*tap)->created());
    EXPECT_EQ((*tap)->ifindex(), info->ifindex);
  }
  auto r = nl->delete_link(name);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(nl->link(name).ok());
}

TEST_F(TapTest, NonPersistentTapDisappearsWithTheDevice) {
  const std::string name = ifname("n");
  auto nl = Netlink::open();
  ASSERT_TRUE(nl.ok()) << nl.error();
  {
    auto tap = TapDevice::open({.name = name}, pool_);
    ASSERT_TRUE(tap.ok()) << tap.error();
    EXPECT_TRUE(nl->link(name).ok());
  }
  EXPECT_FALSE(nl->link(name).ok());
}

TEST_F(TapTest, BusyNameIsOneClearError) {
  const std::string name = ifname("b");
  auto first = TapDevice::open({.name = name}, pool_);
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = TapDevice::open({.name = name}, pool_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find("TAP device '" + name + "' is busy"), std::string::npos)
      << second.error();
  EXPECT_NE(second.error().find("another process has it open"), std::string::npos);
  EXPECT_EQ(second.error().find('\n'), std::string::npos);
}

TEST_F(TapTest, OtherOpenErrors) {
  const std::string name = ifname("e");
  auto existing = TapDevice::open({.name = name}, pool_);
  ASSERT_TRUE(existing.ok()) << existing.error();

  auto create = TapDevice::open({.name = name, .mode = TapOptions::Mode::kCreate}, pool_);
  ASSERT_FALSE(create.ok());
  EXPECT_NE(create.error().find("already exists"), std::string::npos) << create.error();

  auto missing = TapDevice::open({.name = ifname("m"), .mode = TapOptions::Mode::kAttach}, pool_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("no TAP device named '" + ifname("m") + "'"), std::string::npos)
      << missing.error();
  EXPECT_NE(missing.error().find("ip tuntap add"), std::string::npos) << missing.error();

  auto lo = TapDevice::open({.name = "lo"}, pool_);
  ASSERT_FALSE(lo.ok());
  EXPECT_NE(lo.error().find("'lo' exists and is not a TAP device"), std::string::npos)
      << lo.error();

  auto long_name = TapDevice::open({.name = "a-name-longer-than-15"}, pool_);
  ASSERT_FALSE(long_name.ok());
  EXPECT_NE(long_name.error().find("too long"), std::string::npos) << long_name.error();
}

TEST_F(TapTest, MissingCapNetAdminIsOneClearError) {
  const std::string name = ifname("c");
  std::string msg = without_capability(CAP_NET_ADMIN, [&] {
    auto tap = TapDevice::open({.name = name}, pool_);
    return tap.ok() ? std::string("opened") : tap.error();
  });
  EXPECT_NE(msg.find("creating TAP device '" + name + "' needs CAP_NET_ADMIN"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("run as root"), std::string::npos) << msg;
}

TEST_F(TapTest, CaptureDeviceRecordsBothDirectionsReadableByTshark) {
  auto tap = open_configured_tap();
  ASSERT_NE(tap, nullptr);
  const MacAddress kernel_mac = tap->kernel_mac();
  const std::string path =
      testing::TempDir() + "shunt_tap_capture_" + std::to_string(::getpid()) + ".pcap";
  auto writer = PcapWriter::open(path);
  ASSERT_TRUE(writer.ok()) << writer.error();
  CaptureDevice dev(std::move(tap), std::move(*writer), realtime_offset_from_monotonic_ns());

  auto reply = resolve_host(dev);
  ASSERT_TRUE(reply.has_value());
  send(dev, icmp_echo_request(kernel_mac, kStackMac, kStackIp, kHostIp, 1, 1, "capture"));
  auto echo = receive_until(dev, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 1 && ip->l4[0] == 0;
  });
  ASSERT_TRUE(echo.has_value());
  EXPECT_EQ(dev.captured_tx(), 2u);
  EXPECT_GE(dev.captured_rx(), 2u);
  EXPECT_EQ(dev.writer().write_errors(), 0u);

  int status = 0;
  sh("command -v tshark >/dev/null 2>&1", &status);
  if (status == 0) {
    const std::string out = sh("tshark -n -r " + path + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out.find("Malformed"), std::string::npos) << out;
    EXPECT_NE(out.find("is at " + kernel_mac.to_string()), std::string::npos) << out;
    EXPECT_NE(out.find("Echo (ping) request"), std::string::npos) << out;
    EXPECT_NE(out.find("Echo (ping) reply"), std::string::npos) << out;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace shunt
