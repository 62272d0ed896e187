// Routing: which next hop a destination goes through. The interface's own
// prefix is on-link; a gateway, if set, is the default route. Longest
// prefix wins (RFC 1812 5.2.4.3).
#pragma once

#include <optional>
#include <vector>

#include "stack/base/addr.h"

namespace shunt {

struct Route {
  Ipv4Cidr destination;                 // network() and prefix_len() matter
  std::optional<Ipv4Address> gateway;   // nullopt: on-link
};

struct NextHop {
  Ipv4Address address;  // whom to ARP for: the destination itself or the gateway
  bool on_link = false;
};

class RoutingTable {
 public:
  void add(Route r);
  void clear() { routes_.clear(); }
  // The most specific route for dst; nullopt when none matches.
  std::optional<NextHop> lookup(Ipv4Address dst) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;  // kept sorted by prefix length, longest first
};

}  // namespace shunt
