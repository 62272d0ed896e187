#include <gtest/gtest.h>

#include <set>

#include "stack/base/addr.h"
#include "stack/base/random.h"
#include "stack/base/result.h"

namespace shunt {
namespace {

TEST(Ipv4Address, ParseAndFormat) {
  auto a = Ipv4Address::parse("198.18.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, Ipv4Address(198, 18, 0, 2));
  EXPECT_EQ(a->to_string(), "198.18.0.2");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 "}) {
    EXPECT_FALSE(Ipv4Address::parse(bad)) << bad;
  }
}

TEST(Ipv4Cidr, PrefixArithmetic) {
  auto c = Ipv4Cidr::parse("198.18.0.2/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->netmask(), 0xffffff00u);
  EXPECT_EQ(c->network(), Ipv4Address(198, 18, 0, 0));
  EXPECT_EQ(c->directed_broadcast(), Ipv4Address(198, 18, 0, 255));
  EXPECT_TRUE(c->contains(Ipv4Address(198, 18, 0, 77)));
  EXPECT_FALSE(c->contains(Ipv4Address(198, 18, 1, 1)));
  EXPECT_EQ(Ipv4Cidr(Ipv4Address(), 0).netmask(), 0u);
  EXPECT_FALSE(Ipv4Cidr::parse("1.2.3.4/33"));
  EXPECT_FALSE(Ipv4Cidr::parse("1.2.3.4"));
}

TEST(MacAddress, ParseAndFormat) {
  auto m = MacAddress::parse("02:00:c6:12:00:02");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:c6:12:00:02");
  EXPECT_FALSE(m->is_multicast());
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  for (const char* bad : {"", "02:00:c6:12:00", "02:00:c6:12:00:02:03", "0g:00:00:00:00:00", "2:0:0:0:0:0"}) {
    EXPECT_FALSE(MacAddress::parse(bad)) << bad;
  }
}

TEST(Rng, DeterministicAndBounded) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(Rng(42).next(), c.next());
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = a.below(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST(SipHash, ReferenceVector) {
  // The SipHash paper's test key 00..0f and message 00..0e: 0xa129ca6149be45e5.
  SipKey key{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  std::vector<uint8_t> msg(15);
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(siphash24(key, msg), 0xa129ca6149be45e5ull);
}

TEST(Result, ValueAndError) {
  Result<int> ok = 5;
  Result<int> bad = Error::kAddrInUse;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Error::kAddrInUse);
  EXPECT_EQ(to_string(bad.error()), "EADDRINUSE");
  Result<> v;
  EXPECT_TRUE(v.ok());
  Result<> e = Error::kInval;
  EXPECT_EQ(e.error(), Error::kInval);
}

}  // namespace
}  // namespace shunt
