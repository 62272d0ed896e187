// PacketDevice against the Linux kernel over a veth pair: our end in the
// test's private namespace, the peer end (198.18.1.1/24) in a named
// namespace. Checks ARP both ways, UDP with CHECKSUM_PARTIAL completed, a
// TCP GSO super-frame, the BPF MAC filter, that our own frames are not read
// back, and the open() errors. Also complete_l4_checksum on hand-made frames.
#include "driver/packet_device.h"

#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <set>

#include "driver/link.h"
#include "tests/kernel/kernel_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

const Ipv4Address kPeerIp(198, 18, 1, 1);
const Ipv4Address kStackIp(198, 18, 1, 2);
const MacAddress kOtherMac({0x02, 0x00, 0x00, 0x00, 0x00, 0x99});
const MacAddress kMulticastMac({0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb});

// --- complete_l4_checksum on hand-made frames ------------------------------

Frame tcp_segment(MacAddress dst_mac, MacAddress src_mac, Ipv4Address src, uint16_t sport,
                  Ipv4Address dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                  const Frame& options, const std::string& payload) {
  Frame t(20 + options.size() + payload.size());
  store_be16(t.data(), sport);
  store_be16(t.data() + 2, dport);
  store_be32(t.data() + 4, seq);
  store_be32(t.data() + 8, ack);
  t[12] = static_cast<uint8_t>(((20 + options.size()) / 4) << 4);
  t[13] = flags;
  store_be16(t.data() + 14, 65535);
  std::copy(options.begin(), options.end(), t.data() + 20);
  std::copy(payload.begin(), payload.end(), t.data() + 20 + options.size());
  store_be16(t.data() + 16,
             checksum::finish(checksum::partial(
                 t, checksum::pseudo_header(src, dst, 6, static_cast<uint16_t>(t.size())))));
  return ipv4(dst_mac, src_mac, src, dst, 6, t);
}

const MacAddress kA({0x02, 0, 0, 0, 0, 0xa});
const MacAddress kB({0x02, 0, 0, 0, 0, 0xb});

TEST(CompleteL4Checksum, FillsTcpAndUdpChecksums) {
  for (Frame f : {udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, "some payload!"),
                  tcp_segment(kA, kB, kStackIp, 1000, kPeerIp, 2000, 1, 2, 0x18, {}, "data")}) {
    auto good = f;
    auto ip = parse_ipv4(f);
    const size_t field = ip->proto == 6 ? 16 : 6;
    const size_t at = 14 + 20 + field;
    // What CHECKSUM_PARTIAL leaves: the folded pseudo-header sum only.
    store_be16(f.data() + at, 0x1234);
    ASSERT_TRUE(complete_l4_checksum(f));
    EXPECT_EQ(f, good);
    EXPECT_TRUE(l4_checksum_ok(*parse_ipv4(f)));
  }
}

TEST(CompleteL4Checksum, UdpZeroSumIsSentAsAllOnes) {
  // Two payload bytes X chosen so that the whole sum is 0xffff: the computed
  // checksum is then 0, which UDP must send as 0xffff (RFC 768).
  Frame f = udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, std::string("ab\0\0", 4));
  uint8_t* u = f.data() + 34;
  store_be16(u + 6, 0);
  const uint16_t c = checksum::finish(
      checksum::partial({u, 12}, checksum::pseudo_header(kStackIp, kPeerIp, 17, 12)));
  store_be16(u + 10, c);  // the sum with X = c is 0xffff
  ASSERT_TRUE(complete_l4_checksum(f));
  EXPECT_EQ(load_be16(u + 6), 0xffff);
  EXPECT_TRUE(l4_checksum_ok(*parse_ipv4(f)));
}

TEST(CompleteL4Checksum, HandlesOneVlanTag) {
  Frame plain = udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, "tagged");
  Frame f(plain.size() + 4);
  std::copy(plain.begin(), plain.begin() + 12, f.begin());
  store_be16(f.data() + 12, 0x8100);
  store_be16(f.data() + 14, 42);
  std::copy(plain.begin() + 12, plain.end(), f.begin() + 16);
  const Frame good = f;
  store_be16(f.data() + 18 + 20 + 6, 0);
  ASSERT_TRUE(complete_l4_checksum(f));
  EXPECT_EQ(f, good);
}

