// Congestion control: NewReno (RFC 5681/6582/3465), CUBIC (RFC 9438) with
// HyStart++ (RFC 9406), driven by a virtual ACK clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "stack/tcp/congestion.h"
#include "stack/tcp/cubic.h"
#include "stack/tcp/newreno.h"

namespace shunt::tcp {
namespace {

constexpr uint32_t kMss = 1460;
const Instant kStart = instant_from_ns(1'000'000'000);

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
double segments(const CongestionControl& cc) {
  return static_cast<double>(cc.cwnd()) / kMss;
}

// A sender that always has data (unless told otherwise) and an ACK clock: each
// round trip, the cwnd sent in the previous one comes back as ACKs spread
// evenly over the RTT, `per_ack` segments each.
struct AckClock {
  CongestionControl& cc;
  Instant now = kStart;
  Duration rtt = 100ms;
  uint32_t per_ack = 1;
  bool send_rtt_samples = true;

  void ack(uint32_t bytes, bool app_limited = false) {
    AckSample s;
    s.now = now;
    s.bytes_acked = bytes;
    if (send_rtt_samples) {
      s.rtt = rtt;
    }
    s.bytes_in_flight = std::max(cc.cwnd(), bytes);
    s.app_limited = app_limited;
    cc.on_ack(s);
  }

  // One RTT's worth of ACKs: the cwnd at the round's start comes back in
  // ACKs of `per_ack` segments. Stops early, after an ACK, if `stop` says so.
  void round(bool app_limited = false, const std::function<bool()>& stop = nullptr) {
    uint32_t segs = std::max<uint32_t>(1, cc.cwnd() / kMss);
    uint32_t acks = (segs + per_ack - 1) / per_ack;
    Duration step = rtt / acks;
    for (uint32_t i = 0; i < acks; ++i) {
      now += step;
      uint32_t n = std::min(per_ack, segs - i * per_ack);
      ack(kMss * n, app_limited);
      if (stop && stop()) {
        return;
      }
    }
  }
};

// Slow start, one segment per ACK and no RTT samples (so HyStart++ never
// intervenes), until cwnd is exactly `target` segments.
void grow_to(CongestionControl& cc, uint32_t target, Instant now) {
  ASSERT_TRUE(cc.in_slow_start());
  while (cc.cwnd() < target * kMss) {
    cc.on_ack(AckSample{.now = now, .bytes_acked = kMss, .rtt = {}, .bytes_in_flight = cc.cwnd()});
  }
  ASSERT_EQ(cc.cwnd(), target * kMss);
}

// ---- Shared: initial window, factory -----------------------------------------

TEST(CongestionControl, InitialWindowFollowsRfc6928) {
  // min(10*MSS, max(2*MSS, 14600))
  EXPECT_EQ(initial_window(1460), 14600u);  // 10 segments
  EXPECT_EQ(initial_window(536), 5360u);    // 10 segments
  EXPECT_EQ(initial_window(1000), 10000u);  // 10 segments
  EXPECT_EQ(initial_window(2000), 14600u);  // 7.3 segments: the 14600 byte cap
  EXPECT_EQ(initial_window(9000), 18000u);  // 2 segments: the 2*MSS floor
  EXPECT_EQ(initial_window(100), 1000u);
  for (std::string_view name : available_congestion_controls()) {
    auto cc = make_congestion_control(name, 9000, kStart);
    ASSERT_NE(cc, nullptr) << name;
    EXPECT_EQ(cc->cwnd(), 18000u) << name;
    EXPECT_EQ(cc->ssthresh(), CongestionControl::kInitialSsthresh) << name;  // RFC 5681 3.1
    EXPECT_EQ(cc->mss(), 9000u) << name;
    EXPECT_TRUE(cc->in_slow_start()) << name;
  }
}

TEST(CongestionControl, FactoryByName) {
  auto cubic = make_congestion_control("cubic", kMss, kStart);
  ASSERT_NE(cubic, nullptr);
  EXPECT_EQ(cubic->name(), "cubic");
  EXPECT_NE(dynamic_cast<Cubic*>(cubic.get()), nullptr);
  auto reno = make_congestion_control("reno", kMss, kStart);
  ASSERT_NE(reno, nullptr);
  EXPECT_EQ(reno->name(), "reno");
  EXPECT_NE(dynamic_cast<NewReno*>(reno.get()), nullptr);
  for (std::string_view bad : {"", "bbr", "newreno", "CUBIC", "cubic "}) {
    EXPECT_EQ(make_congestion_control(bad, kMss, kStart), nullptr) << bad;
  }
  EXPECT_EQ(kDefaultCongestionControl, "cubic");
  std::vector<std::string_view> names(available_congestion_controls().begin(),
                                      available_congestion_controls().end());
  EXPECT_EQ(names, (std::vector<std::string_view>{"cubic", "reno"}));
  for (std::string_view name : names) {
    EXPECT_EQ(make_congestion_control(name, kMss, kStart)->name(), name);
  }
}

TEST(CongestionControl, SetMssBeforeUseRecomputesTheInitialWindow) {
  for (std::string_view name : available_congestion_controls()) {
    auto cc = make_congestion_control(name, 536, kStart);
    EXPECT_EQ(cc->cwnd(), 5360u);
    cc->set_mss(1460);
    EXPECT_EQ(cc->cwnd(), 14600u) << name;
    cc->set_mss(9000);
    EXPECT_EQ(cc->cwnd(), 18000u) << name;
    EXPECT_EQ(cc->mss(), 9000u);
  }
}

TEST(CongestionControl, SetMssLaterKeepsTheWindowInSegments) {
  NewReno cc(kMss);
  grow_to(cc, 20, kStart);
  cc.on_congestion_event(kStart, 40 * kMss);  // ssthresh = cwnd = 20 segments
  cc.set_mss(1200);
  EXPECT_EQ(cc.cwnd(), 20u * 1200);
  EXPECT_EQ(cc.ssthresh(), 20u * 1200);
}

// ---- NewReno ------------------------------------------------------------------

TEST(NewReno, SlowStartDoublesPerRoundTrip) {
  NewReno cc(kMss);
  AckClock clock{cc};
  EXPECT_EQ(cc.cwnd(), 14600u);
  for (uint32_t expected : {20u, 40u, 80u, 160u, 320u}) {
    clock.round();
    EXPECT_EQ(cc.cwnd(), expected * kMss);
  }
}

TEST(NewReno, SlowStartWithDelayedAcksStillDoubles) {
  // RFC 3465 L = 2*SMSS: an ACK for two segments grows cwnd by two.
  NewReno cc(kMss);
  AckClock clock{cc};
  clock.per_ack = 2;
  for (uint32_t expected : {20u, 40u, 80u}) {
    clock.round();
    EXPECT_EQ(cc.cwnd(), expected * kMss);
  }
}

TEST(NewReno, SlowStartByteCountingLimitIsTwoSegments) {
  NewReno cc(kMss);
  // A stretch ACK for 8 segments grows cwnd by L = 2*SMSS only.
  cc.on_ack(AckSample{.now = kStart, .bytes_acked = 8 * kMss, .bytes_in_flight = 10 * kMss});
  EXPECT_EQ(cc.cwnd(), 12 * kMss);
  // A partial segment counts its bytes.
  cc.on_ack(AckSample{.now = kStart, .bytes_acked = 100, .bytes_in_flight = 10 * kMss});
  EXPECT_EQ(cc.cwnd(), 12 * kMss + 100);
}

TEST(NewReno, SlowStartStopsAtSsthresh) {
  NewReno cc(kMss);
  cc.on_rto(kStart, 100 * kMss);  // ssthresh = 50 segments, cwnd = 1
  ASSERT_EQ(cc.ssthresh(), 50 * kMss);
  ASSERT_EQ(cc.cwnd(), kMss);
  AckClock clock{cc};
  for (uint32_t expected : {2u, 4u, 8u, 16u, 32u}) {
    clock.round();
    EXPECT_EQ(cc.cwnd(), expected * kMss);
  }
  // 32 ACKs: 18 take cwnd to ssthresh, the other 14 count towards
  // congestion avoidance (fewer than cwnd bytes, no increase yet).
  clock.round();
  EXPECT_EQ(cc.cwnd(), 50 * kMss);
  EXPECT_FALSE(cc.in_slow_start());
  EXPECT_EQ(cc.bytes_acked_in_ca(), 14 * kMss);
}

TEST(NewReno, ByteCountingCarriesBytesAcrossTheSsthreshCrossingAndIncrements) {
  NewReno cc(kMss);
  cc.on_rto(kStart, 40 * kMss);  // ssthresh 20 segments
  grow_to(cc, 19, kStart);
  // One ACK for two segments: one takes cwnd to ssthresh, the other is
  // congestion avoidance's (Linux tcp_slow_start() returns it likewise).
  cc.on_ack(AckSample{.now = kStart, .bytes_acked = 2 * kMss, .bytes_in_flight = 19 * kMss});
  EXPECT_EQ(cc.cwnd(), 20 * kMss);
  EXPECT_EQ(cc.bytes_acked_in_ca(), kMss);
  // A stretch ACK of 24 segments: cwnd (20) of them buy one SMSS, the rest
  // (5 with the one above) carry over.
  cc.on_ack(AckSample{.now = kStart, .bytes_acked = 24 * kMss, .bytes_in_flight = 20 * kMss});
  EXPECT_EQ(cc.cwnd(), 21 * kMss);
  EXPECT_EQ(cc.bytes_acked_in_ca(), 5 * kMss);
}

TEST(NewReno, CongestionAvoidanceAddsOneSegmentPerRoundTrip) {
  for (uint32_t per_ack : {1u, 2u}) {
    NewReno cc(kMss);
    grow_to(cc, 40, kStart);
    cc.on_congestion_event(kStart, 40 * kMss);
    cc.on_recovery_exit(kStart);
    ASSERT_EQ(cc.cwnd(), 20 * kMss);
    AckClock clock{cc};
    clock.per_ack = per_ack;
    for (uint32_t i = 1; i <= 30; ++i) {
      clock.round();
      EXPECT_EQ(cc.cwnd(), (20 + i) * kMss) << "round " << i << " per_ack " << per_ack;
    }
  }
}

TEST(NewReno, CongestionEventHalvesTheFlight) {
  NewReno cc(kMss);
  grow_to(cc, 100, kStart);
  // RFC 5681 (4) / RFC 6582: ssthresh = max(FlightSize / 2, 2*SMSS), cwnd = ssthresh.
  cc.on_congestion_event(kStart, 100 * kMss);
  EXPECT_EQ(cc.ssthresh(), 50 * kMss);
  EXPECT_EQ(cc.cwnd(), 50 * kMss);
  cc.on_recovery_exit(kStart);
  EXPECT_EQ(cc.cwnd(), 50 * kMss);

  // FlightSize, not cwnd: a sender with little in flight drops further.
  cc.on_congestion_event(kStart, 30 * kMss);
  EXPECT_EQ(cc.ssthresh(), 15 * kMss);
  EXPECT_EQ(cc.cwnd(), 15 * kMss);
  // Never below 2*SMSS.
  cc.on_congestion_event(kStart, kMss);
  EXPECT_EQ(cc.ssthresh(), 2 * kMss);
  EXPECT_EQ(cc.cwnd(), 2 * kMss);
}

TEST(NewReno, RtoGivesTheLossWindow) {
  NewReno cc(kMss);
  grow_to(cc, 64, kStart);
  cc.on_rto(kStart, 64 * kMss);
  EXPECT_EQ(cc.cwnd(), kMss);  // RFC 5681 3.1: LW = 1 SMSS
  EXPECT_EQ(cc.ssthresh(), 32 * kMss);
  EXPECT_TRUE(cc.in_slow_start());
  cc.on_rto(kStart, 2 * kMss);
  EXPECT_EQ(cc.cwnd(), kMss);
  EXPECT_EQ(cc.ssthresh(), 2 * kMss);
}

TEST(NewReno, AppLimitedAcksDoNotGrowTheWindow) {
  NewReno cc(kMss);
  AckClock clock{cc};
  for (int i = 0; i < 5; ++i) {
    clock.round(/*app_limited=*/true);
  }
  EXPECT_EQ(cc.cwnd(), 14600u);  // slow start frozen
  grow_to(cc, 40, clock.now);
  cc.on_congestion_event(clock.now, 40 * kMss);
  for (int i = 0; i < 5; ++i) {
    clock.round(/*app_limited=*/true);
  }
  EXPECT_EQ(cc.cwnd(), 20 * kMss);  // congestion avoidance frozen
  EXPECT_EQ(cc.bytes_acked_in_ca(), 0u);
  clock.round();
  EXPECT_EQ(cc.cwnd(), 21 * kMss);
}

TEST(NewReno, IdleRestartFallsBackToTheInitialWindow) {
  NewReno cc(kMss);
  grow_to(cc, 100, kStart);
  cc.on_congestion_event(kStart, 200 * kMss);  // ssthresh = cwnd = 100 segments
  cc.on_idle_restart(kStart + 10s, 1s);
  EXPECT_EQ(cc.cwnd(), 10 * kMss);       // RFC 5681 4.1: min(IW, cwnd)
  EXPECT_EQ(cc.ssthresh(), 100 * kMss);  // max(ssthresh, 3/4 cwnd)
  cc.on_rto(kStart, 4 * kMss);           // cwnd = 1, ssthresh = 2
  cc.on_idle_restart(kStart + 20s, 1s);
  EXPECT_EQ(cc.cwnd(), kMss);  // already below IW
  EXPECT_EQ(cc.ssthresh(), 2 * kMss);
}

TEST(NewReno, IdleRestartRemembersThreeQuartersOfTheWindow) {
  NewReno cc(kMss);
  grow_to(cc, 40, kStart);
  cc.on_congestion_event(kStart, 40 * kMss);  // ssthresh = cwnd = 20
  AckClock clock{cc};
  for (int i = 0; i < 20; ++i) {
    clock.round();
  }
  ASSERT_EQ(cc.cwnd(), 40 * kMss);
  cc.on_idle_restart(clock.now + 10s, 1s);
  EXPECT_EQ(cc.cwnd(), 10 * kMss);
  EXPECT_EQ(cc.ssthresh(), 30 * kMss);  // RFC 2861 3 / Linux tcp_cwnd_restart()
  // Slow start takes it back there.
  clock.round();
  clock.round();
  EXPECT_EQ(cc.cwnd(), 30 * kMss);
}

// ---- CUBIC ----------------------------------------------------------------------

CubicConfig no_hystart() {
  return CubicConfig{.fast_convergence = true, .hystart = false};
}

TEST(Cubic, CongestionEventMultipliesByBeta) {
  Cubic cc(kMss, no_hystart());
  EXPECT_EQ(cc.name(), "cubic");
  EXPECT_EQ(cc.cwnd(), 14600u);
  EXPECT_FALSE(cc.w_max());
  grow_to(cc, 1000, kStart);
  cc.on_congestion_event(kStart, 1000 * kMss);
  // RFC 9438 4.6: ssthresh = cwnd = 0.7 * flight; W_max = cwnd_prior = 1000.
  EXPECT_EQ(cc.ssthresh(), 700 * kMss);
  EXPECT_EQ(cc.cwnd(), 700 * kMss);
  ASSERT_TRUE(cc.w_max());
  EXPECT_DOUBLE_EQ(*cc.w_max(), 1000.0);
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), 1000.0);
  // At least two segments.
  cc.on_congestion_event(kStart, 2 * kMss);
  EXPECT_EQ(cc.cwnd(), 2 * kMss);
}

TEST(Cubic, EpochComputesK) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 1000, kStart);
  cc.on_congestion_event(kStart, 1000 * kMss);
  cc.on_recovery_exit(kStart + 100ms);
  EXPECT_FALSE(cc.epoch_start());
  AckClock clock{cc, kStart + 100ms};
  clock.ack(kMss);
  ASSERT_TRUE(cc.epoch_start());
  EXPECT_EQ(*cc.epoch_start(), clock.now);
  // K = cbrt(W_max * (1 - beta) / C) = cbrt(1000 * 0.3 / 0.4) = cbrt(750).
  EXPECT_NEAR(cc.k(), 9.0856, 1e-4);
  EXPECT_NEAR(cc.w_cubic(0), 700.0, 1e-9);
  EXPECT_NEAR(cc.w_cubic(cc.k()), 1000.0, 1e-9);
  EXPECT_NEAR(cc.w_est(), 700.0 + Cubic::kAlpha / 700, 1e-9);  // RFC 9438 Figure 4
}

