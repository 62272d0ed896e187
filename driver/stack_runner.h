// StackRunner: drives one Stack over one real device (TAP, AF_PACKET, or a
// decorator around one) in the calling thread, in real time. It is the
// small event loop of the kernel-interop tests, the device benchmarks and
// tools that embed a stack directly; the preload runtime has its own stack
// thread and lock (docs/design.md section 3).
//
//   StackRunner run(stack, device);
//   SocketId s = *stack.udp_open();
//   ...
//   bool ok = run.run_until([&] {
//     // socket calls, with run.now() as the time
//     return done;
//   }, 10s);
//
// One iteration (step()):
//   1. wait in ppoll(2) on the device fd until a frame arrives or the
//      earliest of stack.next_deadline() and device.next_deadline() comes,
//      but never longer than max_wait (so that a predicate waiting for
//      something outside the stack, a child process or another thread, is
//      looked at again soon);
//   2. drain the device in batches of kBatch frames into stack.receive(),
//      at most kMaxFramesPerStep frames, so that the predicate gets to read
//      and write its sockets between bursts;
//   3. stack.poll(now).
// run_until() checks its predicate before the first iteration and after
// every one. It only returns when the predicate is true or the wall-clock
// limit has passed: a test or benchmark never hangs.
//
// Time: CLOCK_MONOTONIC as an Instant (nanoseconds since boot), the time
// line the preload runtime will use too. This is one of the few places
// outside preload/ that reads a clock; stack/ never does.
//
// Single-threaded: Stack, BufferPool and the devices are not thread-safe.
// Every socket call must come from the thread running the loop (the
// predicate is the place for them). Other threads may talk to the kernel
// side freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"
#include "stack/net/stack.h"

namespace shunt {

// CLOCK_MONOTONIC now, as an Instant.
Instant monotonic_now();

struct RunnerStats {
  uint64_t steps = 0;          // iterations
  uint64_t waits = 0;          // ppoll calls that slept (timeout > 0)
  uint64_t wakeups_by_fd = 0;  // ... that ended because the device fd became readable
  uint64_t frames = 0;         // frames handed to stack.receive()
  uint64_t full_steps = 0;     // iterations that stopped at kMaxFramesPerStep
};

class StackRunner {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kMaxFramesPerStep = 512;
  static constexpr Duration kDefaultMaxWait = 10ms;

  // `device` is the one the stack transmits through (or a decorator around
  // it): frames are read from it and its fd is waited on. Both must outlive
  // the runner.
  StackRunner(Stack& stack, NetDevice& device);

  Instant now() const { return monotonic_now(); }

  // The longest single wait (default 10 ms).
  void set_max_wait(Duration d) { max_wait_ = d; }
  Duration max_wait() const { return max_wait_; }

  // One iteration: wait at most `max_wait` (0: do not sleep), receive, poll.
  void step(Duration max_wait);
  void step() { step(max_wait_); }

  // Runs iterations until pred() is true (returns true) or `limit` of wall
  // time has passed (returns false after checking pred() one last time).
  bool run_until(const std::function<bool()>& pred, Duration limit);
  // Runs iterations for `d` of wall time.
  void run_for(Duration d);

  const RunnerStats& stats() const { return stats_; }
  Stack& stack() { return stack_; }
  NetDevice& device() { return device_; }

 private:
  // Receives up to kMaxFramesPerStep frames; returns how many.
  size_t drain(Instant now);

  Stack& stack_;
  NetDevice& device_;
  Duration max_wait_ = kDefaultMaxWait;
  std::vector<PacketBuffer> batch_;
  RunnerStats stats_;
};

}  // namespace shunt
