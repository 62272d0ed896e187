// Capture filters (--pcap-filter): the words (the fault rules' match words
// plus tcpdump's `host A`, `net A/P`, `port N`), and/or/not, what each keeps
// (both directions; ARP by address), and bad filters as one line with the
// column and what was expected.
#include "driver/capture_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shunt {
namespace {

const Ipv4Address kStack(198, 18, 0, 2);
const Ipv4Address kPeer(198, 18, 0, 1);
const Ipv4Address kOther(198, 18, 1, 9);

PacketSummary tcp(Ipv4Address src, uint16_t sport, Ipv4Address dst, uint16_t dport,
                  uint8_t flags = 0x10, uint32_t len = 0) {
  PacketSummary s;
  s.proto = FaultProto::kTcp;
  s.src = src;
  s.dst = dst;
  s.src_port = sport;
  s.dst_port = dport;
  s.tcp_flags = flags;
  s.payload_len = len;
  return s;
}

PacketSummary udp(Ipv4Address src, uint16_t sport, Ipv4Address dst, uint16_t dport) {
  PacketSummary s = tcp(src, sport, dst, dport, 0);
  s.proto = FaultProto::kUdp;
  return s;
}

PacketSummary arp(Ipv4Address sender, Ipv4Address target) {
  PacketSummary s;
  s.proto = FaultProto::kArp;
  s.src = sender;
  s.dst = target;
  return s;
}

PacketSummary icmp(Ipv4Address src, Ipv4Address dst) {
  PacketSummary s;
  s.proto = FaultProto::kIcmp;
  s.src = src;
  s.dst = dst;
  return s;
}

CaptureFilter filter(std::string_view text) {
  auto f = parse_capture_filter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << (f.ok() ? "" : f.error());
  return f.ok() ? *f : CaptureFilter{};
}

std::string error_of(std::string_view text) {
  auto f = parse_capture_filter(text);
  EXPECT_FALSE(f.ok()) << text;
  return f.ok() ? "" : f.error();
}

// Outbound frames go stack -> peer, inbound ones peer -> stack.
const PacketSummary kHttpOut = tcp(kStack, 40000, kPeer, 80);
const PacketSummary kHttpIn = tcp(kPeer, 80, kStack, 40000);
const PacketSummary kRedisIn = tcp(kPeer, 6379, kStack, 40001);
const PacketSummary kDnsOut = udp(kStack, 5353, kPeer, 53);
const PacketSummary kArpAsk = arp(kStack, kPeer);
const PacketSummary kArpOther = arp(kOther, kStack);
const PacketSummary kPing = icmp(kStack, kPeer);

TEST(CaptureFilter, EmptyKeepsEverything) {
  for (std::string_view text : {"", "   "}) {
    CaptureFilter f = filter(text);
    EXPECT_TRUE(f.empty());
    EXPECT_TRUE(f.matches(kArpAsk, true));
    EXPECT_TRUE(f.matches(std::vector<uint8_t>{1, 2, 3}, false));  // not even Ethernet
  }
}

TEST(CaptureFilter, PortIsEitherSideAndExcludesArp) {
  for (std::string_view text : {"port 80", "port=80", "  port   80 "}) {
    CaptureFilter f = filter(text);
    EXPECT_TRUE(f.matches(kHttpOut, true)) << text;
    EXPECT_TRUE(f.matches(kHttpIn, false)) << text;
    EXPECT_FALSE(f.matches(kRedisIn, false)) << text;
    EXPECT_FALSE(f.matches(kArpAsk, true)) << text;
    EXPECT_FALSE(f.matches(kPing, true)) << text;
  }
  CaptureFilter range = filter("port 6000-7000");
  EXPECT_TRUE(range.matches(kRedisIn, false));
  EXPECT_FALSE(range.matches(kHttpIn, false));
}

TEST(CaptureFilter, ProtocolAndPort) {
  CaptureFilter f = filter("tcp port 6379");
  EXPECT_TRUE(f.matches(kRedisIn, false));
  EXPECT_FALSE(f.matches(udp(kPeer, 6379, kStack, 1), false));
  EXPECT_EQ(filter("tcp and port 6379").terms.size(), 1u);
  CaptureFilter u = filter("udp");
  EXPECT_TRUE(u.matches(kDnsOut, true));
  EXPECT_FALSE(u.matches(kHttpOut, true));
  EXPECT_FALSE(u.matches(kArpAsk, true));
}

TEST(CaptureFilter, HostKeepsItsArp) {
  CaptureFilter f = filter("host 198.18.0.1");
  EXPECT_TRUE(f.matches(kHttpOut, true));
  EXPECT_TRUE(f.matches(kHttpIn, false));
  EXPECT_TRUE(f.matches(kArpAsk, true));      // who has 198.18.0.1
  EXPECT_FALSE(f.matches(kArpOther, false));  // 198.18.1.9 asks for the stack
  EXPECT_FALSE(f.matches(tcp(kOther, 1, kStack, 2), false));
  CaptureFilter net = filter("net 198.18.1.0/24");
  EXPECT_TRUE(net.matches(kArpOther, false));
  EXPECT_FALSE(net.matches(kHttpIn, false));
  EXPECT_TRUE(filter("host=198.18.1.0/24").matches(kArpOther, false));
}

TEST(CaptureFilter, LocalAndRemoteFollowTheDirection) {
  // Local is the stack's side: the source of what it sends, the destination
  // of what it receives.
  CaptureFilter f = filter("lport=40000");
  EXPECT_TRUE(f.matches(kHttpOut, true));
  EXPECT_TRUE(f.matches(kHttpIn, false));
  EXPECT_FALSE(f.matches(kHttpIn, true));  // as if the stack had sent it
  CaptureFilter r = filter("raddr=198.18.0.1 rport=80");
  EXPECT_TRUE(r.matches(kHttpOut, true));
  EXPECT_TRUE(r.matches(kHttpIn, false));
  EXPECT_FALSE(r.matches(kRedisIn, false));
}

TEST(CaptureFilter, OrAndNot) {
  CaptureFilter f = filter("port 80 or arp");
  EXPECT_EQ(f.terms.size(), 2u);
  EXPECT_TRUE(f.matches(kHttpIn, false));
  EXPECT_TRUE(f.matches(kArpOther, false));
  EXPECT_FALSE(f.matches(kRedisIn, false));
  EXPECT_FALSE(f.matches(kPing, true));

  CaptureFilter n = filter("not port 80");
  EXPECT_FALSE(n.matches(kHttpIn, false));
  EXPECT_TRUE(n.matches(kRedisIn, false));
  EXPECT_TRUE(n.matches(kArpAsk, true));

  // `and` binds tighter than `or`.
  CaptureFilter m = filter("tcp and not port 80 or udp port 53");
  EXPECT_TRUE(m.matches(kRedisIn, false));
  EXPECT_FALSE(m.matches(kHttpIn, false));
  EXPECT_TRUE(m.matches(kDnsOut, true));
  EXPECT_FALSE(m.matches(udp(kPeer, 9, kStack, 10), false));

  // TCP flags and lengths come with the rule words.
  CaptureFilter syn = filter("syn or synack or rst");
  EXPECT_TRUE(syn.matches(tcp(kStack, 1, kPeer, 2, 0x02), true));
  EXPECT_TRUE(syn.matches(tcp(kPeer, 2, kStack, 1, 0x12), false));
  EXPECT_FALSE(syn.matches(kHttpIn, false));
  EXPECT_TRUE(filter("payload len>=100").matches(tcp(kStack, 1, kPeer, 2, 0x18, 100), true));
}

TEST(CaptureFilter, RealFramesThroughTheSummary) {
  // ARP request: 198.18.0.2 asks who has 198.18.0.1.
  const std::vector<uint8_t> arp_bytes = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
      198,  18,   0,    2,    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198,  18,   0,    1};
  EXPECT_TRUE(filter("arp").matches(arp_bytes, true));
  EXPECT_TRUE(filter("host 198.18.0.1").matches(arp_bytes, true));
  EXPECT_FALSE(filter("port 80").matches(arp_bytes, true));
  // Not IPv4 or ARP: only a filter that asks for no address, port or
  // protocol keeps it.
  const std::vector<uint8_t> junk(60, 0x5a);
  EXPECT_FALSE(filter("host 198.18.0.1").matches(junk, true));
  EXPECT_TRUE(filter("not tcp").matches(junk, true));
}