// Runs the ACK clock until `t` seconds into the epoch.
void run_until(AckClock& clock, const Cubic& cc, double t) {
  while (seconds(clock.now - *cc.epoch_start()) < t) {
    clock.round();
  }
}

class CubicCurve : public testing::TestWithParam<uint32_t> {};

// With one ACK per segment, or delayed ACKs (one per two segments): growth is
// counted per SMSS acknowledged, so both follow the same curve.
TEST_P(CubicCurve, WindowFollowsTheCubicCurve) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 1000, kStart);
  cc.on_congestion_event(kStart, 1000 * kMss);
  cc.on_recovery_exit(kStart);
  AckClock clock{cc};
  clock.per_ack = GetParam();
  clock.ack(kMss);  // starts the epoch
  const double k = cc.k();
  ASSERT_NEAR(k, 9.0856, 1e-4);

  auto expect_on_curve = [&](double t) {
    run_until(clock, cc, t);
    double now = seconds(clock.now - *cc.epoch_start());
    double formula = Cubic::kC * std::pow(now - k, 3) + 1000.0;
    // Within two segments (the ACK clock tracks the curve to ~0.1 segment).
    EXPECT_NEAR(segments(cc), formula, 2.0) << "t = " << now;
    return segments(cc);
  };
  // Concave: most of the way back to W_max by K/2, W_max at K, convex after.
  double at_half_k = expect_on_curve(k / 2);
  EXPECT_GT(at_half_k, 950);
  EXPECT_LT(at_half_k, 1000);
  double at_k = expect_on_curve(k);
  EXPECT_NEAR(at_k, 1000, 5);
  double at_2k = expect_on_curve(2 * k);
  EXPECT_NEAR(at_2k, 1300, 13);
  // The Reno estimate grew far more slowly and never took over.
  EXPECT_LT(cc.w_est(), 800);
}

