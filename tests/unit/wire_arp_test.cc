#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"

namespace shunt::wire {
namespace {

const MacAddress kMacA({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
const MacAddress kMacB({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});
const Ipv4Address kIpA(198, 18, 0, 1);
const Ipv4Address kIpB(198, 18, 0, 2);

// "Who has 198.18.0.2? Tell 198.18.0.1", the 28-byte ARP body of the
// broadcast request Linux sends (RFC 826 layout, target MAC zero).
// clang-format off
const std::vector<uint8_t> kRequest = {
    0x00, 0x01,                          // htype Ethernet
    0x08, 0x00,                          // ptype IPv4
    0x06, 0x04,                          // hlen, plen
    0x00, 0x01,                          // request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // sender MAC
    0xc6, 0x12, 0x00, 0x01,              // sender IP 198.18.0.1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target MAC
    0xc6, 0x12, 0x00, 0x02,              // target IP 198.18.0.2
};
// clang-format on

// The reply as it arrives from the wire: a 60-byte Ethernet frame, so 18
// bytes of padding follow the ARP body.
// clang-format off
const std::vector<uint8_t> kReplyFrame = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,  // Ethernet
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,                                      // reply
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02,                          // sender
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,                          // target
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // padding
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
// clang-format on

TEST(WireArp, DecodesGoldenRequest) {
  auto r = ArpRepr::parse(kRequest);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, arp_op::kRequest);
  EXPECT_EQ(r->sender_mac, kMacA);
  EXPECT_EQ(r->sender_ip, kIpA);
  EXPECT_TRUE(r->target_mac.is_zero());
  EXPECT_EQ(r->target_ip, kIpB);
}

TEST(WireArp, EncodesGoldenRequest) {
  ArpRepr r{.operation = arp_op::kRequest,
            .sender_mac = kMacA,
            .sender_ip = kIpA,
            .target_mac = MacAddress(),
            .target_ip = kIpB};
  std::vector<uint8_t> out(ArpRepr::kLen, 0xee);
  r.emit(out);
  EXPECT_EQ(out, kRequest);
}

TEST(WireArp, DecodesPaddedReplyInsideAFrame) {
  auto eth = EthernetView::check(kReplyFrame);
  ASSERT_TRUE(eth);
  ASSERT_EQ(eth->ethertype(), ethertype::kArp);
  ASSERT_EQ(eth->payload().size(), 46u);
  auto r = ArpRepr::parse(eth->payload());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->operation, arp_op::kReply);
  EXPECT_EQ(r->sender_mac, kMacB);
  EXPECT_EQ(r->sender_ip, kIpB);
  EXPECT_EQ(r->target_mac, kMacA);
  EXPECT_EQ(r->target_ip, kIpA);

  std::vector<uint8_t> out(ArpRepr::kLen);
  r->emit(out);
  EXPECT_EQ(out, std::vector<uint8_t>(kReplyFrame.begin() + 14, kReplyFrame.begin() + 42));
}

TEST(WireArp, RejectsEveryTruncatedLength) {
  for (size_t len = 0; len < ArpRepr::kLen; ++len) {
    auto r = ArpRepr::parse(Bytes(kRequest).first(len));
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), DropReason::kArpTruncated) << len;
  }
}

TEST(WireArp, RejectsOtherHardwareAndProtocols) {
  struct Case {
    size_t offset;
    uint8_t value;
  };
  // IEEE 802 htype 6; ptype IPv6; hlen 8 (EUI-64); plen 16.
  for (Case c : {Case{1, 6}, Case{0, 1}, Case{2, 0x86}, Case{3, 0xdd}, Case{4, 8}, Case{5, 16}}) {
    std::vector<uint8_t> p = kRequest;
    p[c.offset] = c.value;
    auto r = ArpRepr::parse(p);
    ASSERT_FALSE(r) << c.offset;
    EXPECT_EQ(r.error(), DropReason::kArpUnsupported) << c.offset;
    EXPECT_FALSE(ArpView::check(p)) << c.offset;
  }
}

TEST(WireArp, RejectsOperationsOtherThanRequestAndReply) {
  // 0 is reserved, 3/4 are RARP (RFC 903), 8/9 InARP (RFC 2390).
  for (uint8_t op : {0, 3, 4, 8, 9, 255}) {
    std::vector<uint8_t> p = kRequest;
    p[7] = op;
    auto r = ArpRepr::parse(p);
    ASSERT_FALSE(r) << int{op};
    EXPECT_EQ(r.error(), DropReason::kArpBadOperation) << int{op};
  }
  // A view is still fine: the offsets are right, only the policy differs.
  std::vector<uint8_t> p = kRequest;
  p[7] = 3;
  auto v = ArpView::check(p);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->operation(), 3);
}

}  // namespace
}  // namespace shunt::wire
