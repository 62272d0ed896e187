// IPv4 (RFC 791, RFC 1122 3.2.1): input validation, local delivery,
// reassembly, output with routing and fragmentation.
#include <algorithm>
#include <cstring>

#include "stack/base/bytes.h"
#include "stack/net/stack.h"
#include "stack/wire/icmp.h"

namespace shunt {

// RFC 1112 6.4: an IPv4 multicast group maps to 01:00:5e + its low 23 bits.
MacAddress multicast_mac(Ipv4Address a) {
  uint32_t v = a.value();
  return MacAddress({0x01, 0x00, 0x5e, static_cast<uint8_t>((v >> 16) & 0x7f),
                     static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
}

bool Stack::is_our_address(Ipv4Address a) const {
  return cfg_.address && a == cfg_.address->address();
}

bool Stack::is_broadcast_for_us(Ipv4Address a) const {
  if (a.is_broadcast()) return true;
  return cfg_.address && cfg_.address->prefix_len() < 31 &&
         a == cfg_.address->directed_broadcast();
}

void Stack::ip_input(PacketBuffer packet, Instant now, bool loopback) {
  ++stats_.ip.InReceives;
  auto hdr = wire::Ipv4Repr::parse(packet.bytes(), !device_.info().rx_checksum_offload || loopback);
  if (!hdr) {
    ++stats_.ip.InHdrErrors;
    return stats_.count_drop(hdr.error());
  }
  // Ethernet pads short frames: the IP total length is the truth.
  packet.truncate(hdr->total_len());
  if (!cfg_.address) {
    ++stats_.ip.InDiscards;
    return stats_.count_drop(DropReason::kIpNotUp);
  }
  // RFC 1122 3.2.1.3: a source that is broadcast or multicast is martian.
  // Our own address as source is only ours to send, over loopback.
  if (hdr->src.is_broadcast() || hdr->src.is_multicast() ||
      (is_our_address(hdr->src) && !loopback) ||
      (cfg_.address->prefix_len() < 31 && hdr->src == cfg_.address->directed_broadcast())) {
    ++stats_.ip.InAddrErrors;
    return stats_.count_drop(DropReason::kIpBadSource);
  }
  const bool broadcast = is_broadcast_for_us(hdr->dst);
  // A group is ours while a socket is in it (RFC 1112 6.2); all-hosts always.
  const bool group = hdr->dst.is_multicast() && (joined(hdr->dst) || hdr->dst == kAllHosts);
  if (!is_our_address(hdr->dst) && !broadcast && !group) {
    ++stats_.ip.InAddrErrors;
    return stats_.count_drop(DropReason::kIpNotForUs);
  }

  IpInput in{*hdr, packet.bytes(), broadcast || group};
  packet.pull_front(hdr->header_len);

  if (hdr->is_fragment()) {
    ++stats_.ip.ReasmReqds;
    auto done = reasm_.add(*hdr, std::move(packet), now);
    for (uint64_t n = reasm_.take_evicted(); n > 0; --n) {
      ++stats_.ip.ReasmFails;  // Linux counts an evicted queue as a failure
      stats_.count_drop(DropReason::kFragEvicted);
    }
    if (!done) {
      ++stats_.ip.ReasmFails;
      return stats_.count_drop(done.error());
    }
    if (!done->has_value()) return;  // waiting for more fragments
    ++stats_.ip.ReasmOKs;
    in.hdr = (*done)->header;
    in.original = {};  // the fragments' bytes are gone; ICMP quotes a rebuilt header
    packet = std::move((*done)->payload);
  }
  ip_deliver(in, std::move(packet), now);
}

void Stack::ip_deliver(IpInput& in, PacketBuffer payload, Instant now) {
  switch (in.hdr.protocol) {
    case wire::ip_proto::kIcmp:
      ++stats_.ip.InDelivers;
      return icmp_input(in, std::move(payload), now);
    case wire::ip_proto::kUdp:
      ++stats_.ip.InDelivers;
      return udp_input(in, std::move(payload), now);
    case wire::ip_proto::kTcp:
      ++stats_.ip.InDelivers;
      return tcp_input(in, std::move(payload), now);
    default:
      // RFC 1122 3.2.2.1: protocol unreachable for a transport we lack.
      ++stats_.ip.InUnknownProtos;
      stats_.count_drop(DropReason::kIpUnknownProtocol);
      send_icmp_error(wire::icmp_type::kDestUnreachable, wire::icmp_code::kProtocolUnreachable, in,
                      payload.bytes(), now);
      return;
  }
}

uint16_t Stack::next_ip_ident(Ipv4Address dst, uint8_t protocol) {
  uint8_t key[5];
  store_be32(key, dst.value());
  key[4] = protocol;
  uint32_t& bucket = ident_buckets_[siphash24(ident_key_, key) % ident_buckets_.size()];
  return static_cast<uint16_t>(bucket++);
}

Result<Stack::LinkDest> Stack::link_dest_for(Ipv4Address dst) {
  if (is_broadcast_for_us(dst)) return LinkDest{MacAddress::broadcast(), dst};
  if (dst.is_multicast()) return LinkDest{multicast_mac(dst), dst};
  auto hop = routes_.lookup(dst);
  if (!hop) return Error::kNetUnreach;
  return LinkDest{std::nullopt, hop->address};
}

Result<> Stack::ip_output(wire::Ipv4Repr hdr, PacketBuffer payload, uint64_t owner, Instant now) {
  ++stats_.ip.OutRequests;
  if (!cfg_.address) {
    ++stats_.ip.OutNoRoutes;
    stats_.count_drop(DropReason::kIpNotUp);
    return Error::kNetUnreach;
  }
  if (hdr.src.is_unspecified()) hdr.src = cfg_.address->address();
  if (hdr.ttl == 0) hdr.ttl = cfg_.default_ttl;
  hdr.ident = next_ip_ident(hdr.dst, hdr.protocol);

  LinkDest to;
  if (is_our_address(hdr.dst)) {
    to.next_hop = hdr.dst;  // looped back below, never on the wire
  } else {
    auto dest = link_dest_for(hdr.dst);
    if (!dest) {
      ++stats_.ip.OutNoRoutes;
      stats_.count_drop(DropReason::kIpNoRoute);
      return dest.error();
    }
    to = *dest;
  }

  const size_t max_payload = mtu_ - wire::Ipv4Repr::kMinHeaderLen;
  if (payload.size() <= max_payload) {
    hdr.payload_len = static_cast<uint16_t>(payload.size());
    ip_send_one(hdr, std::move(payload), to, owner, now);
    return {};
  }
  if (hdr.dont_fragment) {
    ++stats_.ip.FragFails;
    stats_.count_drop(DropReason::kFragDfSet);
    return Error::kMsgSize;
  }
  // RFC 791 3.2 "Fragmentation": every fragment but the last carries a
  // multiple of 8 bytes; all copy the header (we send no options).
  const size_t chunk = max_payload & ~size_t{7};
  const size_t total = payload.size();
  for (size_t off = 0; off < total; off += chunk) {
    size_t len = std::min(chunk, total - off);
    PacketBuffer frag = pool_.allocate(len);
    if (!frag) {
      ++stats_.ip.FragFails;
      return Error::kNoBufs;
    }
    std::memcpy(frag.append(len).data(), payload.data() + off, len);
    wire::Ipv4Repr fh = hdr;
    fh.frag_offset = static_cast<uint16_t>(off);
    fh.more_fragments = off + len < total;
    fh.payload_len = static_cast<uint16_t>(len);
    ++stats_.ip.FragCreates;
    ip_send_one(fh, std::move(frag), to, owner, now);
  }
  ++stats_.ip.FragOKs;
  return {};
}

void Stack::ip_send_one(const wire::Ipv4Repr& hdr, PacketBuffer payload, const LinkDest& to,
                        uint64_t owner, Instant now) {
  hdr.emit(payload.push_front(wire::Ipv4Repr::kMinHeaderLen));
  if (is_our_address(hdr.dst)) {
    ++stats_.ip.InLoopback;
    loopback_.push_back(std::move(payload));
    return;
  }
  if (to.mac) return link_output(std::move(payload), *to.mac, now);
  neighbour_output(std::move(payload), to.next_hop, owner, now);
}

void Stack::run_reassembly_timers(Instant now) {
  if (reasm_.next_deadline() > now) return;
  reasm_expired_.clear();
  reasm_.poll(now, reasm_expired_);
  for (auto& e : reasm_expired_) {
    ++stats_.ip.ReasmTimeout;
    ++stats_.ip.ReasmFails;
    stats_.count_drop(DropReason::kFragTimeout);
    // RFC 792 / RFC 1122 3.3.2: time exceeded (reassembly) only if the
    // first fragment arrived, quoting it.
    if (e.first_fragment) {
      IpInput in{e.header, {}, false};
      send_icmp_error(wire::icmp_type::kTimeExceeded, wire::icmp_code::kReassemblyTimeExceeded, in,
                      e.first_fragment->bytes(), now);
    }
  }
  reasm_expired_.clear();
}

}  // namespace shunt