INSTANTIATE_TEST_SUITE_P(AckRatio, CubicCurve, testing::Values(1u, 2u));

TEST(Cubic, PlateausAroundWmax) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 1000, kStart);
  cc.on_congestion_event(kStart, 1000 * kMss);
  AckClock clock{cc};
  clock.ack(kMss);
  const double k = cc.k();
  auto growth_over = [&](double from, double to) {
    run_until(clock, cc, from);
    double before = segments(cc);
    run_until(clock, cc, to);
    return segments(cc) - before;
  };
  double early = growth_over(0, 1);                     // concave, fast
  double before_k = growth_over(k - 1.5, k - 0.5);      // slowing down
  double near_k = growth_over(k - 0.5, k + 0.5);        // flat
  double after_k = growth_over(k + 0.5, k + 1.5);       // speeding up
  double late = growth_over(2 * k - 0.5, 2 * k + 0.5);  // convex, fast again
  EXPECT_GT(early, 50);
  EXPECT_LT(before_k, early / 10);
  EXPECT_LT(near_k, 2);
  EXPECT_LT(near_k, before_k);
  EXPECT_LT(near_k, after_k);
  EXPECT_LT(after_k, late / 10);
  EXPECT_GT(late, 50);
}

TEST(Cubic, FastConvergenceLowersWmax) {
  for (bool fast : {true, false}) {
    Cubic cc(kMss, CubicConfig{.fast_convergence = fast, .hystart = false});
    grow_to(cc, 1000, kStart);
    cc.on_congestion_event(kStart, 1000 * kMss);
    AckClock clock{cc};
    while (cc.cwnd() < 900 * kMss) {
      clock.round();
    }
    double cwnd = segments(cc);
    ASSERT_LT(cwnd, 1000);
    // A loss below the previous W_max: RFC 9438 4.7.
    cc.on_congestion_event(clock.now, cc.cwnd());
    ASSERT_TRUE(cc.w_max());
    if (fast) {
      EXPECT_NEAR(*cc.w_max(), cwnd * (1 + 0.7) / 2, 1e-9);
    } else {
      EXPECT_NEAR(*cc.w_max(), cwnd, 1e-9);
    }
    EXPECT_NEAR(segments(cc), cwnd * 0.7, 0.01);
    EXPECT_NEAR(cc.cwnd_prior(), cwnd, 1e-9);
  }
}

