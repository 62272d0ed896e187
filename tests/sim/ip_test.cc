// IPv4 and ICMP against hand-made frames: echo, fragmentation and
// reassembly (in order, out of order, duplicated, overlapping, missing),
// validation drops, ICMP errors in and out.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "tests/support/frames.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

class IpTest : public ::testing::Test {
 protected:
  IpTest() : lan(1), raw(lan.add_raw()), stack(lan.stack(0)) {
    lan.sim.settle();
    raw.received.clear();
  }

  // Sends an IP packet from the raw host (198.18.0.50) to the stack.
  void send_ip(wire::Ipv4Repr hdr, Bytes payload) {
    raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1), hdr, payload), lan.now());
    lan.sim.settle();
  }

  // The IPv4 packets the raw host received (ARP and others skipped).
  std::vector<std::pair<wire::Ipv4Repr, std::vector<uint8_t>>> take_ip() {
    std::vector<std::pair<wire::Ipv4Repr, std::vector<uint8_t>>> out;
    for (auto& f : raw.received) {
      auto eth = wire::EthernetRepr::parse(f.bytes());
      if (!eth || eth->ethertype != wire::ethertype::kIpv4) continue;
      auto ip = wire::Ipv4Repr::parse(f.bytes().subspan(14));
      EXPECT_TRUE(ip);
      if (!ip) continue;
      auto payload = f.bytes().subspan(14 + ip->header_len, ip->payload_len);
      out.emplace_back(*ip, std::vector<uint8_t>(payload.begin(), payload.end()));
    }
    raw.received.clear();
    return out;
  }

  // Lets the stack know the raw host's MAC so replies need no ARP.
  void introduce_raw() {
    wire::ArpRepr req;
    req.operation = wire::arp_op::kRequest;
    req.sender_mac = raw.mac();
    req.sender_ip = kRawIp;
    req.target_ip = test_ip(1);
    raw.send(arp_frame(lan.pool, MacAddress::broadcast(), req), lan.now());
    lan.sim.settle();
    raw.received.clear();
  }

  static constexpr Ipv4Address kRawIp = Ipv4Address(198, 18, 0, 50);
  Lan lan;
  RawHost& raw;
  Stack& stack;
};

TEST_F(IpTest, AnswersPing) {
  introduce_raw();
  wire::IcmpRepr echo;
  echo.type = wire::icmp_type::kEchoRequest;
  echo.ident = 0x1234;
  echo.seq_no = 7;
  auto data = bytes_of("abcdefghijklmnopqrstuvwabcdefghi");
  echo.payload = data;
  send_ip(ip_header(kRawIp, test_ip(1), wire::ip_proto::kIcmp), icmp_message(echo));
  auto got = take_ip();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first.src, test_ip(1));
  EXPECT_EQ(got[0].first.dst, kRawIp);
  auto reply = wire::IcmpRepr::parse(got[0].second);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->type, wire::icmp_type::kEchoReply);
  EXPECT_EQ(reply->ident, 0x1234);
  EXPECT_EQ(reply->seq_no, 7);
  EXPECT_TRUE(std::equal(reply->payload.begin(), reply->payload.end(), data.begin(), data.end()));
  EXPECT_EQ(stack.stats().icmp.InEchos, 1u);
  EXPECT_EQ(stack.stats().icmp.OutEchoReps, 1u);
}

TEST_F(IpTest, IgnoresBroadcastPing) {
  introduce_raw();
  wire::IcmpRepr echo;
  echo.type = wire::icmp_type::kEchoRequest;
  raw.send(ip_frame(lan.pool, raw.mac(), MacAddress::broadcast(),
                    ip_header(kRawIp, Ipv4Address::broadcast(), wire::ip_proto::kIcmp),
                    icmp_message(echo)),
           lan.now());
  lan.sim.settle();
  EXPECT_TRUE(take_ip().empty());
  EXPECT_EQ(stack.stats().drop_count(DropReason::kIcmpBroadcastEcho), 1u);
}

