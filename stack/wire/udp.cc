#include "stack/wire/udp.h"

#include "stack/base/check.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ipv4.h"

namespace shunt::wire {

Expected<UdpView, DropReason> UdpView::check(Bytes datagram) {
  if (datagram.size() < udp_field::kData) return DropReason::kUdpTruncated;
  // RFC 768: "Length is the length in octets of this user datagram
  // including this header and the data." Bytes beyond it are not ours
  // (Linux trims them too); fewer bytes than it says is a broken datagram.
  const size_t length = load_be16(datagram.data() + udp_field::kLength);
  if (length < udp_field::kData || length > datagram.size()) return DropReason::kUdpBadLength;
  return UdpView(datagram);
}

bool UdpView::verify_checksum(Ipv4Address src, Ipv4Address dst) const {
  // RFC 768: "An all zero transmitted checksum value means that the
  // transmitter generated no checksum."
  if (checksum() == 0) return true;
  const uint32_t pseudo = checksum::pseudo_header(src, dst, ip_proto::kUdp, length());
  return checksum::verify(b_.first(length()), pseudo);
}

Expected<UdpRepr, DropReason> UdpRepr::parse(Bytes datagram, Ipv4Address src, Ipv4Address dst,
                                             bool verify_checksum) {
  auto checked = UdpView::check(datagram);
  if (!checked) return checked.error();
  const UdpView& v = *checked;
  if (verify_checksum && !v.verify_checksum(src, dst)) return DropReason::kUdpBadChecksum;
  return UdpRepr{.src_port = v.src_port(),
                 .dst_port = v.dst_port(),
                 .payload_len = static_cast<uint16_t>(v.length() - kHeaderLen)};
}

void UdpRepr::emit(MutableBytes datagram, Ipv4Address src, Ipv4Address dst) const {
  SHUNT_CHECK(payload_len <= 0xffff - kHeaderLen);
  SHUNT_CHECK(datagram.size() == kHeaderLen + payload_len);
  const auto length = static_cast<uint16_t>(kHeaderLen + payload_len);
  uint8_t* p = datagram.data();
  store_be16(p + udp_field::kSrcPort, src_port);
  store_be16(p + udp_field::kDstPort, dst_port);
  store_be16(p + udp_field::kLength, length);
  store_be16(p + udp_field::kChecksum, 0);
  const uint32_t pseudo = checksum::pseudo_header(src, dst, ip_proto::kUdp, length);
  uint16_t sum = checksum::finish(checksum::partial(datagram, pseudo));
  // RFC 768: "If the computed checksum is zero, it is transmitted as all
  // ones" (0 on the wire means "no checksum").
  if (sum == 0) sum = 0xffff;
  store_be16(p + udp_field::kChecksum, sum);
}

}  // namespace shunt::wire
