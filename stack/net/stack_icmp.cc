// ICMPv4 (RFC 792, RFC 1122 3.2.2): echo, errors we send, errors we receive.
#include <algorithm>
#include <array>
#include <cstring>

#include "stack/base/bytes.h"
#include "stack/net/stack.h"
#include "stack/wire/icmp.h"

namespace shunt {
namespace {

// RFC 1812 4.3.2.3: an ICMP error quotes as much of the offending datagram
// as fits in 576 bytes.
constexpr size_t kMaxQuote = 576 - 20 - wire::IcmpRepr::kHeaderLen;

struct IcmpErrorMeaning {
  Error error;
  bool fatal;  // a hard error: reported to connected UDP sockets (Linux icmp_err_convert)
};

IcmpErrorMeaning meaning(uint8_t type, uint8_t code) {
  using namespace wire::icmp_code;
  if (type == wire::icmp_type::kTimeExceeded) return {Error::kHostUnreach, false};
  switch (code) {
    case kNetUnreachable: return {Error::kNetUnreach, false};
    case kHostUnreachable: return {Error::kHostUnreach, false};
    case kProtocolUnreachable: return {Error::kNoProtoOpt, true};
    case kPortUnreachable: return {Error::kConnRefused, true};
    case kFragNeeded: return {Error::kMsgSize, false};
    case kSourceRouteFailed: return {Error::kOpNotSupp, false};
    case kNetUnknown: return {Error::kNetUnreach, true};
    case 9: return {Error::kNetUnreach, true};  // net administratively prohibited
    case 11: return {Error::kNetUnreach, false};
    case 12: return {Error::kHostUnreach, false};
    default: return {Error::kHostUnreach, true};  // host unknown/isolated/prohibited, filtered
  }
}

}  // namespace

void Stack::icmp_input(IpInput& in, PacketBuffer payload, Instant now) {
  ++stats_.icmp.InMsgs;
  auto icmp = wire::IcmpRepr::parse(payload.bytes());
  if (!icmp) {
    ++stats_.icmp.InErrors;
    if (icmp.error() == DropReason::kIcmpBadChecksum) ++stats_.icmp.InCsumErrors;
    return stats_.count_drop(icmp.error());
  }
  switch (icmp->type) {
    case wire::icmp_type::kEchoRequest: {
      ++stats_.icmp.InEchos;
      // A broadcast or a group (link_broadcast covers both).
      if (in.link_broadcast && !cfg_.icmp.echo_broadcast) {
        return stats_.count_drop(DropReason::kIcmpBroadcastEcho);
      }
      // RFC 792 "Echo": same identifier, sequence number and data.
      wire::IcmpRepr reply;
      reply.type = wire::icmp_type::kEchoReply;
      reply.code = 0;
      reply.ident = icmp->ident;
      reply.seq_no = icmp->seq_no;
      reply.payload = icmp->payload;
      PacketBuffer b = pool_.allocate(reply.len());
      if (!b) return;
      reply.emit(b.append(reply.len()));
      wire::Ipv4Repr ip;
      ip.src = cfg_.address->address();
      ip.dst = in.hdr.src;
      ip.protocol = wire::ip_proto::kIcmp;
      ip.tos = in.hdr.tos;
      if (ip_output(ip, std::move(b), 0, now)) {
        ++stats_.icmp.OutMsgs;
        ++stats_.icmp.OutEchoReps;
      }
      return;
    }
    case wire::icmp_type::kEchoReply:
      // No ICMP sockets yet: kept for take_echo_replies().
      ++stats_.icmp.InEchoReps;
      if (echo_replies_.size() < 1024) {
        echo_replies_.push_back(
            EchoReply{in.hdr.src, icmp->ident, icmp->seq_no, icmp->payload.size(), now});
      }
      return;
    case wire::icmp_type::kDestUnreachable:
      ++stats_.icmp.InDestUnreachs;
      return icmp_error_input(icmp->type, icmp->code, icmp->next_hop_mtu, icmp->payload, in.hdr.src, now);
    case wire::icmp_type::kTimeExceeded:
      ++stats_.icmp.InTimeExcds;
      return icmp_error_input(icmp->type, icmp->code, icmp->next_hop_mtu, icmp->payload, in.hdr.src, now);
    default:
      return stats_.count_drop(DropReason::kIcmpUnsupportedType);
  }
}

void Stack::icmp_error_input(uint8_t type, uint8_t code, uint16_t mtu, Bytes quoted,
                             Ipv4Address from, Instant now) {
  // The quote is our own datagram's IP header and at least 8 bytes of its
  // payload (RFC 792): enough for the ports.
  if (quoted.size() < 20 || (quoted[0] >> 4) != 4) {
    return stats_.count_drop(DropReason::kIcmpTruncated);
  }
  const size_t ihl = size_t{quoted[0] & 0x0fu} * 4;
  if (ihl < 20 || quoted.size() < ihl + 8) return stats_.count_drop(DropReason::kIcmpTruncated);
  const uint8_t protocol = quoted[9];
  const Ipv4Address src(load_be32(&quoted[12]));
  const Ipv4Address dst(load_be32(&quoted[16]));
  const uint16_t sport = load_be16(&quoted[ihl]);
  const uint16_t dport = load_be16(&quoted[ihl + 2]);
  if (!is_our_address(src)) return stats_.count_drop(DropReason::kIcmpErrorNoSocket);

  const IcmpErrorMeaning m = meaning(type, code);
  if (protocol == wire::ip_proto::kUdp) return udp_icmp_error(type, code, mtu, quoted, from, now);
  if (protocol == wire::ip_proto::kTcp) {
    tcp::FourTuple t{{src, sport}, {dst, dport}};
    if (conns_.count(t) != 0) {
      const bool frag = type == wire::icmp_type::kDestUnreachable && code == wire::icmp_code::kFragNeeded;
      tcp_icmp_error(t, SeqNum(load_be32(&quoted[ihl + 4])), m.error, m.fatal, frag, mtu, now);
      return;
    }
  }
  stats_.count_drop(DropReason::kIcmpErrorNoSocket);
}

void Stack::udp_icmp_error(uint8_t type, uint8_t code, uint16_t mtu, Bytes quoted, Ipv4Address from,
                           Instant now) {
  const size_t ihl = size_t{quoted[0] & 0x0fu} * 4;
  const Ipv4Address src(load_be32(&quoted[12]));
  const Ipv4Address dst(load_be32(&quoted[16]));
  const uint16_t sport = load_be16(&quoted[ihl]);
  const uint16_t dport = load_be16(&quoted[ihl + 2]);
  // Linux __udp4_lib_err: the socket a reply to the datagram would reach,
  // connected or not (the most specific one, as udp_input picks).
  SocketId id{};
  udp::UdpSocket* u = nullptr;
  int best = -1;
  auto [lo, hi] = udp_ports_.equal_range(sport);
  for (auto it = lo; it != hi; ++it) {
    udp::UdpSocket* c = udp(it->second);
    if (c == nullptr || !c->matches(src, Endpoint{dst, dport})) continue;
    if (c->score() > best) {
      best = c->score();
      id = it->second;
      u = c;
    }
  }
  if (u == nullptr) return stats_.count_drop(DropReason::kIcmpErrorNoSocket);
  const IcmpErrorMeaning m = meaning(type, code);
  // What ip_icmp_error keeps for MSG_ERRQUEUE (the socket decides whether
  // to queue it).
  udp::QueuedIcmpError e;
  e.error = m.error;
  e.type = type;
  e.code = code;
  e.info = (type == wire::icmp_type::kDestUnreachable && code == wire::icmp_code::kFragNeeded) ? mtu : 0;
  e.offender = from;
  e.dest = Endpoint{dst, dport};
  Bytes data = quoted.subspan(ihl + 8);
  e.payload.assign(data.begin(), data.end());
  e.at = now;
  u->icmp_error(std::move(e), m.fatal);
  udp_after(id, *u);
}

void Stack::send_icmp_error(uint8_t type, uint8_t code, const IpInput& in, Bytes payload_start,
                            Instant now, uint16_t next_hop_mtu) {
  // RFC 1122 3.2.2: never about an ICMP error, a broadcast or multicast
  // datagram, a non-initial fragment, or a source that is not one host.
  if (in.link_broadcast || in.hdr.dst.is_multicast() || in.hdr.frag_offset != 0) return;
  if (in.hdr.src.is_unspecified() || in.hdr.src.is_broadcast() || in.hdr.src.is_multicast()) return;
  if (in.hdr.protocol == wire::ip_proto::kIcmp) {
    uint8_t t = payload_start.empty() ? 0xff : payload_start[0];
    bool is_query = t == wire::icmp_type::kEchoRequest || t == wire::icmp_type::kEchoReply ||
                    t == 13 || t == 14 || t == 15 || t == 16 || t == 17 || t == 18;
    if (!is_query) return;
  }
  if (!icmp_errors_.take(now)) {
    ++stats_.icmp.OutRateLimited;
    return;
  }

  std::array<uint8_t, kMaxQuote> quote{};
  size_t quote_len = 0;
  if (!in.original.empty()) {
    quote_len = std::min(in.original.size(), kMaxQuote);
    std::memcpy(quote.data(), in.original.data(), quote_len);
  } else {
    // Reassembled: rebuild the header the datagram would have had.
    wire::Ipv4Repr h = in.hdr;
    h.more_fragments = false;
    h.frag_offset = 0;
    h.emit({quote.data(), wire::Ipv4Repr::kMinHeaderLen});
    size_t n = std::min(payload_start.size(), kMaxQuote - wire::Ipv4Repr::kMinHeaderLen);
    std::memcpy(quote.data() + wire::Ipv4Repr::kMinHeaderLen, payload_start.data(), n);
    quote_len = wire::Ipv4Repr::kMinHeaderLen + n;
  }

  wire::IcmpRepr icmp;
  icmp.type = type;
  icmp.code = code;
  icmp.next_hop_mtu = next_hop_mtu;
  icmp.payload = Bytes(quote.data(), quote_len);
  PacketBuffer b = pool_.allocate(icmp.len());
  if (!b) return;
  icmp.emit(b.append(icmp.len()));
  wire::Ipv4Repr ip;
  ip.src = is_our_address(in.hdr.dst) ? in.hdr.dst : cfg_.address->address();
  ip.dst = in.hdr.src;
  ip.protocol = wire::ip_proto::kIcmp;
  ip.tos = 0xc0;  // internetwork control, as Linux sends its ICMP errors
  if (!ip_output(ip, std::move(b), 0, now)) {
    ++stats_.icmp.OutErrors;
    return;
  }
  ++stats_.icmp.OutMsgs;
  if (type == wire::icmp_type::kDestUnreachable) ++stats_.icmp.OutDestUnreachs;
  if (type == wire::icmp_type::kTimeExceeded) ++stats_.icmp.OutTimeExcds;
}

Result<> Stack::send_echo_request(Ipv4Address dst, uint16_t ident, uint16_t seq_no, Bytes data,
                                 Instant now) {
  if (!cfg_.address) return Error::kNetUnreach;
  if (data.size() > 65507) return Error::kMsgSize;
  wire::IcmpRepr echo;
  echo.type = wire::icmp_type::kEchoRequest;
  echo.ident = ident;
  echo.seq_no = seq_no;
  echo.payload = data;
  PacketBuffer b = pool_.allocate(echo.len());
  if (!b) return Error::kNoBufs;
  echo.emit(b.append(echo.len()));
  wire::Ipv4Repr ip;
  ip.dst = dst;
  ip.protocol = wire::ip_proto::kIcmp;
  auto r = ip_output(ip, std::move(b), 0, now);
  if (r) ++stats_.icmp.OutMsgs;
  flush(now);
  return r;
}

void Stack::take_echo_replies(std::vector<EchoReply>& out) {
  out.insert(out.end(), echo_replies_.begin(), echo_replies_.end());
  echo_replies_.clear();
}

void Stack::neighbour_failed(uint64_t owner, Instant now) {
  // The packets a socket queued for a neighbour that never answered: the
  // socket learns EHOSTUNREACH (Linux reports it the same way to a
  // TCP connect and to a send on a socket whose neighbour is FAILED).
  SocketId s = SocketId::from_raw(owner);
  if (udp::UdpSocket* u = udp(s)) {
    u->set_error(Error::kHostUnreach);
    udp_after(s, *u);
  } else if (TcpSocket* t = tcp(s); t != nullptr && t->conn && !t->conn->done()) {
    // As an ICMP host unreachable would: fails a connect in progress.
    tcp_icmp_error(t->conn->tuple(), std::nullopt, Error::kHostUnreach, false, false, 0, now);
  }
}

}  // namespace shunt
