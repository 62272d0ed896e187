// Counters every device keeps.
#pragma once

#include <cstdint>

namespace shunt {

struct DeviceStats {
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_dropped = 0;  // frames the device could not deliver (queue full, too large)
  uint64_t tx_dropped = 0;  // frames the device could not send
};

}  // namespace shunt
