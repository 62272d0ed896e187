// The host's sysctls that shape socket defaults, read once when the stack
// starts (docs/design.md: preload/ may read them and pass them to the stack as
// configuration).
#pragma once

#include <string>

#include "stack/net/config.h"

namespace shunt::preload {

// Fills `sc` from /proc/sys of the process's network namespace:
//   net.core.rmem_max / wmem_max       -> sc.core (SO_RCVBUF/SO_SNDBUF clamp)
//   net.core.rmem_default / wmem_default -> sc.udp.rcvbuf / sndbuf
//   net.ipv4.tcp_rmem / tcp_wmem       -> sc.tcp.rmem_initial, rcvbuf_max, ...
//   net.ipv4.tcp_congestion_control    -> sc.tcp.congestion_control when the
//                                         stack has that algorithm
// A file that cannot be read or parsed leaves the default. Appends a note
// for the log to `notes` about anything it could not take.
void apply_host_sysctls(StackConfig& sc, std::string& notes);

}  // namespace shunt::preload