TEST(Cubic, LossAboveWmaxSetsWmaxToCwnd) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 100, kStart);
  cc.on_congestion_event(kStart, 100 * kMss);
  AckClock clock{cc};
  while (cc.cwnd() < 120 * kMss) {
    clock.round();
  }
  double cwnd = segments(cc);
  cc.on_congestion_event(clock.now, cc.cwnd());
  EXPECT_NEAR(*cc.w_max(), cwnd, 1e-9);
}

TEST(Cubic, RenoFriendlyRegionDominatesAtShortRtt) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 20, kStart);
  cc.on_congestion_event(kStart, 20 * kMss);  // cwnd 14, W_max 20
  AckClock clock{cc};
  clock.rtt = 1ms;
  clock.ack(kMss);
  for (int i = 0; i < 100; ++i) {
    clock.round();
  }
  double t = seconds(clock.now - *cc.epoch_start());
  ASSERT_LT(t, 0.15);
  // The cubic curve has barely moved (K = cbrt(15) = 2.47 s) ...
  EXPECT_LT(cc.w_cubic(t), 16);
  // ... while Reno would have added about one segment per RTT: alpha_cubic
  // (0.53) per RTT until W_est reaches cwnd_prior = 20, then 1 per RTT.
  double reno_estimate = 20 + (100 - (20 - 14) / Cubic::kAlpha);
  EXPECT_NEAR(segments(cc), reno_estimate, 3);
  EXPECT_NEAR(segments(cc), cc.w_est(), 1);
}