// Fragments of one UDP datagram carrying `data` to port 7000, split at
// 8-byte multiples of `piece`.
std::vector<std::pair<wire::Ipv4Repr, std::vector<uint8_t>>> fragments(const std::vector<uint8_t>& dgram,
                                                                       size_t piece, uint16_t ident) {
  std::vector<std::pair<wire::Ipv4Repr, std::vector<uint8_t>>> out;
  for (size_t off = 0; off < dgram.size(); off += piece) {
    size_t len = std::min(piece, dgram.size() - off);
    auto h = ip_header(Ipv4Address(198, 18, 0, 50), test_ip(1), wire::ip_proto::kUdp, ident);
    h.frag_offset = static_cast<uint16_t>(off);
    h.more_fragments = off + len < dgram.size();
    out.emplace_back(h, std::vector<uint8_t>(dgram.begin() + static_cast<long>(off),
                                             dgram.begin() + static_cast<long>(off + len)));
  }
  return out;
}

class ReassemblyTest : public IpTest {
 protected:
  ReassemblyTest() {
    sock = *stack.udp_open();
    EXPECT_TRUE(stack.bind(sock, {Ipv4Address::any(), 7000}));
    data.resize(3000);
    std::iota(data.begin(), data.end(), uint8_t{1});
    dgram = udp_datagram(kRawIp, test_ip(1), 1234, 7000, data);
  }
  bool received_intact() {
    std::vector<uint8_t> buf(4000);
    auto r = stack.recv_from(sock, buf, 0, lan.now());
    return r && r->copied == data.size() && std::equal(data.begin(), data.end(), buf.begin());
  }
  SocketId sock;
  std::vector<uint8_t> data;
  std::vector<uint8_t> dgram;
};

TEST_F(ReassemblyTest, InOrder) {
  for (auto& [h, p] : fragments(dgram, 1000, 1)) send_ip(h, p);
  EXPECT_TRUE(received_intact());
  EXPECT_EQ(stack.stats().ip.ReasmOKs, 1u);
  EXPECT_EQ(stack.reassembler().memory_used(), 0u);
}

TEST_F(ReassemblyTest, OutOfOrder) {
  auto f = fragments(dgram, 504, 2);
  std::reverse(f.begin(), f.end());
  std::swap(f[1], f[3]);
  for (auto& [h, p] : f) send_ip(h, p);
  EXPECT_TRUE(received_intact());
}

TEST_F(ReassemblyTest, DuplicatesAreIgnored) {
  auto f = fragments(dgram, 1000, 3);
  ASSERT_EQ(f.size(), 4u);  // 3008 bytes of UDP
  send_ip(f[0].first, f[0].second);
  send_ip(f[0].first, f[0].second);
  send_ip(f[2].first, f[2].second);
  send_ip(f[1].first, f[1].second);
  send_ip(f[2].first, f[2].second);
  send_ip(f[3].first, f[3].second);
  EXPECT_TRUE(received_intact());
  EXPECT_FALSE(received_intact());  // exactly one datagram
}

TEST_F(ReassemblyTest, OverlapDropsTheDatagram) {
  auto f = fragments(dgram, 1000, 4);
  send_ip(f[0].first, f[0].second);
  // A fragment at offset 992 overlaps the first one's last 8 bytes.
  auto h = f[1].first;
  h.frag_offset = 992;
  send_ip(h, f[1].second);
  EXPECT_EQ(stack.stats().drop_count(DropReason::kFragOverlap), 1u);
  EXPECT_EQ(stack.reassembler().datagrams(), 0u);
  send_ip(f[1].first, f[1].second);
  send_ip(f[2].first, f[2].second);
  EXPECT_FALSE(received_intact());
}

TEST_F(ReassemblyTest, MissingFragmentTimesOutAndFreesMemory) {
  introduce_raw();
  auto f = fragments(dgram, 1000, 5);
  send_ip(f[0].first, f[0].second);
  send_ip(f[2].first, f[2].second);
  EXPECT_EQ(stack.reassembler().datagrams(), 1u);
  EXPECT_GT(stack.reassembler().memory_used(), 0u);
  lan.sim.run_for(29s);
  EXPECT_EQ(stack.reassembler().datagrams(), 1u);
  lan.sim.run_for(2s);
  EXPECT_EQ(stack.reassembler().datagrams(), 0u);
  EXPECT_EQ(stack.reassembler().memory_used(), 0u);
  EXPECT_EQ(stack.stats().ip.ReasmTimeout, 1u);
  EXPECT_FALSE(received_intact());
  // RFC 792: time exceeded (fragment reassembly) back to the sender.
  auto got = take_ip();
  ASSERT_EQ(got.size(), 1u);
  auto icmp = wire::IcmpRepr::parse(got[0].second);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type, wire::icmp_type::kTimeExceeded);
  EXPECT_EQ(icmp->code, wire::icmp_code::kReassemblyTimeExceeded);
}

