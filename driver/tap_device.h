// TapDevice: Ethernet frames through a Linux TAP interface (/dev/net/tun,
// IFF_TAP | IFF_NO_PI; Documentation/networking/tuntap.rst). What the stack
// transmits appears as received on the TAP interface in the kernel, and what
// the kernel sends out of that interface is read here.
//
// The kernel side of the TAP is an ordinary interface ("host side"): give it
// an address in the stack's subnet (Netlink::add_address) and bring it up.
// The stack uses its own MAC and IP on the same segment; the kernel's
// address must differ from the stack's (docs/design.md section 8).
//
// - open() creates the interface, attaches to an existing one, or either
//   (TapOptions::mode). A TAP that open() created goes away when the device is
//   destroyed unless `persist` is set (TUNSETPERSIST).
// - The fd is non-blocking; fd() is what the runtime's epoll waits on.
// - receive() reads frames with read(2) until EAGAIN or `max`; transmit()
//   writes each frame with write(2). A TAP is a character device, not a
//   socket, so there is no recvmmsg/sendmmsg: one syscall per frame.
// - A frame the kernel cannot take (EAGAIN, ENOBUFS, EIO while the link is
//   being torn down, ...) is dropped and counted (stats().tx_dropped, with
//   last_tx_error()); nothing here blocks or throws.
// - Not thread-safe: like the BufferPool its receive buffers come from, a
//   device is used under its stack's lock (docs/design.md section 3).
//
// Offloads (docs/design.md section 8, planned): with IFF_VNET_HDR every frame in
// both directions is preceded by a struct virtio_net_hdr (TUNSETVNETHDRSZ)
// that carries GSO type/size and the checksum start/offset; TUNSETOFFLOAD
// then lets the kernel hand over 64 KiB TSO/GSO frames and partial
// checksums. That will be a TapOptions field, the header will be pushed into
// the PacketBuffer's headroom on transmit (kDefaultHeadroom leaves room for
// it) and pulled on receive, and DeviceInfo will advertise the capabilities.
// Receive buffers then come from the 64 KiB size class. Without it, as now,
// the kernel segments and checksums in software before handing frames to the
// TAP, so every frame fits the MTU and carries full checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "driver/device_stats.h"
#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/device.h"

namespace shunt {

struct TapOptions {
  enum class Mode : uint8_t {
    kCreateOrAttach,  // attach if a TAP of that name exists, else create it
    kCreate,          // fail if an interface of that name exists (IFF_TUN_EXCL)
    kAttach,          // fail unless a TAP of that name exists
  };
  // Interface name, at most 15 characters. Empty: the kernel picks tapN
  // (only with a mode that may create).
  std::string name{};
  Mode mode = Mode::kCreateOrAttach;
  // Keep the interface after the device closes (TUNSETPERSIST); delete it
  // later with Netlink::delete_link.
  bool persist = false;
};

class TapDevice final : public NetDevice {
 public:
  // Opens the TAP. Buffers for received frames come from `pool`, which must
  // outlive the device. The error is one line for the user naming the
  // problem and the fix (busy name, no /dev/net/tun, no CAP_NET_ADMIN, ...).
  static Expected<std::unique_ptr<TapDevice>, std::string> open(const TapOptions& options,
                                                                BufferPool& pool);
  ~TapDevice() override;
  TapDevice(const TapDevice&) = delete;
  TapDevice& operator=(const TapDevice&) = delete;

  void transmit(std::span<PacketBuffer> frames, Instant now) override;
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override;
  // The MTU read when the device was opened.
  DeviceInfo info() const override { return DeviceInfo{.mtu = mtu_}; }
  int fd() const override { return fd_; }

  // The interface name the kernel gave (useful when the options left it empty).
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  // The MAC of the kernel's side of the TAP. The stack must use another one.
  MacAddress kernel_mac() const { return kernel_mac_; }
  // True when open() created the interface, false when it attached.
  bool created() const { return created_; }

  const DeviceStats& stats() const { return stats_; }
  // errno of the last failed read/write, 0 if none.
  int last_rx_error() const { return last_rx_error_; }
  int last_tx_error() const { return last_tx_error_; }

 private:
  TapDevice(int fd, BufferPool& pool) : fd_(fd), pool_(pool) {}

  int fd_;
  BufferPool& pool_;
  std::string name_;
  int ifindex_ = 0;
  MacAddress kernel_mac_;
  uint32_t mtu_ = 1500;
  bool created_ = false;
  DeviceStats stats_;
  int last_rx_error_ = 0;
  int last_tx_error_ = 0;
};

}  // namespace shunt
