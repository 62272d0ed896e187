// The TCP half of setsockopt/getsockopt and TCP_CONGESTION: options kept
// in the TcpSocket, in its connection's ConnOptions, or both.
#include "stack/base/sock_buf.h"
#include "stack/net/stack.h"

namespace shunt {

using tcp::TcpConnection;
using tcp::TcpState;

// ---- options and introspection --------------------------------------------

Result<> Stack::tcp_set_option(SocketId s, TcpSocket& t, SockOpt opt, int value, Instant now) {
  tcp::ConnOptions& o = t.conn ? t.conn->options() : t.opts;
  auto secs = [](int v) { return Duration(std::chrono::seconds(v)); };
  switch (opt) {
    case SockOpt::kReuseAddr: t.reuse_addr = value != 0; break;
    // Read when the socket binds and listens, and when others bind over
    // it (Linux sk_reuseport); a listener stays in its group.
    case SockOpt::kReusePort: t.reuse_port = value != 0; break;
    case SockOpt::kBroadcast: break;  // accepted and meaningless for TCP, as on Linux
    case SockOpt::kRcvBuf: {
      o.rcvbuf = sock_rcvbuf(value, false, cfg_.core.rmem_max);
      break;
    }
    case SockOpt::kSndBuf: {
      o.sndbuf = sock_sndbuf(value, false, cfg_.core.wmem_max);
      break;
    }
    case SockOpt::kTtl:
      // ip(7) IP_TTL: 1..255, or -1 for the default.
      if (value != -1 && (value < 1 || value > 255)) return Error::kInval;
      o.ttl = value == -1 ? 0 : static_cast<uint8_t>(value);
      break;
    case SockOpt::kNoDelay: o.nodelay = value != 0; break;
    case SockOpt::kCork: o.cork = value != 0; break;
    case SockOpt::kKeepAlive: o.keepalive = value != 0; break;
    // tcp(7): 1..MAX_TCP_KEEPIDLE (32767) seconds, else EINVAL.
    case SockOpt::kKeepIdle:
      if (value < 1 || value > 32767) return Error::kInval;
      o.keepidle = secs(value);
      break;
    case SockOpt::kKeepIntvl:
      if (value < 1 || value > 32767) return Error::kInval;
      o.keepintvl = secs(value);
      break;
    case SockOpt::kKeepCnt:
      if (value < 1 || value > 127) return Error::kInval;
      o.keepcnt = static_cast<uint32_t>(value);
      break;
    case SockOpt::kMaxSeg:
      // Linux: TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (32767), or 0.
      if (value != 0 && (value < 88 || value > 32767)) return Error::kInval;
      o.user_mss = static_cast<uint16_t>(value);
      break;
    case SockOpt::kLinger:
      if (value < 0) {
        t.linger.reset();
      } else {
        t.linger = value;
      }
      break;
    case SockOpt::kQuickAck:
      // Linux __tcp_sock_set_quickack: 0 enters "pingpong" (interactive)
      // mode, which getsockopt reports; 1 leaves it and ACKs at once.
      o.quickack = value != 0;
      t.sockopts.pingpong = value == 0;
      break;
    case SockOpt::kUserTimeout:
      if (value < 0) return Error::kInval;
      o.user_timeout = std::chrono::milliseconds(value);
      break;
    default:
      if (auto r = tcp_set_socket_option(s, t, opt, value); !r) return r;
      break;
  }
  if (t.conn) {
    t.conn->reuse_addr = t.reuse_addr;
    t.conn->reuse_port = t.reuse_port;
    t.conn->options_changed(now);
    tcp_after(t.conn.get(), 0, now, s);
    flush(now);
  }
  return {};
}

Result<int> Stack::tcp_get_option(const TcpSocket& t, SockOpt opt) const {
  const tcp::ConnOptions& o = t.conn ? const_cast<TcpConnection&>(*t.conn).options() : t.opts;
  auto secs = [](Duration d) { return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count()); };
  switch (opt) {
    case SockOpt::kReuseAddr: return t.reuse_addr ? 1 : 0;
    case SockOpt::kReusePort: return t.reuse_port ? 1 : 0;
    case SockOpt::kBroadcast: return 0;
    // A size never set reads as Linux's starting one (TcpConfig rmem_initial).
    case SockOpt::kRcvBuf: return static_cast<int>(o.rcvbuf != 0 ? o.rcvbuf : cfg_.tcp.rmem_initial);
    case SockOpt::kSndBuf: return static_cast<int>(o.sndbuf != 0 ? o.sndbuf : cfg_.tcp.wmem_initial);
    case SockOpt::kTtl: return o.ttl != 0 ? o.ttl : cfg_.default_ttl;
    case SockOpt::kNoDelay: return o.nodelay ? 1 : 0;
    case SockOpt::kCork: return o.cork ? 1 : 0;
    case SockOpt::kKeepAlive: return o.keepalive ? 1 : 0;
    case SockOpt::kKeepIdle: return secs(o.keepidle != Duration::zero() ? o.keepidle : cfg_.tcp.keepalive_time);
    case SockOpt::kKeepIntvl: return secs(o.keepintvl != Duration::zero() ? o.keepintvl : cfg_.tcp.keepalive_intvl);
    case SockOpt::kKeepCnt: return static_cast<int>(o.keepcnt != 0 ? o.keepcnt : cfg_.tcp.keepalive_probes);
    case SockOpt::kMaxSeg:
      if (t.conn && is_synchronized(t.conn->state())) return static_cast<int>(t.conn->mss());
      return o.user_mss != 0 ? o.user_mss : 536;  // Linux reports TCP_MSS_DEFAULT before connecting
    case SockOpt::kLinger: return t.linger.value_or(-1);
    case SockOpt::kQuickAck: return t.sockopts.pingpong ? 0 : 1;
    case SockOpt::kUserTimeout:
      return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(o.user_timeout).count());
    case SockOpt::kRcvBufForce: return static_cast<int>(o.rcvbuf != 0 ? o.rcvbuf : cfg_.tcp.rmem_initial);
    case SockOpt::kSndBufForce: return static_cast<int>(o.sndbuf != 0 ? o.sndbuf : cfg_.tcp.wmem_initial);
    case SockOpt::kRcvLowat: return t.sockopts.rcvlowat;
    case SockOpt::kNotSentLowat: return static_cast<int>(t.sockopts.notsent_lowat);
    case SockOpt::kTos: return o.tos;
    case SockOpt::kMtuDiscover: return t.sockopts.pmtudisc;
    case SockOpt::kRecvErr: return t.sockopts.recverr ? 1 : 0;
    case SockOpt::kFreeBind: return t.sockopts.freebind ? 1 : 0;
    case SockOpt::kMulticastTtl: return 1;
    case SockOpt::kMulticastLoop: return 1;
    case SockOpt::kMulticastAll: return 1;
    case SockOpt::kDeferAccept: return tcp::defer_seconds(t.sockopts.defer_accept);
    case SockOpt::kFastOpen: return t.sockopts.fastopen_qlen;
  }
  return Error::kNoProtoOpt;
}