TEST(Cubic, TargetIsClampedToOneAndAHalfCwnd) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 100, kStart);
  cc.on_congestion_event(kStart, 100 * kMss);  // cwnd 70
  // A huge smoothed RTT puts W_cubic(t + RTT) far above 1.5 * cwnd.
  AckClock clock{cc};
  clock.rtt = 20s;
  for (int i = 0; i < 70; ++i) {
    clock.now += 10ms;
    clock.ack(kMss);
    EXPECT_GT(cc.w_cubic(seconds(clock.now - *cc.epoch_start()) + 20), 1000);
  }
  // Unclamped, the first ACK alone would have added (1600 - 70) / 70 segments.
  EXPECT_GT(segments(cc), 85);
  EXPECT_LE(segments(cc), 70 * 1.5);
}

TEST(Cubic, AppLimitedTimeIsNotPartOfTheEpoch) {
  auto run = [](bool with_pause) {
    Cubic cc(kMss, no_hystart());
    grow_to(cc, 1000, kStart);
    cc.on_congestion_event(kStart, 1000 * kMss);
    AckClock clock{cc};
    clock.ack(kMss);
    for (int i = 0; i < 20; ++i) {
      clock.round();
    }
    if (with_pause) {
      double before = segments(cc);
      for (int i = 0; i < 50; ++i) {
        clock.round(/*app_limited=*/true);
      }
      EXPECT_EQ(segments(cc), before);  // RFC 9438 5.8: no growth
    }
    for (int i = 0; i < 20; ++i) {
      clock.round();
    }
    return segments(cc);
  };
  double paused = run(true);
  double straight = run(false);
  // Had the 5 s pause counted, the window would be ~50 segments larger.
  EXPECT_NEAR(paused, straight, 1.0);
}