TEST(CompleteL4Checksum, LeavesOtherFramesAlone) {
  Frame arp_frame = arp(1, MacAddress::broadcast(), kA, kStackIp, MacAddress(), kPeerIp);
  Frame copy = arp_frame;
  EXPECT_FALSE(complete_l4_checksum(arp_frame));
  EXPECT_EQ(arp_frame, copy);

  Frame icmp = icmp_echo_request(kA, kB, kStackIp, kPeerIp, 1, 1, "x");
  EXPECT_FALSE(complete_l4_checksum(icmp));

  Frame frag = udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, "fragment");
  store_be16(frag.data() + 14 + 6, 0x2000);  // MF
  copy = frag;
  EXPECT_FALSE(complete_l4_checksum(frag));
  EXPECT_EQ(frag, copy);

  Frame cut = udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, "cut short");
  cut.resize(cut.size() - 1);  // shorter than the IPv4 total length
  EXPECT_FALSE(complete_l4_checksum(cut));

  Frame tiny = udp(kA, kB, kStackIp, 1000, kPeerIp, 2000, "");
  store_be16(tiny.data() + 14 + 2, 20 + 4);  // UDP shorter than its header
  EXPECT_FALSE(complete_l4_checksum(tiny));

  Frame runt(10, 0);
  EXPECT_FALSE(complete_l4_checksum(runt));
}

// --- against the kernel ----------------------------------------------------

class PacketTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    peer_ns_ = std::make_unique<NamedNetns>();
    ASSERT_TRUE(peer_ns_->ok());
    host_if_ = ifname("a");
    peer_if_ = ifname("b");
    auto nl = Netlink::open();
    ASSERT_TRUE(nl.ok()) << nl.error();
    auto r = nl->create_veth(host_if_, peer_if_);
    ASSERT_TRUE(r.ok()) << r.error();
    r = nl->move_to_netns(peer_if_, peer_ns_->name());
    ASSERT_TRUE(r.ok()) << r.error();
    auto peer = Netlink::open(peer_ns_->name());
    ASSERT_TRUE(peer.ok()) << peer.error();
    r = peer->add_address(peer_if_, Ipv4Cidr(kPeerIp, 24));
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(peer->set_up(peer_if_, true).ok());
    ASSERT_TRUE(nl->set_up(host_if_, true).ok());
    host_mac_ = nl->link(host_if_)->mac;
    peer_mac_ = peer->link(peer_if_)->mac;
    peer_ifindex_ = peer->link(peer_if_)->ifindex;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    KernelTest::TearDown();
  }

  std::unique_ptr<PacketDevice> open_device(PacketOptions o = {}) {
    o.interface = host_if_;
    auto dev = PacketDevice::open(o, pool_);
    EXPECT_TRUE(dev.ok()) << dev.error();
    return dev.ok() ? std::move(*dev) : nullptr;
  }

  // A socket created inside the peer namespace; closed in TearDown.
  int peer_socket(int domain, int type, int proto) {
    int fd =
        in_netns(peer_ns_->name(), [&] { return ::socket(domain, type | SOCK_CLOEXEC, proto); });
    EXPECT_GE(fd, 0) << std::strerror(errno);
    fds_.push_back(fd);
    return fd;
  }

  // An AF_PACKET socket on the peer end, to inject and observe raw frames.
  int peer_raw_socket() {
    int fd = peer_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = peer_ifindex_;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    return fd;
  }

  // A test frame from the peer to `dst` whose first payload byte is `marker`.
  Frame marked(MacAddress dst, uint8_t marker) {
    Frame f = ethernet(dst, peer_mac_, kEtherTest, 46);
    f[14] = marker;
    return f;
  }

  void send(NetDevice& dev, const Frame& f) {
    std::vector<PacketBuffer> out;
    PacketBuffer b = pool_.allocate(f.size());
    auto d = b.append(f.size());
    std::copy(f.begin(), f.end(), d.begin());
    out.push_back(std::move(b));
    dev.transmit(out, now());
    EXPECT_FALSE(out[0]);
  }

  static sockaddr_in sin(Ipv4Address a, uint16_t port) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(a.value());
    s.sin_port = htons(port);
    return s;
  }

  // Markers of the test frames `dev` receives until `sentinel` arrives.
  std::set<int> markers_until(NetDevice& dev, uint8_t sentinel) {
    std::set<int> seen;
    auto is_test = [&](Bytes f) { return ethertype(f) == kEtherTest && f.size() > 14; };
    auto got = receive_until(
        dev, [&](Bytes f) { return is_test(f) && f[14] == sentinel; }, std::chrono::seconds(3),
        [&](Bytes f) {
          if (is_test(f)) seen.insert(f[14]);
        });
    EXPECT_TRUE(got.has_value()) << "the sentinel frame never arrived";
    if (got) seen.insert(sentinel);
    return seen;
  }

  void static_neighbour_for_stack(MacAddress mac) {
    int st = 0;
    sh("ip -n " + peer_ns_->name() + " neigh replace " + kStackIp.to_string() + " lladdr " +
           mac.to_string() + " dev " + peer_if_ + " nud permanent",
       &st);
    ASSERT_EQ(st, 0);
  }

  BufferPool pool_;
  std::unique_ptr<NamedNetns> peer_ns_;
  std::string host_if_;
  std::string peer_if_;
  MacAddress host_mac_;
  MacAddress peer_mac_;
  int peer_ifindex_ = 0;
  std::vector<int> fds_;
};

