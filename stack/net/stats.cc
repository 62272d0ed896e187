#include "stack/net/stats.h"

namespace shunt {

uint64_t Stats::total_drops() const {
  uint64_t n = 0;
  for (uint64_t d : drops) n += d;
  return n;
}

void Stats::for_each(const std::function<void(std::string_view, std::string_view, uint64_t)>& visit)
    const {
#define SHUNT_ONE(name) visit(group, #name, s.name);
#define SHUNT_GROUP(member, group_name, type, list) \
  {                                                 \
    const std::string_view group = group_name;      \
    const type& s = member;                         \
    list(SHUNT_ONE)                                 \
  }
  SHUNT_COUNTER_GROUPS(SHUNT_GROUP)
#undef SHUNT_GROUP
#undef SHUNT_ONE
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (drops[i] != 0) visit("Drop", name(static_cast<DropReason>(i)), drops[i]);
  }
}

}  // namespace shunt
