// ARP for Ethernet and IPv4 only (RFC 826).
//
//   0       2       4    5    6       8          14         18         24         28
//   | htype | ptype | hl | pl | oper  | sha      | spa      | tha      | tpa      |
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

namespace arp_op {
inline constexpr uint16_t kRequest = 1;
inline constexpr uint16_t kReply = 2;
}  // namespace arp_op

namespace arp_field {
inline constexpr size_t kHtype = 0;
inline constexpr size_t kPtype = 2;
inline constexpr size_t kHlen = 4;
inline constexpr size_t kPlen = 5;
inline constexpr size_t kOper = 6;
inline constexpr size_t kSha = 8;
inline constexpr size_t kSpa = 14;
inline constexpr size_t kTha = 18;
inline constexpr size_t kTpa = 24;
inline constexpr size_t kEnd = 28;
}  // namespace arp_field

// RFC 826 "ar$hrd": 1 is Ethernet (IANA ARP hardware types).
inline constexpr uint16_t kArpHtypeEthernet = 1;

// A checked view: at least 28 bytes, and the hardware/protocol types and
// lengths are Ethernet/IPv4, so the fixed offsets above are right. The
// operation is not checked here (see ArpRepr::parse).
class ArpView {
 public:
  static Expected<ArpView, DropReason> check(Bytes packet);

  uint16_t operation() const { return load_be16(b_.data() + arp_field::kOper); }
  MacAddress sender_mac() const { return MacAddress::from_bytes(b_.data() + arp_field::kSha); }
  Ipv4Address sender_ip() const { return Ipv4Address(load_be32(b_.data() + arp_field::kSpa)); }
  MacAddress target_mac() const { return MacAddress::from_bytes(b_.data() + arp_field::kTha); }
  Ipv4Address target_ip() const { return Ipv4Address(load_be32(b_.data() + arp_field::kTpa)); }

 private:
  explicit ArpView(Bytes b) : b_(b) {}
  Bytes b_;
};

struct ArpRepr {
  uint16_t operation = 0;
  MacAddress sender_mac{};
  Ipv4Address sender_ip{};
  MacAddress target_mac{};
  Ipv4Address target_ip{};

  static constexpr size_t kLen = arp_field::kEnd;

  // kArpTruncated (< 28 bytes); kArpUnsupported unless Ethernet/IPv4;
  // kArpBadOperation unless request or reply. Bytes after the 28 (Ethernet
  // minimum-frame padding) are ignored.
  static Expected<ArpRepr, DropReason> parse(Bytes packet);
  // Writes 28 bytes; out.size() >= kLen.
  void emit(MutableBytes out) const;

  bool operator==(const ArpRepr&) const = default;
};

}  // namespace shunt::wire
