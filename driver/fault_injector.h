// FaultInjector: a NetDevice decorator that impairs traffic on purpose:
// loss, duplication, reordering, corruption, delay with jitter, a rate limit
// and an MTU clamp. It wraps any device (an in-memory port in simulations, a
// TAP device in a lab run), the way smoltcp's phy::FaultInjector does.
//
//   MemoryPair link;
//   FaultInjector lossy(link.a, /*seed=*/42);
//   lossy.out().drop = 0.01;          // 1% of transmitted frames vanish
//   lossy.in().delay = 20ms;          // received frames arrive 20 ms late
//   Stack stack(..., lossy);          // the stack sees a normal NetDevice
//
// Each direction has its own FaultConfig, counters and random streams:
// out() applies to transmit() (frames on their way to the inner device),
// in() to frames the inner device returns from receive().
//
// A frame goes through these stages, in this order:
//   1. mtu clamp:  dropped when its Ethernet payload (size - 14) exceeds mtu.
//   2. drop:       dropped with probability `drop`.
//   3. duplicate:  with probability `duplicate` a copy follows the frame;
//                  from here on both travel independently.
//   4. corrupt:    with probability `corrupt` exactly one random bit is
//                  flipped, after the 14-byte Ethernet header (so the frame
//                  still reaches the IP layer and its checksums must catch
//                  it) or anywhere in the frame when corrupt_headers is set.
//   5. reorder:    with probability `reorder` the frame is held back until
//                  `reorder_hold` later frames have passed this stage (it
//                  then leaves right after the last of them, so it ends up
//                  exactly reorder_hold places later when the stages after
//                  this one keep order), or until `reorder_delay` has passed
//                  since it was held, whichever comes first. With
//                  reorder_hold == 0 only the delay applies. A frame held by
//                  count alone waits for ever if no more frames come: set
//                  reorder_delay to bound that.
//   6. rate limit: a token bucket of rate_bucket_bytes filling at rate_bps.
//                  A frame that finds too few tokens waits in a FIFO queue of
//                  at most rate_queue_frames frames; beyond that it is
//                  dropped (rate_queue_frames == 0 makes a policer).
//   7. delay:      each frame is held for delay + a uniform draw in
//                  [0, jitter]. Frames with different draws may overtake one
//                  another (as on a real multi-path link); set
//                  jitter_keeps_order to release them in arrival order (a
//                  frame then waits at least until the one before it).
//
// Time: held frames are released by later calls at or after their due time.
// next_deadline() gives the earliest one (or the inner device's, if earlier).
// transmit() (also with an empty span), receive() and flush(now) release
// due outbound frames to the inner device; receive() returns inbound frames
// once they are due. Frames released late (a call comes after the due time)
// are timed as if released on time: a frame's later stages start from its
// due time, not from the call's `now`, so results do not depend on how
// often the caller polls.
//
// Configuration may change at any time (tests switch a fault on for one
// frame); a change applies to frames entering a stage afterwards.
//
// Determinism: every random decision comes from Rng streams derived from the
// seed (one per direction and action, so enabling corruption does not change
// which frames are dropped). Same seed, same configuration and same calls
// give the same frames at the same instants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <vector>

#include "stack/base/random.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

// What to do to one direction's frames. Everything is off by default.
// Probabilities are in [0, 1]; values >= 1 always apply.
struct FaultConfig {
  double drop = 0.0;
  double duplicate = 0.0;

  double reorder = 0.0;
  uint32_t reorder_hold = 1;  // later frames that overtake a held frame
  Duration reorder_delay{0};  // time bound on a hold (0: none when hold > 0)

  double corrupt = 0.0;
  bool corrupt_headers = false;  // also flip bits in the Ethernet header

  Duration delay{0};
  Duration jitter{0};  // extra delay, uniform in [0, jitter]
  bool jitter_keeps_order = false;

  uint64_t rate_bps = 0;  // bits per second; 0: unlimited
  uint32_t rate_bucket_bytes = 15'000;
  size_t rate_queue_frames = 1000;

  uint32_t mtu = 0;  // largest Ethernet payload; 0: no clamp
  // Whether info() reports the clamped mtu (out() only). By default the
  // clamp is invisible, a black hole the stack has to discover.
  bool advertise_mtu = false;
};

