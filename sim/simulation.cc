#include "sim/simulation.h"

#include <algorithm>
#include <cstdio>

#include "stack/base/check.h"

namespace shunt {
namespace {

// Frames taken from a device per receive() call.
constexpr size_t kRxBatch = 64;

// now + d without overflowing past kNever (run_until_idle(Duration::max())).
Instant saturating_add(Instant now, Duration d) {
  if (d <= Duration::zero()) return now;
  if (d >= kNever - now) return kNever;
  return now + d;
}

}  // namespace

Simulation::Simulation(Instant start) : clock_(start), last_instant_(start) {}

void Simulation::add(SimNode& node, NetDevice& device) {
  entries_.push_back(Entry{&node, &device});
}

Instant Simulation::next_deadline() const {
  Instant next = kNever;
  for (const Entry& e : entries_) {
    next = std::min({next, e.node->next_deadline(), e.device->next_deadline()});
  }
  return next;
}

size_t Simulation::round() {
  note_round();
  const Instant t = now();
  // 1. Release frames a device holds until now (fault rule delays).
  for (Entry& e : entries_) {
    if (e.device->next_deadline() <= t) e.device->transmit({}, t);
  }
  // 2. Let every node run its timers and emit output.
  for (Entry& e : entries_) e.node->poll(t);
  // 3. Deliver everything that has arrived. A node's receive() may transmit,
  //    so a device drained earlier in this loop may fill again; the next
  //    round picks that up.
  size_t delivered = 0;
  for (Entry& e : entries_) {
    for (;;) {
      rx_batch_.clear();
      size_t n = e.device->receive(rx_batch_, kRxBatch, t);
      if (n == 0) break;
      for (PacketBuffer& frame : rx_batch_) e.node->receive(std::move(frame), t);
      delivered += n;
    }
  }
  rx_batch_.clear();
  return delivered;
}

size_t Simulation::settle() {
  size_t total = 0;
  for (;;) {
    size_t n = round();
    total += n;
    if (n == 0) return total;
  }
}

void Simulation::note_round() {
  if (now() != last_instant_) {
    last_instant_ = now();
    rounds_at_instant_ = 0;
  }
  if (++rounds_at_instant_ <= stall_limit_) return;
  // No progress: say who is stuck before aborting.
  const Instant t = now();
  std::fprintf(stderr,
               "shunt: simulation: no progress after %llu rounds at t=%lld ns: a node or "
               "device keeps next_deadline() <= now() after poll, or frames bounce between "
               "nodes without time passing\n",
               static_cast<unsigned long long>(rounds_at_instant_),
               static_cast<long long>(to_ns(t)));
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.node->next_deadline() <= t) {
      std::fprintf(stderr, "shunt: simulation: node %zu: next_deadline() = %lld ns\n", i,
                   static_cast<long long>(to_ns(e.node->next_deadline())));
    }
    if (e.device->next_deadline() <= t) {
      std::fprintf(stderr, "shunt: simulation: device of node %zu: next_deadline() = %lld ns\n", i,
                   static_cast<long long>(to_ns(e.device->next_deadline())));
    }
  }
  SHUNT_CHECK(rounds_at_instant_ <= stall_limit_ && "simulation makes no progress");
}

void Simulation::advance_to(Instant t) {
  clock_.advance_to(t);
  ++steps_;
}

bool Simulation::run_until_idle(Duration limit) {
  const Instant end = saturating_add(now(), limit);
  for (;;) {
    settle();
    const Instant next = next_deadline();
    if (next == kNever) return true;
    if (next > end) {
      if (end > now()) {
        advance_to(end);
        settle();
      }
      return false;
    }
    // next <= now() means a node did not move its deadline when polled:
    // settle again; the stall guard in round() bounds this.
    if (next > now()) advance_to(next);
  }
}

bool Simulation::run_until(const std::function<bool()>& pred, Duration limit) {
  const Instant end = saturating_add(now(), limit);
  for (;;) {
    settle();
    if (pred()) return true;
    const Instant next = next_deadline();
    if (next == kNever) return false;  // idle: nothing can change pred() any more
    if (next > end) {
      if (end <= now()) return false;
      advance_to(end);
      settle();
      return pred();
    }
    if (next > now()) advance_to(next);
  }
}

void Simulation::run_for(Duration d) {
  const Instant end = saturating_add(now(), d);
  for (;;) {
    settle();
    const Instant next = next_deadline();
    if (next == kNever || next > end) break;
    if (next > now()) advance_to(next);
  }
  if (end > now() && end != kNever) {
    advance_to(end);
    settle();
  }
}

}  // namespace shunt
