#include "stack/wire/ipv4.h"

#include "stack/base/check.h"
#include "stack/wire/checksum.h"

namespace shunt::wire {

namespace {
constexpr uint8_t kVersion4 = 4;
constexpr uint8_t kMinIhl = 5;
constexpr uint32_t kMaxDatagramLen = 65535;
}  // namespace

Expected<Ipv4View, DropReason> Ipv4View::check(Bytes packet) {
  if (packet.size() < Ipv4Repr::kMinHeaderLen) return DropReason::kIpTruncated;
  const uint8_t ver_ihl = packet[ipv4_field::kVerIhl];
  if ((ver_ihl >> 4) != kVersion4) return DropReason::kIpBadVersion;
  const size_t header_len = size_t{ver_ihl & 0x0fu} * 4;
  if (header_len < kMinIhl * 4u || header_len > packet.size()) {
    return DropReason::kIpBadHeaderLength;
  }
  // RFC 791 3.1 "Total Length" covers header and data; the link may pad
  // the frame beyond it (Ethernet's 60-byte minimum), never cut it short.
  const size_t total_len = load_be16(packet.data() + ipv4_field::kTotalLen);
  if (total_len < header_len || total_len > packet.size()) return DropReason::kIpBadTotalLength;
  return Ipv4View(packet);
}

bool Ipv4View::verify_checksum() const {
  return checksum::verify(header());
}

Expected<Ipv4Repr, DropReason> Ipv4Repr::parse(Bytes packet, bool verify_checksum) {
  auto checked = Ipv4View::check(packet);
  if (!checked) return checked.error();
  const Ipv4View& v = *checked;
  if (verify_checksum && !v.verify_checksum()) return DropReason::kIpBadChecksum;
  Ipv4Repr r{.src = v.src(),
             .dst = v.dst(),
             .protocol = v.protocol(),
             .ttl = v.ttl(),
             .tos = v.tos(),
             .ident = v.ident(),
             .dont_fragment = v.dont_fragment(),
             .more_fragments = v.more_fragments(),
             .frag_offset = v.frag_offset(),
             .header_len = v.header_len(),
             .payload_len = static_cast<uint16_t>(v.total_len() - v.header_len())};
  // RFC 791 3.2: a datagram is at most 65535 bytes, so no fragment's data
  // may reach past that (the "ping of death" shape). The reserved flag bit
  // is ignored (RFC 791: "must be zero", we are liberal in what we accept).
  if (uint32_t{r.frag_offset} + r.payload_len > kMaxDatagramLen) return DropReason::kFragBadOffset;
  return r;
}

void Ipv4Repr::emit(MutableBytes out) const {
  SHUNT_CHECK(out.size() >= kMinHeaderLen);
  SHUNT_CHECK(frag_offset % 8 == 0);
  SHUNT_CHECK(kMinHeaderLen + payload_len <= kMaxDatagramLen);
  uint8_t* p = out.data();
  p[ipv4_field::kVerIhl] = static_cast<uint8_t>((kVersion4 << 4) | kMinIhl);
  p[ipv4_field::kTos] = tos;
  store_be16(p + ipv4_field::kTotalLen, static_cast<uint16_t>(kMinHeaderLen + payload_len));
  store_be16(p + ipv4_field::kIdent, ident);
  uint16_t flags_frag = static_cast<uint16_t>(frag_offset / 8);
  if (dont_fragment) flags_frag |= ipv4_field::kFlagDf;
  if (more_fragments) flags_frag |= ipv4_field::kFlagMf;
  store_be16(p + ipv4_field::kFlagsFrag, flags_frag);
  p[ipv4_field::kTtl] = ttl;
  p[ipv4_field::kProtocol] = protocol;
  store_be16(p + ipv4_field::kChecksum, 0);
  store_be32(p + ipv4_field::kSrc, src.value());
  store_be32(p + ipv4_field::kDst, dst.value());
  store_be16(p + ipv4_field::kChecksum, checksum::compute(out.first(kMinHeaderLen)));
}

}  // namespace shunt::wire
