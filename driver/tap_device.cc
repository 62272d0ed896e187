#include "driver/tap_device.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "driver/link.h"

namespace shunt {
namespace {

// Ethernet header plus one 802.1Q tag: the largest frame is mtu + this.
constexpr uint32_t kMaxL2Overhead = 14 + 4;

std::string quoted_or_any(const std::string& name) {
  return name.empty() ? std::string("(any name)") : fmt::format("'{}'", name);
}

}  // namespace

Expected<std::unique_ptr<TapDevice>, std::string> TapDevice::open(const TapOptions& options,
                                                                  BufferPool& pool) {
  const std::string& name = options.name;
  if (name.size() >= IFNAMSIZ) {
    return fmt::format("TAP name '{}' is too long: at most {} characters (IFNAMSIZ)", name,
                       IFNAMSIZ - 1);
  }
  if (options.mode == TapOptions::Mode::kAttach && name.empty()) {
    return std::string("attaching to an existing TAP device needs its name");
  }

  auto nl = Netlink::open();
  if (!nl.ok()) return nl.error();

  // Knowing beforehand whether the name exists turns the kernel's terse
  // EBUSY/EINVAL/EPERM into the right message (and tells created()).
  bool existed = false;
  if (!name.empty()) {
    auto existing = nl->link(name);
    existed = existing.ok();
    if (existed && existing->kind != "tun") {
      return fmt::format("interface '{}' exists and is not a TAP device ({}): choose another name",
                         name, existing->kind.empty() ? "a physical device" : existing->kind);
    }
    if (!existed && options.mode == TapOptions::Mode::kAttach) {
      return fmt::format(
          "no TAP device named '{}': create it first (`ip tuntap add dev {} mode tap`) or let "
          "shunt create it",
          name, name);
    }
    if (existed && options.mode == TapOptions::Mode::kCreate) {
      return fmt::format(
          "TAP device '{}' already exists: choose another name, attach to it, or delete it "
          "(`ip link del {}`)",
          name, name);
    }
  }

  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO) {
      return fmt::format(
          "/dev/net/tun is missing ({}): load the tun module (`modprobe tun`), or in a "
          "container pass the device in (`--device /dev/net/tun --cap-add NET_ADMIN`)",
          std::strerror(e));
    }
    if (e == EACCES || e == EPERM) {
      return fmt::format(
          "cannot open /dev/net/tun: {}: run as root or make the device "
          "accessible to this user",
          std::strerror(e));
    }
    return fmt::format("cannot open /dev/net/tun: {}", std::strerror(e));
  }

  // tuntap.rst: TUNSETIFF creates the interface or attaches this fd to an
  // existing one. IFF_NO_PI: frames without the 4-byte packet-info prefix.
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (options.mode == TapOptions::Mode::kCreate) ifr.ifr_flags |= IFF_TUN_EXCL;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int e = errno;
    ::close(fd);
    // drivers/net/tun.c tun_set_iff(): EPERM without CAP_NET_ADMIN (or, for
    // an existing TAP, when it belongs to another user); EBUSY when the
    // single-queue TAP already has a reader or IFF_TUN_EXCL finds the name;
    // EINVAL when the name is a TUN (not TAP) or multi-queue device.
    switch (e) {
      case EPERM:
        if (existed) {
          return fmt::format(
              "not allowed to attach to TAP device '{}': it belongs to another user; run as its "
              "owner or as root, or recreate it with `ip tuntap add dev {} mode tap user "
              "USER`",
              name, name);
        }
        return fmt::format(
            "creating TAP device {} needs CAP_NET_ADMIN: run as root, grant the capability "
            "(`setcap cap_net_admin+ep PROGRAM`), or create a TAP owned by your user once "
            "(`ip tuntap add dev NAME mode tap user $USER`) and attach to it",
            quoted_or_any(name));
      case EBUSY:
        if (options.mode == TapOptions::Mode::kCreate) {
          return fmt::format("TAP device '{}' already exists: choose another name", name);
        }
        return fmt::format(
            "TAP device '{}' is busy: another process has it open; stop that process or choose "
            "another name",
            name);
      case EINVAL:
        if (existed) {
          return fmt::format(
              "interface '{}' is a TUN or multi-queue device, not a single-queue TAP: choose "
              "another name",
              name);
        }
        break;
      default:
        break;
    }
    return fmt::format("cannot open TAP device {}: {}", quoted_or_any(name), std::strerror(e));
  }

  std::unique_ptr<TapDevice> dev(new TapDevice(fd, pool));
  dev->name_ = ifr.ifr_name;  // the kernel fills in the name it chose
  dev->created_ = !existed;
  if (options.persist && ::ioctl(fd, TUNSETPERSIST, 1) != 0) {
    return fmt::format("cannot make TAP device '{}' persistent: {}", dev->name_,
                       std::strerror(errno));
  }
  auto info = nl->link(dev->name_);
  if (!info.ok()) return info.error();
  dev->ifindex_ = info->ifindex;
  dev->kernel_mac_ = info->mac;
  dev->mtu_ = info->mtu;
  return dev;
}

TapDevice::~TapDevice() {
  ::close(fd_);
}

size_t TapDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant) {
  size_t n = 0;
  while (n < max) {
    PacketBuffer b = pool_.allocate(mtu_ + kMaxL2Overhead + 1);
    if (!b) {  // an MTU beyond the largest size class: nothing can be read
      ++stats_.rx_dropped;
      break;
    }
    const size_t room = b.tailroom();
    auto space = b.append(room);
    ssize_t r = ::read(fd_, space.data(), room);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) last_rx_error_ = errno;
      break;
    }
    if (r == 0) break;
    if (static_cast<size_t>(r) >= room) {
      // The buffer has room for one byte more than the largest frame, so a
      // full buffer means that tun_put_user() cut the frame to fit (the MTU
      // grew after open). A cut frame is useless.
      ++stats_.rx_dropped;
      continue;
    }
    b.truncate(static_cast<size_t>(r));
    ++stats_.rx_frames;
    stats_.rx_bytes += static_cast<uint64_t>(r);
    out.push_back(std::move(b));
    ++n;
  }
  return n;
}

void TapDevice::transmit(std::span<PacketBuffer> frames, Instant) {
  for (PacketBuffer& slot : frames) {
    PacketBuffer f = std::move(slot);
    if (!f) continue;
    ssize_t r;
    do {
      r = ::write(fd_, f.data(), f.size());
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      // EAGAIN/ENOBUFS: the kernel has no room now; EIO: the interface is
      // down (tun_get_user() checks IFF_UP); EBADFD: it is going away. Either way this frame is
      // lost, as on a real link; TCP retransmits.
      ++stats_.tx_dropped;
      last_tx_error_ = errno;
      continue;
    }
    ++stats_.tx_frames;
    stats_.tx_bytes += f.size();
  }
}

}  // namespace shunt
