// Simulation: runs N hosts (stacks, or small fakes in tests) connected by
// in-memory devices under one ManualClock, until they are idle or a virtual
// deadline passes. Nothing here sleeps or reads a clock.
//
//   BufferPool pool;
//   MemoryPair link;
//   RuleFaultDevice lossy(link.a, *parse_fault_rules("out drop 1%"), /*seed=*/1);
//   Stack a(..., lossy), b(..., link.b);      // each transmits through its device
//   Simulation sim;
//   sim.add_host(a, lossy);                   // and receives from the same one
//   sim.add_host(b, link.b);
//   ASSERT_TRUE(sim.run_until([&] { return transfer_done(); }, 60s));
//
// One step of the harness ("settle") repeats rounds at the current instant:
//   1. every device whose next_deadline() has come is flushed
//      (transmit() with an empty span releases a fault device's due frames);
//   2. every node is polled, in registration order;
//   3. every device is drained (receive() until it returns 0) into its node.
// It stops after a round that delivered nothing, so every node has been
// polled after the last frame it received. Between settles the clock jumps
// to the earliest next_deadline() of any node or device.
//
// Progress guard: a node (or device) whose next_deadline() is still <= now()
// after being polled, or frames that keep bouncing between nodes at one
// instant, would make the harness spin without time moving. After
// stall_limit() consecutive rounds at one instant (default 1,000,000) the
// harness prints which nodes are stuck and aborts through SHUNT_CHECK; it
// never hangs. Tests use EXPECT_DEATH for this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sim/manual_clock.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

// What the harness needs from a host: Stack implements these three members.
class SimNode {
 public:
  virtual ~SimNode() = default;
  virtual void receive(PacketBuffer frame, Instant now) = 0;
  virtual void poll(Instant now) = 0;
  virtual Instant next_deadline() const = 0;
};

// Adapts any type with receive(PacketBuffer, Instant), poll(Instant) and
// next_deadline() (Stack, test fakes) without making it inherit SimNode.
template <class Host>
class HostNode final : public SimNode {
 public:
  explicit HostNode(Host& host) : host_(host) {}
  void receive(PacketBuffer frame, Instant now) override { host_.receive(std::move(frame), now); }
  void poll(Instant now) override { host_.poll(now); }
  Instant next_deadline() const override { return host_.next_deadline(); }
  Host& host() { return host_; }

 private:
  Host& host_;
};

class Simulation {
 public:
  static constexpr uint64_t kDefaultStallLimit = 1'000'000;

  explicit Simulation(Instant start = Instant{});
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  ManualClock& clock() { return clock_; }
  Instant now() const { return clock_.now(); }

  // Registers a host and the device it receives from: the same device the
  // host transmits through, or a RuleFaultDevice around it. Both must outlive
  // the Simulation (or at least its last run).
  void add(SimNode& node, NetDevice& device);
  // Same, for a host that does not derive from SimNode; the adapter is owned
  // by the Simulation.
  template <class Host>
  void add_host(Host& host, NetDevice& device) {
    adapters_.push_back(std::make_unique<HostNode<Host>>(host));
    add(*adapters_.back(), device);
  }

  // Delivers every pending frame and polls every node until nothing moves,
  // without advancing time. Returns the number of frames delivered.
  size_t settle();

  // Repeats: settle, then advance the clock to the earliest next_deadline()
  // of any node or device, until no deadline remains (idle: returns true) or
  // the next one lies after now() + limit (returns false, with the clock
  // moved to now() + limit and settled there, as run_for(limit) would).
  bool run_until_idle(Duration limit);

  // Runs (settle / advance to the next deadline) until pred() is true; pred
  // is checked after every settle. Returns false, without passing
  // start + limit, when the limit comes first (the clock then stands at
  // start + limit) or when the system goes idle with pred() still false (the
  // clock stays where it went idle, since nothing can change any more).
  bool run_until(const std::function<bool()>& pred, Duration limit);

  // Advances through every deadline up to exactly now() + d, settling at
  // each, and settles once more at now() + d.
  void run_for(Duration d);

  // Clock advances made by the harness so far.
  uint64_t steps() const { return steps_; }
  // Earliest next_deadline() of any node or device (kNever when idle).
  Instant next_deadline() const;

  // Rounds at one instant before the progress guard aborts.
  void set_stall_limit(uint64_t rounds) { stall_limit_ = rounds; }
  uint64_t stall_limit() const { return stall_limit_; }

 private:
  struct Entry {
    SimNode* node;
    NetDevice* device;
  };

  // One settle() round: flush due devices, poll nodes, drain devices.
  size_t round();
  // Counts rounds at the current instant; aborts after stall_limit_.
  void note_round();
  void advance_to(Instant t);

  ManualClock clock_;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<SimNode>> adapters_;
  std::vector<PacketBuffer> rx_batch_;
  uint64_t steps_ = 0;
  uint64_t stall_limit_ = kDefaultStallLimit;
  // Rounds run at last_instant_ (reset whenever the clock has moved, by the
  // harness or by a test through clock()).
  Instant last_instant_;
  uint64_t rounds_at_instant_ = 0;
};

}  // namespace shunt
