// Fault rules measured on real TCP traffic between two stacks: stack A sits
// behind a RuleFaultDevice, B on a clean port. Loss rate within statistical
// bounds, the Nth-packet rule hitting exactly that packet (the first
// SYN-ACK: the connection waits one SYN retransmission), a delay shifting
// the handshake, a rate limit capping throughput, and determinism (same
// seed, same traffic: the same fault log).
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/fault_pair.h"

namespace shunt::testing {
namespace {

using Pair = FaultPair;

TEST(FaultRulesSim, DropRateWithinStatisticalBounds) {
  Pair p("both drop 5%", 5);
  ASSERT_TRUE(p.connect());
  ASSERT_TRUE(p.transfer(4u << 20)) << "4 MiB under 5% loss did not arrive intact";
  const FaultRuleCounters& c = p.dev.counters(0);
  // Binomial(n, 0.05): within 4 standard deviations.
  const double n = static_cast<double>(c.matched);
  const double sd = std::sqrt(n * 0.05 * 0.95);
  EXPECT_GT(n, 3000);
  EXPECT_NEAR(static_cast<double>(c.injected), n * 0.05, 4 * sd) << "matched " << c.matched;
  EXPECT_EQ(p.dev.log().size(), std::min<size_t>(c.injected, RuleFaultDevice::kLogCapacity));
}

TEST(FaultRulesSim, FirstSynAckDroppedCostsOneSynRetransmission) {
  Pair clean("", 1);
  auto t0 = clean.connect();
  ASSERT_TRUE(t0);
  EXPECT_LT(*t0, 10ms);

  Pair p("in drop nth=1 tcp synack", 1);
  auto t = p.connect();
  ASSERT_TRUE(t) << "no connection after the first SYN-ACK was dropped";
  // RFC 6298 (2.1): the SYN is sent again after the initial RTO of 1 s.
  EXPECT_GE(*t, 1s);
  EXPECT_LT(*t, 1s + 10ms);
  // B answers the second SYN, and its own SYN-ACK timer may fire too.
  EXPECT_GE(p.dev.counters(0).matched, 2u);
  EXPECT_EQ(p.dev.counters(0).injected, 1u);
  ASSERT_EQ(p.dev.log().size(), 1u);
  EXPECT_NE(p.dev.log()[0].to_string().find("in drop TCP 198.18.0.2:5001 > 198.18.0.1:"),
            std::string::npos)
      << p.dev.log()[0].to_string();
  EXPECT_NE(p.dev.log()[0].to_string().find("[S.]"), std::string::npos);
}

TEST(FaultRulesSim, DelayShiftsArrival) {
  Pair clean("", 1);
  auto t0 = clean.connect();
  ASSERT_TRUE(t0);
  // Only the SYN is late: the handshake takes 40 ms longer.
  Pair syn("out delay=40ms tcp syn", 1);
  auto t1 = syn.connect();
  ASSERT_TRUE(t1);
  EXPECT_GE(*t1 - *t0, 40ms);
  EXPECT_LT(*t1 - *t0, 41ms);
  // Every TCP frame A sends is late: SYN and the handshake's last ACK
  // (B's accept waits for it), 80 ms.
  Pair all("out delay=40ms tcp", 1);
  auto t2 = all.connect();
  ASSERT_TRUE(t2);
  EXPECT_GE(*t2 - *t0, 80ms);
  EXPECT_LT(*t2 - *t0, 81ms);
  EXPECT_EQ(all.dev.counters(0).injected, 2u);
}

TEST(FaultRulesSim, RateLimitCapsThroughput) {
  Pair p("out rate=10mbit", 1);
  ASSERT_TRUE(p.connect());
  const size_t bytes = 2u << 20;
  auto t = p.transfer(bytes);
  ASSERT_TRUE(t);
  const double mbit =
      static_cast<double>(bytes) * 8 / (static_cast<double>(t->count()) / 1e9) / 1e6;
  // Payload goodput: at most the link rate, and not far below it (headers
  // are ~4% of a full frame).
  EXPECT_LE(mbit, 10.0);
  EXPECT_GE(mbit, 8.5);
  EXPECT_GT(p.dev.counters(0).injected, 0u);
}

std::vector<std::string> fault_log(uint64_t seed, Duration* took) {
  Pair p("both drop 3%; out reorder=1 every=20; in delay=1ms~2ms; out duplicate 1%", seed);
  EXPECT_TRUE(p.connect());
  auto t = p.transfer(1u << 20);
  EXPECT_TRUE(t);
  *took = t.value_or(Duration::zero());
  std::vector<std::string> log;
  for (const FaultLogEntry& e : p.dev.log()) log.push_back(e.to_string());
  return log;
}

TEST(FaultRulesSim, SameSeedSameTrafficSameDecisions) {
  Duration t1{}, t2{}, t3{};
  const auto a = fault_log(42, &t1);
  const auto b = fault_log(42, &t2);
  const auto c = fault_log(43, &t3);
  EXPECT_GT(a.size(), 50u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(t1, t2);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace shunt::testing
