// RuleFaultDevice: a NetDevice decorator that applies fault rules
// (fault_rules.h, docs/faults.md) to the frames passing through it: the
// targeted counterpart of FaultInjector, which impairs all traffic of a
// direction with fixed probabilities.
//
//   auto rules = parse_fault_rules("in drop nth=1 tcp synack; both drop 2%");
//   RuleFaultDevice dev(port, std::move(*rules), /*seed=*/42);
//   Stack stack(dev, pool, cfg);
//
// Rules form a chain, applied in the order given: a frame meets rule 1,
// then (if rule 1 let it go on) rule 2, and so on. A rule whose direction,
// match or selection does not take the frame passes it on unchanged. drop
// and blackhole end the frame; corrupt and truncate change it and pass it
// on; duplicate passes both copies on; delay, reorder and rate hold the
// frame and pass it on when it is released, at its release time. So
// `out rate=1mbit; out delay=20ms` is a 1 Mbit/s link with 20 ms latency.
// Rules match a frame as it entered the device (a truncated frame still
// matches as what it was).
//
// Selection state (the counts behind nth/every/first, the Gilbert-Elliott
// state, a blackhole) belongs to the rule, shared by both directions of a
// `both` rule; a rate rule has one token bucket per direction. Time
// windows (after=, for=) count from the first frame the device saw.
//
// Determinism: each rule draws from its own random streams, derived from
// the seed and the rule's position, so the same seed, rules and calls give
// the same decisions. Time handling follows FaultInjector: held frames are
// released by later calls at or after their due time and continue as if
// released on time; next_deadline() reports the earliest.
//
// Every injected fault is counted per rule and logged (the last
// kLogCapacity entries: time, rule, direction, action, packet summary).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "driver/fault_rules.h"
#include "stack/base/random.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

// What a rule matches on, read once from a frame.
struct PacketSummary {
  FaultProto proto = FaultProto::kAny;  // kAny: not IPv4 or ARP (or not parseable)
  Ipv4Address src{};
  Ipv4Address dst{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;     // the wire flags (wire::tcp_flag)
  uint32_t payload_len = 0;  // TCP/UDP payload; other IP: IP payload
  uint32_t frame_len = 0;
  std::string to_string() const;  // "TCP 198.18.0.1:80 > 198.18.0.2:40000 [SA] len 0"
};

PacketSummary summarize_frame(std::span<const uint8_t> frame);

struct FaultRuleCounters {
  uint64_t matched = 0;       // frames the rule's direction, match and time window took
  uint64_t injected = 0;      // faults injected (frames the action was applied to)
  uint64_t rate_dropped = 0;  // rate: frames refused by a full queue (also in injected)
};

struct FaultLogEntry {
  Instant when{};
  uint32_t rule = 0;  // index into rules()
  bool outbound = false;
  FaultActionKind action = FaultActionKind::kDrop;
  PacketSummary packet;
  std::string to_string() const;
};

class RuleFaultDevice final : public NetDevice {
 public:
  static constexpr size_t kLogCapacity = 1024;
  // Frames a rate rule queues per direction before it drops.
  static constexpr size_t kRateQueueFrames = 1000;
  // Bucket of a rate rule: bursts up to this many bytes pass at once.
  static constexpr uint32_t kRateBucketBytes = 15'000;
  // reorder=K: a held frame leaves after this even if K frames never come.
  static constexpr Duration kReorderMaxHold = 1s;

  RuleFaultDevice(NetDevice& inner, FaultRuleSet rules, uint64_t seed);
  RuleFaultDevice(std::unique_ptr<NetDevice> inner, FaultRuleSet rules, uint64_t seed);
  RuleFaultDevice(const RuleFaultDevice&) = delete;
  RuleFaultDevice& operator=(const RuleFaultDevice&) = delete;

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  Instant next_deadline() const override;
  DeviceInfo info() const override { return inner_.info(); }
  int fd() const override { return inner_.fd(); }

  const std::vector<FaultRule>& rules() const { return rules_; }
  const FaultRuleCounters& counters(size_t rule) const { return state_.at(rule).counters; }
  const std::deque<FaultLogEntry>& log() const { return log_; }
  uint64_t log_overflow() const { return log_overflow_; }  // entries that fell off the log
  // Frames held (delayed, reordered, rate-queued, or ready to be received).
  size_t in_flight() const;
  // "fault rules:" then one line per rule with its counts.
  std::string stats_text() const;

  NetDevice& inner() { return inner_; }

 private:
  struct Frame {
    PacketBuffer buf;
    PacketSummary summary;
    bool outbound = false;
  };
  struct Pending {
    Frame frame;
    size_t next_rule = 0;
    int rate_rule = -1;  // the rate rule whose queue holds it, or -1
  };
  struct Held {
    Frame frame;
    uint32_t remaining = 0;
    Instant release_at{};
  };
  struct RuleState {
    explicit RuleState(Rng& master)
        : select_rng(master.next()), ge_rng(master.next()), action_rng(master.next()) {}
    Rng select_rng;
    Rng ge_rng;
    Rng action_rng;
    uint64_t seen = 0;
    bool ge_bad = false;
    bool blackhole_started = false;
    Instant blackhole_until{};
    // Per direction (0: in, 1: out).
    Instant tat[2]{};
    bool tat_valid[2]{};
    size_t rate_queued[2]{};
    std::vector<Held> held;
    FaultRuleCounters counters;
  };

  // Runs `f` through rules[i...] at time t.
  void process(Frame f, size_t i, Instant t);
  void deliver(Frame f);
  // Releases what is due at or before now, in time order.
  void advance(Instant now);
  void flush(Instant now);
  bool matches(const FaultRule& r, const Frame& f) const;
  // Whether the rule's selection takes this (matching) frame.
  bool selected(const FaultRule& r, RuleState& s, Instant t);
  void record(size_t rule, const Frame& f, Instant t);

  std::unique_ptr<NetDevice> owned_;
  NetDevice& inner_;
  std::vector<FaultRule> rules_;
  Rng master_;
  std::vector<RuleState> state_;
  bool started_ = false;
  Instant start_{};
  std::multimap<Instant, Pending> pending_;  // equal keys keep insertion order
  std::vector<PacketBuffer> tx_;
  std::deque<PacketBuffer> rx_ready_;
  std::vector<PacketBuffer> batch_;
  std::deque<FaultLogEntry> log_;
  uint64_t log_overflow_ = 0;
};

}  // namespace shunt
