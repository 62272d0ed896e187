#include "stack/base/sock_buf.h"

#include <algorithm>

namespace shunt {

uint32_t sock_buf_size(int value, bool force, uint32_t max, uint32_t floor) {
  uint32_t v = force ? static_cast<uint32_t>(std::max(value, 0))
                     : std::min(static_cast<uint32_t>(value), max);
  v = std::min<uint32_t>(v, INT32_MAX / 2);
  return std::max(v * 2, floor);
}

}  // namespace shunt
