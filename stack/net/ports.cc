#include "stack/net/ports.h"

#include "stack/base/bytes.h"

namespace shunt {

PortAllocator::PortAllocator(uint16_t low, uint16_t high, Rng& rng)
    : low_(low), high_(high), rng_(rng) {
  key1_ = {rng.next(), rng.next()};
  key2_ = {rng.next(), rng.next()};
  for (auto& t : table_) t = static_cast<uint16_t>(rng.next());
}

std::optional<uint16_t> PortAllocator::pick_for_peer(uint8_t protocol, Ipv4Address local,
                                                     Endpoint remote, const InUse& in_use) {
  const uint32_t count = uint32_t{high_} - low_ + 1;
  uint8_t tuple[11];
  store_be32(tuple, local.value());
  store_be32(tuple + 4, remote.addr.value());
  store_be16(tuple + 8, remote.port);
  tuple[10] = protocol;
  const uint64_t offset = siphash24(key1_, tuple);
  uint16_t& counter = table_[siphash24(key2_, tuple) % table_.size()];
  for (uint32_t i = 0; i < count; ++i) {
    auto port = static_cast<uint16_t>(low_ + (offset + counter + i) % count);
    if (!in_use(port)) {
      // RFC 6056 3.3.4: table[index] = table[index] + num_ephemeral + 1... we
      // advance by the probes used plus one so the next pick starts past it.
      counter = static_cast<uint16_t>(counter + i + 1);
      return port;
    }
  }
  return std::nullopt;
}

std::optional<uint16_t> PortAllocator::pick_random(const InUse& in_use) {
  const uint32_t count = uint32_t{high_} - low_ + 1;
  const uint64_t start = rng_.below(count);
  for (uint32_t i = 0; i < count; ++i) {
    auto port = static_cast<uint16_t>(low_ + (start + i) % count);
    if (!in_use(port)) return port;
  }
  return std::nullopt;
}

}  // namespace shunt