TEST_F(ReassemblyTest, MemoryIsBoundedAndTheOldestAreEvicted) {
  // Many incomplete datagrams (never completed, as in a fragment flood):
  // held bytes and datagrams never pass the limits, the oldest are
  // evicted to make room, and a legitimate fragmented datagram arriving
  // during the flood is reassembled at once instead of being refused for
  // the whole 30 s timeout.
  for (uint16_t id = 100; id < 20100; ++id) {
    auto f = fragments(dgram, 1000, id);
    send_ip(f[0].first, f[0].second);
    ASSERT_LE(stack.reassembler().memory_used(), stack.config().reassembly.memory_limit);
    ASSERT_LE(stack.reassembler().datagrams(), stack.config().reassembly.max_datagrams);
  }
  const uint64_t evicted = stack.stats().drop_count(DropReason::kFragEvicted);
  EXPECT_GT(evicted, 18000u);
  EXPECT_EQ(stack.stats().drop_count(DropReason::kFragMemoryLimit), 0u);
  const uint64_t delivered = stack.stats().ip.ReasmOKs;
  for (const auto& [hdr, data] : fragments(dgram, 1000, 60000)) send_ip(hdr, data);
  EXPECT_EQ(stack.stats().ip.ReasmOKs, delivered + 1);
  EXPECT_TRUE(received_intact());
  lan.sim.run_for(31s);
  EXPECT_EQ(stack.reassembler().memory_used(), 0u);
  EXPECT_EQ(stack.reassembler().datagrams(), 0u);
}

TEST_F(ReassemblyTest, BadFragmentsAreRejected) {
  auto h = ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp, 9);
  h.more_fragments = true;
  std::vector<uint8_t> odd(100, 1);  // not a multiple of 8 with MF set
  send_ip(h, odd);
  EXPECT_EQ(stack.stats().drop_count(DropReason::kFragBadOffset), 1u);
  h.more_fragments = false;
  h.frag_offset = 65528;  // ends beyond 65535
  send_ip(h, odd);
  EXPECT_EQ(stack.stats().drop_count(DropReason::kFragTooLarge) +
                stack.stats().drop_count(DropReason::kFragBadOffset),
            2u);
}

TEST(Fragmentation, LargeDatagramsCrossTheMtuBetweenStacks) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto rx = b.udp_open();
  ASSERT_TRUE(b.set_option(*rx, SockOpt::kRcvBuf, 200000, lan.now()));
  ASSERT_TRUE(b.bind(*rx, {Ipv4Address::any(), 7000}));
  auto tx = a.udp_open();
  for (size_t size : {1472u, 1473u, 8000u, 65507u}) {
    std::vector<uint8_t> data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 7);
    ASSERT_TRUE(a.send_to(*tx, data, Endpoint{test_ip(2), 7000}, lan.now()));
    lan.sim.run_until_idle(1s);
    std::vector<uint8_t> buf(70000);
    auto r = b.recv_from(*rx, buf, 0, lan.now());
    ASSERT_TRUE(r) << size;
    ASSERT_EQ(r->copied, size);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), buf.begin())) << size;
  }
  // 1473 + 8 bytes need two fragments; 8000 + 8 need six; 65515 need 45.
  EXPECT_EQ(a.stats().ip.FragOKs, 3u);
  EXPECT_EQ(a.stats().ip.FragCreates, 2u + 6u + 45u);
  EXPECT_EQ(b.stats().ip.ReasmOKs, 3u);
}

