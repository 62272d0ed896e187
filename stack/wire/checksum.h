// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sums are kept as a 32-bit partial sum of 16-bit big-endian words so that
// pseudo-header, header and payload can be summed in pieces and folded once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "stack/base/addr.h"

namespace shunt::checksum {

// One's-complement partial sum of `data` as big-endian 16-bit words, added
// to `initial`. Summing pieces is only correct if every piece but the last
// has even length (RFC 1071 2(B)). Word-at-a-time: reads 8 bytes per step.
uint32_t partial(std::span<const uint8_t> data, uint32_t initial = 0);

// Folds a partial sum to 16 bits and complements it: the value to store.
uint16_t finish(uint32_t sum);

// The whole checksum of one buffer.
inline uint16_t compute(std::span<const uint8_t> data) { return finish(partial(data)); }

// True when data (which contains its own checksum field) sums to 0xffff,
// i.e. the stored checksum is right.
inline bool verify(std::span<const uint8_t> data, uint32_t initial = 0) {
  return finish(partial(data, initial)) == 0;
}

// The TCP/UDP pseudo-header sum (RFC 768, RFC 9293 3.1): source,
// destination, zero, protocol, and the transport length.
uint32_t pseudo_header(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t length);

// RFC 1624 eqn. 3: the new checksum after a 16-bit field changes from
// old_word to new_word, without summing the whole packet again.
uint16_t update16(uint16_t checksum, uint16_t old_word, uint16_t new_word);
uint16_t update32(uint16_t checksum, uint32_t old_value, uint32_t new_value);

}  // namespace shunt::checksum
