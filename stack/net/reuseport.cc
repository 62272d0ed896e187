#include "stack/net/reuseport.h"

#include <algorithm>

#include "stack/base/bytes.h"

namespace shunt {

void ReuseportGroups::join(const Key& k, SocketId s) {
  auto& m = groups_[k];
  if (std::find(m.begin(), m.end(), s) == m.end()) m.push_back(s);  // reuseport_add_sock
}

void ReuseportGroups::leave(const Key& k, SocketId s) {
  auto it = groups_.find(k);
  if (it == groups_.end()) return;
  auto& m = it->second;
  auto pos = std::find(m.begin(), m.end(), s);
  if (pos == m.end()) return;
  // __reuseport_detach_sock: the last member takes the leaver's slot.
  *pos = m.back();
  m.pop_back();
  if (m.empty()) groups_.erase(it);  // reuseport_detach_sock frees an empty group
}

std::span<const SocketId> ReuseportGroups::members(const Key& k) const {
  auto it = groups_.find(k);
  if (it == groups_.end()) return {};
  return it->second;
}

uint32_t ReuseportGroups::flow_hash(Endpoint local, Endpoint remote) const {
  uint8_t tuple[12];
  store_be32(tuple, local.addr.value());
  store_be16(tuple + 4, local.port);
  store_be32(tuple + 6, remote.addr.value());
  store_be16(tuple + 10, remote.port);
  return static_cast<uint32_t>(siphash24(key_, tuple));
}

SocketId ReuseportGroups::select(const Key& k, uint32_t hash,
                                 const std::function<bool(SocketId)>& eligible) const {
  const auto m = members(k);
  if (m.empty()) return SocketId{};
  // Linux reciprocal_scale(): hash * n / 2^32, an index without a division.
  const auto n = static_cast<uint32_t>(m.size());
  const uint32_t start = static_cast<uint32_t>((uint64_t{hash} * n) >> 32);
  uint32_t i = start;
  do {
    if (eligible(m[i])) return m[i];
    if (++i == n) i = 0;
  } while (i != start);
  return SocketId{};
}

}  // namespace shunt
