// The stack thread (docs/design.md 3): it sleeps on the device's fd, a wake
// eventfd and the stack's next deadline, then hands received frames to the
// stack, runs its timers and publishes readiness. Every round holds the
// runtime lock; a blocking call may run a round itself (SHUNT_BUSY_POLL_US).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "stack/net/stack.h"

namespace shunt::preload {

// CLOCK_MONOTONIC as a stack Instant: the preload runtime's clock.
Instant monotonic_now();

class StackThread {
 public:
  // What a round tells the runtime (both with the lock held).
  struct Hooks {
    std::function<void()> publish;                 // after each round: signal placeholders
    std::function<void(const std::string&)> lost;  // the thread's own fds failed; it stops
  };

  StackThread(std::mutex& mu, Stack& stack, NetDevice& device, Hooks hooks);
  StackThread(const StackThread&) = delete;
  StackThread& operator=(const StackThread&) = delete;
  // Closes the thread's fds. Only once the thread has ended (stop(), then
  // running() false); the preload runtime never destroys its thread.
  ~StackThread();

  // Makes the wake eventfd and the epoll fd the thread sleeps in, watching
  // the wake fd and `device_fd` (-1: a device without an fd).
  void open(int device_fd);
  int wake_fd() const { return wake_fd_; }
  // The thread's own fds, which the application cannot close.
  bool owns_fd(int fd) const { return fd >= 0 && (fd == wake_fd_ || fd == epoll_fd_); }

  // Starts the thread (detached: it may run until exit).
  void start();
  // Asks the thread to end after its current round (lock held).
  void stop();
  // Whether the thread is still inside its loop (a test waits for false
  // after stop() before it destroys what the thread uses).
  bool running() const { return running_.load(); }
  // After a stack call (lock held): wakes the thread if the stack's or the
  // device's next deadline moved before the one it sleeps until.
  void wake_if_earlier();
  // One round of the thread's work from any thread (lock held).
  void service_once();

 private:
  void main();
  void loop();
  // Whether to return freed heap memory to the system now (lock held):
  // after many connections closed.
  bool trim_due(Instant t);
  static constexpr size_t kTrimAfterCloses = 256;

  std::mutex& mu_;
  Stack& stack_;
  NetDevice& device_;
  Hooks hooks_;
  int wake_fd_ = -1;
  int epoll_fd_ = -1;
  std::atomic<int64_t> planned_wake_ns_{INT64_MAX};
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::vector<PacketBuffer> rx_batch_;
  size_t last_conns_ = 0;
  size_t closed_since_trim_ = 0;
  bool trim_pending_ = false;
  Instant last_trim_{};
};

}  // namespace shunt::preload
