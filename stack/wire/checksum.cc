#include "stack/wire/checksum.h"

#include <cstring>

namespace shunt::checksum {

uint32_t partial(std::span<const uint8_t> data, uint32_t initial) {
  // Accumulate 32-bit big-endian words in a 64-bit sum: carries collect in
  // the high half and fold in at the end (RFC 1071 2(C), "deferred carries").
  uint64_t sum = initial;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w = __builtin_bswap64(w);
    sum += w >> 32;
    sum += w & 0xffffffffu;
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    sum += (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    sum += (uint32_t{p[0]} << 8) | p[1];
    p += 2;
    n -= 2;
  }
  if (n == 1) sum += uint32_t{p[0]} << 8;
  // Fold 64 -> 32 bits; the 32-bit words' sum equals the 16-bit words' sum
  // modulo 0xffff, so the result stays a valid partial sum.
  while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

uint16_t finish(uint32_t sum) {
  uint64_t s = sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s & 0xffff);
}

uint32_t pseudo_header(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t length) {
  uint64_t sum = (src.value() >> 16) + (src.value() & 0xffff) + (dst.value() >> 16) +
                 (dst.value() & 0xffff) + protocol + length;
  while (sum >> 32) sum = (sum & 0xffffffffu) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

uint16_t update16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  // HC' = ~(~HC + ~m + m')
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint16_t>(~old_word) + new_word;
  return finish(sum);
}

uint16_t update32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  checksum = update16(checksum, static_cast<uint16_t>(old_value >> 16),
                      static_cast<uint16_t>(new_value >> 16));
  return update16(checksum, static_cast<uint16_t>(old_value), static_cast<uint16_t>(new_value));
}

}  // namespace shunt::checksum
