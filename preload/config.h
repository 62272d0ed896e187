// The preload runtime's settings, read from the environment (the `shunt`
// command sets them from its options). docs/settings.md lists each with its
// default. Read with secure_getenv: a setuid process gets none of them (and
// pure passthrough, see runtime.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "driver/capture_filter.h"
#include "driver/fault_rules.h"
#include "stack/base/addr.h"
#include "stack/base/result.h"

namespace shunt::preload {

struct Config {
  enum class Device : uint8_t { kTap, kPacket };
  enum class Loopback : uint8_t { kKernel, kStack };
  enum class ForkPolicy : uint8_t { kParent, kChild };
  enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };

  Device device = Device::kTap;
  std::string ifname = "shunt0";             // SHUNT_TAP / SHUNT_PACKET
  bool default_device = true;                 // neither was given
  Ipv4Cidr address{Ipv4Address(198, 18, 0, 2), 24};  // SHUNT_IP
  std::optional<Ipv4Address> gateway;         // SHUNT_GATEWAY
  std::optional<MacAddress> mac;              // SHUNT_MAC (default: 02:00 + the IPv4 address)
  uint32_t mtu = 0;                           // SHUNT_MTU (0: the device's)
  Ipv4Cidr tap_host{Ipv4Address(198, 18, 0, 1), 24};  // SHUNT_TAP_HOST_IP, for a TAP shunt creates
  std::string pcap;                           // SHUNT_PCAP (.pcapng: pcapng with fault comments)
  CaptureFilter pcap_filter;                  // SHUNT_PCAP_FILTER (docs/faults.md)
  LogLevel log = LogLevel::kWarn;             // SHUNT_LOG
  std::string log_file;                       // SHUNT_LOG_FILE (default stderr)
  Loopback loopback = Loopback::kKernel;      // SHUNT_LOOPBACK
  ForkPolicy fork = ForkPolicy::kParent;      // SHUNT_FORK
  uint32_t busy_poll_us = 0;                  // SHUNT_BUSY_POLL_US
  uint32_t exit_linger_ms = 2000;             // SHUNT_EXIT_LINGER_MS
  bool control = true;                        // SHUNT_CONTROL
  std::optional<uint64_t> seed;               // SHUNT_SEED (default: from getrandom)
  bool stats_at_exit = false;                 // SHUNT_STATS=1: print the counters at exit
  FaultRuleSet faults;                        // SHUNT_FAULTS (docs/faults.md)

  MacAddress effective_mac() const;
};

// Parses the environment. The error is one line naming the setting, the
// value and the fix.
Expected<Config, std::string> config_from_env();

// A getenv that returns nothing in a secure-execution process.
const char* env(const char* name);

}  // namespace shunt::preload
