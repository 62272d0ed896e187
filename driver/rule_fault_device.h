// RuleFaultDevice: a NetDevice decorator that applies fault rules
// (fault_rules.h, docs/faults.md) to the frames passing through it, the
// way smoltcp's phy::FaultInjector impairs a link. It wraps any device (an
// in-memory port in simulations, a TAP device in a lab run): targeted
// faults (the first SYN-ACK) as well as a whole impaired link (loss,
// duplication, reordering, corruption, delay with jitter, a rate limit, an
// MTU black hole).
//
//   auto rules = parse_fault_rules("in drop nth=1 tcp synack; both drop 2%");
//   RuleFaultDevice dev(port, std::move(*rules), /*seed=*/42);
//   Stack stack(dev, pool, cfg);
//
// Rules form a chain, applied in the order given: a frame meets rule 1,
// then (if rule 1 let it go on) rule 2, and so on. A rule whose direction,
// match or selection does not take the frame passes it on unchanged. drop
// and blackhole end the frame, mtu ends it when it is too large; corrupt
// and truncate change it and pass it on; duplicate passes both copies on;
// delay, reorder and rate hold the frame and pass it on when it is
// released, at its release time. So
// `out rate=1mbit; out delay=20ms` is a 1 Mbit/s link with 20 ms latency.
// Rules match a frame as it entered the device (a truncated frame still
// matches as what it was).
//
// Selection state (the counts behind nth/every/first, the Gilbert-Elliott
// state, a blackhole) belongs to the rule, shared by both directions of a
// `both` rule; a rate rule has one token bucket per direction. Time
// windows (after=, for=) count from the first frame the device saw.
//
// Rule ids: every rule has a stable id, 1, 2, ... in the order given, and a
// rule added later (add_rule, for `shunt fault PID add`) gets the next id;
// ids are never reused. An added rule goes at the end of the chain. Its
// time window (after=, for=) counts from the first frame the device sees
// after it was added; a start-up rule's counts from the device's first
// frame. remove_rule() takes a rule out of the chain; the frames it holds
// (delay, reorder, rate queue) are released at once: they go on through the
// rules that followed it, at the time of the device's latest call (and so
// leave on its next call, which next_deadline() asks for).
//
// Determinism: each rule draws from its own random streams, derived from
// the seed and the rule's id (rule N's streams are the (3N-2)th, (3N-1)th
// and 3Nth numbers of Rng(seed), which is what rule N at position N always
// had), so the same seed, rules and calls give the same decisions, and a
// rule added at run time decides as it would have as the Nth start-up rule.
// Time: held frames are released by later calls at or after their due
// time: transmit() (also with an empty span) and receive() release due
// outbound frames to the inner device; receive() returns inbound frames
// once they are due. next_deadline() reports the earliest (or the inner
// device's, if earlier). A frame released late (the call comes after its
// due time) goes on as if released on time: the rules after the one that
// held it start from its due time, not from the call's `now`, so results
// do not depend on how often the caller polls.
//
// Every injected fault is counted per rule and logged (the last
// kLogCapacity entries: time, rule id, direction, action, packet summary).
//
// Capture comments: set_observer() attaches the device directly inside
// (a CaptureDevice, fault_observer.h); every fault is then also a note on
// the frame it hit, "shunt fault rule ID 'TEXT': WHAT", WHAT being one of
//   dropped before the stack | dropped, not sent
//   blackholed before the stack | blackholed, not sent
//   dropped by the rate limit (queue full) before the stack | ..., not sent
//   dropped (over mtu N) before the stack | dropped (over mtu N), not sent
//   duplicated | the duplicate   (on the copy, outbound)
//   corrupted bit N              (bit N % 8 of byte N / 8 of the frame)
//   truncated to N bytes         delayed D
//   held back until K later frame(s) pass(es) (reorder) | held back D (reorder)
//   held D by the rate limit
// (an inbound note about a duplicate's copy ends in "(the duplicate)").
//
// Zero rules: the device stays in place (rules may be added later) and
// costs one branch per call: transmit() and receive() go straight to the
// inner device while there is no rule and nothing held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "driver/fault_observer.h"
#include "driver/fault_rules.h"
#include "stack/base/random.h"
#include "stack/base/time.h"
#include "stack/base/token_bucket.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

struct FaultRuleCounters {
  uint64_t matched = 0;       // frames the rule's direction, match and time window took
  uint64_t injected = 0;      // faults injected (frames the action was applied to)
  uint64_t rate_dropped = 0;  // rate: frames refused by a full queue (also in injected)
};

// One rule as `shunt stat` and `shunt fault PID list` show it.
struct FaultRuleSnapshot {
  uint32_t id = 0;
  std::string text;
  FaultRuleCounters counters;
  size_t held = 0;  // frames the rule holds now (delay, reorder, rate queue)
};

struct FaultLogEntry {
  Instant when{};
  uint32_t rule = 0;  // the rule's id
  bool outbound = false;
  FaultActionKind action = FaultActionKind::kDrop;
  PacketSummary packet;
  std::string to_string() const;
};

class RuleFaultDevice final : public NetDevice {
 public:
  static constexpr size_t kLogCapacity = 1024;

  RuleFaultDevice(NetDevice& inner, FaultRuleSet rules, uint64_t seed);
  RuleFaultDevice(std::unique_ptr<NetDevice> inner, FaultRuleSet rules, uint64_t seed);
  RuleFaultDevice(const RuleFaultDevice&) = delete;
  RuleFaultDevice& operator=(const RuleFaultDevice&) = delete;

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  Instant next_deadline() const override;
  DeviceInfo info() const override { return inner_.info(); }
  int fd() const override { return inner_.fd(); }

