#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "stack/wire/ipv4.h"
#include "stack/wire/udp.h"

namespace shunt::wire {
namespace {

const Ipv4Address kIpA(198, 18, 0, 1);
const Ipv4Address kIpB(198, 18, 0, 2);

// clang-format off
// 198.18.0.1:40000 -> 198.18.0.2:7 "hello\n" (what `echo hello | nc -u` sends).
const std::vector<uint8_t> kHello = {
    0x9c, 0x40, 0x00, 0x07,  // ports 40000 -> 7
    0x00, 0x0e, 0x93, 0x86,  // length 14, checksum 0x9386
    0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
};

// The same datagram inside its IPv4 packet (DF, TTL 64, ident 0xbeef).
const std::vector<uint8_t> kIpHello = {
    0x45, 0x00, 0x00, 0x22, 0xbe, 0xef, 0x40, 0x00, 0x40, 0x11, 0xef, 0xb3,
    0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x02,
    0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x93, 0x86, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
};

// The same datagram sent without a checksum (field 0, RFC 768).
const std::vector<uint8_t> kHelloNoChecksum = {
    0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
};

// 198.18.0.1:1000 -> 198.18.0.2:2000 with the 2-byte payload 67 fa, chosen
// so that the checksum computes to 0 and must be sent as ffff.
const std::vector<uint8_t> kZeroSum = {
    0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0a, 0xff, 0xff, 0x67, 0xfa,
};
// clang-format on

std::vector<uint8_t> emit(const UdpRepr& r, Bytes payload, Ipv4Address src, Ipv4Address dst) {
  std::vector<uint8_t> out(UdpRepr::kHeaderLen + payload.size(), 0xee);
  std::copy(payload.begin(), payload.end(), out.begin() + UdpRepr::kHeaderLen);
  r.emit(out, src, dst);
  return out;
}

TEST(WireUdp, DecodesGoldenDatagram) {
  auto r = UdpRepr::parse(kHello, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->src_port, 40000);
  EXPECT_EQ(r->dst_port, 7);
  EXPECT_EQ(r->payload_len, 6);

  auto v = UdpView::check(kHello);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->length(), 14);
  EXPECT_EQ(v->checksum(), 0x9386);
  EXPECT_TRUE(v->verify_checksum(kIpA, kIpB));
  ASSERT_EQ(v->payload().size(), 6u);
  EXPECT_EQ(v->payload()[0], 'h');
}

TEST(WireUdp, EncodesGoldenDatagram) {
  UdpRepr r{.src_port = 40000, .dst_port = 7, .payload_len = 6};
  EXPECT_EQ(emit(r, Bytes(kHello).subspan(8), kIpA, kIpB), kHello);
}

TEST(WireUdp, DecodesThroughIpv4) {
  auto ip = Ipv4View::check(kIpHello);
  ASSERT_TRUE(ip);
  ASSERT_TRUE(ip->verify_checksum());
  auto r = UdpRepr::parse(ip->payload(), ip->src(), ip->dst());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dst_port, 7);
  EXPECT_EQ(r->payload_len, 6);
}

TEST(WireUdp, RejectsEveryTruncatedLength) {
  for (size_t len = 0; len < UdpRepr::kHeaderLen; ++len) {
    auto r = UdpRepr::parse(Bytes(kHello).first(len), kIpA, kIpB);
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), DropReason::kUdpTruncated) << len;
  }
}

TEST(WireUdp, RejectsLengthBelowHeader) {
  for (uint8_t len : {0, 1, 7}) {
    std::vector<uint8_t> d = kHelloNoChecksum;
    d[5] = len;
    auto r = UdpRepr::parse(d, kIpA, kIpB);
    ASSERT_FALSE(r) << int{len};
    EXPECT_EQ(r.error(), DropReason::kUdpBadLength);
  }
}

TEST(WireUdp, RejectsLengthBeyondTheIpPayload) {
  // The IP packet says 34 bytes; the UDP header claims 15 of its 14.
  std::vector<uint8_t> p = kIpHello;
  p[25] = 15;
  auto ip = Ipv4Repr::parse(p);
  ASSERT_TRUE(ip);
  auto r = UdpRepr::parse(Bytes(p).subspan(ip->header_len, ip->payload_len), kIpA, kIpB);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), DropReason::kUdpBadLength);
  // The IP layer dropped the last byte: the length field now lies.
  EXPECT_EQ(UdpRepr::parse(Bytes(kHello).first(13), kIpA, kIpB).error(), DropReason::kUdpBadLength);
}

TEST(WireUdp, BytesBeyondTheLengthFieldAreIgnored) {
  // The length field rules; the checksum covers only that many bytes.
  std::vector<uint8_t> d = kHello;
  d.push_back(0x55);
  d.push_back(0x66);
  d.push_back(0x77);
  auto r = UdpRepr::parse(d, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payload_len, 6);
  EXPECT_EQ(UdpView::check(d)->payload().size(), 6u);
}

TEST(WireUdp, RejectsBadChecksum) {
  for (size_t i = 0; i < kHello.size(); ++i) {
    if (i == 4 || i == 5) continue;  // the length field: a different drop
    std::vector<uint8_t> d = kHello;
    d[i] ^= 0x01;
    auto r = UdpRepr::parse(d, kIpA, kIpB);
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error(), DropReason::kUdpBadChecksum) << i;
    EXPECT_TRUE(UdpRepr::parse(d, kIpA, kIpB, /*verify_checksum=*/false)) << i;
  }
}

TEST(WireUdp, PseudoHeaderIsCovered) {
  EXPECT_EQ(UdpRepr::parse(kHello, kIpA, Ipv4Address(198, 18, 0, 3)).error(),
            DropReason::kUdpBadChecksum);
  EXPECT_EQ(UdpRepr::parse(kHello, kIpB, kIpA).ok(), true);  // swapping is sum-neutral
}

TEST(WireUdp, ZeroChecksumMeansNone) {
  auto r = UdpRepr::parse(kHelloNoChecksum, kIpA, kIpB);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payload_len, 6);
  // Any addresses: nothing is verified.
  EXPECT_TRUE(UdpRepr::parse(kHelloNoChecksum, kIpB, Ipv4Address(10, 0, 0, 1)));
  EXPECT_TRUE(UdpView::check(kHelloNoChecksum)->verify_checksum(kIpB, kIpB));
}

TEST(WireUdp, ComputedZeroChecksumIsSentAsAllOnes) {
  UdpRepr r{.src_port = 1000, .dst_port = 2000, .payload_len = 2};
  std::vector<uint8_t> out = emit(r, Bytes(kZeroSum).subspan(8), kIpA, kIpB);
  EXPECT_EQ(out, kZeroSum);
  // And it verifies (0xffff and 0 are the same in one's complement).
  EXPECT_TRUE(UdpRepr::parse(out, kIpA, kIpB));
}

TEST(WireUdp, EmptyPayloadRoundTrips) {
  UdpRepr r{.src_port = 53, .dst_port = 65535, .payload_len = 0};
  std::vector<uint8_t> out = emit(r, {}, kIpB, kIpA);
  auto back = UdpRepr::parse(out, kIpB, kIpA);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  EXPECT_NE(load_be16(out.data() + 6), 0);
}

}  // namespace
}  // namespace shunt::wire
