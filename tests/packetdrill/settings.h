// What `--so_flags` sets: the adapter's addresses and the stack
// configuration that Linux's tests/common/defaults.sh gives a kernel
// (scripts/packetdrill passes the equivalent of that file).
//
// The string is a list of KEY=VALUE words separated by spaces or commas;
// tests/packetdrill/README.md lists the keys. An unknown key or a bad value
// is a one-line error naming it.
#pragma once

#include <string>
#include <string_view>

#include "stack/base/addr.h"
#include "stack/net/config.h"

namespace shunt::packetdrill {

struct Settings {
  // packetdrill's defaults for IPv4: the local address in 192.168.0.0/16,
  // the gateway 192.168.0.1, the remote 192.0.2.1 (config.c). None of them
  // is ever used outside this process.
  Ipv4Cidr local = *Ipv4Cidr::parse("192.168.0.2/16");
  Ipv4Address gateway = Ipv4Address(192, 168, 0, 1);
  uint32_t mtu = 1500;
  // Read the namespace's net.ipv4 sysctls at the first socket(), after the
  // script's init command ran (its `sysctl` lines then count).
  bool sysctls = true;
  StackConfig stack;
};

// Parses `flags` over the defaults. Returns an empty string on success,
// else the error.
std::string parse_settings(std::string_view flags, Settings& out);

// Applies the net.ipv4 / net.core sysctls of the current network namespace
// that have a StackConfig equivalent (tcp_rmem, tcp_wmem, tcp_timestamps,
// tcp_sack, tcp_window_scaling, tcp_syn_retries, tcp_synack_retries,
// tcp_syncookies, tcp_congestion_control, rmem_max, wmem_max). Files that
// cannot be read leave the value.
void apply_sysctls(StackConfig& sc);

}  // namespace shunt::packetdrill
