// Ephemeral port selection, RFC 6056.
//
// With a known peer (connect) it uses Algorithm 4, "double-hash port
// selection" (RFC 6056 3.3.4): a keyed hash of the 3-tuple picks where the
// search starts, and a small table of counters moves that start on after
// each use, so ports are neither sequential nor reused soon for the same
// peer. Without a peer (bind to port 0) it uses Algorithm 1, a random
// start (3.3.1). Both then probe linearly for a free port.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/random.h"

namespace shunt {

class PortAllocator {
 public:
  PortAllocator(uint16_t low, uint16_t high, Rng& rng);

  using InUse = std::function<bool(uint16_t port)>;

  // A free port for a connection to `remote` from `local`, or nullopt when
  // every port of the range is in use.
  std::optional<uint16_t> pick_for_peer(uint8_t protocol, Ipv4Address local, Endpoint remote,
                                        const InUse& in_use);
  // A free port for bind(port 0).
  std::optional<uint16_t> pick_random(const InUse& in_use);

  uint16_t low() const { return low_; }
  uint16_t high() const { return high_; }

 private:
  uint16_t low_, high_;
  Rng& rng_;
  SipKey key1_, key2_;
  std::array<uint16_t, 1024> table_{};  // RFC 6056 3.3.4 "table[]"
};

}  // namespace shunt