TEST(Cubic, RtoRestartsFromOneSegmentWithKZero) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 200, kStart);
  cc.on_congestion_event(kStart, 200 * kMss);  // W_max 200, cwnd 140
  ASSERT_TRUE(cc.w_max());
  AckClock warmup{cc};
  warmup.round();  // an epoch with K > 0 is running
  ASSERT_GT(cc.k(), 1.0);
  double before = segments(cc);
  cc.on_rto(warmup.now, 100 * kMss);
  // RFC 9438 4.8: ssthresh by beta_cubic, cwnd = 1 segment, W_max unknown.
  EXPECT_EQ(cc.cwnd(), kMss);
  EXPECT_EQ(cc.ssthresh(), 70 * kMss);
  EXPECT_FALSE(cc.w_max());
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), before);
  EXPECT_FALSE(cc.epoch_start());
  AckClock clock{cc, warmup.now};
  while (cc.in_slow_start()) {
    clock.round(false, [&] { return !cc.in_slow_start(); });
  }
  EXPECT_EQ(cc.cwnd(), 70 * kMss);
  EXPECT_FALSE(cc.epoch_start());
  clock.ack(kMss);
  // The first congestion avoidance stage after a timeout: W_max = cwnd_epoch,
  // K = 0, W_est = cwnd_epoch: convex growth from here.
  ASSERT_TRUE(cc.epoch_start());
  ASSERT_TRUE(cc.w_max());
  EXPECT_NEAR(*cc.w_max(), 70.0, 0.01);
  EXPECT_NEAR(cc.k(), 0.0, 0.01);
  double start = segments(cc);
  for (int i = 0; i < 30; ++i) {
    clock.round();
  }
  double t = seconds(clock.now - *cc.epoch_start());
  EXPECT_NEAR(segments(cc), std::max(cc.w_cubic(t), cc.w_est()), 2);
  EXPECT_GT(segments(cc), start + 10);
}

