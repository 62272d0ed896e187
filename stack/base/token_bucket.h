// A token bucket in virtual time: `rate` tokens per second up to `burst`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "stack/base/time.h"

namespace shunt {

class TokenBucket {
 public:
  TokenBucket(uint32_t rate_per_sec, uint32_t burst)
      : rate_(rate_per_sec), burst_(burst), tokens_(burst) {}

  // Takes one token if there is one.
  bool take(Instant now) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  void refill(Instant now) {
    if (!last_ || now < *last_) {
      last_ = now;
      return;
    }
    double secs = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min<double>(burst_, tokens_ + secs * rate_);
    last_ = now;
  }

  uint32_t rate_;
  uint32_t burst_;
  double tokens_;
  std::optional<Instant> last_;
};

}  // namespace shunt
