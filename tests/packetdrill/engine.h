// Engine: one Stack, its IpLink and the virtual clock it runs on, shared by
// packetdrill's two threads (the main thread injects packets and runs
// non-blocking calls; the system call thread runs the blocking ones).
//
// Time. The stack takes time as an argument (design.md 2), so the adapter
// owns the clock: virtual time that moves only when packetdrill asks for
// it. usleep() advances it deadline by deadline, running the stack's
// timers on the way; gettimeofday() advances it by 1 us per call so that
// packetdrill's last-microseconds spin loop ends; netdev_receive() with
// nothing queued advances it to the stack's next deadline, so a
// retransmission 3 s later costs no wall time. A blocked call whose
// progress depends on a timer while nobody else drives the clock (the main
// thread waiting for it) advances the clock itself after a short real
// pause.
//
// Ordering. Before time moves on, every blocked call has looked at the
// stack's new state (sync_waiters), so a call that the previous step made
// ready completes at that step's instant, which is the time gettimeofday
// reports on its thread next (packetdrill reads it right after the call).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"
#include "tests/packetdrill/ip_link.h"
#include "tests/packetdrill/settings.h"

namespace shunt::packetdrill {

class Engine {
 public:
  explicit Engine(const Settings& s);
  ~Engine();

  // Every call from packetdrill takes this first.
  std::unique_lock<std::mutex> lock();

  // Lock held for everything below.
  Stack& stack();
  Instant now() const { return now_; }
  // The stack is made at the first socket() (so the script's sysctls
  // count); before that it does not exist.
  bool started() const { return stack_ != nullptr; }
  void start();

  // After a socket call or an injected packet: deliver what the link
  // queued for the stack (ARP replies, injected packets), run due timers
  // and, for `wakeup`, report the sockets whose readiness may have changed.
  // Only the packet path and timers wake (Linux's sk_data_ready,
  // sk_write_space, sk_state_change); the application's own calls do not,
  // so a read does not fire an EPOLLET registration again.
  void settle(bool wakeup = false);
  // Called for each socket a wake-up reached (epoll).
  std::function<void(SocketId)> on_change;

  // usleep(): moves the clock forward by `d`.
  void sleep_for(std::unique_lock<std::mutex>& lk, Duration d);
  // gettimeofday(): microseconds since the Unix epoch on the virtual clock.
  int64_t wall_usecs(std::unique_lock<std::mutex>& lk);
  // A packet from packetdrill for the stack.
  bool inject(Bytes ip);
  // The next packet the stack sent, advancing the clock to the stack's
  // next deadlines (at most `horizon` ahead) until there is one.
  std::optional<IpLink::Sent> next_sent(std::unique_lock<std::mutex>& lk, Duration horizon);
  int64_t to_wall_usecs(Instant t) const;

  // Blocks until `ready()` (true) or the virtual clock passes `until`
  // (false). The stack is settled whenever ready() runs. The instant it
  // returns is what the next gettimeofday on this thread reports.
  bool wait(std::unique_lock<std::mutex>& lk, const std::function<bool()>& ready, Instant until);

 private:
  void step_to(Instant t);
  void advance_to(std::unique_lock<std::mutex>& lk, Instant target);
  void sync_waiters(std::unique_lock<std::mutex>& lk);

  Settings settings_;
  std::mutex mu_;
  std::condition_variable changed_;  // generation_ moved
  std::condition_variable synced_;   // a waiter looked at the latest generation
  BufferPool pool_;
  std::unique_ptr<IpLink> link_;
  std::unique_ptr<Stack> stack_;
  Instant now_;
  int64_t wall_epoch_us_;  // the real time at start, so printouts look right
  uint64_t generation_ = 0;
  uint64_t activity_ = 0;  // calls into the adapter, any thread
  uint64_t next_waiter_ = 0;
  std::map<uint64_t, uint64_t> waiters_;  // waiter -> generation it has seen
  std::vector<SocketId> changes_;
};

}  // namespace shunt::packetdrill