TEST_F(PacketTest, OpensWithInterfaceInfo) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->interface(), host_if_);
  EXPECT_GT(dev->ifindex(), 0);
  EXPECT_EQ(dev->mac(), host_mac_);
  EXPECT_EQ(dev->info().mtu, 1500u);
  EXPECT_GE(dev->fd(), 0);
  EXPECT_TRUE(dev->ignores_outgoing_in_kernel());  // Linux >= 4.20
  std::vector<PacketBuffer> out;
  EXPECT_EQ(dev->receive(out, 8, now()), 0u);
}

TEST_F(PacketTest, ArpBothWaysAndUdpWithPartialChecksum) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  const MacAddress mac = dev->mac();

  int s = peer_socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in from = sin(kPeerIp, 40001);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
  sockaddr_in to = sin(kStackIp, 7777);
  const std::string hello = "partial checksum from the peer";
  ASSERT_EQ(::sendto(s, hello.data(), hello.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(hello.size()));

  // The kernel's ARP request (broadcast passes the filter); we answer.
  auto request = receive_until(*dev, [](Bytes f) {
    auto a = parse_arp(f);
    return a && a->op == 1 && a->target_ip == kStackIp;
  });
  ASSERT_TRUE(request.has_value()) << "no ARP request from the peer";
  EXPECT_EQ(parse_arp(*request)->sender_mac, peer_mac_);
  send(*dev, arp(2, peer_mac_, mac, kStackIp, peer_mac_, kPeerIp));

  // The datagram: sent with CHECKSUM_PARTIAL over veth, completed by the
  // device, so its checksum verifies.
  auto dgram = receive_until(*dev, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 17 && load_be16(ip->l4.data() + 2) == 7777;
  });
  ASSERT_TRUE(dgram.has_value()) << "no UDP datagram after the ARP reply";
  auto ip = parse_ipv4(*dgram);
  EXPECT_TRUE(l4_checksum_ok(*ip));
  EXPECT_EQ(std::string(ip->l4.begin() + 8, ip->l4.end()), hello);
  EXPECT_GE(dev->stats().rx_checksum_completed, 1u)
      << "the kernel did not mark the datagram TP_STATUS_CSUMNOTREADY";

  // The kernel peer resolved the stack from our reply.
  const std::string neigh = sh("ip -n " + peer_ns_->name() + " neigh show " + kStackIp.to_string());
  EXPECT_NE(neigh.find("lladdr " + mac.to_string()), std::string::npos) << neigh;

  // Our datagram reaches the peer's socket (the kernel checks its checksum).
  const std::string answer = "answer from the stack";
  send(*dev, udp(peer_mac_, mac, kStackIp, 7777, kPeerIp, 40001, answer));
  pollfd p{s, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1) << "the peer socket got nothing";
  char buf[256];
  ssize_t n = ::recv(s, buf, sizeof buf, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), answer);
  EXPECT_EQ(dev->stats().tx_frames, 2u);
  EXPECT_EQ(dev->stats().tx_dropped, 0u);
}

TEST_F(PacketTest, KernelPingReachesTheDevice) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  static_neighbour_for_stack(dev->mac());
  int st = 0;
  sh("command -v ping >/dev/null 2>&1", &st);
  ASSERT_EQ(st, 0) << "ping is not installed: run scripts/setup (iputils-ping)";
  // One echo request, not answered (no stack here): ping exits non-zero.
  std::string out = sh("ip netns exec " + peer_ns_->name() + " ping -c 1 -W 1 -p 5348554e54 " +
                           kStackIp.to_string() + " 2>&1",
                       &st);
  auto echo = receive_until(*dev, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 1 && ip->l4.size() >= 8 && ip->l4[0] == 8;
  });
  ASSERT_TRUE(echo.has_value()) << "the kernel's ping did not arrive: " << out;
  auto ip = parse_ipv4(*echo);
  EXPECT_EQ(ip->src, kPeerIp);
  EXPECT_EQ(ip->dst, kStackIp);
  EXPECT_TRUE(checksum::verify(ip->l4));
}

