#include "driver/stack_runner.h"

#include <poll.h>
#include <time.h>

#include <algorithm>

namespace shunt {

Instant monotonic_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return instant_from_ns(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
}

StackRunner::StackRunner(Stack& stack, NetDevice& device) : stack_(stack), device_(device) {
  batch_.reserve(kBatch);
}

size_t StackRunner::drain(Instant now) {
  size_t total = 0;
  while (total < kMaxFramesPerStep) {
    batch_.clear();
    const size_t n = device_.receive(batch_, kBatch, now);
    for (auto& frame : batch_) stack_.receive(std::move(frame), now);
    total += n;
    if (n == 0) break;
  }
  batch_.clear();
  stats_.frames += total;
  if (total >= kMaxFramesPerStep) ++stats_.full_steps;
  return total;
}

void StackRunner::step(Duration max_wait) {
  ++stats_.steps;
  Instant now = monotonic_now();
  const Instant deadline = std::min(stack_.next_deadline(), device_.next_deadline());
  Duration wait = max_wait;
  if (deadline != kNever) wait = std::min(wait, std::max(Duration::zero(), deadline - now));
  if (wait > Duration::zero()) {
    ++stats_.waits;
    pollfd p{device_.fd(), POLLIN, 0};  // a negative fd is ignored: a plain sleep
    const int64_t ns = wait.count();
    const timespec ts{static_cast<time_t>(ns / 1'000'000'000),
                      static_cast<long>(ns % 1'000'000'000)};
    const int r = ::ppoll(&p, 1, &ts, nullptr);
    if (r > 0) ++stats_.wakeups_by_fd;
    // r < 0 is EINTR (a signal): just go on, the loop re-checks everything.
    now = monotonic_now();
  }
  drain(now);
  stack_.poll(now);
}

bool StackRunner::run_until(const std::function<bool()>& pred, Duration limit) {
  const Instant end = monotonic_now() + limit;
  while (true) {
    if (pred()) return true;
    const Instant now = monotonic_now();
    if (now >= end) return false;
    step(std::min(max_wait_, end - now));
  }
}

void StackRunner::run_for(Duration d) {
  const Instant end = monotonic_now() + d;
  for (Instant now = monotonic_now(); now < end; now = monotonic_now()) {
    step(std::min(max_wait_, end - now));
  }
}

}  // namespace shunt
