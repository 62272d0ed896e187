// IPv4 header (RFC 791 3.1). Options are bounds-checked and skipped, never
// interpreted; the stack emits no options.
//
//   0        1        2        4        6        8      9      10       12    16    20
//   | ver/ihl | tos   | totlen | ident  | fl/off | ttl  | prot | cksum  | src | dst | options
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

namespace ip_proto {
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
}  // namespace ip_proto

namespace ipv4_field {
inline constexpr size_t kVerIhl = 0;
inline constexpr size_t kTos = 1;
inline constexpr size_t kTotalLen = 2;
inline constexpr size_t kIdent = 4;
inline constexpr size_t kFlagsFrag = 6;
inline constexpr size_t kTtl = 8;
inline constexpr size_t kProtocol = 9;
inline constexpr size_t kChecksum = 10;
inline constexpr size_t kSrc = 12;
inline constexpr size_t kDst = 16;
inline constexpr size_t kOptions = 20;

// Bits of the 16-bit flags/fragment-offset word (RFC 791 3.1 "Flags").
inline constexpr uint16_t kFlagReserved = 0x8000;
inline constexpr uint16_t kFlagDf = 0x4000;
inline constexpr uint16_t kFlagMf = 0x2000;
inline constexpr uint16_t kFragOffsetMask = 0x1fff;  // in units of 8 bytes
}  // namespace ipv4_field

// A checked view over one IPv4 packet. check() guarantees: at least 20
// bytes, version 4, 5 <= IHL and IHL*4 <= bytes, IHL*4 <= total length <=
// bytes. The header checksum is not verified by check() (verify_checksum()).
// Bytes past the total length (Ethernet padding) are outside payload().
class Ipv4View {
 public:
  static Expected<Ipv4View, DropReason> check(Bytes packet);

  uint8_t version() const { return b_[ipv4_field::kVerIhl] >> 4; }
  uint16_t header_len() const {
    return static_cast<uint16_t>((b_[ipv4_field::kVerIhl] & 0x0f) * 4);
  }
  uint8_t tos() const { return b_[ipv4_field::kTos]; }
  uint16_t total_len() const { return load_be16(b_.data() + ipv4_field::kTotalLen); }
  uint16_t ident() const { return load_be16(b_.data() + ipv4_field::kIdent); }
  bool dont_fragment() const { return (flags_frag() & ipv4_field::kFlagDf) != 0; }
  bool more_fragments() const { return (flags_frag() & ipv4_field::kFlagMf) != 0; }
  // In bytes (the wire field counts 8-byte units).
  uint16_t frag_offset() const {
    return static_cast<uint16_t>((flags_frag() & ipv4_field::kFragOffsetMask) * 8);
  }
  uint8_t ttl() const { return b_[ipv4_field::kTtl]; }
  uint8_t protocol() const { return b_[ipv4_field::kProtocol]; }
  uint16_t checksum() const { return load_be16(b_.data() + ipv4_field::kChecksum); }
  Ipv4Address src() const { return Ipv4Address(load_be32(b_.data() + ipv4_field::kSrc)); }
  Ipv4Address dst() const { return Ipv4Address(load_be32(b_.data() + ipv4_field::kDst)); }
  Bytes header() const { return b_.first(header_len()); }
  Bytes options() const {
    return b_.subspan(ipv4_field::kOptions, header_len() - ipv4_field::kOptions);
  }
  Bytes payload() const { return b_.subspan(header_len(), total_len() - header_len()); }
  // RFC 791 3.1 "Header Checksum": over the header (with options) only.
  bool verify_checksum() const;

 private:
  explicit Ipv4View(Bytes b) : b_(b) {}
  uint16_t flags_frag() const { return load_be16(b_.data() + ipv4_field::kFlagsFrag); }
  Bytes b_;
};

struct Ipv4Repr {
  Ipv4Address src{};
  Ipv4Address dst{};
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t ident = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t frag_offset = 0;  // in BYTES (wire field * 8); emit needs a multiple of 8
  uint16_t header_len = 20;  // from IHL on parse (20..60); emit always writes 20 (no options)
  uint16_t payload_len = 0;  // total length - header_len

  static constexpr size_t kMinHeaderLen = 20;

  // kIpTruncated (< 20 bytes), kIpBadVersion, kIpBadHeaderLength (IHL < 5 or
  // beyond the packet), kIpBadTotalLength (total length < IHL*4 or > the
  // packet; a longer packet is link padding and fine), kIpBadChecksum (if
  // verify_checksum), kFragBadOffset (fragment offset + payload > 65535).
  static Expected<Ipv4Repr, DropReason> parse(Bytes packet, bool verify_checksum = true);
  size_t total_len() const { return header_len + payload_len; }
  // Writes a 20-byte header with checksum; total length = 20 + payload_len.
  // out.size() >= 20.
  void emit(MutableBytes out) const;
  bool is_fragment() const { return more_fragments || frag_offset != 0; }

  bool operator==(const Ipv4Repr&) const = default;
};

}  // namespace shunt::wire
