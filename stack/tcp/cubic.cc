// CUBIC (RFC 9438) and HyStart++ (RFC 9406).
//
// Reading list:
//   RFC 9438 sections 4.2-4.10 and 5.8
//   RFC 9406 section 4.2 (the algorithm) and 4.3 (constants)
//   Linux net/ipv4/tcp_cubic.c
//
// Not implemented: RFC 9438 4.9 (undo after a spurious congestion event,
// which needs the sender to detect spurious retransmissions first) and the
// ECN reduction to max(ssthresh, 1 segment) of 4.6 (no ECN yet).
#include "stack/tcp/cubic.h"

#include <algorithm>
#include <cmath>

namespace shunt::tcp {

namespace {
double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

// ---- HyStart++ --------------------------------------------------------------

bool HyStartPlusPlus::on_ack(uint32_t bytes_acked, uint32_t bytes_in_flight,
                             std::optional<Duration> rtt) {
  if (phase_ == Phase::kDone) {
    return false;
  }

  // RFC 9406 4.2: a round ends when this ACK covers windowEnd.
  if (!in_round_ || round_remaining_ <= bytes_acked) {
    // "At the start of each round during standard slow start and CSS":
    // lastRoundMinRTT = currentRoundMinRTT, currentRoundMinRTT = infinity,
    // rttSampleCount = 0, windowEnd = SND.NXT.
    if (in_round_ && phase_ == Phase::kConservative) {
      // "If CSS_ROUNDS rounds are complete, enter congestion avoidance by
      // setting the ssthresh to the current cwnd." The round in which CSS
      // began counts as one ("that partial round counts towards the limit").
      if (css_rounds_ >= kCssRounds) {
        phase_ = Phase::kDone;
        return true;
      }
      ++css_rounds_;
    }
    in_round_ = true;
    ++rounds_;
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_.reset();
    rtt_sample_count_ = 0;
    round_remaining_ = bytes_in_flight > bytes_acked ? bytes_in_flight - bytes_acked : 0;
  } else {
    round_remaining_ -= bytes_acked;
  }

  // "Keep track of the minimum observed RTT": currentRoundMinRTT.
  if (rtt) {
    current_round_min_rtt_ =
        current_round_min_rtt_ ? std::min(*current_round_min_rtt_, *rtt) : *rtt;
    ++rtt_sample_count_;
  }
  if (rtt_sample_count_ < kNRttSample || !current_round_min_rtt_) {
    return false;
  }

  if (phase_ == Phase::kSlowStart) {
    if (!last_round_min_rtt_) {
      return false;
    }
    // RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
    // MAX_RTT_THRESH)); exit to CSS when the round's minimum RTT grew by it.
    Duration thresh =
        std::clamp(*last_round_min_rtt_ / kMinRttDivisor, kMinRttThresh, kMaxRttThresh);
    if (*current_round_min_rtt_ >= *last_round_min_rtt_ + thresh) {
      css_baseline_min_rtt_ = current_round_min_rtt_;
      phase_ = Phase::kConservative;
      css_rounds_ = 1;
    }
  } else if (*current_round_min_rtt_ < *css_baseline_min_rtt_) {
    // CSS: "if (currentRoundMinRTT < cssBaselineMinRtt)" the exit was
    // spurious: cssBaselineMinRtt = infinity, resume slow start.
    css_baseline_min_rtt_.reset();
    phase_ = Phase::kSlowStart;
  }
  return false;
}

// ---- CUBIC --------------------------------------------------------------------

Cubic::Cubic(uint32_t mss, const CubicConfig& cfg) : CongestionControl(mss), cfg_(cfg) {
  if (!cfg_.hystart) {
    hystart_.stop();
  }
}

double Cubic::w_cubic(double t) const {
  // RFC 9438 4.2 Figure 1: W_cubic(t) = C * (t - K)^3 + W_max.
  double d = t - k_;
  return kC * d * d * d + w_max_.value_or(0.0);
}

uint32_t Cubic::beta_ssthresh(uint32_t bytes_in_flight) const {
  // RFC 9438 4.6 Figure 5: ssthresh = flight_size * beta_cubic, at least
  // 2 segments. The RFC prefers flight_size to cwnd (Linux uses cwnd), so an
  // application-limited sender does not keep a window it did not use.
  uint64_t s = uint64_t{bytes_in_flight} * 7 / 10;  // beta_cubic = 0.7
  return static_cast<uint32_t>(std::max<uint64_t>(s, 2 * uint64_t{mss_}));
}

void Cubic::reset_epoch() {
  epoch_start_.reset();
  credit_ = 0;
}

void Cubic::start_epoch(Instant now) {
  epoch_start_ = now;
  double cwnd_epoch = cwnd_segments();
  // RFC 9438 4.8 (after a timeout) and 4.10 (after a HyStart++ exit without
  // loss), and the first epoch of a connection: W_max is "set to the
  // congestion window size at the beginning of the current congestion
  // avoidance stage", so K = 0 and growth starts convex.
  if (!w_max_) {
    w_max_ = cwnd_epoch;
  }
  // RFC 9438 4.2 Figure 2: K = cubic_root((W_max - cwnd_epoch) / C). It is
  // negative if W_max < cwnd_epoch (possible after a restart), which puts the
  // whole epoch in the convex region, as the curve through cwnd_epoch must.
  k_ = std::cbrt((*w_max_ - cwnd_epoch) / kC);
  // RFC 9438 4.3: "W_est is set equal to cwnd_epoch at the start of the
  // congestion avoidance stage".
  w_est_ = cwnd_epoch;
  credit_ = 0;
}

void Cubic::on_ack(const AckSample& s) {
  if (s.rtt) {
    srtt_ = srtt_ ? (7 * *srtt_ + *s.rtt) / 8 : *s.rtt;
  }
  if (s.bytes_acked == 0) {
    return;
  }
  Instant previous = last_ack_.value_or(s.now);
  last_ack_ = s.now;

  bool hystart_active = cwnd_ < ssthresh_ && ssthresh_ == kInitialSsthresh &&
                        hystart_.phase() != HyStartPlusPlus::Phase::kDone;
  if (hystart_active && hystart_.on_ack(s.bytes_acked, s.bytes_in_flight, s.rtt)) {
    // RFC 9406 4.2: CSS is over, "enter congestion avoidance by setting the
    // ssthresh to the current cwnd". RFC 9438 4.10: without a loss W_max is
    // undefined, so cwnd_prior = cwnd and W_max = cwnd at the start of
    // congestion avoidance (K = 0).
    mark_used();
    ssthresh_ = cwnd_;
    cwnd_prior_ = cwnd_segments();
    w_max_.reset();
    reset_epoch();
    return;
  }

  if (s.app_limited) {
    // RFC 9438 5.8: "CUBIC does not increase its congestion window if a flow
    // is currently limited by the application", and (4.2) the elapsed time t
    // "MUST NOT include periods during which cwnd has not been updated due to
    // application-limited behavior": slide the epoch forward by this gap.
    if (epoch_start_ && s.now > previous) {
      *epoch_start_ += s.now - previous;
    }
    return;
  }
  mark_used();

  uint32_t acked = s.bytes_acked;
  if (cwnd_ < ssthresh_) {
    if (hystart_active && hystart_.phase() == HyStartPlusPlus::Phase::kConservative) {
      // RFC 9406 4.2, CSS: cwnd += min(N, L*SMSS) / CSS_GROWTH_DIVISOR.
      slow_start(std::min(acked, 2 * mss_) / HyStartPlusPlus::kCssGrowthDivisor);
      return;
    }
    // RFC 9438 4.10: CUBIC's slow start is RFC 5681's (with byte counting).
    acked = slow_start(acked);
    if (acked == 0) {
      return;
    }
  }
  congestion_avoidance(s.now, acked);
}

void Cubic::congestion_avoidance(Instant now, uint32_t bytes_acked) {
  if (!epoch_start_) {
    start_epoch(now);
  }
  double cwnd = cwnd_segments();
  double acked = static_cast<double>(bytes_acked) / mss_;
  double t = seconds(now - *epoch_start_);
  double rtt = srtt_ ? seconds(*srtt_) : 0.0;

  // RFC 9438 4.2: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd]
  // so that growth never decreases cwnd and stays below slow start's rate.
  double target = std::clamp(w_cubic(t + rtt), cwnd, 1.5 * cwnd);

  // RFC 9438 4.3 Figure 4: W_est += alpha_cubic * segments_acked / cwnd,
  // with alpha_cubic = 1 once W_est has reached cwnd_prior (Reno's AIMD(1,
  // 0.5) rate from there on).
  double alpha = w_est_ >= cwnd_prior_ ? 1.0 : kAlpha;
  w_est_ += alpha * acked / cwnd;

  double next;
  if (w_cubic(t) < w_est_) {
    // RFC 9438 4.3 Reno-friendly region: "cwnd SHOULD be set to W_est".
    // (Never below cwnd: congestion avoidance does not shrink the window.)
    next = std::max(cwnd, w_est_);
  } else {
    // RFC 9438 4.4 (concave, cwnd < W_max) and 4.5 (convex, cwnd >= W_max):
    // cwnd grows by (target - cwnd) / cwnd per ACK. We count that per SMSS
    // acknowledged, as Linux does (bictcp_update()'s cnt is per packet), so
    // that delayed ACKs do not halve CUBIC's growth.
    next = cwnd + (target - cwnd) / cwnd * acked;
  }
  credit_ += (next - cwnd) * mss_;
  double whole = std::floor(credit_);
  credit_ -= whole;
  set_cwnd(cwnd_ + static_cast<uint64_t>(whole));
}

void Cubic::on_congestion_event(Instant now, uint32_t bytes_in_flight) {
  mark_used();
  // RFC 9406 4.2: loss during slow start or CSS ends HyStart++.
  hystart_.stop();
  double cwnd = cwnd_segments();
  // RFC 9438 4.7 Figure 6, fast convergence: a loss before reaching the
  // previous W_max means competing flows grew; release bandwidth with
  // W_max = cwnd * (1 + beta_cubic) / 2, otherwise W_max = cwnd.
  if (cfg_.fast_convergence && w_max_ && cwnd < *w_max_) {
    w_max_ = cwnd * (1.0 + kBeta) / 2.0;
  } else {
    w_max_ = cwnd;
  }
  // RFC 9438 4.6 Figure 5: cwnd_prior = cwnd; ssthresh = flight * beta;
  // cwnd = max(ssthresh, 2 segments).
  cwnd_prior_ = cwnd;
  ssthresh_ = beta_ssthresh(bytes_in_flight);
  set_cwnd(ssthresh_);
  reset_epoch();
}

void Cubic::on_recovery_exit(Instant now) {
  // RFC 6582 3.2 step 3 (2) deflate; the next epoch (RFC 9438 4.2) starts at
  // the first ACK in congestion avoidance.
  set_cwnd(ssthresh_);
  reset_epoch();
}

void Cubic::on_rto(Instant now, uint32_t bytes_in_flight) {
  mark_used();
  hystart_.stop();
  // RFC 9438 4.8: "CUBIC follows Reno to reduce cwnd [RFC5681], but sets
  // ssthresh using beta_cubic (same as in Section 4.6)". cwnd_prior records
  // the window when ssthresh was set (4.3); W_max is set afresh at the start
  // of the next congestion avoidance stage (start_epoch()).
  cwnd_prior_ = cwnd_segments();
  ssthresh_ = beta_ssthresh(bytes_in_flight);
  w_max_.reset();
  set_cwnd(mss_);  // RFC 5681 3.1: the loss window, 1 SMSS
  reset_epoch();
}

void Cubic::on_idle_restart(Instant now, Duration rto) {
  CongestionControl::on_idle_restart(now, rto);
  // The cubic curve measures time since the epoch began; after an idle
  // restart (RFC 5681 4.1) a new epoch starts when congestion avoidance
  // resumes, keeping W_max (Linux instead shifts epoch_start by the idle time,
  // but it also keeps the old cwnd).
  reset_epoch();
}

void Cubic::on_mss_change(uint32_t old_mss, uint32_t new_mss) {
  // W_max, W_est and cwnd_prior are in segments, like cwnd after set_mss().
  credit_ = 0;
}

}  // namespace shunt::tcp
