// ManualClock: the only clock simulation tests use. Time moves when the
// test (or the Simulation harness) says so.
#pragma once

#include "stack/base/check.h"
#include "stack/base/time.h"

namespace shunt {

class ManualClock {
 public:
  explicit ManualClock(Instant start = Instant{}) : now_(start) {}
  Instant now() const { return now_; }
  void advance(Duration d) {
    SHUNT_CHECK(d >= Duration::zero());
    now_ += d;
  }
  void advance_to(Instant t) {
    SHUNT_CHECK(t >= now_);
    now_ = t;
  }

 private:
  Instant now_;
};

}  // namespace shunt