// Per-direction counters. A frame is counted once per action applied to it.
struct FaultStats {
  uint64_t dropped = 0;               // random loss (stage 2)
  uint64_t duplicated = 0;            // copies made (stage 3)
  uint64_t reordered = 0;             // frames held back (stage 5)
  uint64_t corrupted = 0;             // frames with a flipped bit (stage 4)
  uint64_t delayed = 0;               // frames held by delay + jitter > 0 (stage 7)
  uint64_t rate_limited = 0;          // frames that waited for tokens (stage 6)
  uint64_t rate_limited_dropped = 0;  // frames refused by a full rate queue
  uint64_t mtu_dropped = 0;           // frames above the mtu clamp (stage 1)
  uint64_t passed = 0;                // frames handed on (to the inner device / to the caller)
};

class FaultInjector final : public NetDevice {
 public:
  FaultInjector(NetDevice& inner, uint64_t seed);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  FaultConfig& out() { return out_.config; }
  FaultConfig& in() { return in_.config; }
  const FaultStats& out_stats() const { return out_.stats; }
  const FaultStats& in_stats() const { return in_.stats; }

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  // The earliest due held frame of either direction, or the inner device's
  // deadline if earlier; kNever when nothing is held.
  Instant next_deadline() const override;
  DeviceInfo info() const override;
  int fd() const override { return inner_.fd(); }

  // Pushes the outbound frames due at `now` to the inner device.
  void flush(Instant now);
  // Frames held inside the injector, both directions.
  size_t in_flight() const { return out_.in_flight() + in_.in_flight(); }

  NetDevice& inner() { return inner_; }

 private:
  // One direction: the stages above as a small discrete-event pipeline.
  class Direction {
   public:
    // Seeds the direction's random streams from `master`.
    explicit Direction(Rng& master);
    // A new frame enters stage 1 at `now`.
    void push(PacketBuffer frame, Instant now);
    // Runs the timed stages (reorder timeouts, rate queue) up to `now`.
    void advance(Instant now);
    // Moves up to `max` frames due at `now` to `out`, earliest first.
    size_t pop_due(std::vector<PacketBuffer>& out, size_t max, Instant now);
    Instant next_deadline() const;
    size_t in_flight() const { return held_.size() + rate_queue_.size() + delayed_.size(); }

    FaultConfig config;
    FaultStats stats;

   private:
    struct Held {
      PacketBuffer frame;
      uint32_t remaining;  // frames still to overtake it; 0: time bound only
      Instant release_at;  // kNever: count bound only
    };
    struct Waiting {
      PacketBuffer frame;
      Instant arrived;
    };

    bool chance(Rng& rng, double p) { return p > 0.0 && (p >= 1.0 || rng.uniform() < p); }
    void corrupt(PacketBuffer& frame);
    void reorder_stage(PacketBuffer frame, Instant t);
    void rate_stage(PacketBuffer frame, Instant t);
    // When the rate queue's head may leave (kNever when empty).
    Instant rate_head_release() const;
    Instant conform_time(size_t bytes, Instant arrived) const;
    void rate_send(PacketBuffer frame, Instant t);
    void delay_stage(PacketBuffer frame, Instant t);

    Rng drop_rng_;
    Rng duplicate_rng_;
    Rng corrupt_rng_;
    Rng reorder_rng_;
    Rng jitter_rng_;

    std::vector<Held> held_;  // in the order they were held
    std::deque<Waiting> rate_queue_;
    // Token bucket as a virtual schedule (GCRA): the bucket is full at or
    // after tat_; it holds rate_bucket_bytes - (tat_ - t) * rate at t < tat_.
    Instant tat_{};
    bool tat_valid_ = false;
    // Frames waiting for their delay, by due time; equal keys keep insertion
    // order, so equal delays keep FIFO order.
    std::multimap<Instant, PacketBuffer> delayed_;
    Instant last_due_{};
  };

  NetDevice& inner_;
  Rng master_;
  Direction out_;
  Direction in_;
  std::vector<PacketBuffer> batch_;
};

}  // namespace shunt
