#include "driver/packet_device.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "driver/link.h"
#include "stack/base/check.h"
#include "stack/wire/checksum.h"

namespace shunt {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kVlanTag = 4;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

// A receive slot's standard buffer: a full-size frame with a tag.
constexpr size_t kSlotFrame = 1500 + kEthHeader + kVlanTag;
// Its overflow area: enough for the largest frame on its own.
constexpr size_t kOverflow = PacketDevice::kMaxFrame;
constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(tpacket_auxdata));

// The classic BPF program's verdicts: the number of bytes to keep.
constexpr uint32_t kAccept = 0x40000;  // all of it (larger than any frame)
constexpr uint32_t kDrop = 0;

// Documentation/networking/filter.rst. On a SOCK_RAW packet socket the
// program sees the frame from the destination MAC on; loads past the end of
// a short frame end the program with a drop.
std::vector<sock_filter> mac_filter(MacAddress mac, bool accept_multicast) {
  const auto& b = mac.bytes();
  const uint32_t hi16 = (uint32_t{b[0]} << 8) | b[1];
  const uint32_t lo32 =
      (uint32_t{b[2]} << 24) | (uint32_t{b[3]} << 16) | (uint32_t{b[4]} << 8) | b[5];
  if (accept_multicast) {
    // The group bit (first byte, bit 0) is set for multicast and broadcast.
    return {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),             // 0: A = dst[0]
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x01, 4, 0),  // 1: group bit? -> 6
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),             // 2: A = dst[2..5]
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo32, 0, 3),   // 3: != ours -> 7
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),             // 4: A = dst[0..1]
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi16, 0, 1),   // 5: == ours -> 6, else 7
        BPF_STMT(BPF_RET | BPF_K, kAccept),                // 6
        BPF_STMT(BPF_RET | BPF_K, kDrop),                  // 7
    };
  }
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2),                  // 0: A = dst[2..5]
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo32, 0, 2),        // 1: != ours -> 4
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),                  // 2: A = dst[0..1]
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi16, 3, 4),        // 3: == ours -> 7, else 8
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffff, 0, 3),  // 4: broadcast? else -> 8
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),                  // 5: A = dst[0..1]
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffff, 0, 1),      // 6: -> 7, else 8
      BPF_STMT(BPF_RET | BPF_K, kAccept),                     // 7
      BPF_STMT(BPF_RET | BPF_K, kDrop),                       // 8
  };
}

// Requests a socket buffer size, first past the sysctl cap (needs
// CAP_NET_ADMIN), then within it.
void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (bytes <= 0) return;
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);  // best effort
  }
}

// True for an IPv4 TCP packet in Ethernet (a TCP GSO frame is one big but
// valid segment, like what GRO hands the kernel's own stack).
bool is_ipv4_tcp(Bytes frame) {
  if (frame.size() < kEthHeader + 20) return false;
  return load_be16(frame.data() + 12) == kEtherTypeIpv4 && (frame[kEthHeader] >> 4) == 4 &&
         frame[kEthHeader + 9] == kProtoTcp;
}

}  // namespace

bool complete_l4_checksum(MutableBytes frame) {
  uint8_t* p = frame.data();
  const size_t size = frame.size();
  if (size < kEthHeader) return false;
  size_t l3 = kEthHeader;
  uint16_t type = load_be16(p + 12);
  if (type == kEtherTypeVlan) {
    if (size < kEthHeader + kVlanTag) return false;
    type = load_be16(p + 16);
    l3 += kVlanTag;
  }
  if (type != kEtherTypeIpv4 || size < l3 + 20) return false;
  const uint8_t* ip = p + l3;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  const size_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || l3 + total > size) return false;
  // RFC 791: MF set or a fragment offset: the transport header is not whole.
  if ((load_be16(ip + 6) & 0x3fff) != 0) return false;
  const uint8_t proto = ip[9];
  size_t field;
  size_t min_header;
  if (proto == kProtoTcp) {
    field = 16;  // RFC 9293 3.1
    min_header = 20;
  } else if (proto == kProtoUdp) {
    field = 6;  // RFC 768
    min_header = 8;
  } else {
    return false;
  }
  const size_t l4_len = total - ihl;
  if (l4_len < min_header) return false;
  uint8_t* l4 = p + l3 + ihl;
  store_be16(l4 + field, 0);
  const uint32_t pseudo =
      checksum::pseudo_header(Ipv4Address(load_be32(ip + 12)), Ipv4Address(load_be32(ip + 16)),
                              proto, static_cast<uint16_t>(l4_len));
  uint16_t sum = checksum::finish(checksum::partial({l4, l4_len}, pseudo));
  // RFC 768: a computed UDP checksum of zero is transmitted as all ones
  // (zero means "no checksum").
  if (proto == kProtoUdp && sum == 0) sum = 0xffff;
  store_be16(l4 + field, sum);
  return true;
}