TEST(Cubic, RecoveryExitDeflatesToSsthresh) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 200, kStart);
  cc.on_congestion_event(kStart, 100 * kMss);  // flight below cwnd
  EXPECT_EQ(cc.ssthresh(), 70 * kMss);
  EXPECT_DOUBLE_EQ(*cc.w_max(), 200.0);
  cc.on_recovery_exit(kStart + 1s);
  EXPECT_EQ(cc.cwnd(), 70 * kMss);
}

TEST(Cubic, IdleRestart) {
  Cubic cc(kMss, no_hystart());
  grow_to(cc, 100, kStart);
  cc.on_congestion_event(kStart, 100 * kMss);
  AckClock clock{cc};
  clock.round();
  ASSERT_TRUE(cc.epoch_start());
  cc.on_idle_restart(clock.now + 5s, 300ms);
  EXPECT_EQ(cc.cwnd(), 10 * kMss);
  EXPECT_GE(cc.ssthresh(), 70 * kMss);
  EXPECT_FALSE(cc.epoch_start());
  EXPECT_DOUBLE_EQ(*cc.w_max(), 100.0);
}

// ---- HyStart++ ------------------------------------------------------------------

TEST(CubicHyStart, ConstantRttKeepsSlowStart) {
  Cubic cc(kMss);
  EXPECT_TRUE(cc.config().hystart);
  AckClock clock{cc};
  for (int i = 0; i < 10; ++i) {
    clock.round();
  }
  EXPECT_EQ(cc.cwnd(), 10u * 1024 * kMss);
  EXPECT_EQ(cc.ssthresh(), CongestionControl::kInitialSsthresh);
  EXPECT_EQ(cc.hystart_phase(), HyStartPlusPlus::Phase::kSlowStart);
}

