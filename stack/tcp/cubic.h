// CUBIC congestion control (RFC 9438), Linux's default, with HyStart++
// (RFC 9406) for the first slow start.
//
// Reading list:
//   RFC 9438  CUBIC: 4.2 window increase function, 4.3 Reno-friendly region,
//             4.4/4.5 concave and convex regions, 4.6 multiplicative
//             decrease, 4.7 fast convergence, 4.8 timeout, 4.10 slow start,
//             5.8 application-limited flows
//   RFC 9406  HyStart++: Modified Slow Start for TCP (section 4.2)
//   RFC 5681  slow start (shared with NewReno, congestion.h)
//   Linux     net/ipv4/tcp_cubic.c (bictcp_update(), bictcp_recalc_ssthresh(),
//             the fast_convergence and hystart module parameters)
//
// The cubic arithmetic is in doubles and in segments (W_max, W_est, K are
// defined in segments and seconds by the RFC); cwnd and ssthresh are bytes.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/tcp/congestion.h"

namespace shunt::tcp {

struct CubicConfig {
  // RFC 9438 4.7 fast convergence (Linux: fast_convergence=1).
  bool fast_convergence = true;
  // RFC 9406 HyStart++ in the initial slow start, as RFC 9438 4.10 says
  // CUBIC SHOULD use. On by default like Linux's hystart=1 (Linux runs the
  // older HyStart, ACK-train plus delay; this is the IETF's successor).
  bool hystart = true;
};

// RFC 9406 HyStart++, section 4.2: leaves the first slow start when the
// round's minimum RTT rises, through Conservative Slow Start (CSS).
//
// Rounds: the RFC ends a round when an ACK covers windowEnd, the SND.NXT at
// the round's start. Without sequence numbers we count bytes instead: at the
// round's first ACK, the bytes still outstanding after it (FlightSize minus
// the bytes it acknowledges) are what must be acknowledged to reach windowEnd.
class HyStartPlusPlus {
 public:
  // RFC 9406 4.3 constants.
  static constexpr Duration kMinRttThresh = 4ms;
  static constexpr Duration kMaxRttThresh = 16ms;
  static constexpr int kMinRttDivisor = 8;
  static constexpr uint32_t kNRttSample = 8;
  static constexpr uint32_t kCssGrowthDivisor = 4;
  static constexpr uint32_t kCssRounds = 5;

  enum class Phase : uint8_t {
    kSlowStart,     // standard slow start, watching the RTT
    kConservative,  // CSS: growth divided by kCssGrowthDivisor
    kDone,          // slow start over (CSS finished, loss or timeout)
  };

  // One ACK for new data while cwnd < ssthresh. Returns true when CSS has
  // run kCssRounds rounds: the caller enters congestion avoidance
  // (ssthresh = cwnd).
  bool on_ack(uint32_t bytes_acked, uint32_t bytes_in_flight, std::optional<Duration> rtt);
  // Loss, ECN or a timeout: HyStart++ is finished for this connection.
  void stop() { phase_ = Phase::kDone; }

  Phase phase() const { return phase_; }
  uint32_t rounds() const { return rounds_; }

 private:
  Phase phase_ = Phase::kSlowStart;
  bool in_round_ = false;
  uint64_t round_remaining_ = 0;  // bytes to acknowledge before the round ends
  uint32_t rounds_ = 0;
  std::optional<Duration> last_round_min_rtt_;
  std::optional<Duration> current_round_min_rtt_;
  uint32_t rtt_sample_count_ = 0;
  std::optional<Duration> css_baseline_min_rtt_;
  uint32_t css_rounds_ = 0;
};

class Cubic final : public CongestionControl {
 public:
  // RFC 9438 4.1.1 and 4.3.
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;
  static constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

  explicit Cubic(uint32_t mss, const CubicConfig& cfg = {});

  std::string_view name() const override { return "cubic"; }
  void on_ack(const AckSample& s) override;
  void on_congestion_event(Instant now, uint32_t bytes_in_flight) override;
  void on_recovery_exit(Instant now) override;
  void on_rto(Instant now, uint32_t bytes_in_flight) override;
  void on_idle_restart(Instant now, Duration rto) override;

  // State, in segments and seconds, for tests and diagnostics.
  // W_max: unknown until the first congestion event, and again after a
  // timeout or a HyStart++ exit until congestion avoidance begins (4.8, 4.10).
  std::optional<double> w_max() const { return w_max_; }
  double k() const { return k_; }                    // of the current epoch
  double w_est() const { return w_est_; }            // 4.3
  double cwnd_prior() const { return cwnd_prior_; }  // 4.6
  std::optional<Instant> epoch_start() const { return epoch_start_; }
  // W_cubic(t) of the current epoch (t in seconds since its start), 4.2.
  double w_cubic(double t) const;
  HyStartPlusPlus::Phase hystart_phase() const { return hystart_.phase(); }
  const CubicConfig& config() const { return cfg_; }

 protected:
  void on_mss_change(uint32_t old_mss, uint32_t new_mss) override;

 private:
  double cwnd_segments() const { return static_cast<double>(cwnd_) / mss_; }
  uint32_t beta_ssthresh(uint32_t bytes_in_flight) const;
  void start_epoch(Instant now);
  void reset_epoch();
  void congestion_avoidance(Instant now, uint32_t bytes_acked);

  CubicConfig cfg_;
  HyStartPlusPlus hystart_;
  std::optional<double> w_max_;
  double cwnd_prior_ = 0;
  // The current congestion avoidance epoch (4.2): starts at the first ACK
  // in congestion avoidance, ends at a congestion event, timeout or idle.
  std::optional<Instant> epoch_start_;
  double k_ = 0;
  double w_est_ = 0;
  double credit_ = 0;  // growth in bytes not yet added to cwnd (< 1 byte)
  // RFC 9438 4.2 computes the target with the smoothed RTT; the sender's
  // RttEstimator is not visible here, so we smooth the same samples with the
  // RFC 6298 gain of 1/8.
  std::optional<Duration> srtt_;
  std::optional<Instant> last_ack_;
};

}  // namespace shunt::tcp
