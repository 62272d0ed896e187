#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/ethernet.h"

namespace shunt::wire {
namespace {

// The header of an ARP request as Linux sends it: broadcast destination,
// source 02:00:00:00:00:01, EtherType 0x0806, then 28 bytes of ARP.
// clang-format off
const std::vector<uint8_t> kArpRequestFrame = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // dst
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src
    0x08, 0x06,                          // EtherType ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc6, 0x12, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
};
// clang-format on

const MacAddress kMacA({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});

TEST(WireEthernet, DecodesGoldenHeader) {
  auto r = EthernetRepr::parse(kArpRequestFrame);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dst, MacAddress::broadcast());
  EXPECT_EQ(r->src, kMacA);
  EXPECT_EQ(r->ethertype, ethertype::kArp);

  auto v = EthernetView::check(kArpRequestFrame);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->ethertype(), ethertype::kArp);
  EXPECT_EQ(v->payload().size(), 28u);
  EXPECT_EQ(v->payload()[0], 0x00);
  EXPECT_EQ(v->payload()[1], 0x01);
}

TEST(WireEthernet, EncodesGoldenHeader) {
  EthernetRepr r{.dst = MacAddress::broadcast(), .src = kMacA, .ethertype = ethertype::kArp};
  std::vector<uint8_t> out(EthernetRepr::header_len(), 0xee);
  r.emit(out);
  EXPECT_EQ(out, std::vector<uint8_t>(kArpRequestFrame.begin(), kArpRequestFrame.begin() + 14));
}

TEST(WireEthernet, RoundTripsAnyEtherType) {
  // The parser takes no position on the type (VLAN, IPv6, 802.3 lengths):
  // that is the caller's policy.
  for (uint16_t type : {ethertype::kIpv4, ethertype::kVlan, ethertype::kQinQ, ethertype::kIpv6,
                        uint16_t{0x05dc}, uint16_t{0xffff}}) {
    EthernetRepr r{.dst = kMacA, .src = MacAddress::broadcast(), .ethertype = type};
    std::vector<uint8_t> out(14);
    r.emit(out);
    auto back = EthernetRepr::parse(out);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, r);
  }
}

TEST(WireEthernet, HeaderOnlyFrameHasEmptyPayload) {
  std::vector<uint8_t> frame(kArpRequestFrame.begin(), kArpRequestFrame.begin() + 14);
  auto v = EthernetView::check(frame);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->payload().empty());
}

TEST(WireEthernet, RejectsEveryTruncatedLength) {
  for (size_t len = 0; len < kEthernetHeaderLen; ++len) {
    auto r = EthernetRepr::parse(Bytes(kArpRequestFrame).first(len));
    ASSERT_FALSE(r) << len;
    EXPECT_EQ(r.error(), DropReason::kEthTruncated) << len;
  }
}

}  // namespace
}  // namespace shunt::wire
