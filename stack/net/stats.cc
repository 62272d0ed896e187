#include "stack/net/stats.h"

namespace shunt {

uint64_t Stats::total_drops() const {
  uint64_t n = 0;
  for (uint64_t d : drops) n += d;
  return n;
}

void Stats::for_each(const std::function<void(std::string_view, std::string_view, uint64_t)>& visit)
    const {
#define SHUNT_VISIT(group, s) [&](auto name, uint64_t v) { visit(group, name, v); }
#define SHUNT_ONE(name) f(#name, s.name);
  {
    const auto& s = link;
    auto f = SHUNT_VISIT("Link", s);
    SHUNT_LINK_COUNTERS(SHUNT_ONE)
  }
  {
    const auto& s = arp;
    auto f = SHUNT_VISIT("Arp", s);
    SHUNT_ARP_COUNTERS(SHUNT_ONE)
  }
  {
    const auto& s = ip;
    auto f = SHUNT_VISIT("Ip", s);
    SHUNT_IP_COUNTERS(SHUNT_ONE)
  }
  {
    const auto& s = icmp;
    auto f = SHUNT_VISIT("Icmp", s);
    SHUNT_ICMP_COUNTERS(SHUNT_ONE)
  }
  {
    const auto& s = udp;
    auto f = SHUNT_VISIT("Udp", s);
    SHUNT_UDP_COUNTERS(SHUNT_ONE)
  }
  {
    const auto& s = tcp;
    auto f = SHUNT_VISIT("Tcp", s);
    SHUNT_TCP_COUNTERS(SHUNT_ONE)
  }
#undef SHUNT_ONE
#undef SHUNT_VISIT
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (drops[i] != 0) visit("Drop", name(static_cast<DropReason>(i)), drops[i]);
  }
}

}  // namespace shunt
