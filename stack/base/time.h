// Time in the stack is an argument: nothing in stack/ reads a clock.
// Instant is a point on a monotonic time line whose epoch the caller picks
// (the preload runtime uses CLOCK_MONOTONIC, the simulation starts at 0).
#pragma once

#include <chrono>
#include <cstdint>

namespace shunt {

using Duration = std::chrono::nanoseconds;

// A clock type with no now(): it only names the time line.
struct StackClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = Duration;
  using time_point = std::chrono::time_point<StackClock, Duration>;
  static constexpr bool is_steady = true;
};

using Instant = StackClock::time_point;

// "No deadline": the largest representable instant.
inline constexpr Instant kNever = Instant::max();

inline constexpr Instant instant_from_ns(int64_t ns) { return Instant(Duration(ns)); }
inline constexpr int64_t to_ns(Instant t) { return t.time_since_epoch().count(); }

using namespace std::chrono_literals;  // NOLINT(google-global-names-in-headers): 200ms, 30s, ...

}  // namespace shunt
