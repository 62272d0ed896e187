// The parts of congestion control every algorithm shares: the initial
// window, slow start with byte counting, restart after idle, MSS changes,
// and the factory.
//
// Reading list:
//   RFC 6928 (2) initial window; RFC 5681 3.1 and 4.1; RFC 3465 (2.2)
//   Linux net/ipv4/tcp_cong.c tcp_slow_start(), tcp_ca_find();
//         net/ipv4/tcp_output.c tcp_cwnd_restart()
#include "stack/tcp/congestion.h"

#include <algorithm>
#include <array>

#include "stack/base/check.h"
#include "stack/tcp/cubic.h"
#include "stack/tcp/newreno.h"

namespace shunt::tcp {

uint32_t initial_window(uint32_t mss) {
  // RFC 6928 (2): "min (10*MSS, max (2*MSS, 14600))".
  uint64_t m = mss;
  return static_cast<uint32_t>(std::min<uint64_t>(10 * m, std::max<uint64_t>(2 * m, 14600)));
}

CongestionControl::CongestionControl(uint32_t mss) : cwnd_(initial_window(mss)), mss_(mss) {
  SHUNT_CHECK(mss > 0);
}

void CongestionControl::set_cwnd(uint64_t bytes) {
  cwnd_ = static_cast<uint32_t>(std::clamp<uint64_t>(bytes, mss_, kMaxCwnd));
}

uint32_t CongestionControl::slow_start(uint32_t bytes_acked) {
  // RFC 3465 (2.2): "cwnd += min(N, L*SMSS)" with L = 2 (RFC 5681 3.1 allows
  // this "in place of" its min(N, SMSS) increase: it lets delayed ACKs, each
  // covering two segments, still double cwnd per RTT).
  uint64_t increase = std::min<uint64_t>(bytes_acked, 2 * uint64_t{mss_});
  // RFC 5681 3.1: slow start runs while cwnd < ssthresh; stop at ssthresh.
  uint64_t room = ssthresh_ > cwnd_ ? ssthresh_ - cwnd_ : 0;
  uint64_t used = std::min(increase, room);
  set_cwnd(cwnd_ + used);
  if (cwnd_ < ssthresh_) {
    return 0;
  }
  // cwnd reached ssthresh in this ACK: the rest of it counts towards
  // congestion avoidance (Linux tcp_slow_start() returns it the same way).
  return static_cast<uint32_t>(bytes_acked - std::min<uint64_t>(used, bytes_acked));
}

void CongestionControl::on_idle_restart(Instant now, Duration rto) {
  // RFC 2861 3 / Linux tcp_cwnd_restart(): remember 3/4 of the old window in
  // ssthresh before shrinking cwnd, so that slow start returns there.
  uint64_t memory = uint64_t{cwnd_} * 3 / 4;
  ssthresh_ = static_cast<uint32_t>(std::max<uint64_t>(ssthresh_, memory));
  // RFC 5681 4.1: "TCP SHOULD set cwnd to no more than RW before beginning
  // transmission if the TCP has not sent data in an interval exceeding the
  // retransmission timeout", RW = min(IW, cwnd). (Linux halves cwnd per idle
  // RTO down to RW; the RFC's single step is simpler and never larger than
  // Linux after one RTO.)
  set_cwnd(std::min(initial_window(mss_), cwnd_));
  mark_used();
}

void CongestionControl::set_mss(uint32_t mss) {
  SHUNT_CHECK(mss > 0);
  if (mss == mss_) {
    return;
  }
  uint32_t old = mss_;
  mss_ = mss;
  if (pristine_) {
    // Nothing has been acknowledged or lost yet: the initial window of
    // RFC 6928 (2) for the MSS actually in use.
    set_cwnd(initial_window(mss));
  } else {
    // Keep the window's size in segments (Linux counts cwnd in packets).
    set_cwnd(uint64_t{cwnd_} * mss / old);
    if (ssthresh_ != kInitialSsthresh) {
      uint64_t s = uint64_t{ssthresh_} * mss / old;
      ssthresh_ = static_cast<uint32_t>(std::clamp<uint64_t>(s, 2 * uint64_t{mss}, UINT32_MAX - 1));
    }
  }
  on_mss_change(old, mss);
}

namespace {
constexpr std::array<std::string_view, 2> kAvailable = {"cubic", "reno"};
}  // namespace

std::span<const std::string_view> available_congestion_controls() {
  return kAvailable;
}

std::unique_ptr<CongestionControl> make_congestion_control(std::string_view name, uint32_t mss,
                                                           Instant now) {
  if (name == "cubic") {
    return std::make_unique<Cubic>(mss);
  }
  if (name == "reno") {
    return std::make_unique<NewReno>(mss);
  }
  return nullptr;
}

}  // namespace shunt::tcp
