// NewReno congestion control: RFC 5681 slow start and congestion avoidance
// with the RFC 6582 window arithmetic. Linux calls it "reno".
//
// Reading list:
//   RFC 5681  3.1 (slow start, congestion avoidance, equation (4), the loss
//             window), 3.2 (fast retransmit / fast recovery)
//   RFC 6582  3.2 (NewReno fast recovery: ssthresh on entry, deflate on exit)
//   RFC 3465  2.1 (byte counting in congestion avoidance), 2.2 (L = 2*SMSS)
//   Linux     net/ipv4/tcp_cong.c tcp_reno_cong_avoid(), tcp_reno_ssthresh(),
//             tcp_cong_avoid_ai()
#pragma once

#include "stack/tcp/congestion.h"

namespace shunt::tcp {

class NewReno final : public CongestionControl {
 public:
  explicit NewReno(uint32_t mss);

  std::string_view name() const override { return "reno"; }
  void on_ack(const AckSample& s) override;
  void on_congestion_event(Instant now, uint32_t bytes_in_flight) override;
  void on_recovery_exit(Instant now) override;
  void on_rto(Instant now, uint32_t bytes_in_flight) override;
  void on_idle_restart(Instant now, Duration rto) override;

  // Bytes acknowledged in congestion avoidance since cwnd last grew.
  uint32_t bytes_acked_in_ca() const { return bytes_acked_; }

 protected:
  void on_mss_change(uint32_t old_mss, uint32_t new_mss) override;

 private:
  // RFC 5681 equation (4): ssthresh = max(FlightSize / 2, 2*SMSS).
  uint32_t half_flight(uint32_t bytes_in_flight) const;

  uint32_t bytes_acked_ = 0;
};

}  // namespace shunt::tcp
