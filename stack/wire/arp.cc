#include "stack/wire/arp.h"

#include "stack/base/check.h"
#include "stack/wire/ethernet.h"

namespace shunt::wire {

namespace {
constexpr uint8_t kEthernetAddrLen = 6;
constexpr uint8_t kIpv4AddrLen = 4;
}  // namespace

Expected<ArpView, DropReason> ArpView::check(Bytes packet) {
  if (packet.size() < arp_field::kEnd) return DropReason::kArpTruncated;
  const uint8_t* p = packet.data();
  // RFC 826 "Packet Reception": a packet whose ar$hrd/ar$pro we do not
  // speak is discarded. The lengths must match too, or the offsets lie.
  if (load_be16(p + arp_field::kHtype) != kArpHtypeEthernet ||
      load_be16(p + arp_field::kPtype) != ethertype::kIpv4 ||
      p[arp_field::kHlen] != kEthernetAddrLen || p[arp_field::kPlen] != kIpv4AddrLen) {
    return DropReason::kArpUnsupported;
  }
  return ArpView(packet);
}

Expected<ArpRepr, DropReason> ArpRepr::parse(Bytes packet) {
  auto view = ArpView::check(packet);
  if (!view) return view.error();
  const uint16_t op = view->operation();
  if (op != arp_op::kRequest && op != arp_op::kReply) return DropReason::kArpBadOperation;
  return ArpRepr{.operation = op,
                 .sender_mac = view->sender_mac(),
                 .sender_ip = view->sender_ip(),
                 .target_mac = view->target_mac(),
                 .target_ip = view->target_ip()};
}

void ArpRepr::emit(MutableBytes out) const {
  SHUNT_CHECK(out.size() >= kLen);
  uint8_t* p = out.data();
  store_be16(p + arp_field::kHtype, kArpHtypeEthernet);
  store_be16(p + arp_field::kPtype, ethertype::kIpv4);
  p[arp_field::kHlen] = kEthernetAddrLen;
  p[arp_field::kPlen] = kIpv4AddrLen;
  store_be16(p + arp_field::kOper, operation);
  sender_mac.write(p + arp_field::kSha);
  store_be32(p + arp_field::kSpa, sender_ip.value());
  target_mac.write(p + arp_field::kTha);
  store_be32(p + arp_field::kTpa, target_ip.value());
}

}  // namespace shunt::wire
