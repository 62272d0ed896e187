// RttEstimator: RFC 6298 with Linux's RTO bounds.
//
// Reading list:
//   RFC 6298 sections 2 (the computation) and 5 (timer management, backoff)
//   Linux net/ipv4/tcp_input.c tcp_rtt_estimator(), tcp_set_rto()
#include "stack/tcp/rtt_estimator.h"

#include <algorithm>

#include "stack/base/check.h"

namespace shunt::tcp {

RttEstimator::RttEstimator(const RttConfig& cfg) : cfg_(cfg) {
  SHUNT_CHECK(cfg_.min_rto > Duration::zero());
  SHUNT_CHECK(cfg_.min_rto <= cfg_.max_rto);
}

void RttEstimator::sample(Duration rtt) {
  SHUNT_CHECK(rtt >= Duration::zero());
  if (!has_sample_) {
    // RFC 6298 (2.2): the first measurement R sets SRTT <- R, RTTVAR <- R/2;
    // RTO <- SRTT + max(G, K*RTTVAR) follows in base_rto().
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    min_rtt_ = rtt;
    has_sample_ = true;
  } else {
    // RFC 6298 (2.3): RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
    // then SRTT <- (1 - alpha) * SRTT + alpha * R'. RTTVAR must use the SRTT
    // from before this update ("the above SHOULD be computed using ... in
    // that order"). Integer nanoseconds; the truncation is below 1 ns.
    Duration err = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = ((kBetaDenominator - 1) * rttvar_ + err) / kBetaDenominator;
    srtt_ = ((kAlphaDenominator - 1) * srtt_ + rtt) / kAlphaDenominator;
    min_rtt_ = std::min(min_rtt_, rtt);
  }
  // RFC 6298 section 5, after (5.7): a new measurement recomputes RTO per
  // section 2, "which may result in 'collapsing' RTO back down after it has
  // been subsequently increased by the backoff" (Linux resets icsk_backoff
  // here too).
  backoff_count_ = 0;
}

Duration RttEstimator::base_rto() const {
  // RFC 6298 (2.1): until a sample arrives, RTO is the initial value.
  Duration rto = cfg_.initial_rto;
  if (has_sample_) {
    // RFC 6298 (2.2)/(2.3): RTO <- SRTT + max(G, K*RTTVAR), with the (2.4)
    // floor on the variance term as Linux has it (tcp_rtt_estimator keeps
    // its rttvar at least tcp_rto_min: RTO = SRTT + max(4*mdev, 200 ms)),
    // not on the whole RTO: a short-RTT path gets SRTT + 200 ms. RFC 6298
    // leaves the floor's form open ("SHOULD be rounded up to 1 second");
    // Linux's packetdrill scripts expect its choice.
    rto = srtt_ + std::max({kGranularity, kK * rttvar_, cfg_.min_rto});
  }
  // (2.5): the ceiling; the floor again for the initial RTO.
  return std::clamp(rto, cfg_.min_rto, cfg_.max_rto);
}

Duration RttEstimator::rto() const {
  Duration rto = base_rto();
  // RFC 6298 (5.5): RTO <- RTO * 2 per expiry, bounded by the (2.5) maximum.
  for (uint32_t i = 0; i < backoff_count_ && rto < cfg_.max_rto; ++i) {
    rto = rto > cfg_.max_rto / 2 ? cfg_.max_rto : rto * 2;
  }
  return rto;
}

void RttEstimator::backoff() {
  if (backoff_count_ < UINT32_MAX) {
    ++backoff_count_;
  }
}

}  // namespace shunt::tcp
