// NewReno: RFC 5681 + RFC 6582 window arithmetic.
//
// Reading list: RFC 5681 3.1-3.2, RFC 6582 3.2, RFC 3465 2.1;
// Linux net/ipv4/tcp_cong.c tcp_reno_cong_avoid().
#include "stack/tcp/newreno.h"

#include <algorithm>

namespace shunt::tcp {

NewReno::NewReno(uint32_t mss) : CongestionControl(mss) {}

uint32_t NewReno::half_flight(uint32_t bytes_in_flight) const {
  // RFC 5681 (4), also RFC 6582 3.2 step 2: FlightSize, not cwnd, so that an
  // application-limited sender does not keep a window it never used.
  return std::max(bytes_in_flight / 2, 2 * mss_);
}

void NewReno::on_ack(const AckSample& s) {
  // RFC 7661 (which obsoletes RFC 2861): a rate-limited sender has not
  // validated its cwnd, so an ACK of data sent while it was not using the
  // whole cwnd does not grow it (Linux: tcp_is_cwnd_limited()).
  if (s.app_limited || s.bytes_acked == 0) {
    return;
  }
  mark_used();
  uint32_t acked = s.bytes_acked;
  if (cwnd_ < ssthresh_) {
    // RFC 5681 3.1: slow start while cwnd < ssthresh (RFC 3465 L = 2*SMSS).
    acked = slow_start(acked);
    if (acked == 0) {
      return;
    }
  }
  // RFC 5681 3.1 congestion avoidance, the byte-counting way it recommends
  // (and RFC 3465 2.1): count the bytes newly acknowledged and, when they
  // reach cwnd, grow cwnd by SMSS and subtract cwnd. This grows cwnd by one
  // SMSS per cwnd of acknowledged data, i.e. per RTT, whatever the ACK
  // pattern, where equation (3) (cwnd += SMSS*SMSS/cwnd per ACK) would grow
  // more slowly with delayed ACKs.
  bytes_acked_ += acked;
  while (bytes_acked_ >= cwnd_ && cwnd_ < kMaxCwnd) {
    bytes_acked_ -= cwnd_;
    set_cwnd(uint64_t{cwnd_} + mss_);
  }
  if (cwnd_ >= kMaxCwnd) {
    bytes_acked_ = 0;
  }
}

void NewReno::on_congestion_event(Instant now, uint32_t bytes_in_flight) {
  mark_used();
  // RFC 6582 3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS). The
  // RFC's cwnd = ssthresh + 3*SMSS inflation and per-duplicate-ACK
  // inflation belong to the sender's recovery; here cwnd = ssthresh.
  ssthresh_ = half_flight(bytes_in_flight);
  set_cwnd(ssthresh_);
  bytes_acked_ = 0;
}

void NewReno::on_recovery_exit(Instant now) {
  // RFC 6582 3.2 step 3, full acknowledgment: option (2), cwnd = ssthresh.
  set_cwnd(ssthresh_);
  bytes_acked_ = 0;
}

void NewReno::on_rto(Instant now, uint32_t bytes_in_flight) {
  mark_used();
  // RFC 5681 3.1: ssthresh per equation (4); "upon a timeout cwnd MUST be
  // set to no more than the loss window, LW, which equals 1 full-sized
  // segment".
  ssthresh_ = half_flight(bytes_in_flight);
  set_cwnd(mss_);
  bytes_acked_ = 0;
}

void NewReno::on_idle_restart(Instant now, Duration rto) {
  CongestionControl::on_idle_restart(now, rto);
  bytes_acked_ = 0;
}

void NewReno::on_mss_change(uint32_t old_mss, uint32_t new_mss) {
  bytes_acked_ = static_cast<uint32_t>(uint64_t{bytes_acked_} * new_mss / old_mss);
}

}  // namespace shunt::tcp
