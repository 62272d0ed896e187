// RttEstimator against RFC 6298, with values computed by hand.
#include <gtest/gtest.h>

#include "stack/tcp/rtt_estimator.h"

namespace shunt::tcp {
namespace {

using std::chrono::microseconds;
using std::chrono::nanoseconds;

TEST(RttEstimator, BeforeAnySampleUsesTheInitialRto) {
  RttEstimator est;
  EXPECT_FALSE(est.has_sample());
  EXPECT_EQ(est.srtt(), Duration::zero());
  EXPECT_EQ(est.rttvar(), Duration::zero());
  EXPECT_EQ(est.min_rtt(), Duration::zero());
  EXPECT_EQ(est.rto(), 1s);  // RFC 6298 (2.1), Linux TCP_TIMEOUT_INIT
  EXPECT_EQ(est.backoff_count(), 0u);
}

TEST(RttEstimator, FirstSampleSetsSrttAndHalfOfItAsRttvar) {
  RttEstimator est;
  est.sample(100ms);
  EXPECT_TRUE(est.has_sample());
  EXPECT_EQ(est.srtt(), 100ms);
  EXPECT_EQ(est.rttvar(), 50ms);
  EXPECT_EQ(est.min_rtt(), 100ms);
  // RTO = SRTT + max(G, 4 * RTTVAR) = 100 + 200.
  EXPECT_EQ(est.rto(), 300ms);
}

TEST(RttEstimator, LaterSamplesFollowTheRfcFormulas) {
  RttEstimator est;
  est.sample(100ms);

  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
  est.sample(200ms);
  EXPECT_EQ(est.rttvar(), microseconds(62'500));
  EXPECT_EQ(est.srtt(), microseconds(112'500));
  EXPECT_EQ(est.rto(), microseconds(362'500));  // 112.5 + 4 * 62.5

  // RTTVAR uses the SRTT before this sample: 3/4 * 62.5 + 1/4 * |112.5 - 50| = 62.5;
  // SRTT = 7/8 * 112.5 + 1/8 * 50 = 104.6875.
  est.sample(50ms);
  EXPECT_EQ(est.rttvar(), microseconds(62'500));
  EXPECT_EQ(est.srtt(), nanoseconds(104'687'500));
  EXPECT_EQ(est.rto(), nanoseconds(354'687'500));
  EXPECT_EQ(est.min_rtt(), 50ms);

  // A sample equal to SRTT: the variance decays by 3/4, SRTT stays.
  est.sample(nanoseconds(104'687'500));
  EXPECT_EQ(est.rttvar(), nanoseconds(46'875'000));
  EXPECT_EQ(est.srtt(), nanoseconds(104'687'500));
  // 4 * RTTVAR = 187.5 ms is below the 200 ms floor of the variance term
  // (Linux): 104.6875 + 200.
  EXPECT_EQ(est.rto(), nanoseconds(304'687'500));
  EXPECT_EQ(est.min_rtt(), 50ms);
}

TEST(RttEstimator, MinRtoFloorsTheVarianceTerm) {
  RttEstimator est;
  est.sample(1ms);  // 4 * 0.5 = 2 ms, below the floor: 1 + 200 (Linux)
  EXPECT_EQ(est.rto(), 201ms);

  RttEstimator custom(RttConfig{.min_rto = 5ms, .max_rto = 60s, .initial_rto = 3s});
  EXPECT_EQ(custom.rto(), 3s);
  custom.sample(1ms);
  EXPECT_EQ(custom.rto(), 6ms);
  custom.sample(1ms);
  custom.sample(1ms);
  EXPECT_EQ(custom.rto(), 6ms);
}

TEST(RttEstimator, ClockGranularityBoundsTheVarianceTerm) {
  RttEstimator est(RttConfig{.min_rto = microseconds(1), .max_rto = 60s, .initial_rto = 1s});
  est.sample(microseconds(10));  // 4 * RTTVAR = 20 us < G = 1 ms
  EXPECT_EQ(est.rto(), microseconds(10) + 1ms);
  RttEstimator zero(RttConfig{.min_rto = microseconds(1), .max_rto = 60s, .initial_rto = 1s});
  zero.sample(Duration::zero());
  EXPECT_EQ(zero.rto(), 1ms);
}

TEST(RttEstimator, MaxRtoCapsTheComputedValue) {
  RttEstimator est;
  est.sample(100s);  // 100 + 200 s
  EXPECT_EQ(est.rto(), 120s);
}

TEST(RttEstimator, BackoffDoublesAndSaturatesAtMaxRto) {
  RttEstimator est;
  est.sample(100ms);
  ASSERT_EQ(est.rto(), 300ms);
  Duration expected = 300ms;
  for (int i = 1; i <= 8; ++i) {
    est.backoff();
    expected *= 2;
    EXPECT_EQ(est.rto(), expected) << i;
    EXPECT_EQ(est.backoff_count(), static_cast<uint32_t>(i));
  }
  EXPECT_EQ(est.rto(), 76'800ms);
  est.backoff();  // 153.6 s would exceed the maximum
  EXPECT_EQ(est.rto(), 120s);
  for (int i = 0; i < 100; ++i) {
    est.backoff();
  }
  EXPECT_EQ(est.rto(), 120s);
  EXPECT_EQ(est.backoff_count(), 109u);
  // The estimate itself is untouched by backoff.
  EXPECT_EQ(est.srtt(), 100ms);
  EXPECT_EQ(est.rttvar(), 50ms);
}

TEST(RttEstimator, BackoffBeforeAnySampleDoublesTheInitialRto) {
  RttEstimator est;  // Linux's SYN retransmissions: 1, 2, 4, 8 s ...
  est.backoff();
  EXPECT_EQ(est.rto(), 2s);
  est.backoff();
  EXPECT_EQ(est.rto(), 4s);
  est.backoff();
  EXPECT_EQ(est.rto(), 8s);
}

TEST(RttEstimator, ResetBackoffRestoresTheComputedRto) {
  RttEstimator est;
  est.sample(100ms);
  est.backoff();
  est.backoff();
  ASSERT_EQ(est.rto(), 1200ms);
  est.reset_backoff();
  EXPECT_EQ(est.backoff_count(), 0u);
  EXPECT_EQ(est.rto(), 300ms);
}

TEST(RttEstimator, ValidSampleEndsBackoff) {
  RttEstimator est;
  est.sample(100ms);
  est.backoff();
  est.backoff();
  est.backoff();
  ASSERT_EQ(est.rto(), 2400ms);
  est.sample(100ms);  // RTTVAR 37.5, SRTT 100: 100 + max(150, 200)
  EXPECT_EQ(est.backoff_count(), 0u);
  EXPECT_EQ(est.rto(), 300ms);
}

}  // namespace
}  // namespace shunt::tcp
