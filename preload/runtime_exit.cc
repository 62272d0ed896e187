// Exit (docs/design.md 7): the kernel closes a dying process's sockets and
// keeps sending what it wrote; the stack lives in the process, so exit
// closes them itself and waits (up to SHUNT_EXIT_LINGER_MS) for queued data,
// FINs and ARP to go out. Runtime() registers exit_sockets with atexit;
// intercept_exit.cc calls it from _exit, _Exit and exit_group.
#include <unistd.h>

#include <cstdint>
#include <mutex>

#include "preload/libc.h"
#include "preload/runtime.h"

namespace shunt::preload {
namespace {

constexpr uint64_t kEventOne = 1;

}  // namespace

void Runtime::exit_sockets() {
  // Not started, a failed start, a vfork child, or a fork child that left
  // the stack to its parent: nothing to close.
  if (!started_ || stack_ == nullptr || !owns_stack_ || getpid() != owner_pid_) return;
  if (exiting_.exchange(true)) return;
  int64_t limit_ms = config_.exit_linger_ms;
  const int64_t deadline = to_ns(now()) + limit_ms * 1'000'000;
  {
    // _exit may come from a signal handler that interrupted a call holding
    // the lock: try for as long as the linger allows, then give up.
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    while (!lock.try_lock()) {
      if (to_ns(now()) >= deadline) {
        log(Config::LogLevel::kWarn, "exit: the stack was busy; sockets not closed");
        return;
      }
      usleep(1000);
    }
    // The kernel closes every file of a dying process: each socket as by
    // its last close() (FIN after queued data; RST for unread data or
    // SO_LINGER 0, Linux tcp_close). Other threads may still be inside a
    // call on these sockets, so the SocketFiles stay, inert.
    const Instant t = now();
    fds_.for_each_socket([&](SocketFile* sf) {
      if (sf->inert) return;
      (void)stack_->close(sf->id, t);
      sf->inert = true;
    });
    publish();
    // Wake anyone blocked on a socket: it now fails with EBADF.
    fds_.for_each_socket([](SocketFile* sf) {
      if (!sf->fds.empty()) (void)!libc().write(sf->fds.front(), &kEventOne, sizeof kEventOne);
    });
  }
  linger_until(deadline);
}

void Runtime::linger_until(int64_t deadline_ns) {
  struct StatsAtExit {
    Runtime& rt;
    ~StatsAtExit() {
      rt.stop_control();
      if (rt.config_.stats_at_exit) {
        std::lock_guard<std::mutex> lock(rt.mu_);
        rt.print_stats();
      }
    }
  } stats{*this};
  while (to_ns(now()) < deadline_ns) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stack_->has_pending_output()) return;
    }
    usleep(5000);
  }
  log(Config::LogLevel::kWarn, "exit: data was still in flight after SHUNT_EXIT_LINGER_MS");
}

}  // namespace shunt::preload