TEST_F(IpTest, MalformedFramesAreCountedDrops) {
  // 802.1Q tag.
  PacketBuffer vlan = lan.pool.allocate(64);
  auto v = vlan.append(60);
  std::fill(v.begin(), v.end(), 0);
  wire::EthernetRepr{test_mac(1), raw.mac(), wire::ethertype::kVlan}.emit(v);
  raw.send(std::move(vlan), lan.now());
  // Unknown EtherType (IPv6 for now).
  PacketBuffer v6 = lan.pool.allocate(64);
  auto w = v6.append(60);
  std::fill(w.begin(), w.end(), 0);
  wire::EthernetRepr{test_mac(1), raw.mac(), wire::ethertype::kIpv6}.emit(w);
  raw.send(std::move(v6), lan.now());
  // Runt (the simulated switch drops those itself, so hand it to the stack).
  PacketBuffer runt = lan.pool.allocate(64);
  runt.append(10);
  stack.receive(std::move(runt), lan.now());
  // Bad IP header checksum.
  auto dgram = udp_datagram(kRawIp, test_ip(1), 1, 2, bytes_of("x"));
  PacketBuffer bad = ip_frame(lan.pool, raw.mac(), test_mac(1),
                              ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp), dgram);
  bad.data()[14 + 10] ^= 0xff;
  raw.send(std::move(bad), lan.now());
  // Not our address.
  raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1),
                    ip_header(kRawIp, test_ip(77), wire::ip_proto::kUdp), dgram),
           lan.now());
  // Martian source.
  raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1),
                    ip_header(Ipv4Address::broadcast(), test_ip(1), wire::ip_proto::kUdp), dgram),
           lan.now());
  // UDP checksum wrong.
  auto corrupt = dgram;
  corrupt.back() ^= 1;
  raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1),
                    ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp), corrupt),
           lan.now());
  // Another host's MAC.
  raw.send(ip_frame(lan.pool, raw.mac(), test_mac(9),
                    ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp), dgram),
           lan.now());
  lan.sim.settle();
  const Stats& s = stack.stats();
  EXPECT_EQ(s.drop_count(DropReason::kEthVlanTagged), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kEthUnknownType), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kEthTruncated), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kIpBadChecksum), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kIpNotForUs), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kIpBadSource), 1u);
  EXPECT_EQ(s.drop_count(DropReason::kUdpBadChecksum), 1u);
  EXPECT_EQ(s.udp.InCsumErrors, 1u);
  // The flooded frame for 02:..:09 reached us (unknown unicast floods) and was dropped.
  EXPECT_EQ(s.drop_count(DropReason::kEthNotForUs), 1u);
  EXPECT_EQ(s.ip.InHdrErrors, 1u);
  EXPECT_EQ(s.ip.InAddrErrors, 2u);
}

TEST_F(IpTest, UnknownProtocolGetsProtocolUnreachable) {
  introduce_raw();
  send_ip(ip_header(kRawIp, test_ip(1), 99), bytes_of("whatever payload"));
  auto got = take_ip();
  ASSERT_EQ(got.size(), 1u);
  auto icmp = wire::IcmpRepr::parse(got[0].second);
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type, wire::icmp_type::kDestUnreachable);
  EXPECT_EQ(icmp->code, wire::icmp_code::kProtocolUnreachable);
  // The quote starts with our packet's IP header.
  auto quoted = wire::Ipv4Repr::parse(icmp->payload, false);
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->protocol, 99);
}

TEST_F(IpTest, PortUnreachableIsRateLimited) {
  introduce_raw();
  auto dgram = udp_datagram(kRawIp, test_ip(1), 1234, 4444, bytes_of("x"));
  for (int i = 0; i < 200; ++i) {
    raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1),
                      ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp, static_cast<uint16_t>(i)),
                      dgram),
             lan.now());
  }
  lan.sim.settle();
  EXPECT_EQ(stack.stats().udp.NoPorts, 200u);
  EXPECT_EQ(stack.stats().icmp.OutDestUnreachs, stack.config().icmp.error_burst);
  EXPECT_EQ(stack.stats().icmp.OutRateLimited, 200u - stack.config().icmp.error_burst);
  EXPECT_EQ(take_ip().size(), stack.config().icmp.error_burst);
  // Tokens come back with time (1000 per second).
  lan.sim.run_for(10ms);
  raw.send(ip_frame(lan.pool, raw.mac(), test_mac(1),
                    ip_header(kRawIp, test_ip(1), wire::ip_proto::kUdp, 999), dgram),
           lan.now());
  lan.sim.settle();
  EXPECT_EQ(take_ip().size(), 1u);
}

