// ICMP for IPv4 (RFC 792), with the Next-Hop MTU of RFC 1191 4.
//
//   0      1      2          4                     8
//   | type | code | checksum | rest of header      | data ...
//
// "Rest of header" is ident + sequence number for echo request/reply,
// unused(16) + next-hop MTU(16) for destination unreachable, and unused for
// time exceeded. Error messages carry the original IP header plus at least
// 8 bytes of its data (RFC 792; RFC 1812 4.3.2.3 allows more).
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

namespace icmp_type {
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kSourceQuench = 4;  // deprecated by RFC 6633, still an error type
inline constexpr uint8_t kRedirect = 5;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kParameterProblem = 12;
}  // namespace icmp_type

namespace icmp_code {
// Destination unreachable (RFC 792; 6..13 from RFC 1122 3.2.2.1 and RFC 1812 5.2.7.1).
inline constexpr uint8_t kNetUnreachable = 0;
inline constexpr uint8_t kHostUnreachable = 1;
inline constexpr uint8_t kProtocolUnreachable = 2;
inline constexpr uint8_t kPortUnreachable = 3;
inline constexpr uint8_t kFragNeeded = 4;
inline constexpr uint8_t kSourceRouteFailed = 5;
inline constexpr uint8_t kNetUnknown = 6;
inline constexpr uint8_t kHostUnknown = 7;
inline constexpr uint8_t kNetProhibited = 9;
inline constexpr uint8_t kHostProhibited = 10;
inline constexpr uint8_t kAdminProhibited = 13;
// Time exceeded.
inline constexpr uint8_t kTtlExceeded = 0;
inline constexpr uint8_t kReassemblyTimeExceeded = 1;
}  // namespace icmp_code

namespace icmp_field {
inline constexpr size_t kType = 0;
inline constexpr size_t kCode = 1;
inline constexpr size_t kChecksum = 2;
inline constexpr size_t kRest = 4;   // 4 bytes
inline constexpr size_t kIdent = 4;  // echo
inline constexpr size_t kSeqNo = 6;  // echo
inline constexpr size_t kMtu = 6;    // destination unreachable, RFC 1191 4
inline constexpr size_t kData = 8;
}  // namespace icmp_field

// A checked view: at least the 8-byte header. The checksum is not verified
// by check() (verify_checksum()).
class IcmpView {
 public:
  static Expected<IcmpView, DropReason> check(Bytes message) {
    if (message.size() < icmp_field::kData) return DropReason::kIcmpTruncated;
    return IcmpView(message);
  }

  uint8_t type() const { return b_[icmp_field::kType]; }
  uint8_t code() const { return b_[icmp_field::kCode]; }
  uint16_t checksum() const { return load_be16(b_.data() + icmp_field::kChecksum); }
  uint32_t rest_of_header() const { return load_be32(b_.data() + icmp_field::kRest); }
  uint16_t ident() const { return load_be16(b_.data() + icmp_field::kIdent); }
  uint16_t seq_no() const { return load_be16(b_.data() + icmp_field::kSeqNo); }
  uint16_t next_hop_mtu() const { return load_be16(b_.data() + icmp_field::kMtu); }
  Bytes payload() const { return b_.subspan(icmp_field::kData); }
  // RFC 792: the checksum covers the whole ICMP message.
  bool verify_checksum() const;

 private:
  explicit IcmpView(Bytes b) : b_(b) {}
  Bytes b_;
};

struct IcmpRepr {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t ident = 0;         // echo request/reply (bytes 4..5); 0 for other types
  uint16_t seq_no = 0;        // echo request/reply (bytes 6..7); 0 for other types
  uint16_t next_hop_mtu = 0;  // destination unreachable (bytes 6..7); 0 for other types
  // Bytes after the 8-byte header: echo data, or the original IP header and
  // leading data for errors. Points into the parsed message (no copy).
  Bytes payload{};

  static constexpr size_t kHeaderLen = icmp_field::kData;

  // kIcmpTruncated (< 8 bytes), kIcmpBadChecksum (if verify_checksum). The
  // type is not judged here. The rest-of-header of types other than echo
  // and destination unreachable (redirect gateway, parameter problem
  // pointer) is not kept; IcmpView::rest_of_header() has it.
  static Expected<IcmpRepr, DropReason> parse(Bytes message, bool verify_checksum = true);
  size_t len() const { return kHeaderLen + payload.size(); }
  // Writes the header, copies the payload (memmove: the payload may already
  // sit in `out`, as for an echo reply built in place), and the checksum.
  // out.size() >= len(); only the first len() bytes are written and summed.
  void emit(MutableBytes out) const;
  bool is_error() const;
};

}  // namespace shunt::wire
