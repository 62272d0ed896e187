// The socket calls of the Stack API. Each looks its socket up once and
// hands the call to the socket's protocol (dispatch, below): TCP's half is
// in stack_tcp_calls.cc (the TcpSocket of tcp_socket.h, the connection and
// listener of stack/tcp/), UDP's in stack_udp.cc and udp::UdpSocket
// (stack/udp/udp_socket.h). Nothing here knows what a protocol does.
#include <type_traits>

#include "stack/net/stack.h"

namespace shunt {

using udp::UdpSocket;

// The one place a socket call picks its protocol: on_tcp(TcpSocket&) or
// on_udp(UdpSocket&) (const for a const Stack), EBADF for a handle that
// names no open socket.
template <class R, class Self, class OnTcp, class OnUdp>
R Stack::dispatch(Self& self, SocketId s, OnTcp&& on_tcp, OnUdp&& on_udp) {
  using Tcp = std::conditional_t<std::is_const_v<Self>, const TcpSocket, TcpSocket>;
  using Udp = std::conditional_t<std::is_const_v<Self>, const UdpSocket, UdpSocket>;
  if (s.slot >= self.slots_.size() || self.slots_[s.slot].generation != s.generation) {
    return Error::kBadFd;
  }
  auto& slot = self.slots_[s.slot];
  if (slot.tcp) return on_tcp(static_cast<Tcp&>(*slot.tcp));
  if (slot.udp) return on_udp(static_cast<Udp&>(*slot.udp));
  return Error::kBadFd;
}

// ---- every socket --------------------------------------------------------

Result<> Stack::bind(SocketId s, Endpoint local) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_bind(s, t, local); },
      [&](UdpSocket& u) { return udp_bind(s, u, local); });
}

Result<> Stack::connect(SocketId s, Endpoint remote, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_connect(s, t, remote, now); },
      [&](UdpSocket& u) { return udp_connect(s, u, remote); });
}

Result<> Stack::disconnect(SocketId s, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_disconnect(s, t, now); },
      [&](UdpSocket& u) { return udp_disconnect(s, u); });
}

Result<size_t> Stack::send_to(SocketId s, Bytes data, std::optional<Endpoint> to, Instant now,
                              uint32_t flags, const SendOptions& extra) {
  return dispatch<Result<size_t>>(
      *this, s, [&](TcpSocket& t) { return tcp_send(s, t, data, flags, now); },
      [&](UdpSocket& u) { return udp_send_to(s, u, data, to, now, extra); });
}

Result<RecvResult> Stack::recv_from(SocketId s, MutableBytes buf, uint32_t flags, Instant now) {
  return dispatch<Result<RecvResult>>(
      *this, s, [&](TcpSocket& t) { return tcp_recv(s, t, buf, flags, now); },
      [&](UdpSocket& u) { return udp_recv_from(s, u, buf, flags); });
}

Result<> Stack::shutdown(SocketId s, bool read, bool write, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_shutdown(s, t, read, write, now); },
      [&](UdpSocket& u) { return udp_after(s, u, u.shutdown(read, write)); });
}

Result<> Stack::close(SocketId s, Instant now) {
  auto r = dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_close(s, t, now); },
      [&](UdpSocket& u) { return udp_close(s, u); });
  if (!r) return r;
  free_slot(s);
  flush(now);
  return {};
}

Result<> Stack::set_option(SocketId s, SockOpt opt, int value, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_set_option(s, t, opt, value, now); },
      [&](UdpSocket& u) { return udp_after(s, u, u.set_option(opt, value, cfg_.core)); });
}

Result<int> Stack::get_option(SocketId s, SockOpt opt) const {
  return dispatch<Result<int>>(
      *this, s, [&](const TcpSocket& t) { return tcp_get_option(t, opt); },
      [&](const UdpSocket& u) { return u.get_option(opt, cfg_.default_ttl); });
}

Result<uint32_t> Stack::readiness(SocketId s) const {
  return dispatch<Result<uint32_t>>(
      *this, s, [&](const TcpSocket& t) { return tcp_readiness(t); },
      [](const UdpSocket& u) { return u.readiness(); });
}

Result<std::optional<Error>> Stack::take_error(SocketId s) {
  return dispatch<Result<std::optional<Error>>>(
      *this, s, [&](TcpSocket& t) { return tcp_take_error(s, t); },
      [&](UdpSocket& u) { return udp_after(s, u, u.take_error()); });
}

Result<size_t> Stack::next_datagram_size(SocketId s) const {
  return dispatch<Result<size_t>>(
      *this, s, [](const TcpSocket& t) { return t.inq(); },
      [](const UdpSocket& u) { return u.next_datagram_size(); });
}