TEST_F(IpTest, IcmpErrorsReachTheConnectedSocket) {
  introduce_raw();
  auto s = stack.udp_open();
  ASSERT_TRUE(stack.bind(*s, {Ipv4Address::any(), 5555}));
  ASSERT_TRUE(stack.connect(*s, {kRawIp, 53}, lan.now()));
  // Our datagram as the raw host would quote it.
  auto ours = udp_datagram(test_ip(1), kRawIp, 5555, 53, bytes_of("query"));
  std::vector<uint8_t> quote(20 + ours.size());
  auto qh = ip_header(test_ip(1), kRawIp, wire::ip_proto::kUdp);
  qh.payload_len = static_cast<uint16_t>(ours.size());
  qh.emit(quote);
  std::copy(ours.begin(), ours.end(), quote.begin() + 20);
  struct Case {
    uint8_t type, code;
    std::optional<Error> expect;
  };
  for (Case c : {Case{3, 13, Error::kHostUnreach},   // administratively prohibited: hard
                 Case{3, 3, Error::kConnRefused},    // port unreachable: hard
                 Case{3, 2, Error::kNoProtoOpt},     // protocol unreachable: hard
                 Case{3, 1, std::nullopt},           // host unreachable: soft, not reported to UDP
                 Case{11, 0, std::nullopt}}) {       // TTL exceeded: soft
    wire::IcmpRepr err;
    err.type = c.type;
    err.code = c.code;
    err.payload = quote;
    send_ip(ip_header(kRawIp, test_ip(1), wire::ip_proto::kIcmp), icmp_message(err));
    auto e = stack.take_error(*s);
    ASSERT_TRUE(e);
    EXPECT_EQ(*e, c.expect) << int(c.type) << "/" << int(c.code);
  }
  // An error about a socket we do not have is a counted drop.
  auto other = udp_datagram(test_ip(1), kRawIp, 6666, 53, bytes_of("query"));
  std::copy(other.begin(), other.end(), quote.begin() + 20);
  wire::IcmpRepr err;
  err.type = 3;
  err.code = 3;
  err.payload = quote;
  send_ip(ip_header(kRawIp, test_ip(1), wire::ip_proto::kIcmp), icmp_message(err));
  EXPECT_EQ(stack.stats().drop_count(DropReason::kIcmpErrorNoSocket), 1u);
}

TEST(Loopback, DatagramToOurOwnAddress) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  auto rx = a.udp_open();
  ASSERT_TRUE(a.bind(*rx, {Ipv4Address::any(), 8000}));
  auto tx = a.udp_open();
  ASSERT_TRUE(a.send_to(*tx, bytes_of("self"), Endpoint{test_ip(1), 8000}, lan.now()));
  lan.sim.settle();
  std::vector<uint8_t> buf(10);
  auto r = a.recv_from(*rx, buf, 0, lan.now());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->copied, 4u);
  EXPECT_EQ(a.stats().ip.InLoopback, 1u);
  EXPECT_EQ(a.stats().arp.OutRequests, 0u);
}

}  // namespace
}  // namespace shunt::testing

namespace shunt::testing {
namespace {

TEST(Ping, BetweenStacksIncludingFragmentedEchoes) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  std::vector<uint8_t> small(56, 0x5a), big(4000, 0xa5);
  ASSERT_TRUE(a.send_echo_request(test_ip(2), 77, 1, small, lan.now()));
  ASSERT_TRUE(a.send_echo_request(test_ip(2), 77, 2, big, lan.now()));  // fragmented both ways
  lan.sim.run_until_idle(1s);
  std::vector<Stack::EchoReply> replies;
  a.take_echo_replies(replies);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].from, test_ip(2));
  EXPECT_EQ(replies[0].ident, 77);
  EXPECT_EQ(replies[0].seq_no, 1);
  EXPECT_EQ(replies[0].len, 56u);
  EXPECT_EQ(replies[1].seq_no, 2);
  EXPECT_EQ(replies[1].len, 4000u);
  EXPECT_EQ(b.stats().icmp.InEchos, 2u);
  EXPECT_EQ(b.stats().icmp.OutEchoReps, 2u);
  EXPECT_EQ(b.stats().ip.ReasmOKs, 1u);
  EXPECT_EQ(a.stats().ip.ReasmOKs, 1u);
  // Nobody at .99: the request waits for ARP, which fails; no reply.
  ASSERT_TRUE(a.send_echo_request(test_ip(99), 77, 3, small, lan.now()));
  lan.sim.run_until_idle(10s);
  a.take_echo_replies(replies);
  EXPECT_EQ(replies.size(), 2u);
  EXPECT_EQ(a.stats().arp.Failed, 1u);
}

}  // namespace
}  // namespace shunt::testing