// The options of the TcpSocket itself (the ones a connection never sees).
Result<> Stack::tcp_set_socket_option(SocketId s, TcpSocket& t, SockOpt opt, int value) {
  tcp::ConnOptions& o = t.conn ? t.conn->options() : t.opts;
  TcpSocket::SocketOptions& so = t.sockopts;
  switch (opt) {
    case SockOpt::kRcvBufForce:
      o.rcvbuf = sock_rcvbuf(value, true, cfg_.core.rmem_max);
      return {};
    case SockOpt::kSndBufForce:
      o.sndbuf = sock_sndbuf(value, true, cfg_.core.wmem_max);
      return {};
    case SockOpt::kRcvLowat: {
      // Linux tcp_set_rcvlowat: a negative value means INT_MAX, capped by
      // half the receive buffer (SO_RCVBUF if set, else tcp_rmem[2]).
      const uint32_t cap = (o.rcvbuf != 0 ? o.rcvbuf : cfg_.tcp.rcvbuf_max) / 2;
      const uint32_t v = value < 0 ? INT32_MAX : static_cast<uint32_t>(value);
      so.rcvlowat = static_cast<int>(std::max<uint32_t>(std::min(v, cap), 1));
      mark_changed(s);
      return {};
    }
    case SockOpt::kNotSentLowat:
      so.notsent_lowat = static_cast<uint32_t>(value);
      mark_changed(s);
      return {};
    case SockOpt::kTos:
      // Linux __ip_sock_set_tos: a stream socket's ECN bits are TCP's.
      o.tos = static_cast<uint8_t>(value & ~0x3);
      return {};
    case SockOpt::kMtuDiscover:
      if (value < 0 || value > 5) return Error::kInval;  // IP_PMTUDISC_DONT .. _OMIT
      so.pmtudisc = static_cast<uint8_t>(value);
      return {};
    case SockOpt::kRecvErr: so.recverr = value != 0; return {};
    case SockOpt::kFreeBind: so.freebind = value != 0; return {};
    case SockOpt::kMulticastTtl: return Error::kInval;  // Linux: not on a stream socket
    case SockOpt::kMulticastLoop:
    case SockOpt::kMulticastAll:
      return {};  // accepted and meaningless, as on Linux
    case SockOpt::kDeferAccept:
      so.defer_accept = tcp::defer_retransmits(value);
      return {};
    case SockOpt::kFastOpen:
      // Linux: a queue length for a closed or listening socket; shunt keeps
      // it and serves no Fast Open (a kernel with tcp_fastopen server off).
      if (value < 0 || (t.conn && t.conn->state() != TcpState::kClosed)) return Error::kInval;
      so.fastopen_qlen = value;
      return {};
    default:
      return Error::kNoProtoOpt;
  }
}

Result<> Stack::tcp_set_congestion(TcpSocket& t, std::string_view name, Instant now) {
  if (t.conn) return t.conn->set_congestion(name, now);
  auto probe = tcp::make_congestion_control(name, 1460, now);
  if (!probe) return Error::kNoProtoOpt;
  t.opts.congestion = std::string(name);
  return {};
}

Result<std::string> Stack::tcp_get_congestion(const TcpSocket& t) const {
  if (t.conn) return std::string(t.conn->congestion_name());
  return t.opts.congestion.empty() ? cfg_.tcp.congestion_control : t.opts.congestion;
}

}  // namespace shunt
