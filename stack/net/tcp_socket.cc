#include "stack/net/tcp_socket.h"

namespace shunt {

Result<Endpoint> TcpSocket::remote_endpoint() const {
  if (!conn || conn->state() == tcp::TcpState::kSynSent || conn->state() == tcp::TcpState::kClosed) {
    return Error::kNotConn;
  }
  return conn->tuple().remote;
}

Result<size_t> TcpSocket::inq() const {
  if (listening()) return Error::kInval;  // Linux: FIONREAD on a listener is EINVAL
  return conn ? conn->readable() : size_t{0};
}

Result<size_t> TcpSocket::unsent_bytes() const {
  // Linux tcp_ioctl SIOCOUTQ: EINVAL listening, 0 during the handshake.
  if (listening()) return Error::kInval;
  if (!conn || !tcp::is_synchronized(conn->state())) return size_t{0};
  return conn->unsent();
}

Result<size_t> TcpSocket::notsent_bytes() const {
  // Linux tcp_ioctl SIOCOUTQNSD: write_seq - snd_nxt, like SIOCOUTQ.
  if (listening()) return Error::kInval;
  if (!conn || !tcp::is_synchronized(conn->state())) return size_t{0};
  return conn->notsent();
}

Result<uint32_t> TcpSocket::path_mtu(uint32_t link_mtu) const {
  if (!conn || !tcp::is_synchronized(conn->state())) return Error::kNotConn;
  return link_mtu;
}

Result<Instant> TcpSocket::last_data_received(Instant now) const {
  if (!conn) return Error::kNotConn;
  return now - conn->info(now).last_data_recv;
}

}  // namespace shunt