Result<Endpoint> Stack::local_endpoint(SocketId s) const {
  return dispatch<Result<Endpoint>>(
      *this, s, [](const TcpSocket& t) { return t.local_endpoint(); },
      [](const UdpSocket& u) { return u.local; });
}

Result<Endpoint> Stack::remote_endpoint(SocketId s) const {
  return dispatch<Result<Endpoint>>(
      *this, s, [](const TcpSocket& t) { return t.remote_endpoint(); },
      [](const UdpSocket& u) { return u.remote_endpoint(); });
}

Result<uint32_t> Stack::path_mtu(SocketId s) const {
  return dispatch<Result<uint32_t>>(
      *this, s, [&](const TcpSocket& t) { return t.path_mtu(mtu_); },
      [&](const UdpSocket& u) { return u.path_mtu(mtu_); });
}

Result<size_t> Stack::unsent_bytes(SocketId s) const {
  return dispatch<Result<size_t>>(
      *this, s, [](const TcpSocket& t) { return t.unsent_bytes(); },
      [](const UdpSocket&) { return size_t{0}; });
}

Result<size_t> Stack::notsent_bytes(SocketId s) const {
  return dispatch<Result<size_t>>(
      *this, s, [](const TcpSocket& t) { return t.notsent_bytes(); },
      [](const UdpSocket&) { return Error::kNoProtoOpt; });  // udp_ioctl has no SIOCOUTQNSD
}

// ---- TCP only (a UDP socket: EOPNOTSUPP) -----------------------------------

Result<> Stack::listen(SocketId s, int backlog, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_listen(s, t, backlog); },
      [](UdpSocket&) { return Error::kOpNotSupp; });
}

Result<AcceptResult> Stack::accept(SocketId s, Instant now) {
  return dispatch<Result<AcceptResult>>(
      *this, s, [&](TcpSocket& t) { return tcp_accept(s, t, now); },
      [](UdpSocket&) { return Error::kOpNotSupp; });
}

Result<tcp::TcpInfo> Stack::tcp_info(SocketId s, Instant now) const {
  return dispatch<Result<tcp::TcpInfo>>(
      *this, s, [&](const TcpSocket& t) { return tcp_info_of(t, now); },
      [](const UdpSocket&) { return Error::kOpNotSupp; });
}

Result<> Stack::set_congestion(SocketId s, std::string_view name, Instant now) {
  return dispatch<Result<>>(
      *this, s, [&](TcpSocket& t) { return tcp_set_congestion(t, name, now); },
      [](UdpSocket&) { return Error::kOpNotSupp; });
}

Result<std::string> Stack::get_congestion(SocketId s) const {
  return dispatch<Result<std::string>>(
      *this, s, [&](const TcpSocket& t) { return tcp_get_congestion(t); },
      [](const UdpSocket&) { return Error::kOpNotSupp; });
}

Result<Instant> Stack::last_data_received(SocketId s, Instant now) const {
  return dispatch<Result<Instant>>(
      *this, s, [&](const TcpSocket& t) { return t.last_data_received(now); },
      [](const UdpSocket&) { return Error::kBadFd; });
}

// ---- UDP only --------------------------------------------------------------

Result<udp::QueuedIcmpError> Stack::take_queued_error(SocketId s) {
  return dispatch<Result<udp::QueuedIcmpError>>(
      *this, s, [](TcpSocket&) { return Error::kAgain; },  // TCP queues no ICMP errors
      [&](UdpSocket& u) { return udp_after(s, u, u.take_queued_error()); });
}

Result<> Stack::join_group(SocketId s, Ipv4Address group, Ipv4Address iface) {
  return dispatch<Result<>>(
      *this, s, [](TcpSocket&) { return Error::kProto; },  // Linux: EPROTO on a stream socket
      [&](UdpSocket& u) { return udp_join_group(u, group, iface); });
}

Result<> Stack::leave_group(SocketId s, Ipv4Address group, Ipv4Address iface) {
  return dispatch<Result<>>(
      *this, s, [](TcpSocket&) { return Error::kProto; },
      [&](UdpSocket& u) { return udp_leave_group(u, group, iface); });
}

Result<> Stack::set_multicast_if(SocketId s, Ipv4Address iface) {
  return dispatch<Result<>>(
      *this, s, [](TcpSocket&) { return Error::kInval; },
      [&](UdpSocket& u) { return udp_set_multicast_if(u, iface); });
}

Result<Ipv4Address> Stack::multicast_if(SocketId s) const {
  return dispatch<Result<Ipv4Address>>(
      *this, s, [](const TcpSocket&) { return Ipv4Address::any(); },
      [](const UdpSocket& u) { return u.options().mc_if; });
}

}  // namespace shunt
