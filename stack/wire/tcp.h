// TCP header and options.
//
// Reading list:
//   RFC 9293 3.1  header format; 3.2 options (kinds 0, 1, 2), MUST-64/MUST-7
//   RFC 7323      window scale (2.2) and timestamps (3.2)
//   RFC 2018      SACK-permitted (2) and SACK (3)
//   RFC 6691      MSS excludes IP and TCP options
//
//   0          2          4     8     12      13     14       16         18        20
//   | src port | dst port | seq | ack | doff/- | flags | window | checksum | urgent | options
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"
#include "stack/base/seq.h"
#include "stack/base/drop_reason.h"

namespace shunt::wire {

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint8_t kEce = 0x40;  // RFC 3168
inline constexpr uint8_t kCwr = 0x80;  // RFC 3168
}  // namespace tcp_flag

namespace tcp_field {
inline constexpr size_t kSrcPort = 0;
inline constexpr size_t kDstPort = 2;
inline constexpr size_t kSeq = 4;
inline constexpr size_t kAck = 8;
inline constexpr size_t kDataOffset = 12;  // high nibble; the low nibble is reserved
inline constexpr size_t kFlags = 13;
inline constexpr size_t kWindow = 14;
inline constexpr size_t kChecksum = 16;
inline constexpr size_t kUrgent = 18;
inline constexpr size_t kOptions = 20;
}  // namespace tcp_field

namespace tcp_option {
inline constexpr uint8_t kEnd = 0;  // RFC 9293 3.2
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;    // RFC 7323 2.2
inline constexpr uint8_t kSackPermitted = 4;  // RFC 2018 2
inline constexpr uint8_t kSack = 5;           // RFC 2018 3
inline constexpr uint8_t kTimestamps = 8;     // RFC 7323 3.2

inline constexpr uint8_t kMssLen = 4;
inline constexpr uint8_t kWindowScaleLen = 3;
inline constexpr uint8_t kSackPermittedLen = 2;
inline constexpr uint8_t kSackBaseLen = 2;
inline constexpr uint8_t kSackBlockLen = 8;
inline constexpr uint8_t kTimestampsLen = 10;
}  // namespace tcp_option

// One SACK block: [left, right) received out of order (RFC 2018 3).
struct SackBlock {
  SeqNum left{};
  SeqNum right{};
  bool operator==(const SackBlock&) const = default;
};

struct TcpOptions {
  static constexpr size_t kMaxSackBlocks = 4;
  static constexpr size_t kMaxLen = 40;  // data offset 15 minus the fixed header

  std::optional<uint16_t> mss{};
  std::optional<uint8_t> window_scale{};  // shift count as sent (the receiver clamps to 14)
  bool sack_permitted = false;
  struct Timestamps {
    uint32_t tsval = 0;
    uint32_t tsecr = 0;
    bool operator==(const Timestamps&) const = default;
  };
  std::optional<Timestamps> timestamps{};
  std::array<SackBlock, kMaxSackBlocks> sack_blocks{};
  uint8_t sack_count = 0;

  // The option bytes between the fixed header and the data. EOL ends the
  // list; NOPs and unknown kinds are skipped. kTcpBadOption for a length
  // below 2 or running past the end, and for a known kind with the wrong
  // length. SACK blocks beyond kMaxSackBlocks are ignored.
  static Expected<TcpOptions, DropReason> parse(Bytes options);
  // Bytes emit() writes: a multiple of 4.
  size_t encoded_len() const;
  // Writes encoded_len() bytes in Linux's layout (tcp_options_write): MSS;
  // SACK-permitted+TS or NOP NOP TS; NOP NOP SACK-permitted (without TS);
  // NOP WS; NOP NOP SACK. out.size() >= encoded_len().
  void emit(MutableBytes out) const;

  bool operator==(const TcpOptions&) const = default;
};

// A checked view over one segment (the whole IP payload): at least 20
// bytes and 5 <= data offset, data offset * 4 <= bytes. Options and the
// checksum are not checked by check().
class TcpView {
 public:
  static Expected<TcpView, DropReason> check(Bytes segment);

  uint16_t src_port() const { return load_be16(b_.data() + tcp_field::kSrcPort); }
  uint16_t dst_port() const { return load_be16(b_.data() + tcp_field::kDstPort); }
  SeqNum seq() const { return SeqNum(load_be32(b_.data() + tcp_field::kSeq)); }
  SeqNum ack() const { return SeqNum(load_be32(b_.data() + tcp_field::kAck)); }
  uint16_t header_len() const {
    return static_cast<uint16_t>((b_[tcp_field::kDataOffset] >> 4) * 4);
  }
  uint8_t flags() const { return b_[tcp_field::kFlags]; }
  uint16_t window() const { return load_be16(b_.data() + tcp_field::kWindow); }
  uint16_t checksum() const { return load_be16(b_.data() + tcp_field::kChecksum); }
  uint16_t urgent_ptr() const { return load_be16(b_.data() + tcp_field::kUrgent); }
  Bytes options() const {
    return b_.subspan(tcp_field::kOptions, header_len() - tcp_field::kOptions);
  }
  Bytes payload() const { return b_.subspan(header_len()); }
  // RFC 9293 3.1 "Checksum": pseudo header, header, options and data.
  bool verify_checksum(Ipv4Address src, Ipv4Address dst) const;

 private:
  explicit TcpView(Bytes b) : b_(b) {}
  Bytes b_;
};

struct TcpRepr {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  SeqNum seq{};
  SeqNum ack{};
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  uint16_t urgent_ptr = 0;
  TcpOptions options{};
  uint16_t header_len = 20;  // on parse: data offset * 4; emit uses header_len_for_emit()
  uint16_t payload_len = 0;  // on parse: segment.size() - header_len; emit uses segment.size()

  static constexpr size_t kMinHeaderLen = 20;

  // segment = the IP payload. kTcpTruncated (< 20 bytes), kTcpBadDataOffset
  // (< 5 or beyond the segment), kTcpBadChecksum (if verify_checksum),
  // kTcpBadOption (see TcpOptions::parse).
  static Expected<TcpRepr, DropReason> parse(Bytes segment, Ipv4Address src, Ipv4Address dst,
                                             bool verify_checksum = true);
  size_t header_len_for_emit() const { return kMinHeaderLen + options.encoded_len(); }
  // segment.size() == header_len_for_emit() + payload, the payload already
  // in place after the header: writes header, options and checksum.
  void emit(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const;
  bool has(uint8_t f) const { return (flags & f) != 0; }

  bool operator==(const TcpRepr&) const = default;
};

}  // namespace shunt::wire