TEST_F(PacketTest, TcpGsoSuperFrameArrivesWholeWithChecksum) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  const MacAddress mac = dev->mac();
  static_neighbour_for_stack(mac);

  int c = peer_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in to = sin(kStackIp, 8080);
  ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&to), sizeof to), -1);
  ASSERT_EQ(errno, EINPROGRESS);

  auto syn = receive_until(*dev, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 6 && load_be16(ip->l4.data() + 2) == 8080 && ip->l4[13] == 0x02;
  });
  ASSERT_TRUE(syn.has_value()) << "no SYN from the peer";
  auto sip = parse_ipv4(*syn);
  const uint16_t peer_port = load_be16(sip->l4.data());
  const uint32_t peer_isn = load_be32(sip->l4.data() + 4);

  // SYN-ACK with MSS 1460 (RFC 9293 3.7.1), window 65535, no other options.
  const uint32_t our_isn = 1000;
  send(*dev, tcp_segment(peer_mac_, mac, kStackIp, 8080, kPeerIp, peer_port, our_isn, peer_isn + 1,
                         0x12, {2, 4, 0x05, 0xb4}, ""));
  pollfd p{c, POLLOUT, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1) << "the connection did not complete";

  std::string data(40000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_GT(::send(c, data.data(), data.size(), 0), 0);

  // The first flight (initial window of 10 segments) leaves the peer as one
  // TSO frame that veth does not split.
  auto big = receive_until(*dev, [](Bytes f) {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 6 && f.size() > 1514;
  });
  ASSERT_TRUE(big.has_value()) << "no GSO frame larger than the MTU arrived";
  auto ip = parse_ipv4(*big);
  EXPECT_TRUE(l4_checksum_ok(*ip));
  const size_t header = static_cast<size_t>(ip->l4[12] >> 4) * 4;
  const std::string payload(ip->l4.begin() + header, ip->l4.end());
  EXPECT_GT(payload.size(), 1460u);
  EXPECT_EQ(payload, data.substr(0, payload.size()));
  EXPECT_EQ(load_be32(ip->l4.data() + 4), peer_isn + 1);
  EXPECT_GE(dev->stats().rx_large, 1u);
  EXPECT_GE(dev->stats().rx_checksum_completed, 1u);
}

TEST_F(PacketTest, UdpGsoFrameIsNeverDeliveredMerged) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  static_neighbour_for_stack(dev->mac());
  int s = peer_socket(AF_INET, SOCK_DGRAM, 0);
  const int gso_size = 1000;
  ASSERT_EQ(::setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &gso_size, sizeof gso_size), 0);
  sockaddr_in to = sin(kStackIp, 7778);
  std::string data(5000, 'g');
  ASSERT_EQ(::sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            5000);
  const int off = 0;
  ASSERT_EQ(::setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &off, sizeof off), 0);
  to = sin(kStackIp, 7779);
  ASSERT_EQ(::sendto(s, "end", 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 3);

  size_t segments = 0;
  size_t oversize = 0;
  auto port = [](Bytes f) -> int {
    auto ip = parse_ipv4(f);
    return ip && ip->proto == 17 ? load_be16(ip->l4.data() + 2) : -1;
  };
  auto end = receive_until(
      *dev, [&](Bytes f) { return port(f) == 7779; }, std::chrono::seconds(3),
      [&](Bytes f) {
        if (port(f) != 7778) return;
        ++segments;
        if (f.size() > 1514) ++oversize;
        EXPECT_TRUE(l4_checksum_ok(*parse_ipv4(f)));
        EXPECT_EQ(parse_ipv4(f)->l4.size(), 8u + gso_size);
      });
  ASSERT_TRUE(end.has_value());
  RecordProperty("segments", static_cast<int>(segments));
  RecordProperty("oversize_dropped", static_cast<int>(dev->stats().rx_oversize_dropped));
  EXPECT_EQ(oversize, 0u);
  // Either the kernel split it (5 datagrams) or veth passed it whole and the
  // device dropped it, counted.
  EXPECT_TRUE(segments == 5 || dev->stats().rx_oversize_dropped == 1)
      << segments << " segments, " << dev->stats().rx_oversize_dropped << " dropped";
}

