// A token bucket in virtual time: `rate` tokens per second, holding at most
// `burst`. One implementation serves the stack's ICMP error rate limit (one
// token an error) and the fault rules' rate= (driver/rule_fault_device.cc:
// one token a bit, a frame costs its size in bits).
//
// It is kept as a virtual schedule (GCRA, the generic cell rate algorithm
// of ITU-T I.371): `tat_`, the theoretical arrival time, is when the bucket
// is full again. At t < tat_ the bucket holds burst - (tat_ - t) * rate
// tokens, so a cost conforms from tat_ - (burst - cost) / rate on. Integer
// nanoseconds throughout: no rounding drift, and the same answers for the
// same calls.
#pragma once

#include <algorithm>
#include <cstdint>

#include "stack/base/time.h"

namespace shunt {

class TokenBucket {
 public:
  TokenBucket(uint64_t rate_per_sec, uint64_t burst) : rate_(rate_per_sec), burst_(burst) {}

  // Takes one token if there is one.
  bool take(Instant now) {
    if (conform_time(1, now) > now) return false;
    consume(1, now);
    return true;
  }

  // The earliest instant at or after `now` at which `cost` tokens are there.
  // A cost above the burst waits for a full bucket (and consume() then
  // leaves the bucket in debt).
  Instant conform_time(uint64_t cost, Instant now) const {
    if (rate_ == 0) return spent_ + std::min(cost, burst_) <= burst_ ? now : kNever;
    if (!valid_) return now;
    const uint64_t need = std::min(cost, burst_);
    return std::max(now, tat_ - time_for(burst_ - need, /*round_up=*/false));
  }

  // Takes `cost` tokens at `at` (the instant conform_time() gave, or later).
  void consume(uint64_t cost, Instant at) {
    if (rate_ == 0) {  // a bucket that never refills: the burst, once
      spent_ += cost;
      return;
    }
    tat_ = (valid_ ? std::max(at, tat_) : at) + time_for(cost, /*round_up=*/true);
    valid_ = true;
  }

 private:
  // Longest time computed (about 36 years): keeps the arithmetic far from
  // the ends of Instant's range.
  static constexpr uint64_t kMaxNs = uint64_t{1} << 60;

  // Time for `tokens` to come in, in whole nanoseconds.
  Duration time_for(uint64_t tokens, bool round_up) const {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(tokens) * 1'000'000'000u;
    unsigned __int128 ns = scaled / rate_;
    if (round_up && ns * rate_ != scaled) ++ns;
    return Duration(static_cast<int64_t>(std::min<unsigned __int128>(ns, kMaxNs)));
  }

  uint64_t rate_;
  uint64_t burst_;
  Instant tat_{};
  bool valid_ = false;
  uint64_t spent_ = 0;  // rate 0 only
};

}  // namespace shunt
