// UDP (RFC 768).
//
//   0          2          4        6          8
//   | src port | dst port | length | checksum | data ...
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

namespace udp_field {
inline constexpr size_t kSrcPort = 0;
inline constexpr size_t kDstPort = 2;
inline constexpr size_t kLength = 4;
inline constexpr size_t kChecksum = 6;
inline constexpr size_t kData = 8;
}  // namespace udp_field

// A checked view over one datagram (the IP payload): at least 8 bytes and
// 8 <= length field <= bytes. Bytes past the length field are outside
// payload(). The checksum is not verified by check().
class UdpView {
 public:
  static Expected<UdpView, DropReason> check(Bytes datagram);

  uint16_t src_port() const { return load_be16(b_.data() + udp_field::kSrcPort); }
  uint16_t dst_port() const { return load_be16(b_.data() + udp_field::kDstPort); }
  uint16_t length() const { return load_be16(b_.data() + udp_field::kLength); }
  uint16_t checksum() const { return load_be16(b_.data() + udp_field::kChecksum); }
  Bytes payload() const { return b_.subspan(udp_field::kData, length() - udp_field::kData); }
  // True when the checksum field is 0 ("no checksum", RFC 768) or right
  // over the pseudo header, header and payload.
  bool verify_checksum(Ipv4Address src, Ipv4Address dst) const;

 private:
  explicit UdpView(Bytes b) : b_(b) {}
  Bytes b_;
};

struct UdpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t payload_len = 0;

  static constexpr size_t kHeaderLen = udp_field::kData;

  // datagram = the IP payload. kUdpTruncated (< 8 bytes), kUdpBadLength
  // (length field < 8 or > datagram.size()), kUdpBadChecksum (if
  // verify_checksum and the field is not 0).
  static Expected<UdpRepr, DropReason> parse(Bytes datagram, Ipv4Address src, Ipv4Address dst,
                                             bool verify_checksum = true);
  // datagram.size() == 8 + payload_len with the payload already in place at
  // datagram[8..]: writes the header and the checksum.
  void emit(MutableBytes datagram, Ipv4Address src, Ipv4Address dst) const;

  bool operator==(const UdpRepr&) const = default;
};

}  // namespace shunt::wire
