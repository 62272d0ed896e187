// Congestion control behind an interface, in the manner of Linux's
// struct tcp_congestion_ops: the sender owns loss detection and recovery and
// tells the algorithm what happened; the algorithm owns cwnd and ssthresh.
// Every quantity is in bytes; the sender's MSS (SMSS) is a parameter.
//
// Reading list:
//   RFC 5681  TCP Congestion Control (slow start, congestion avoidance,
//             FlightSize, loss window, restart after idle)
//   RFC 3465  Appropriate Byte Counting (ABC), L = 2*SMSS
//   RFC 6928  Increasing TCP's Initial Window (IW10)
//   RFC 6582  NewReno modification to fast recovery (ssthresh, "deflate")
//   RFC 7661  Updating TCP to Support Rate-Limited Traffic (no growth while
//             application-limited); RFC 2861 (its predecessor)
//   RFC 9438  CUBIC (cubic.h)
//   Linux     include/net/tcp.h struct tcp_congestion_ops,
//             net/ipv4/tcp_cong.c tcp_slow_start(), tcp_cong_avoid_ai(),
//             tcp_reno_ssthresh(); net/ipv4/tcp_output.c tcp_cwnd_restart()
//
// Division of labour with the sender:
//   - on_ack() is called in the Open state only (no recovery, no loss), for
//     every ACK that acknowledges new data.
//   - on_congestion_event() when fast retransmit starts fast recovery
//     (RFC 5681 3.2 step 2 / RFC 6582 3.2 step 2 / RFC 6675 5 step 4). The
//     algorithm sets ssthresh and cwnd = ssthresh; the temporary inflation of
//     RFC 5681 (cwnd + 3*SMSS, +SMSS per duplicate ACK) or RFC 6675's pipe is
//     the sender's business, as are partial ACKs.
//   - on_recovery_exit() when a full ACK ends recovery.
//   - on_rto() on the first expiry of the retransmission timer for a segment
//     (RFC 5681 3.1: ssthresh is set when "the given segment has not yet been
//     resent by way of the retransmission timer"); later expiries of the same
//     retransmission only back the timer off.
//   - on_idle_restart() before sending after an idle period longer than RTO.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/time.h"

namespace shunt::tcp {

// What one ACK did, as the sender saw it.
struct AckSample {
  Instant now{};
  // Bytes newly acknowledged by this ACK: the advance of SND.UNA, plus bytes
  // newly covered by SACK blocks if the sender counts them (a SACK sender
  // should, as Linux counts "delivered"; each byte counted exactly once).
  uint32_t bytes_acked = 0;
  // A valid RTT sample from this ACK (Karn's rule applied), if any.
  std::optional<Duration> rtt = std::nullopt;
  // Bytes in flight (RFC 5681 FlightSize) before this ACK was processed.
  uint32_t bytes_in_flight = 0;
  // The sender was not using the whole cwnd when this data was sent
  // (RFC 7661 "rate-limited"): cwnd must not grow on such an ACK.
  bool app_limited = false;
};

// RFC 6928 (2): IW = min(10*MSS, max(2*MSS, 14600)).
uint32_t initial_window(uint32_t mss);

class CongestionControl {
 public:
  // RFC 5681 3.1: "the initial value of ssthresh SHOULD be set arbitrarily
  // high (e.g., to the size of the largest possible advertised window)".
  static constexpr uint32_t kInitialSsthresh = UINT32_MAX;
  // The largest window TCP can use (RFC 7323 2.3: 2^30 bytes with window
  // scale 14); cwnd never grows past it, which also keeps uint32_t safe.
  static constexpr uint32_t kMaxCwnd = 1u << 30;

  virtual ~CongestionControl() = default;
  CongestionControl(const CongestionControl&) = delete;
  CongestionControl& operator=(const CongestionControl&) = delete;

  // The TCP_CONGESTION name Linux uses ("reno" for NewReno, "cubic").
  virtual std::string_view name() const = 0;
  // An ACK for new data in the Open state: slow start (RFC 5681 3.1 with
  // RFC 3465 byte counting, L = 2*SMSS) or congestion avoidance.
  virtual void on_ack(const AckSample& s) = 0;
  // Entering fast recovery: ssthresh per the algorithm, cwnd = ssthresh.
  virtual void on_congestion_event(Instant now, uint32_t bytes_in_flight) = 0;
  // Leaving fast recovery: cwnd = ssthresh (RFC 6582 3.2 step 3, option 2,
  // the "deflate" of the window).
  virtual void on_recovery_exit(Instant now) = 0;
  // Retransmission timeout: ssthresh per the algorithm (RFC 5681 (4) for
  // NewReno), cwnd = the loss window of 1 SMSS.
  virtual void on_rto(Instant now, uint32_t bytes_in_flight) = 0;
  // Sending resumes after an idle period longer than `rto`: RFC 5681 4.1
  // restart window, cwnd = min(IW, cwnd). Like Linux (tcp_cwnd_restart, after
  // RFC 2861 3) ssthresh first keeps a memory of the old window,
  // ssthresh = max(ssthresh, 3/4 * cwnd), so slow start climbs back quickly.
  virtual void on_idle_restart(Instant now, Duration rto);

  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint32_t mss() const { return mss_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }

  // The effective MSS changed (option negotiation, PMTU). Before anything
  // has happened to the window, cwnd becomes the initial window for the new
  // MSS; afterwards cwnd and ssthresh keep their size in segments, as in
  // Linux where snd_cwnd counts packets.
  void set_mss(uint32_t mss);

 protected:
  explicit CongestionControl(uint32_t mss);

  // RFC 5681 3.1 slow start with RFC 3465 (2.2) byte counting: cwnd grows
  // by min(bytes_acked, L), L = 2*SMSS, but not beyond ssthresh. Returns the
  // bytes left over once cwnd reached ssthresh (0 while still below), for
  // congestion avoidance to count, as Linux's tcp_slow_start() does.
  uint32_t slow_start(uint32_t bytes_acked);
  // cwnd = bytes, within [SMSS, kMaxCwnd].
  void set_cwnd(uint64_t bytes);
  // The window no longer has its initial value (see set_mss()).
  void mark_used() { pristine_ = false; }
  // Called by set_mss() after cwnd/ssthresh were rescaled, for algorithms
  // that keep state in bytes.
  virtual void on_mss_change(uint32_t old_mss, uint32_t new_mss) {}

  uint32_t cwnd_;
  uint32_t ssthresh_ = kInitialSsthresh;
  uint32_t mss_;

 private:
  bool pristine_ = true;
};

// "cubic" or "reno"; nullptr for an unknown name.
std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name, uint32_t mss,
                                                           Instant now);

// As on Linux (CONFIG_DEFAULT_TCP_CONG).
inline constexpr std::string_view kDefaultCongestionControl = "cubic";

// The names make_congestion_control() accepts (tcp_available_congestion_control).
std::span<const std::string_view> available_congestion_controls();

}  // namespace shunt::tcp
