// RttEstimator: smoothed round-trip time and the retransmission timeout.
//
// Reading list:
//   RFC 6298  Computing TCP's Retransmission Timer (SRTT, RTTVAR, RTO, backoff)
//   RFC 6298 section 3 / Karn & Partridge 1987: no samples from retransmitted
//             segments (the caller's job, see sample())
//   RFC 7323  section 4: RTTM with timestamps (samples even for retransmissions)
//   Linux     net/ipv4/tcp_input.c tcp_rtt_estimator(), tcp_set_rto(),
//             tcp_ack_update_rtt(); include/net/tcp.h TCP_RTO_MIN/MAX,
//             TCP_TIMEOUT_INIT
//
// Pure: time is never read, the caller measures an RTT and hands it in.
#pragma once

#include <cstdint>

#include "stack/base/time.h"

namespace shunt::tcp {

struct RttConfig {
  // RFC 6298 (2.4) says 1 s; Linux uses TCP_RTO_MIN = 200 ms, and so do we.
  Duration min_rto = 200ms;
  // RFC 6298 (2.5): "a maximum value MAY be placed on RTO provided it is at
  // least 60 seconds"; Linux TCP_RTO_MAX = 120 s.
  Duration max_rto = 120s;
  // RFC 6298 (2.1): RTO before any sample; Linux TCP_TIMEOUT_INIT = 1 s.
  Duration initial_rto = 1s;
};

class RttEstimator {
 public:
  // RFC 6298 (2): K = 4, alpha = 1/8, beta = 1/4, clock granularity G.
  static constexpr int kK = 4;
  static constexpr int kAlphaDenominator = 8;  // alpha = 1/8
  static constexpr int kBetaDenominator = 4;   // beta = 1/4
  static constexpr Duration kGranularity = 1ms;

  explicit RttEstimator(const RttConfig& cfg = {});

  // One valid RTT measurement. The caller applies Karn's rule (RFC 6298
  // section 3): never a sample from a segment that was retransmitted, unless
  // the sample comes from a timestamp echo (RFC 7323 section 4). A sample
  // also ends any backoff (see reset_backoff()). rtt must not be negative.
  void sample(Duration rtt);

  bool has_sample() const { return has_sample_; }
  Duration srtt() const { return srtt_; }      // zero before the first sample
  Duration rttvar() const { return rttvar_; }  // zero before the first sample
  // The smallest sample ever seen (zero before the first sample). Linux keeps
  // a windowed minimum (tcp_min_rtt_wlen, 300 s); ours never expires.
  Duration min_rtt() const { return min_rtt_; }

  // The current RTO, backoff included, within [min_rto, max_rto].
  Duration rto() const;

  // RFC 6298 (5.5): the retransmission timer expired, double the RTO (the
  // doubled value saturates at max_rto, the bound of (2.5)).
  void backoff();
  // Forget the backoff: the RTO collapses to the value computed from SRTT and
  // RTTVAR. sample() does this itself (Linux tcp_ack_update_rtt(): "only reset
  // backoff on valid RTT measurement"); a caller may also do it when an ACK
  // for new data arrives after a timeout without a usable sample.
  void reset_backoff() { backoff_count_ = 0; }
  // Number of backoff() calls since the last reset: the retry count.
  uint32_t backoff_count() const { return backoff_count_; }

  const RttConfig& config() const { return cfg_; }

 private:
  // RTO without backoff, clamped to [min_rto, max_rto].
  Duration base_rto() const;

  RttConfig cfg_;
  bool has_sample_ = false;
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration min_rtt_{0};
  uint32_t backoff_count_ = 0;
};

}  // namespace shunt::tcp