PacketDevice::PacketDevice(int fd, BufferPool& pool)
    : fd_(fd),
      pool_(pool),
      overflow_(new uint8_t[kBatch * kOverflow]),  // uninitialised: pages stay untouched
      control_(kBatch * kCmsgSpace) {}

PacketDevice::~PacketDevice() {
  ::close(fd_);
}

Expected<std::unique_ptr<PacketDevice>, std::string> PacketDevice::open(
    const PacketOptions& options, BufferPool& pool) {
  const std::string& name = options.interface;
  if (name.empty()) return std::string("the packet device needs an interface name");

  auto nl = Netlink::open();
  if (!nl.ok()) return nl.error();
  auto link = nl->link(name);
  if (!link.ok()) return link.error();
  if (link->arptype != ARPHRD_ETHER) {
    return fmt::format(
        "interface '{}' is not an Ethernet interface (link type {}): use a veth, bridge port, "
        "TAP or NIC",
        name, link->arptype);
  }
  const MacAddress mac = options.mac.is_zero() ? link->mac : options.mac;
  if (mac.is_multicast()) {
    return fmt::format("the stack's MAC address {} is a multicast address: use a unicast one",
                       mac.to_string());
  }

  // Protocol 0: no frame is queued until bind() names a protocol
  // (packet(7)), so nothing unfiltered slips in before the filter is attached.
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const int e = errno;
    if (e == EPERM || e == EACCES) {
      return fmt::format(
          "opening an AF_PACKET socket on '{}' needs CAP_NET_RAW: run as root or grant the "
          "capability (`setcap cap_net_raw,cap_net_admin+ep PROGRAM`)",
          name);
    }
    if (e == EAFNOSUPPORT) {
      return std::string("this kernel has no AF_PACKET support (CONFIG_PACKET): use a TAP device");
    }
    return fmt::format("cannot open an AF_PACKET socket: {}", std::strerror(e));
  }
  std::unique_ptr<PacketDevice> dev(new PacketDevice(fd, pool));
  dev->interface_ = link->name;
  dev->ifindex_ = link->ifindex;
  dev->mac_ = mac;
  dev->mtu_ = link->mtu;

  auto fail = [&](std::string_view what) {
    return fmt::format("cannot set up the packet socket on '{}': {}: {}", name, what,
                       std::strerror(errno));
  };

  std::vector<sock_filter> program = mac_filter(mac, options.accept_multicast);
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.size());
  fprog.filter = program.data();
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
    return fail("SO_ATTACH_FILTER");
  }
  const int one = 1;
  if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) {
    return fail("PACKET_AUXDATA");
  }
  // Linux 4.20+; older kernels say ENOPROTOOPT and receive() skips
  // PACKET_OUTGOING frames itself.
  dev->ignore_outgoing_ =
      ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) == 0;
  set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.rcvbuf_bytes);
  set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sndbuf_bytes);

  if (mac != link->mac) {
    // packet(7) PACKET_ADD_MEMBERSHIP / PACKET_MR_UNICAST: adds the MAC to the
    // device's unicast list (dev_uc_add); dropped when the socket closes.
    packet_mreq mreq{};
    mreq.mr_ifindex = link->ifindex;
    mreq.mr_type = PACKET_MR_UNICAST;
    mreq.mr_alen = 6;
    mac.write(mreq.mr_address);
    if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      return fail("PACKET_ADD_MEMBERSHIP for the stack's MAC");
    }
  }

  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = link->ifindex;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ENODEV || errno == ENXIO) {
      return fmt::format("interface '{}' disappeared while shunt was opening it", name);
    }
    return fail("bind");
  }
  return dev;
}

