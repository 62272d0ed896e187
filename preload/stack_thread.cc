#include "preload/stack_thread.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "preload/libc.h"

namespace shunt::preload {
namespace {

constexpr uint64_t kEventOne = 1;

}  // namespace

Instant monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return instant_from_ns(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
}

StackThread::StackThread(std::mutex& mu, Stack& stack, NetDevice& device, Hooks hooks)
    : mu_(mu), stack_(stack), device_(device), hooks_(std::move(hooks)) {}

StackThread::~StackThread() {
  if (wake_fd_ >= 0) libc().close(wake_fd_);
  if (epoll_fd_ >= 0) libc().close(epoll_fd_);
}

void StackThread::open(int device_fd) {
  wake_fd_ = move_high(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  epoll_fd_ = move_high(libc().epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  libc().epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  if (device_fd >= 0) {
    ev.data.fd = device_fd;
    libc().epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, device_fd, &ev);
  }
}

void StackThread::start() {
  stop_.store(false);
  running_.store(true);
  std::thread([this] { main(); }).detach();
}

void StackThread::stop() {
  stop_.store(true);
  (void)!libc().write(wake_fd_, &kEventOne, sizeof kEventOne);
}

void StackThread::wake_if_earlier() {
  Instant d = std::min(stack_.next_deadline(), device_.next_deadline());
  int64_t want = d == kNever ? INT64_MAX : to_ns(d);
  if (want < planned_wake_ns_.load(std::memory_order_relaxed)) {
    planned_wake_ns_.store(want, std::memory_order_relaxed);
    (void)!libc().write(wake_fd_, &kEventOne, sizeof kEventOne);
  }
}

void StackThread::service_once() {
  Instant t = monotonic_now();
  rx_batch_.clear();
  device_.receive(rx_batch_, 64, t);
  for (auto& f : rx_batch_) stack_.receive(std::move(f), t);
  rx_batch_.clear();
  stack_.poll(t);
  hooks_.publish();
}

void StackThread::main() {
  loop();
  running_.store(false);  // the last use of `this`
}

void StackThread::loop() {
  epoll_event events[4];
  bool trim = false;
  while (!stop_.load(std::memory_order_relaxed)) {
    if (trim) {
      malloc_trim(0);
      trim = false;
    }
    int timeout_ms = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_.load()) return;
      // A decorator holding frames (delays, rate limits) has deadlines too.
      Instant deadline = std::min(stack_.next_deadline(), device_.next_deadline());
      if (trim_pending_) deadline = std::min(deadline, last_trim_ + std::chrono::seconds(1));
      planned_wake_ns_.store(deadline == kNever ? INT64_MAX : to_ns(deadline),
                             std::memory_order_relaxed);
      if (deadline != kNever) {
        // (Compared as Instants first: a device with frames waiting may say
        // Instant::min(), which no subtraction survives.)
        const Instant t = monotonic_now();
        const int64_t ns = deadline <= t ? 0 : to_ns(deadline) - to_ns(t);
        timeout_ms =
            ns <= 0 ? 0 : static_cast<int>(std::min<int64_t>((ns + 999'999) / 1'000'000, 60'000));
      }
    }
    int n = libc().epoll_wait(epoll_fd_, events, 4, timeout_ms);
    if (n < 0 && errno != EINTR) {
      // The runtime's own fds were closed behind its back (a raw close or
      // close_range system call): nothing can drive the stack any more.
      // Say so and fail every waiting and later call instead of hanging.
      const int e = errno;
      std::lock_guard<std::mutex> lock(mu_);
      hooks_.lost(fmt::format("the stack thread's epoll fd failed ({})", std::strerror(e)));
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_.load()) return;
    uint64_t drained;
    while (libc().read(wake_fd_, &drained, sizeof drained) > 0) {
    }
    Instant t = monotonic_now();
    for (int round = 0; round < 64; ++round) {
      rx_batch_.clear();
      size_t got = device_.receive(rx_batch_, 64, t);
      for (auto& f : rx_batch_) stack_.receive(std::move(f), t);
      if (got < 64) break;
    }
    rx_batch_.clear();
    stack_.poll(t);
    hooks_.publish();
    trim = trim_due(t);
  }
}

bool StackThread::trim_due(Instant t) {
  // glibc keeps the heap pages of freed connections (their 16 KiB buffer
  // blocks sit between live allocations): a server that had 10,000
  // connections held ~200 MB after they all closed, more after each wave.
  // Once kTrimAfterCloses connections have gone, give the free pages back,
  // at most once a second (malloc_trim runs outside the lock; the stack
  // thread wakes for a pending trim even when nothing else is due).
  const size_t conns = stack_.tcp_connection_count();
  if (conns < last_conns_) closed_since_trim_ += last_conns_ - conns;
  last_conns_ = conns;
  if (closed_since_trim_ < kTrimAfterCloses) return false;
  if (t - last_trim_ < std::chrono::seconds(1)) {
    trim_pending_ = true;
    return false;
  }
  closed_since_trim_ = 0;
  trim_pending_ = false;
  last_trim_ = t;
  return true;
}

}  // namespace shunt::preload