TEST_F(PacketTest, FilterPassesOurMacBroadcastAndMulticastOnly) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  int raw = peer_raw_socket();
  for (auto [dst, marker] :
       {std::pair{kOtherMac, 1}, std::pair{dev->mac(), 2}, std::pair{MacAddress::broadcast(), 3},
        std::pair{kMulticastMac, 4}, std::pair{dev->mac(), 9}}) {
    Frame f = marked(dst, static_cast<uint8_t>(marker));
    ASSERT_EQ(::send(raw, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  }
  EXPECT_EQ(markers_until(*dev, 9), (std::set<int>{2, 3, 4, 9}));
}

TEST_F(PacketTest, FilterWithoutMulticast) {
  auto dev = open_device({.accept_multicast = false});
  ASSERT_NE(dev, nullptr);
  int raw = peer_raw_socket();
  for (auto [dst, marker] :
       {std::pair{kOtherMac, 1}, std::pair{dev->mac(), 2}, std::pair{MacAddress::broadcast(), 3},
        std::pair{kMulticastMac, 4}, std::pair{dev->mac(), 9}}) {
    Frame f = marked(dst, static_cast<uint8_t>(marker));
    ASSERT_EQ(::send(raw, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  }
  EXPECT_EQ(markers_until(*dev, 9), (std::set<int>{2, 3, 9}));
}

TEST_F(PacketTest, StackMacOtherThanTheInterfaces) {
  const MacAddress stack_mac({0x02, 0x00, 0x00, 0x00, 0x00, 0x42});
  auto dev = open_device({.mac = stack_mac});
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->mac(), stack_mac);
  int raw = peer_raw_socket();
  for (auto [dst, marker] :
       {std::pair{host_mac_, 1}, std::pair{stack_mac, 2}, std::pair{stack_mac, 9}}) {
    Frame f = marked(dst, static_cast<uint8_t>(marker));
    ASSERT_EQ(::send(raw, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  }
  EXPECT_EQ(markers_until(*dev, 9), (std::set<int>{2, 9}));
}

TEST_F(PacketTest, OwnFramesReachThePeerAndAreNotReadBack) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  int raw = peer_raw_socket();
  Frame ours = ethernet(MacAddress::broadcast(), dev->mac(), kEtherTest, 46);
  ours[14] = 5;
  send(*dev, ours);

  // The peer sees it ...
  bool peer_saw = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!peer_saw && std::chrono::steady_clock::now() < deadline) {
    pollfd p{raw, POLLIN, 0};
    if (::poll(&p, 1, 500) != 1) continue;
    uint8_t buf[2048];
    ssize_t n = ::recv(raw, buf, sizeof buf, 0);
    peer_saw = n >= 15 && load_be16(buf + 12) == kEtherTest && buf[14] == 5;
  }
  EXPECT_TRUE(peer_saw);
  // ... and our device does not read its own broadcast back.
  Frame sentinel = marked(dev->mac(), 9);
  ASSERT_EQ(::send(raw, sentinel.data(), sentinel.size(), 0),
            static_cast<ssize_t>(sentinel.size()));
  EXPECT_EQ(markers_until(*dev, 9), (std::set<int>{9}));
}

TEST_F(PacketTest, BatchesManyFramesBothWays) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  int raw = peer_raw_socket();
  constexpr int kFrames = 100;  // more than one recvmmsg/sendmmsg batch
  for (int i = 0; i < kFrames; ++i) {
    Frame f = marked(dev->mac(), static_cast<uint8_t>(i));
    ASSERT_EQ(::send(raw, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
  }
  std::set<int> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::vector<PacketBuffer> batch;
  while (static_cast<int>(got.size()) < kFrames && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    size_t n = dev->receive(batch, 1000, now());
    EXPECT_EQ(n, batch.size());
    for (auto& f : batch) {
      if (ethertype(f.bytes()) == kEtherTest) got.insert(f.data()[14]);
    }
    pollfd p{dev->fd(), POLLIN, 0};
    if (static_cast<int>(got.size()) < kFrames) ::poll(&p, 1, 200);
  }
  EXPECT_EQ(got.size(), static_cast<size_t>(kFrames));

  std::vector<PacketBuffer> out;
  for (int i = 0; i < kFrames; ++i) {
    Frame f = ethernet(peer_mac_, dev->mac(), kEtherTest, 46);
    f[14] = static_cast<uint8_t>(i);
    PacketBuffer b = pool_.allocate(f.size());
    auto d = b.append(f.size());
    std::copy(f.begin(), f.end(), d.begin());
    out.push_back(std::move(b));
  }
  dev->transmit(out, now());
  for (auto& b : out) EXPECT_FALSE(b);
  EXPECT_EQ(dev->stats().tx_frames, static_cast<uint64_t>(kFrames));
  std::set<int> peer_got;
  while (static_cast<int>(peer_got.size()) < kFrames) {
    pollfd p{raw, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) break;
    uint8_t buf[2048];
    ssize_t n = ::recv(raw, buf, sizeof buf, 0);
    if (n >= 15 && load_be16(buf + 12) == kEtherTest) peer_got.insert(buf[14]);
  }
  EXPECT_EQ(peer_got.size(), static_cast<size_t>(kFrames));
}

TEST_F(PacketTest, OversizeTransmitIsCountedNotFatal) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  std::vector<PacketBuffer> out;
  for (size_t len : {size_t{3000}, size_t{60}}) {
    PacketBuffer b = pool_.allocate(len);
    auto d = b.append(len);
    Frame f = ethernet(peer_mac_, dev->mac(), kEtherTest, len - 14);
    std::copy(f.begin(), f.end(), d.begin());
    out.push_back(std::move(b));
  }
  dev->transmit(out, now());
  EXPECT_EQ(dev->stats().tx_dropped, 1u);
  EXPECT_EQ(dev->last_tx_error(), EMSGSIZE);
  EXPECT_EQ(dev->stats().tx_frames, 1u);  // the one after it still went out
}

TEST_F(PacketTest, LinkDownDropsFramesAndRecoversWhenUp) {
  auto dev = open_device();
  ASSERT_NE(dev, nullptr);
  int raw = peer_raw_socket();
  auto nl = Netlink::open();
  ASSERT_TRUE(nl.ok()) << nl.error();
  ASSERT_TRUE(nl->set_up(host_if_, false).ok());

  send(*dev, ethernet(peer_mac_, dev->mac(), kEtherTest, 46));
  EXPECT_EQ(dev->stats().tx_dropped, 1u);
  EXPECT_EQ(dev->last_tx_error(), ENETDOWN);
  // Frames queued before the link went down come first, then ENETDOWN is
  // reported once (packet_notifier() sets the socket error); no crash.
  std::vector<PacketBuffer> out;
  for (int i = 0; i < 4; ++i) dev->receive(out, 64, now());
  EXPECT_EQ(dev->last_rx_error(), ENETDOWN);

  ASSERT_TRUE(nl->set_up(host_if_, true).ok());
  // The peer's veth passes traffic again once the kernel's link watch has
  // seen the carrier come back (operstate UP): resend the sentinel until then.
  std::optional<Frame> got;
  Frame f = marked(dev->mac(), 9);
  for (int i = 0; i < 30 && !got; ++i) {
    ASSERT_EQ(::send(raw, f.data(), f.size(), 0), static_cast<ssize_t>(f.size()));
    got = receive_until(
        *dev, [](Bytes b) { return ethertype(b) == kEtherTest && b[14] == 9; },
        std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(got.has_value()) << "nothing received after the link came back up";
  send(*dev, ethernet(peer_mac_, dev->mac(), kEtherTest, 46));
  EXPECT_EQ(dev->stats().tx_frames, 1u);
}

TEST_F(PacketTest, OpenErrorsAreOneClearLine) {
  auto missing = PacketDevice::open({.interface = ifname("zz")}, pool_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "no network interface named '" + ifname("zz") +
                                 "' in this network namespace: check the name with `ip link`");

  auto lo = PacketDevice::open({.interface = "lo"}, pool_);
  ASSERT_FALSE(lo.ok());
  EXPECT_NE(lo.error().find("'lo' is not an Ethernet interface"), std::string::npos) << lo.error();

  auto mcast = PacketDevice::open({.interface = host_if_, .mac = kMulticastMac}, pool_);
  ASSERT_FALSE(mcast.ok());
  EXPECT_NE(mcast.error().find("multicast"), std::string::npos) << mcast.error();

  std::string msg = without_capability(CAP_NET_RAW, [&] {
    auto dev = PacketDevice::open({.interface = host_if_}, pool_);
    return dev.ok() ? std::string("opened") : dev.error();
  });
  EXPECT_NE(msg.find("opening an AF_PACKET socket on '" + host_if_ + "' needs CAP_NET_RAW"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace shunt