  // ---- rules, by position in the chain (0 = first) ----
  const std::vector<FaultRule>& rules() const { return rules_; }
  size_t rule_count() const { return rules_.size(); }
  uint32_t rule_id(size_t index) const { return ids_.at(index); }
  const FaultRuleCounters& counters(size_t index) const { return state_.at(index).counters; }

  // ---- rules, by id (the control socket's `shunt fault PID add|del|list`
  // and `shunt stat`; callers hold the lock that serialises the device) ----
  // Appends `rule` to the chain; returns its id.
  uint32_t add_rule(FaultRule rule);
  // Removes the rule; the frames it holds go on at once (see above). False
  // if no rule has this id.
  bool remove_rule(uint32_t id);
  const FaultRule* find_rule(uint32_t id) const;
  const FaultRuleCounters* find_counters(uint32_t id) const;
  // Every rule in chain order: id, text, counters, frames held.
  std::vector<FaultRuleSnapshot> rule_status() const;
  // The id the next add_rule() will return.
  uint32_t next_rule_id() const { return next_id_; }
  uint64_t seed() const { return seed_; }

  // The last kLogCapacity faults, oldest first.
  const std::deque<FaultLogEntry>& log() const { return log_; }
  uint64_t log_overflow() const { return log_overflow_; }  // entries that fell off the log
  // Frames held (delayed, reordered, rate-queued, or ready to be received).
  size_t in_flight() const;
  // "fault rules:" then one line per rule with its counts; "" without rules.
  std::string stats_text() const;

  // Notes every fault on the frame it hit, for a capture (see above);
  // nullptr detaches. `observer` must be the device directly inside this
  // one (it is told about inner.transmit/receive batches by position).
  void set_observer(FaultObserver* observer);

  NetDevice& inner() { return inner_; }

 private:
  struct Frame {
    PacketBuffer buf;
    PacketSummary summary;
    bool outbound = false;
    bool copy = false;               // made by a duplicate rule
    uint64_t rx_batch = 0;           // inbound: the receive batch it came in (0: none)
    uint32_t rx_index = 0;           // its position in that batch
    std::vector<std::string> notes;  // outbound, with an observer: what the rules did
  };
  struct Pending {
    Frame frame;
    size_t next_rule = 0;   // the rule before it holds the frame (unless released)
    int rate_rule = -1;     // the rate rule whose queue holds it, or -1
    bool released = false;  // its rule was removed: it only waits for the next call
  };
  struct Held {
    Frame frame;
    uint32_t remaining = 0;
    Instant release_at{};
  };
  struct RuleState {
    RuleState(uint64_t seed, uint32_t id);
    Rng select_rng;
    Rng ge_rng;
    Rng action_rng;
    bool started = false;  // start is set (at the first frame after the rule came)
    Instant start{};
    uint64_t seen = 0;
    bool ge_bad = false;
    bool blackhole_started = false;
    Instant blackhole_until{};
    // Per direction (0: in, 1: out).
    // rate=: a bucket of burst_bytes * 8 bits filling at rate_bps.
    TokenBucket rate_bucket[2]{{0, 0}, {0, 0}};
    size_t rate_queued[2]{};
    Instant delay_last_due[2]{};  // delay=...,fifo: the latest due time given
    std::vector<Held> held;
    FaultRuleCounters counters;
  };

  // Whether frames can go straight through: no rule, nothing held.
  bool idle() const { return rules_.empty() && pending_.empty() && rx_ready_.empty(); }
  // A frame enters the device at `now`.
  void enter(PacketBuffer b, bool outbound, Instant now, uint32_t rx_index);
  // Runs `f` through rules[i...] at time t.
  void process(Frame f, size_t i, Instant t);
  void deliver(Frame f);
  // Releases what is due at or before now, in time order.
  void advance(Instant now);
  void flush(Instant now);
  bool matches(const FaultRule& r, const Frame& f) const;
  // Whether the rule's selection takes this (matching) frame.
  bool selected(const FaultRule& r, RuleState& s, Instant t);
  // Counts and logs a fault of rule `i` on `f`, and (with an observer) notes
  // `what()` on the frame.
  template <class What>
  void record(size_t i, Frame& f, Instant t, What&& what);
  // A frame a rule ended: an outbound one goes to the observer as unsent.
  void end(Frame& f, Instant t);
  size_t index_of(uint32_t id) const;  // rules_.size() if none

  std::unique_ptr<NetDevice> owned_;
  NetDevice& inner_;
  uint64_t seed_;
  std::vector<FaultRule> rules_;
  std::vector<uint32_t> ids_;
  std::vector<RuleState> state_;
  uint32_t next_id_ = 1;
  bool unstarted_ = true;                    // some rule has no start yet
  Instant last_now_{};                       // the latest `now` of a call
  std::multimap<Instant, Pending> pending_;  // equal keys keep insertion order
  std::vector<PacketBuffer> tx_;
  std::vector<std::vector<std::string>> tx_notes_;  // with an observer: notes of tx_[i]
  std::deque<PacketBuffer> rx_ready_;
  std::vector<PacketBuffer> batch_;
  std::deque<FaultLogEntry> log_;
  uint64_t log_overflow_ = 0;
  FaultObserver* observer_ = nullptr;
  bool notes_ = false;       // observer_ wants notes
  uint64_t rx_batches_ = 0;  // receive batches so far (ids for Frame::rx_batch)
  uint64_t rx_batch_ = 0;    // the batch being processed, 0 outside receive()
};

}  // namespace shunt
