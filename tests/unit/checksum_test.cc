#include "stack/wire/checksum.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace shunt {
namespace {

// A straightforward 16-bit-at-a-time reference (RFC 1071 section 4.1).
uint16_t reference(const std::vector<uint8_t>& d) {
  uint32_t sum = 0;
  size_t i = 0;
  for (; i + 1 < d.size(); i += 2) sum += (d[i] << 8) | d[i + 1];
  if (i < d.size()) sum += d[i] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 1.(4): bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (before the complement).
  std::vector<uint8_t> d = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum::compute(d), static_cast<uint16_t>(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
  // A real IPv4 header whose checksum field (b861) is right.
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_TRUE(checksum::verify(h));
  h[10] = h[11] = 0;
  EXPECT_EQ(checksum::compute(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x62;
  EXPECT_FALSE(checksum::verify(h));
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t off = 0; off < 8; ++off) {
    for (size_t len = 0; len + off <= data.size(); ++len) {
      std::vector<uint8_t> piece(data.begin() + off, data.begin() + off + len);
      ASSERT_EQ(checksum::compute({data.data() + off, len}), reference(piece))
          << "off " << off << " len " << len;
    }
  }
}

TEST(Checksum, AllOnesDoesNotOverflow) {
  std::vector<uint8_t> d(65536, 0xff);
  EXPECT_EQ(checksum::compute(d), reference(d));
}

TEST(Checksum, PiecesSumLikeTheWhole) {
  std::vector<uint8_t> d(100);
  std::iota(d.begin(), d.end(), 1);
  uint32_t s = checksum::partial({d.data(), 40});
  s = checksum::partial({d.data() + 40, 60}, s);
  EXPECT_EQ(checksum::finish(s), checksum::compute(d));
}

TEST(Checksum, PseudoHeader) {
  // 198.18.0.1 -> 198.18.0.2, UDP, length 12 summed as words.
  uint32_t s = checksum::pseudo_header(Ipv4Address(198, 18, 0, 1), Ipv4Address(198, 18, 0, 2), 17, 12);
  std::vector<uint8_t> ph = {198, 18, 0, 1, 198, 18, 0, 2, 0, 17, 0, 12};
  EXPECT_EQ(checksum::finish(s), checksum::compute(ph));
}

TEST(Checksum, IncrementalUpdateMatchesRecompute) {
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  uint16_t c = checksum::compute(h);
  // Decrement the TTL (byte 8) as a router would: word 0x4011 -> 0x3f11.
  h[8] = 0x3f;
  EXPECT_EQ(checksum::update16(c, 0x4011, 0x3f11), checksum::compute(h));
  // Rewrite the source address.
  uint16_t c2 = checksum::compute(h);
  h[12] = 198; h[13] = 18; h[14] = 0; h[15] = 9;
  EXPECT_EQ(checksum::update32(c2, 0xc0a80001, 0xc6120009), checksum::compute(h));
}

}  // namespace
}  // namespace shunt
