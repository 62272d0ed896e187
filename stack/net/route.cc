#include "stack/net/route.h"

#include <algorithm>

namespace shunt {

void RoutingTable::add(Route r) {
  auto pos = std::find_if(routes_.begin(), routes_.end(), [&](const Route& e) {
    return e.destination.prefix_len() < r.destination.prefix_len();
  });
  routes_.insert(pos, r);
}

std::optional<NextHop> RoutingTable::lookup(Ipv4Address dst) const {
  // Longest first, so the first match is the longest prefix match.
  for (const Route& r : routes_) {
    if (!r.destination.contains(dst)) continue;
    if (r.gateway) return NextHop{*r.gateway, false};
    return NextHop{dst, true};
  }
  return std::nullopt;
}

}  // namespace shunt
