// Parses arbitrary bytes as every wire format (docs/design.md section 10.6).
//
// Each format is parsed with checksum verification off and on. Every
// successful parse is emitted again and the emitted bytes parsed again
// (with verification on: emit must produce right checksums), and the two
// reprs must agree on every field that round-trips. Fields that emit
// normalises on purpose (IPv4 options dropped, so header_len becomes 20;
// TCP header_len recomputed from the options; ICMP rest-of-header of
// types other than echo and destination unreachable) are compared after
// that normalisation. Any crash, sanitizer report or failed check is a
// finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/check.h"
#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace {

using namespace shunt;
using namespace shunt::wire;

const Ipv4Address kSrc(198, 18, 0, 1);
const Ipv4Address kDst(198, 18, 0, 2);

bool same_bytes(Bytes a, Bytes b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// A buffer of `header + payload.size()` bytes with the payload in place.
std::vector<uint8_t> with_payload(size_t header, Bytes payload) {
  std::vector<uint8_t> out(header + payload.size(), 0xa5);
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<ptrdiff_t>(header));
  return out;
}

void ethernet(Bytes in) {
  auto r = EthernetRepr::parse(in);
  SHUNT_CHECK(r.ok() == (in.size() >= kEthernetHeaderLen));
  if (!r) return;
  std::vector<uint8_t> out(EthernetRepr::header_len());
  r->emit(out);
  SHUNT_CHECK(same_bytes(out, in.first(kEthernetHeaderLen)));
  auto again = EthernetRepr::parse(out);
  SHUNT_CHECK(again && *again == *r);
}

void arp(Bytes in) {
  auto r = ArpRepr::parse(in);
  if (!r) return;
  std::vector<uint8_t> out(ArpRepr::kLen);
  r->emit(out);
  SHUNT_CHECK(same_bytes(out, in.first(ArpRepr::kLen)));  // ARP has no field emit normalises
  auto again = ArpRepr::parse(out);
  SHUNT_CHECK(again && *again == *r);
}

void ipv4(Bytes in, bool verify) {
  auto r = Ipv4Repr::parse(in, verify);
  if (!r) return;
  auto v = Ipv4View::check(in);
  SHUNT_CHECK(v.ok());
  SHUNT_CHECK(r->total_len() <= in.size());
  SHUNT_CHECK(v->payload().size() == r->payload_len);
  if (verify) SHUNT_CHECK(v->verify_checksum());
  (void)v->options();
  std::vector<uint8_t> out = with_payload(Ipv4Repr::kMinHeaderLen, v->payload());
  r->emit(out);
  auto again = Ipv4Repr::parse(out);
  SHUNT_CHECK(again.ok());
  Ipv4Repr expected = *r;
  expected.header_len = Ipv4Repr::kMinHeaderLen;  // emit writes no options
  SHUNT_CHECK(*again == expected);
}

void icmp(Bytes in, bool verify) {
  auto r = IcmpRepr::parse(in, verify);
  if (!r) return;
  SHUNT_CHECK(r->len() == in.size());
  std::vector<uint8_t> out(r->len());
  r->emit(out);
  auto again = IcmpRepr::parse(out);
  SHUNT_CHECK(again.ok());
  SHUNT_CHECK(again->type == r->type && again->code == r->code);
  SHUNT_CHECK(again->ident == r->ident && again->seq_no == r->seq_no);
  SHUNT_CHECK(again->next_hop_mtu == r->next_hop_mtu);
  SHUNT_CHECK(same_bytes(again->payload, r->payload));
  SHUNT_CHECK(again->is_error() == r->is_error());
}

void udp(Bytes in, bool verify) {
  auto r = UdpRepr::parse(in, kSrc, kDst, verify);
  if (!r) return;
  auto v = UdpView::check(in);
  SHUNT_CHECK(v.ok() && v->payload().size() == r->payload_len);
  std::vector<uint8_t> out = with_payload(UdpRepr::kHeaderLen, v->payload());
  r->emit(out, kSrc, kDst);
  SHUNT_CHECK(load_be16(out.data() + udp_field::kChecksum) != 0);  // RFC 768: 0 is sent as ffff
  auto again = UdpRepr::parse(out, kSrc, kDst);
  SHUNT_CHECK(again && *again == *r);
}

void tcp(Bytes in, bool verify) {
  auto r = TcpRepr::parse(in, kSrc, kDst, verify);
  if (!r) return;
  auto v = TcpView::check(in);
  SHUNT_CHECK(v.ok());
  SHUNT_CHECK(r->header_len + r->payload_len == in.size());
  SHUNT_CHECK(r->options.sack_count <= TcpOptions::kMaxSackBlocks);
  SHUNT_CHECK(r->options.encoded_len() % 4 == 0);
  // Options the parser accepted may not fit once re-encoded with Linux's
  // padding (e.g. four SACK blocks plus timestamps); the sender never
  // builds such a header, so there is nothing to round-trip.
  if (r->header_len_for_emit() > TcpRepr::kMinHeaderLen + TcpOptions::kMaxLen) return;
  std::vector<uint8_t> out = with_payload(r->header_len_for_emit(), v->payload());
  r->emit(out, kSrc, kDst);
  auto again = TcpRepr::parse(out, kSrc, kDst);
  SHUNT_CHECK(again.ok());
  TcpRepr expected = *r;
  expected.header_len = static_cast<uint16_t>(r->header_len_for_emit());
  SHUNT_CHECK(*again == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes in(data, size);
  ethernet(in);
  arp(in);
  for (bool verify : {false, true}) {
    ipv4(in, verify);
    icmp(in, verify);
    udp(in, verify);
    tcp(in, verify);
  }
  // The same formats one layer down, as they arrive in a frame.
  if (auto eth = EthernetView::check(in)) {
    arp(eth->payload());
    ipv4(eth->payload(), true);
    if (auto ip = Ipv4View::check(eth->payload())) {
      icmp(ip->payload(), false);
      udp(ip->payload(), false);
      tcp(ip->payload(), false);
    }
  }
  return 0;
}