size_t PacketDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant) {
  size_t delivered = 0;
  while (delivered < max) {
    const size_t want = std::min(max - delivered, kBatch);
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch][2];
    sockaddr_ll from[kBatch];
    for (size_t i = 0; i < want; ++i) {
      if (!slot_buf_[i]) slot_buf_[i] = pool_.allocate(kSlotFrame);
      SHUNT_CHECK(slot_buf_[i]);  // kSlotFrame fits the smallest size class
      PacketBuffer& b = slot_buf_[i];
      iovs[i][0] = {b.data(), b.tailroom()};  // an empty buffer: data() is its tail
      iovs[i][1] = {overflow_.get() + i * kOverflow, kOverflow};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 2;
      msgs[i].msg_hdr.msg_control = control_.data() + i * kCmsgSpace;
      msgs[i].msg_hdr.msg_controllen = kCmsgSpace;
    }
    int r = ::recvmmsg(fd_, msgs, static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (r < 0) {
      if (errno == EINTR) continue;
      // ENETDOWN is reported once after the link went down (the socket's
      // pending error); the next call works again.
      if (errno != EAGAIN) last_rx_error_ = errno;
      break;
    }
    for (size_t i = 0; i < static_cast<size_t>(r); ++i) {
      msghdr& h = msgs[i].msg_hdr;
      const size_t len = msgs[i].msg_len;
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        ++stats_.rx_truncated;
        continue;
      }
      // packet(7): sll_pkttype PACKET_OUTGOING is a frame this host sent.
      if (from[i].sll_pkttype == PACKET_OUTGOING) {
        ++stats_.rx_outgoing_skipped;
        continue;
      }
      tpacket_auxdata aux{};
      bool have_aux = false;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
            c->cmsg_len >= CMSG_LEN(sizeof aux)) {
          std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
          have_aux = true;
        }
      }
      if (have_aux && (aux.tp_status & TP_STATUS_VLAN_VALID) != 0 &&
          (aux.tp_vlan_tci & 0x0fff) != 0) {
        ++stats_.rx_vlan_dropped;  // VID 0 is a priority tag only, and kept
        continue;
      }
      PacketBuffer frame;
      const size_t first = iovs[i][0].iov_len;
      if (len <= first) {
        frame = std::move(slot_buf_[i]);
        frame.append(len);
      } else {
        // A GSO super-frame: standard buffer plus overflow, copied whole.
        frame = pool_.allocate(len);
        if (!frame) {
          ++stats_.rx_dropped;
          continue;
        }
        auto dst = frame.append(len);
        std::memcpy(dst.data(), iovs[i][0].iov_base, first);
        std::memcpy(dst.data() + first, iovs[i][1].iov_base, len - first);
        ++stats_.rx_large;
      }
      if (len > mtu_ + kEthHeader + kVlanTag && !is_ipv4_tcp(frame.bytes())) {
        // A GSO frame of another kind: a UDP one (UDP_SEGMENT) carries many
        // datagrams whose boundaries only the GSO metadata knows, which needs
        // PACKET_VNET_HDR (planned). Delivering it whole would merge them.
        ++stats_.rx_oversize_dropped;
        continue;
      }
      if (have_aux && (aux.tp_status & TP_STATUS_CSUMNOTREADY) != 0) {
        if (complete_l4_checksum(frame.bytes())) {
          ++stats_.rx_checksum_completed;
        } else {
          ++stats_.rx_checksum_partial_other;
        }
      }
      ++stats_.rx_frames;
      stats_.rx_bytes += len;
      out.push_back(std::move(frame));
      ++delivered;
    }
    if (static_cast<size_t>(r) < want) break;  // the socket is empty
  }
  return delivered;
}

void PacketDevice::transmit(std::span<PacketBuffer> frames, Instant) {
  size_t next = 0;
  while (next < frames.size()) {
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch];
    size_t index[kBatch];
    size_t n = 0;
    for (; next < frames.size() && n < kBatch; ++next) {
      PacketBuffer& f = frames[next];
      if (!f) continue;
      iovs[n] = {f.data(), f.size()};
      msgs[n] = {};
      // No address: the socket is bound to the interface, and SOCK_RAW
      // frames carry their own Ethernet header (packet(7)).
      msgs[n].msg_hdr.msg_iov = &iovs[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      index[n] = next;
      ++n;
    }
    size_t done = 0;
    while (done < n) {
      int r = ::sendmmsg(fd_, msgs + done, static_cast<unsigned>(n - done), MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        last_tx_error_ = errno;
        if (errno == EAGAIN || errno == ENOBUFS) {
          // The socket or device queue is full: the rest of this batch is
          // lost, as on a congested link.
          stats_.tx_dropped += n - done;
          break;
        }
        // EMSGSIZE (larger than the MTU), ENETDOWN, ENXIO, ...: this frame
        // is lost; sendmmsg(2) reports an error only for the first message,
        // so go on with the next one.
        ++stats_.tx_dropped;
        ++done;
        continue;
      }
      for (size_t k = done; k < done + static_cast<size_t>(r); ++k) {
        ++stats_.tx_frames;
        stats_.tx_bytes += msgs[k].msg_len;
      }
      done += static_cast<size_t>(r);
    }
    for (size_t k = 0; k < n; ++k) frames[index[k]] = PacketBuffer();
  }
}

}  // namespace shunt
