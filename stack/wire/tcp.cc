#include "stack/wire/tcp.h"

#include "stack/base/check.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ipv4.h"

namespace shunt::wire {

namespace {

constexpr size_t kMinDataOffset = 5;
constexpr size_t kMaxSegmentLen = 0xffff;  // the pseudo header's length is 16 bits

// Does an option of `kind` with total length `len` have the length its
// definition fixes? Unknown kinds accept any length >= 2.
bool length_ok(uint8_t kind, size_t len) {
  using namespace tcp_option;
  switch (kind) {
    case kMss:
      return len == kMssLen;  // RFC 9293 3.2
    case kWindowScale:
      return len == kWindowScaleLen;  // RFC 7323 2.2
    case kSackPermitted:
      return len == kSackPermittedLen;  // RFC 2018 2
    case kSack:
      // RFC 2018 3: 8n+2 bytes; a SACK option with no block says nothing
      // and is treated as malformed.
      return len >= kSackBaseLen + kSackBlockLen && (len - kSackBaseLen) % kSackBlockLen == 0;
    case kTimestamps:
      return len == kTimestampsLen;  // RFC 7323 3.2
    default:
      return true;
  }
}

}  // namespace

Expected<TcpOptions, DropReason> TcpOptions::parse(Bytes options) {
  using namespace tcp_option;
  TcpOptions o;
  size_t i = 0;
  while (i < options.size()) {
    const uint8_t kind = options[i];
    // RFC 9293 3.2: End of Option List ends them; what follows is padding.
    if (kind == kEnd) break;
    if (kind == kNop) {
      ++i;
      continue;
    }
    // RFC 9293 3.1 (MUST-7): be prepared for illegal lengths; we drop the
    // segment rather than guess where the next option starts.
    if (options.size() - i < 2) return DropReason::kTcpBadOption;
    const size_t len = options[i + 1];
    if (len < 2 || len > options.size() - i) return DropReason::kTcpBadOption;
    if (!length_ok(kind, len)) {
      // A known option of the wrong length says nothing we can use; like
      // Linux (tcp_parse_options checks opsize per kind) skip it by its
      // length and keep the segment: a SYN with a bad MSS option still
      // opens, with the default MSS.
      i += len;
      continue;
    }
    const uint8_t* p = options.data() + i + 2;
    switch (kind) {
      case kMss:
        o.mss = load_be16(p);
        break;
      case kWindowScale:
        o.window_scale = p[0];  // RFC 7323 2.3: clamping to 14 is the receiver's job
        break;
      case kSackPermitted:
        o.sack_permitted = true;
        break;
      case kTimestamps:
        o.timestamps = Timestamps{.tsval = load_be32(p), .tsecr = load_be32(p + 4)};
        break;
      case kSack:
        for (size_t k = 0; k < (len - kSackBaseLen) / kSackBlockLen; ++k) {
          if (o.sack_count == kMaxSackBlocks) break;
          const uint8_t* b = p + k * kSackBlockLen;
          o.sack_blocks[o.sack_count++] =
              SackBlock{.left = SeqNum(load_be32(b)), .right = SeqNum(load_be32(b + 4))};
        }
        break;
      default:
        break;  // RFC 9293 3.1 (MUST-64): ignore unknown options by their length
    }
    i += len;
  }
  return o;
}

size_t TcpOptions::encoded_len() const {
  using namespace tcp_option;
  size_t n = 0;
  if (mss) n += kMssLen;
  if (timestamps) {
    n += 2 + kTimestampsLen;  // SACK-permitted or NOP NOP in front
  } else if (sack_permitted) {
    n += 2 + kSackPermittedLen;
  }
  if (window_scale) n += 1 + kWindowScaleLen;
  if (sack_count > 0) n += 2 + kSackBaseLen + size_t{sack_count} * kSackBlockLen;
  return n;
}

void TcpOptions::emit(MutableBytes out) const {
  using namespace tcp_option;
  SHUNT_CHECK(sack_count <= kMaxSackBlocks);
  SHUNT_CHECK(out.size() >= encoded_len());
  uint8_t* p = out.data();
  auto put4 = [&p](uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    p[0] = a;
    p[1] = b;
    p[2] = c;
    p[3] = d;
    p += 4;
  };
  // The same order and padding as Linux's tcp_options_write(), so captures
  // of both stacks look alike and every option stays 4-byte aligned.
  if (mss) {
    put4(kMss, kMssLen, static_cast<uint8_t>(*mss >> 8), static_cast<uint8_t>(*mss));
  }
  if (timestamps) {
    if (sack_permitted) {
      put4(kSackPermitted, kSackPermittedLen, kTimestamps, kTimestampsLen);
    } else {
      put4(kNop, kNop, kTimestamps, kTimestampsLen);
    }
    store_be32(p, timestamps->tsval);
    store_be32(p + 4, timestamps->tsecr);
    p += 8;
  } else if (sack_permitted) {
    put4(kNop, kNop, kSackPermitted, kSackPermittedLen);
  }
  if (window_scale) put4(kNop, kWindowScale, kWindowScaleLen, *window_scale);
  if (sack_count > 0) {
    put4(kNop, kNop, kSack, static_cast<uint8_t>(kSackBaseLen + sack_count * kSackBlockLen));
    for (size_t k = 0; k < sack_count; ++k) {
      store_be32(p, sack_blocks[k].left.value());
      store_be32(p + 4, sack_blocks[k].right.value());
      p += kSackBlockLen;
    }
  }
}

Expected<TcpView, DropReason> TcpView::check(Bytes segment) {
  if (segment.size() < TcpRepr::kMinHeaderLen) return DropReason::kTcpTruncated;
  const size_t data_offset = segment[tcp_field::kDataOffset] >> 4;
  if (data_offset < kMinDataOffset || data_offset * 4 > segment.size()) {
    return DropReason::kTcpBadDataOffset;
  }
  return TcpView(segment);
}

bool TcpView::verify_checksum(Ipv4Address src, Ipv4Address dst) const {
  if (b_.size() > kMaxSegmentLen) return false;
  const uint32_t pseudo =
      checksum::pseudo_header(src, dst, ip_proto::kTcp, static_cast<uint16_t>(b_.size()));
  return checksum::verify(b_, pseudo);
}

Expected<TcpRepr, DropReason> TcpRepr::parse(Bytes segment, Ipv4Address src, Ipv4Address dst,
                                             bool verify_checksum) {
  auto checked = TcpView::check(segment);
  if (!checked) return checked.error();
  const TcpView& v = *checked;
  // The checksum first: a corrupted segment is reported as corrupted, not
  // as whatever its damaged options happen to look like.
  if (verify_checksum && !v.verify_checksum(src, dst)) return DropReason::kTcpBadChecksum;
  auto options = TcpOptions::parse(v.options());
  if (!options) return options.error();
  return TcpRepr{.src_port = v.src_port(),
                 .dst_port = v.dst_port(),
                 .seq = v.seq(),
                 .ack = v.ack(),
                 .flags = v.flags(),
                 .window = v.window(),
                 .urgent_ptr = v.urgent_ptr(),
                 .options = *options,
                 .header_len = v.header_len(),
                 .payload_len = static_cast<uint16_t>(segment.size() - v.header_len())};
}

void TcpRepr::emit(MutableBytes segment, Ipv4Address src, Ipv4Address dst) const {
  const size_t hlen = header_len_for_emit();
  SHUNT_CHECK(hlen <= kMinHeaderLen + TcpOptions::kMaxLen);
  SHUNT_CHECK(segment.size() >= hlen && segment.size() <= kMaxSegmentLen);
  uint8_t* p = segment.data();
  store_be16(p + tcp_field::kSrcPort, src_port);
  store_be16(p + tcp_field::kDstPort, dst_port);
  store_be32(p + tcp_field::kSeq, seq.value());
  store_be32(p + tcp_field::kAck, ack.value());
  p[tcp_field::kDataOffset] = static_cast<uint8_t>((hlen / 4) << 4);
  p[tcp_field::kFlags] = flags;
  store_be16(p + tcp_field::kWindow, window);
  store_be16(p + tcp_field::kChecksum, 0);
  store_be16(p + tcp_field::kUrgent, urgent_ptr);
  options.emit(segment.subspan(tcp_field::kOptions, hlen - kMinHeaderLen));
  const uint32_t pseudo =
      checksum::pseudo_header(src, dst, ip_proto::kTcp, static_cast<uint16_t>(segment.size()));
  store_be16(p + tcp_field::kChecksum, checksum::finish(checksum::partial(segment, pseudo)));
}

}  // namespace shunt::wire
