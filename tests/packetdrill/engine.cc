#include "tests/packetdrill/engine.h"

#include <sys/time.h>

#include <algorithm>
#include <cstdio>

namespace shunt::packetdrill {
namespace {

// The virtual clock starts here (any instant works; 0 is avoided because
// "unset" often reads as 0).
constexpr Instant kStart = instant_from_ns(int64_t{1000} * 1'000'000'000);
// How long (real time) a blocked call waits for another thread to drive the
// clock before it advances the clock itself.
constexpr auto kIdleBeforeSelfAdvance = std::chrono::milliseconds(100);
// Rounds of that with nothing pending before a blocked call gives up.
constexpr int kIdleRoundsBeforeGivingUp = 20;
// How long (real time) time waits for blocked calls to look at a new state.
constexpr auto kSyncLimit = std::chrono::seconds(2);

thread_local std::optional<Instant> t_returned;

}  // namespace

Engine::Engine(const Settings& s) : settings_(s), now_(kStart) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  wall_epoch_us_ = int64_t{tv.tv_sec} * 1'000'000 + tv.tv_usec;
}

Engine::~Engine() = default;

std::unique_lock<std::mutex> Engine::lock() {
  std::unique_lock<std::mutex> lk(mu_);
  ++activity_;
  return lk;
}

void Engine::start() {
  if (stack_) return;
  StackConfig sc = settings_.stack;
  if (settings_.sysctls) apply_sysctls(sc);
  sc.mac = MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
  sc.address = settings_.local;
  sc.gateway = settings_.gateway;
  sc.mtu = settings_.mtu;
  // Deterministic: the same script gives the same ISNs and ports each run.
  sc.seed = 14;
  link_ = std::make_unique<IpLink>(pool_, sc.mac, MacAddress({0x02, 0x00, 0x00, 0x00, 0x00, 0x02}),
                                   settings_.mtu);
  stack_ = std::make_unique<Stack>(*link_, pool_, sc);
  settle();
}

Stack& Engine::stack() {
  start();
  return *stack_;
}

void Engine::settle(bool wakeup) {
  if (!stack_) return;
  std::vector<PacketBuffer> rx;
  for (int round = 0; round < 64; ++round) {
    rx.clear();
    if (link_->receive(rx, 64, now_) == 0) break;
    for (auto& f : rx) stack_->receive(std::move(f), now_);
  }
  stack_->poll(now_);
  changes_.clear();
  stack_->take_ready_changes(changes_);
  if (on_change && wakeup) {
    for (SocketId s : changes_) on_change(s);
  }
  ++generation_;
  changed_.notify_all();
}

void Engine::step_to(Instant t) {
  if (t > now_) now_ = t;
  settle(true);
}

void Engine::sync_waiters(std::unique_lock<std::mutex>& lk) {
  auto all_seen = [&] {
    return std::all_of(waiters_.begin(), waiters_.end(),
                       [&](const auto& w) { return w.second == generation_; });
  };
  if (!synced_.wait_for(lk, kSyncLimit, all_seen)) {
    std::fprintf(stderr, "packetdrill adapter: a blocked call did not wake within 2 s\n");
  }
}

void Engine::advance_to(std::unique_lock<std::mutex>& lk, Instant target) {
  while (true) {
    sync_waiters(lk);
    if (now_ >= target) break;
    Instant next = stack_ ? std::min(stack_->next_deadline(), target) : target;
    step_to(std::max(next, now_ + Duration(1)));
  }
}

void Engine::sleep_for(std::unique_lock<std::mutex>& lk, Duration d) {
  advance_to(lk, now_ + d);
}

int64_t Engine::to_wall_usecs(Instant t) const {
  return wall_epoch_us_ + std::chrono::duration_cast<std::chrono::microseconds>(t - kStart).count();
}

int64_t Engine::wall_usecs(std::unique_lock<std::mutex>& lk) {
  if (t_returned) {
    Instant t = *t_returned;
    t_returned.reset();
    return to_wall_usecs(t);
  }
  advance_to(lk, now_ + std::chrono::microseconds(1));
  return to_wall_usecs(now_);
}

bool Engine::inject(Bytes ip) {
  start();
  if (!link_->inject(ip)) return false;
  settle(true);
  return true;
}

std::optional<IpLink::Sent> Engine::next_sent(std::unique_lock<std::mutex>& lk, Duration horizon) {
  start();
  const Instant limit = now_ + horizon;
  while (true) {
    sync_waiters(lk);
    if (link_->has_sent()) return link_->take_sent();
    Instant next = stack_->next_deadline();
    if (next == kNever || next > limit) return std::nullopt;
    step_to(std::max(next, now_));
  }
}

bool Engine::wait(std::unique_lock<std::mutex>& lk, const std::function<bool()>& ready,
                  Instant until) {
  const uint64_t me = ++next_waiter_;
  waiters_[me] = generation_;
  bool ok = false;
  int idle_rounds = 0;
  while (true) {
    if (ready()) {
      ok = true;
      break;
    }
    if (now_ >= until) break;
    waiters_[me] = generation_;
    synced_.notify_all();
    const uint64_t seen = generation_;
    const uint64_t activity = activity_;
    bool moved = changed_.wait_for(lk, kIdleBeforeSelfAdvance, [&] { return generation_ != seen; });
    if (moved || activity_ != activity) {
      idle_rounds = 0;
    } else {
      // Nobody drives the clock: packetdrill's main thread waits for this
      // call. Move to the next thing that can happen.
      Instant next = std::min(stack_ ? stack_->next_deadline() : kNever, until);
      if (next != kNever) {
        step_to(std::max(next, now_ + Duration(1)));
      } else if (++idle_rounds == kIdleRoundsBeforeGivingUp) {
        // No timer, no other thread: nothing can ever end this call (the
        // kernel would hang here; a test should fail instead).
        std::fprintf(stderr,
                     "packetdrill adapter: a blocking call can never return (no timer pending, "
                     "nothing else running); failing it\n");
        break;
      }
    }
  }
  waiters_.erase(me);
  synced_.notify_all();
  t_returned = now_;
  return ok;
}

}  // namespace shunt::packetdrill
