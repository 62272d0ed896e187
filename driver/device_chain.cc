#include "driver/device_chain.h"

#include <utility>

#include "driver/capture_config.h"
#include "driver/link.h"
#include "driver/packet_device.h"
#include "driver/tap_device.h"

namespace shunt {

Expected<std::unique_ptr<NetDevice>, std::string> open_base_device(
    const DeviceChainOptions& options, BufferPool& pool) {
  if (options.base == DeviceChainOptions::Base::kTap) {
    TapOptions o;
    o.name = options.ifname;
    o.mode = TapOptions::Mode::kCreateOrAttach;
    auto tap = TapDevice::open(o, pool);
    if (!tap) return tap.error();
    // A TAP the chain created gets its host side configured: the kernel
    // owns `tap_host` there, never the stack's address. An existing TAP is
    // left as its owner set it up (e.g. a `shunt lab` bridge port).
    if ((*tap)->created()) {
      auto nl = Netlink::open();
      if (!nl) return nl.error();
      if (auto r = nl->add_address(options.ifname, options.tap_host); !r) return r.error();
      if (options.mtu != 0) {
        if (auto r = nl->set_mtu(options.ifname, options.mtu); !r) return r.error();
      }
      if (auto r = nl->set_up(options.ifname, true); !r) return r.error();
    }
    return std::unique_ptr<NetDevice>(std::move(*tap));
  }
  PacketOptions o;
  o.interface = options.ifname;
  o.mac = options.mac;
  auto pkt = PacketDevice::open(o, pool);
  if (!pkt) return pkt.error();
  return std::unique_ptr<NetDevice>(std::move(*pkt));
}

Expected<DeviceChain, std::string> wrap_device(std::unique_ptr<NetDevice> base,
                                               const DeviceChainOptions& options) {
  DeviceChain chain;
  chain.device_fd = base->fd();
  std::unique_ptr<NetDevice> dev = std::move(base);
  if (!options.pcap.empty()) {
    auto cap = open_capture(std::move(dev), options.pcap, options.pcap_filter);
    if (!cap) return "shunt: " + cap.error();
    chain.capture = cap->get();
    chain.pcap_fd = chain.capture->writer().fd();
    dev = std::move(*cap);
  }
  auto faults =
      std::make_unique<RuleFaultDevice>(std::move(dev), options.faults, options.fault_seed);
  if (chain.capture != nullptr) faults->set_observer(chain.capture);
  chain.faults = faults.get();
  chain.device = std::move(faults);
  return chain;
}

Expected<DeviceChain, std::string> build_device_chain(const DeviceChainOptions& options,
                                                      BufferPool& pool) {
  auto base = open_base_device(options, pool);
  if (!base) return base.error();
  return wrap_device(std::move(*base), options);
}

}  // namespace shunt
