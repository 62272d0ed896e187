#include "stack/udp/udp_socket.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "stack/wire/icmp.h"

namespace shunt::udp {
namespace {

// IP_PMTUDISC_DO, _PROBE and _INTERFACE send with DF and refuse a datagram
// over the MTU (Linux ip_dont_fragment / ip_sk_ignore_df).
bool pmtudisc_sets_df(uint8_t mode) { return mode >= 2 && mode <= 4; }

// Linux igmp_max_memberships: groups one socket may join.
constexpr size_t kMaxMemberships = 20;

}  // namespace

UdpSocket::UdpSocket(uint32_t owner_uid, uint32_t rcvbuf, uint32_t sndbuf) : uid(owner_uid) {
  opts_.rcvbuf = rcvbuf;
  opts_.sndbuf = sndbuf;
}

bool UdpSocket::matches(Ipv4Address dst, Endpoint from) const {
  if (!bound) return false;
  if (!local.addr.is_unspecified() && local.addr != dst) return false;
  if (remote && *remote != from) return false;
  return true;
}

int UdpSocket::score() const { return (remote ? 4 : 0) + (local.addr.is_unspecified() ? 0 : 2); }

bool UdpSocket::wants(Ipv4Address group) const {
  if (!group.is_multicast() || opts_.mc_all) return true;
  return std::find(groups_.begin(), groups_.end(), group) != groups_.end();
}

Result<Endpoint> UdpSocket::remote_endpoint() const {
  if (!remote) return Error::kNotConn;
  return *remote;
}

Result<uint32_t> UdpSocket::path_mtu(uint32_t link_mtu) const {
  if (!remote) return Error::kNotConn;
  return link_mtu;
}

// ---- options ----------------------------------------------------------------

Result<> UdpSocket::set_option(SockOpt opt, int value, const CoreConfig& core) {
  UdpOptions& o = opts_;
  switch (opt) {
    case SockOpt::kReuseAddr:
      o.reuse_addr = value != 0;
      return {};
    case SockOpt::kReusePort:
      // Read at bind (joining a group) and when others bind (Linux
      // sk_reuseport); a bound socket keeps its group.
      o.reuse_port = value != 0;
      return {};
    case SockOpt::kBroadcast:
      o.broadcast = value != 0;
      return {};
    case SockOpt::kRcvBuf:
    case SockOpt::kRcvBufForce:
      o.rcvbuf = sock_rcvbuf(value, opt == SockOpt::kRcvBufForce, core.rmem_max);
      return {};
    case SockOpt::kSndBuf:
    case SockOpt::kSndBufForce:
      o.sndbuf = sock_sndbuf(value, opt == SockOpt::kSndBufForce, core.wmem_max);
      return {};
    case SockOpt::kTtl:
      // ip(7) IP_TTL: 1..255, or -1 for the default.
      if (value == -1) {
        o.ttl = 0;
        return {};
      }
      if (value < 1 || value > 255) return Error::kInval;
      o.ttl = static_cast<uint8_t>(value);
      return {};
    case SockOpt::kRcvLowat:
      // socket(7): kept (a negative value means INT_MAX, 0 means 1); UDP
      // reads and polls ignore it.
      o.rcvlowat = value < 0 ? INT32_MAX : std::max(value, 1);
      return {};
    case SockOpt::kTos:
      o.tos = static_cast<uint8_t>(value);
      return {};
    case SockOpt::kMtuDiscover:
      if (value < 0 || value > 5) return Error::kInval;  // IP_PMTUDISC_DONT .. _OMIT
      o.pmtudisc = static_cast<uint8_t>(value);
      return {};
    case SockOpt::kRecvErr:
      o.recverr = value != 0;
      if (!o.recverr) {
        // Linux purges the queue when IP_RECVERR goes off.
        for (const auto& e : errqueue_) rx_bytes_ -= charge(e.payload.size());
        errqueue_.clear();
        changed_ = true;
      }
      return {};
    case SockOpt::kFreeBind:
      o.freebind = value != 0;
      return {};
    case SockOpt::kMulticastTtl:
      if (value == -1) value = 1;
      if (value < 0 || value > 255) return Error::kInval;
      o.mc_ttl = static_cast<uint8_t>(value);
      return {};
    case SockOpt::kMulticastLoop:
      o.mc_loop = value != 0;
      return {};
    case SockOpt::kMulticastAll:
      if (value != 0 && value != 1) return Error::kInval;
      o.mc_all = value != 0;
      return {};
    default:
      return Error::kNoProtoOpt;
  }
}

Result<int> UdpSocket::get_option(SockOpt opt, uint8_t default_ttl) const {
  const UdpOptions& o = opts_;
  switch (opt) {
    case SockOpt::kReuseAddr: return o.reuse_addr ? 1 : 0;
    case SockOpt::kReusePort: return o.reuse_port ? 1 : 0;
    case SockOpt::kBroadcast: return o.broadcast ? 1 : 0;
    case SockOpt::kRcvBuf:
    case SockOpt::kRcvBufForce: return static_cast<int>(o.rcvbuf);
    case SockOpt::kSndBuf:
    case SockOpt::kSndBufForce: return static_cast<int>(o.sndbuf);
    case SockOpt::kTtl: return o.ttl != 0 ? o.ttl : default_ttl;
    case SockOpt::kRcvLowat: return o.rcvlowat;
    case SockOpt::kTos: return o.tos;
    case SockOpt::kMtuDiscover: return o.pmtudisc;
    case SockOpt::kRecvErr: return o.recverr ? 1 : 0;
    case SockOpt::kFreeBind: return o.freebind ? 1 : 0;
    case SockOpt::kMulticastTtl: return o.mc_ttl;
    case SockOpt::kMulticastLoop: return o.mc_loop ? 1 : 0;
    case SockOpt::kMulticastAll: return o.mc_all ? 1 : 0;
    default: return Error::kNoProtoOpt;
  }
}

// ---- receiving --------------------------------------------------------------

bool UdpSocket::enqueue(UdpDatagram d) {
  const size_t c = charge(d.payload.size());
  if (rx_bytes_ + c > opts_.rcvbuf) return false;
  rx_bytes_ += c;
  rx_.push_back(std::move(d));
  if (rx_.size() == 1) changed_ = true;
  return true;
}

Result<RecvResult> UdpSocket::recv(MutableBytes buf, uint32_t flags) {
  // Linux __skb_recv_udp reports a pending error before queued data.
  if (auto e = take_error()) return *e;
  if (rx_.empty()) return Error::kAgain;
  UdpDatagram& d = rx_.front();
  RecvResult r;
  r.datagram_len = d.payload.size();
  r.copied = std::min(buf.size(), d.payload.size());
  r.from = d.from;
  r.to = d.to;
  r.ttl = d.ttl;
  r.tos = d.tos;
  r.at = d.at;
  if (r.copied != 0) std::memcpy(buf.data(), d.payload.data(), r.copied);
  // udp(7): without MSG_PEEK the rest of a truncated datagram is discarded.
  if ((flags & msg_flag::kPeek) == 0) {
    rx_bytes_ -= charge(d.payload.size());
    rx_.pop_front();
    if (rx_.empty()) changed_ = true;
  }
  return r;
}

size_t UdpSocket::next_datagram_size() const {
  return rx_.empty() ? size_t{0} : rx_.front().payload.size();
}

// ---- errors -----------------------------------------------------------------

std::optional<Error> UdpSocket::take_error() {
  std::optional<Error> e = pending_error_;
  pending_error_.reset();
  if (e) changed_ = true;
  return e;
}

void UdpSocket::set_error(Error e) {
  pending_error_ = e;
  changed_ = true;
}

void UdpSocket::icmp_error(QueuedIcmpError e, bool fatal) {
  if (e.type == wire::icmp_type::kDestUnreachable && e.code == wire::icmp_code::kFragNeeded) {
    // udp_err: EMSGSIZE, a hard error unless IP_PMTUDISC_DONT.
    if (opts_.pmtudisc == 0) return;
    fatal = true;
  }
  const Error error = e.error;
  if (!opts_.recverr) {
    // Without IP_RECVERR only hard errors reach the application, and only
    // on a connected socket.
    if (!fatal || !remote) return;
  } else {
    // ip_icmp_error: queued for MSG_ERRQUEUE with what the error quoted of
    // the datagram, if the receive buffer has room (sock_queue_err_skb).
    const size_t c = charge(e.payload.size());
    if (rx_bytes_ + c < opts_.rcvbuf) {
      rx_bytes_ += c;
      errqueue_.push_back(std::move(e));
    }
  }
  set_error(error);
}

Result<QueuedIcmpError> UdpSocket::take_queued_error() {
  if (errqueue_.empty()) return Error::kAgain;
  QueuedIcmpError e = std::move(errqueue_.front());
  errqueue_.pop_front();
  rx_bytes_ -= charge(e.payload.size());
  // Linux sock_dequeue_err_skb: the pending error becomes the next queued
  // one's, or none.
  if (errqueue_.empty()) {
    pending_error_.reset();
  } else {
    pending_error_ = errqueue_.front().error;
  }
  changed_ = true;
  return e;
}

// ---- shutdown and sending ---------------------------------------------------

Result<> UdpSocket::shutdown(bool read, bool write) {
  shut_rd_ = shut_rd_ || read;
  shut_wr_ = shut_wr_ || write;
  changed_ = true;
  if (!remote) return Error::kNotConn;
  return {};
}

Result<Endpoint> UdpSocket::destination(std::optional<Endpoint> to, size_t len) const {
  if (shut_wr_) return Error::kPipe;
  std::optional<Endpoint> dest = to ? to : remote;
  if (!dest) return Error::kDestAddrReq;
  if (dest->port == 0) return Error::kInval;
  if (len > kMaxPayload) return Error::kMsgSize;
  return *dest;
}

void UdpSocket::fill_ip_header(wire::Ipv4Repr& ip, std::optional<uint8_t> ttl,
                               std::optional<uint8_t> tos) const {
  // ip(7): a group gets IP_MULTICAST_TTL, not IP_TTL; IP_TTL as ancillary
  // data overrides both (Linux ipc.ttl).
  ip.ttl = ttl ? *ttl : ip.dst.is_multicast() ? opts_.mc_ttl : opts_.ttl;
  ip.tos = tos ? *tos : opts_.tos;
  ip.dont_fragment = pmtudisc_sets_df(opts_.pmtudisc);
}

PacketBuffer UdpSocket::datagram(BufferPool& pool, Bytes data, const wire::Ipv4Repr& ip,
                                 uint16_t dst_port) const {
  const size_t len = wire::UdpRepr::kHeaderLen + data.size();
  PacketBuffer b = pool.allocate(len);
  if (!b) return b;
  auto dgram = b.append(len);
  if (!data.empty()) std::memcpy(dgram.data() + wire::UdpRepr::kHeaderLen, data.data(), data.size());
  wire::UdpRepr hdr;
  hdr.src_port = local.port;
  hdr.dst_port = dst_port;
  hdr.payload_len = static_cast<uint16_t>(data.size());
  hdr.emit(dgram, ip.src, ip.dst);
  return b;
}

// ---- readiness and memberships ----------------------------------------------

uint32_t UdpSocket::readiness() const {
  // Linux datagram_poll: POLLIN for a queued datagram only; POLLERR for a
  // pending error (which also ends a blocking recv) or a queued one.
  uint32_t r = readiness::kWritable;
  if (!rx_.empty()) r |= readiness::kReadable;
  // datagram_poll: RCV_SHUTDOWN reads as readable, both ways as a hangup.
  if (shut_rd_) r |= readiness::kReadable | readiness::kReadHangup;
  if (shut_rd_ && shut_wr_) r |= readiness::kHangup;
  if (pending_error_) r |= readiness::kError;
  if (!errqueue_.empty()) r |= readiness::kErrQueue;
  return r;
}

Result<> UdpSocket::join(Ipv4Address group) {
  if (std::find(groups_.begin(), groups_.end(), group) != groups_.end()) return Error::kAddrInUse;
  if (groups_.size() >= kMaxMemberships) return Error::kNoBufs;
  groups_.push_back(group);
  return {};
}

Result<> UdpSocket::leave(Ipv4Address group) {
  auto it = std::find(groups_.begin(), groups_.end(), group);
  if (it == groups_.end()) return Error::kAddrNotAvail;  // Linux ip_mc_leave_group
  groups_.erase(it);
  return {};
}

std::vector<Ipv4Address> UdpSocket::leave_all() { return std::exchange(groups_, {}); }

}  // namespace shunt::udp
