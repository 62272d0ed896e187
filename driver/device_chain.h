// The device chain a process's stack sends through, built from settings:
//
//   Stack -> RuleFaultDevice -> CaptureDevice (with a pcap path) -> base
//
// where base is a TAP or an AF_PACKET socket. The capture sits on the base
// device, so it shows what crossed the wire; the fault device is outside it
// and tells the capture, in pcapng, which frames it hit (docs/faults.md).
// The fault device is always there, without rules too (it then passes
// frames straight through), so that rules can be added at run time.
//
//   DeviceChainOptions o;  // from the preload Config (preload/runtime.cc)
//   auto chain = build_device_chain(o, pool);
//   if (!chain) die(chain.error());
//   Stack stack(*chain->device, pool, config);
//
// Errors are one line (docs/design.md 9): the caller prints it and stops.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "driver/capture_device.h"
#include "driver/capture_filter.h"
#include "driver/fault_rules.h"
#include "driver/rule_fault_device.h"
#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/device.h"

namespace shunt {

struct DeviceChainOptions {
  enum class Base : uint8_t { kTap, kPacket };
  Base base = Base::kTap;
  std::string ifname;  // the TAP to create or attach, or the AF_PACKET interface
  MacAddress mac;      // AF_PACKET: the frames for this MAC (and broadcast)
  Ipv4Cidr tap_host;   // a TAP the chain creates gets this address on its host side
  uint32_t mtu = 0;    // and this MTU (0: the TAP's default)
  std::string pcap;    // capture file (empty: no capture); see capture_config.h
  CaptureFilter pcap_filter;
  FaultRuleSet faults;  // the fault device's rules at start
  uint64_t fault_seed = 0;
};

struct DeviceChain {
  std::unique_ptr<NetDevice> device;  // the outermost device: the one the Stack uses
  RuleFaultDevice* faults = nullptr;  // inside `device`, always
  CaptureDevice* capture = nullptr;   // inside `device`, with a pcap path
  int device_fd = -1;                 // the base device's fd
  int pcap_fd = -1;                   // the capture file's fd (-1: none)
};

// Opens the base device: a TAP (created, or attached when it exists; a
// created one gets `tap_host` and `mtu` on its host side and is set up; an
// existing one is left as its owner set it up) or an AF_PACKET socket.
Expected<std::unique_ptr<NetDevice>, std::string> open_base_device(
    const DeviceChainOptions& options, BufferPool& pool);

// Stacks the capture (with a pcap path) and the fault device on `base`.
// `base` is destroyed on error.
Expected<DeviceChain, std::string> wrap_device(std::unique_ptr<NetDevice> base,
                                               const DeviceChainOptions& options);

// open_base_device, then wrap_device.
Expected<DeviceChain, std::string> build_device_chain(const DeviceChainOptions& options,
                                                      BufferPool& pool);

}  // namespace shunt
