// Ethernet II frame header (IEEE 802.3 clause 3.2, "Ethernet II" framing
// with an EtherType >= 0x0600). The FCS is never seen by the stack: TAP and
// AF_PACKET deliver frames without it.
//
//   0      6      12    14
//   | dst  | src  | type | payload ...
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

inline constexpr size_t kEthernetHeaderLen = 14;

namespace ethertype {
inline constexpr uint16_t kIpv4 = 0x0800;
inline constexpr uint16_t kArp = 0x0806;
inline constexpr uint16_t kVlan = 0x8100;  // IEEE 802.1Q
inline constexpr uint16_t kQinQ = 0x88a8;  // IEEE 802.1ad
inline constexpr uint16_t kIpv6 = 0x86dd;
}  // namespace ethertype

namespace ethernet_field {
inline constexpr size_t kDst = 0;
inline constexpr size_t kSrc = 6;
inline constexpr size_t kType = 12;
}  // namespace ethernet_field

// A checked view over one frame: at least kEthernetHeaderLen bytes.
class EthernetView {
 public:
  static Expected<EthernetView, DropReason> check(Bytes frame) {
    if (frame.size() < kEthernetHeaderLen) return DropReason::kEthTruncated;
    return EthernetView(frame);
  }

  MacAddress dst() const { return MacAddress::from_bytes(b_.data() + ethernet_field::kDst); }
  MacAddress src() const { return MacAddress::from_bytes(b_.data() + ethernet_field::kSrc); }
  uint16_t ethertype() const { return load_be16(b_.data() + ethernet_field::kType); }
  Bytes payload() const { return b_.subspan(kEthernetHeaderLen); }
  Bytes bytes() const { return b_; }

 private:
  explicit EthernetView(Bytes b) : b_(b) {}
  Bytes b_;
};

struct EthernetRepr {
  MacAddress dst{};
  MacAddress src{};
  uint16_t ethertype = 0;

  // Only the length is checked (kEthTruncated); what to do with a given
  // EtherType or destination is the caller's policy.
  static Expected<EthernetRepr, DropReason> parse(Bytes frame);
  static constexpr size_t header_len() { return kEthernetHeaderLen; }
  // Writes the 14-byte header; out.size() >= 14.
  void emit(MutableBytes out) const;

  bool operator==(const EthernetRepr&) const = default;
};

}  // namespace shunt::wire
