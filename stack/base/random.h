// Deterministic randomness for the stack. The stack never asks the OS for
// entropy: the caller passes a seed (the preload runtime takes it from
// getrandom, simulations fix it so runs reproduce).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace shunt {

// xoshiro256** seeded through splitmix64: fast, small state, good enough
// for port selection, IP IDs, fault decisions. Not for secrets; the keyed
// hashes below take their keys from it only because the seed itself is the
// secret the runtime draws from the OS.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, bound) without modulo bias; bound > 0.
  uint64_t below(uint64_t bound);
  // Uniform in [0, 1).
  double uniform();

 private:
  std::array<uint64_t, 4> s_{};
};

// SipHash-2-4 with a 128-bit key: the keyed hash RFC 6056 and RFC 9293
// 3.4.1 ask for (ephemeral ports, initial sequence numbers, SYN cookies).
struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};
uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data);

}  // namespace shunt