TEST(CaptureFilter, ErrorsNameColumnAndExpectation) {
  EXPECT_EQ(error_of("port eighty"),
            "'port eighty', column 6: expected a port or a range LO-HI from 0 to 65535, got "
            "'eighty'");
  EXPECT_EQ(error_of("host 198.18.0"),
            "'host 198.18.0', column 6: expected an IPv4 address or ADDR/PREFIX, e.g. "
            "198.18.0.1, got '198.18.0'");
  EXPECT_EQ(error_of("tcp prot 80"),
            "'tcp prot 80', column 5: expected a filter word (tcp, udp, icmp, arp, host A, net "
            "A/P, port N, laddr=, raddr=, lport=, rport=, syn, synack, fin, rst, payload, len>=N, "
            "len<=N), got 'prot'");
  EXPECT_EQ(error_of("port"),
            "'port', column 5: expected a port or a range LO-HI after 'port' at the end");
  EXPECT_EQ(error_of("port 80 or"),
            "'port 80 or', column 11: expected a filter word (tcp, udp, icmp, arp, host A, net "
            "A/P, port N, laddr=, raddr=, lport=, rport=, syn, synack, fin, rst, payload, len>=N, "
            "len<=N) at the end");
  auto has = [](std::string_view text, std::string_view want) {
    const std::string e = error_of(text);
    EXPECT_NE(e.find(want), std::string::npos) << text << " -> " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  };
  has("or port 80", "column 1: expected a filter word");
  has("port 80 and and tcp", "column 13: expected a filter word");
  has("not", "expected a filter word after 'not' at the end");
  has("not not tcp", "column 5: expected a filter word after 'not', got 'not'");
  has("net 198.18.0.1", "column 5: expected a network ADDR/PREFIX after 'net'");
  has("tcp udp", "column 5: expected one protocol");
  has("icmp port 80", "no ports in an icmp or arp rule");
  has("drop", "got 'drop'");
  has("len>=x", "column 6: expected a payload length");
}

}  // namespace
}  // namespace shunt