TEST(CubicHyStart, RisingRttEndsSlowStartThroughCss) {
  Cubic cc(kMss);
  AckClock clock{cc};
  for (int i = 0; i < 4; ++i) {
    clock.round();
  }
  ASSERT_EQ(cc.cwnd(), 160 * kMss);
  // Queueing delay builds: the round's minimum RTT grows by more than
  // max(4 ms, min(100 ms / 8, 16 ms)) = 12.5 ms.
  clock.rtt = 120ms;
  int rounds = 0;
  while (cc.hystart_phase() == HyStartPlusPlus::Phase::kSlowStart && rounds < 3) {
    clock.round();
    ++rounds;
  }
  ASSERT_EQ(cc.hystart_phase(), HyStartPlusPlus::Phase::kConservative);
  EXPECT_EQ(cc.ssthresh(), CongestionControl::kInitialSsthresh);
  // CSS: a quarter of slow start's growth per round.
  double before = segments(cc);
  clock.round();
  EXPECT_NEAR(segments(cc) / before, 1.25, 0.02);
  // CSS lasts CSS_ROUNDS rounds, then congestion avoidance with ssthresh = cwnd.
  rounds = 0;
  while (cc.in_slow_start() && rounds < 10) {
    clock.round(false, [&] { return !cc.in_slow_start(); });
    ++rounds;
  }
  EXPECT_LE(rounds, 5);
  EXPECT_FALSE(cc.in_slow_start());
  EXPECT_EQ(cc.hystart_phase(), HyStartPlusPlus::Phase::kDone);
  EXPECT_EQ(cc.ssthresh(), cc.cwnd());
  EXPECT_LT(cc.cwnd(), 1000 * kMss);  // slow start alone would be at 5120+
  // RFC 9438 4.10: congestion avoidance starts with W_max = cwnd, K = 0.
  EXPECT_FALSE(cc.w_max());
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), segments(cc));
  clock.round();
  ASSERT_TRUE(cc.w_max());
  EXPECT_NEAR(cc.k(), 0.0, 0.01);
}

TEST(CubicHyStart, SpuriousCssExitResumesSlowStart) {
  Cubic cc(kMss);
  AckClock clock{cc};
  for (int i = 0; i < 4; ++i) {
    clock.round();
  }
  clock.rtt = 130ms;
  for (int i = 0; i < 3 && cc.hystart_phase() == HyStartPlusPlus::Phase::kSlowStart; ++i) {
    clock.round();
  }
  ASSERT_EQ(cc.hystart_phase(), HyStartPlusPlus::Phase::kConservative);
  clock.rtt = 100ms;  // the delay was transient
  for (int i = 0; i < 2 && cc.hystart_phase() != HyStartPlusPlus::Phase::kSlowStart; ++i) {
    clock.round();
  }
  EXPECT_EQ(cc.hystart_phase(), HyStartPlusPlus::Phase::kSlowStart);
  EXPECT_EQ(cc.ssthresh(), CongestionControl::kInitialSsthresh);
  double before = segments(cc);
  clock.round();
  clock.round();
  EXPECT_GT(segments(cc), before * 3.5);  // doubling again (one round may straddle)
}

TEST(CubicHyStart, DisabledOrAfterLossItDoesNothing) {
  Cubic off(kMss, no_hystart());
  AckClock clock{off};
  for (int i = 0; i < 4; ++i) {
    clock.round();
  }
  clock.rtt = 200ms;
  for (int i = 0; i < 4; ++i) {
    clock.round();
  }
  EXPECT_EQ(off.cwnd(), 160u * 16 * kMss);
  EXPECT_EQ(off.ssthresh(), CongestionControl::kInitialSsthresh);

  // NewReno has no HyStart++ at all.
  NewReno reno(kMss);
  AckClock reno_clock{reno};
  for (int i = 0; i < 4; ++i) {
    reno_clock.round();
  }
  reno_clock.rtt = 200ms;
  for (int i = 0; i < 4; ++i) {
    reno_clock.round();
  }
  EXPECT_EQ(reno.cwnd(), 160u * 16 * kMss);

  // A loss during slow start ends HyStart++ for good (RFC 9406 4.2).
  Cubic on(kMss);
  AckClock on_clock{on};
  on_clock.round();
  on.on_congestion_event(on_clock.now, on.cwnd());
  EXPECT_EQ(on.hystart_phase(), HyStartPlusPlus::Phase::kDone);
}

}  // namespace
}  // namespace shunt::tcp
