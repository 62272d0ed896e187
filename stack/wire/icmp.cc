#include "stack/wire/icmp.h"

#include <cstring>

#include "stack/base/check.h"
#include "stack/wire/checksum.h"

namespace shunt::wire {

namespace {
bool is_echo(uint8_t type) {
  return type == icmp_type::kEchoRequest || type == icmp_type::kEchoReply;
}
}  // namespace

bool IcmpView::verify_checksum() const {
  return checksum::verify(b_);
}

Expected<IcmpRepr, DropReason> IcmpRepr::parse(Bytes message, bool verify_checksum) {
  auto checked = IcmpView::check(message);
  if (!checked) return checked.error();
  const IcmpView& v = *checked;
  if (verify_checksum && !v.verify_checksum()) return DropReason::kIcmpBadChecksum;
  IcmpRepr r{.type = v.type(), .code = v.code(), .payload = v.payload()};
  if (is_echo(r.type)) {
    r.ident = v.ident();
    r.seq_no = v.seq_no();
  } else if (r.type == icmp_type::kDestUnreachable) {
    r.next_hop_mtu = v.next_hop_mtu();
  }
  return r;
}

void IcmpRepr::emit(MutableBytes out) const {
  SHUNT_CHECK(out.size() >= len());
  uint8_t* p = out.data();
  // Move the payload before writing the header: its source may overlap the
  // header bytes of `out` (a message rebuilt from another in one buffer).
  if (!payload.empty() && payload.data() != p + kHeaderLen) {
    std::memmove(p + kHeaderLen, payload.data(), payload.size());
  }
  p[icmp_field::kType] = type;
  p[icmp_field::kCode] = code;
  store_be16(p + icmp_field::kChecksum, 0);
  store_be32(p + icmp_field::kRest, 0);  // "unused" fields are zero (RFC 792)
  if (is_echo(type)) {
    store_be16(p + icmp_field::kIdent, ident);
    store_be16(p + icmp_field::kSeqNo, seq_no);
  } else if (type == icmp_type::kDestUnreachable) {
    store_be16(p + icmp_field::kMtu, next_hop_mtu);  // RFC 1191 4 (0 unless code 4)
  }
  store_be16(p + icmp_field::kChecksum, checksum::compute(out.first(len())));
}

bool IcmpRepr::is_error() const {
  // RFC 792 error messages (the ones that quote an offending datagram);
  // RFC 1122 3.2.2: these must never be sent in response to one another.
  switch (type) {
    case icmp_type::kDestUnreachable:
    case icmp_type::kSourceQuench:
    case icmp_type::kRedirect:
    case icmp_type::kTimeExceeded:
    case icmp_type::kParameterProblem:
      return true;
    default:
      return false;
  }
}

}  // namespace shunt::wire
