// The TCP halves of the socket calls (stack_calls.cc picks them):
// connect, listen, accept, shutdown, close, disconnect (connect with
// AF_UNSPEC), send and receive, SO_ERROR and TCP_INFO. The connection and
// the listener they drive are in stack/tcp/.
#include <algorithm>

#include "stack/net/stack.h"

namespace shunt {

using tcp::ConnEvents;
using tcp::FourTuple;
using tcp::TcpConnection;
using tcp::TcpState;

// ---- connect / listen / accept -------------------------------------------

Result<> Stack::tcp_connect(SocketId s, TcpSocket& t, Endpoint remote, Instant now) {
  if (t.listening()) return Error::kIsConn;
  if (t.conn) {
    // Linux __inet_stream_connect: the first connect() after a
    // non-blocking one reports how it went (0, or its error, or
    // ECONNABORTED when SO_ERROR took the error); later ones EISCONN.
    const bool report = t.connecting;
    switch (t.conn->state()) {
      case TcpState::kSynSent:
      case TcpState::kSynReceived:
        return Error::kAlready;
      case TcpState::kClosed:
        t.connecting = false;
        if (t.conn->pending_error()) {
          // The failed connect's error is reported by this call, as Linux does.
          return *t.conn->take_error();
        }
        if (report) return Error::kConnAborted;
        if (t.conn->was_reset() || t.conn->state() == TcpState::kClosed) {
          t.conn.reset();  // a closed socket may connect again
          break;
        }
        return Error::kIsConn;
      default:
        t.connecting = false;
        if (report) return {};
        return Error::kIsConn;
    }
  }
  if (!cfg_.address) return Error::kNetUnreach;
  if (remote.addr.is_unspecified()) remote.addr = cfg_.address->address();
  if (remote.port == 0) return Error::kConnRefused;  // nothing listens on port 0
  if (is_broadcast_for_us(remote.addr) || remote.addr.is_multicast()) return Error::kNetUnreach;
  if (!is_our_address(remote.addr)) {
    auto dest = link_dest_for(remote.addr);
    if (!dest) return dest.error();
  }
  Endpoint local{t.bound && !t.local.addr.is_unspecified() ? t.local.addr : cfg_.address->address(),
                 t.local.port};
  if (t.bound) {
    if (conns_.count(FourTuple{local, remote}) != 0) return Error::kAddrNotAvail;
  } else {
    auto port = ports_.pick_for_peer(wire::ip_proto::kTcp, local.addr, remote, [&](uint16_t p) {
      return conns_.count(FourTuple{{local.addr, p}, remote}) != 0 ||
             tcp_ports_.count(p) != 0;
    });
    if (!port) return Error::kAddrNotAvail;
    local.port = *port;
  }
  t.local = local;
  FourTuple tuple{local, remote};
  auto conn = std::make_unique<TcpConnection>(cfg_.tcp, pool_, tuple, t.opts, mtu_,
                                              ts_offset_for(tuple), now);
  TcpConnection* c = conn.get();
  c->reuse_addr = t.reuse_addr;
  c->reuse_port = t.reuse_port;
  c->uid = t.uid;
  conns_[tuple] = TcpEntry{c, s, {}};
  t.conn = std::move(conn);
  ++stats_.tcp.ActiveOpens;
  tcp_after(c, c->connect(isn_.isn(tuple, now), now), now);
  flush(now);
  t.connecting = true;
  t.error.reset();
  return Error::kInProgress;
}

Result<> Stack::tcp_listen(SocketId s, TcpSocket& t, int backlog) {
  if (t.conn) return Error::kInval;
  if (!t.bound) {
    if (auto r = tcp_bind(s, t, Endpoint{Ipv4Address::any(), 0}); !r) return r;
  }
  if (!t.listening()) {
    // Linux inet_csk_listen_start checks the port again: another listener
    // on an overlapping address is a conflict unless both have
    // SO_REUSEPORT and one uid (SO_REUSEADDR does not let two listen).
    if (tcp_port_conflict(t, t.local, PortCheck::kBind)) return Error::kAddrInUse;
    if (t.reuse_port) {
      // inet_hash -> inet_reuseport_add_sock: join the group of this exact
      // address and port, or start it.
      reuseport_.join({wire::ip_proto::kTcp, t.local, t.uid}, s);
      t.in_reuseport_group = true;
    }
    t.listener = std::make_unique<tcp::TcpListener>(cfg_.tcp, pool_, isn_, cookies_);
  }
  // Linux: the backlog is clamped to somaxconn (a negative one too).
  uint32_t b = backlog < 0 ? cfg_.tcp.somaxconn
                           : std::min<uint32_t>(static_cast<uint32_t>(backlog), cfg_.tcp.somaxconn);
  t.listener->set_backlog(b);
  return {};
}

Result<AcceptResult> Stack::tcp_accept(SocketId s, TcpSocket& l, Instant now) {
  if (!l.listening()) return Error::kInval;
  std::unique_ptr<TcpConnection> conn = l.listener->accept(now);
  if (!conn) return Error::kAgain;
  TcpConnection* c = conn.get();
  auto id = tcp_open();
  TcpSocket& t = *slots_[id->slot].tcp;
  t.local = c->tuple().local;
  t.opts = l.opts;
  t.linger = l.linger;
  // Linux sk_clone_lock copies the listener's flags into the child
  // (getsockopt shows them on the accepted socket).
  t.reuse_addr = l.reuse_addr;
  t.reuse_port = l.reuse_port;
  t.uid = l.uid;
  // The connection now belongs to the socket, no longer to the listener.
  auto entry = conns_.find(c->tuple());
  SHUNT_CHECK(entry != conns_.end() && entry->second.conn == c);
  entry->second.owner = *id;
  entry->second.listener = SocketId{};
  t.sockopts = l.sockopts;
  t.sockopts.defer_accept = 0;  // Linux clears the child's accept queue settings
  t.sockopts.fastopen_qlen = 0;
  AcceptResult r{*id, c->tuple().remote};
  t.conn = std::move(conn);
  mark_changed(s);
  return r;
}

Result<> Stack::tcp_shutdown(SocketId s, TcpSocket& t, bool read, bool write, Instant now) {
  if (t.listening()) {
    // Linux: shutdown(SHUT_RD) on a listener stops it (tcp_disconnect).
    if (!read) return {};
    return tcp_close(s, t, now).ok() ? Result<>() : Result<>(Error::kNotConn);
  }
  if (!t.conn) return Error::kNotConn;
  auto r = t.conn->shutdown(read, write, now);
  tcp_after(t.conn.get(), 0, now, s);
  flush(now);
  return r;
}

// ---- data ------------------------------------------------------------------

Result<size_t> Stack::tcp_send(SocketId s, TcpSocket& t, Bytes data, uint32_t flags, Instant now) {
  // Linux tcp_sendmsg -> sk_stream_wait_connect: a socket that is not
  // connecting or connected (fresh, bound, listening) gives EPIPE.
  if (t.listening() || !t.conn) return Error::kPipe;
  auto r = t.conn->send(data, (flags & msg_flag::kMore) != 0, now);
  tcp_after(t.conn.get(), 0, now, s);
  flush(now);
  return r;
}

Result<RecvResult> Stack::tcp_recv(SocketId s, TcpSocket& t, MutableBytes buf, uint32_t flags,
                                   Instant now) {
  if (t.listening() || !t.conn) return Error::kNotConn;
  auto r = t.conn->recv(buf, (flags & msg_flag::kPeek) != 0, now);
  tcp_after(t.conn.get(), 0, now, s);
  flush(now);
  if (!r) return r.error();
  RecvResult out;
  out.copied = *r;
  out.datagram_len = *r;
  out.from = t.conn->tuple().remote;
  return out;
}

Result<std::optional<Error>> Stack::tcp_take_error(SocketId s, TcpSocket& t) {
  if (!t.conn) {
    std::optional<Error> e = t.error;
    t.error.reset();
    if (e) mark_changed(s);
    return e;
  }
  auto e = t.conn->take_error();
  if (e) mark_changed(s);
  return e;
}

Result<> Stack::tcp_close(SocketId s, TcpSocket& t, Instant now) {
  if (t.listening()) {
    // Linux inet_csk_listen_stop: pending connections are reset.
    for (std::unique_ptr<TcpConnection>& child : t.listener->stop()) {
      child->abort(now);
      for (auto& seg : child->outbox()) {
        tcp_transmit(child->tuple(), seg.hdr, std::move(seg.payload), 0, now);
      }
      child->outbox().clear();
      conns_.erase(child->tuple());
    }
    t.listener.reset();
    // The other members of a SO_REUSEPORT group keep serving; the
    // connections this one had queued are reset above, not handed to them
    // (Linux with net.ipv4.tcp_migrate_req = 0, the default).
  }
  if (t.conn) {
    TcpConnection* c = t.conn.get();
    auto it = conns_.find(c->tuple());
    TcpEntry* e = it != conns_.end() && it->second.conn == c ? &it->second : nullptr;
    if (e != nullptr) e->owner = SocketId{};  // an orphan from now on
    const ConnEvents ev = c->close(t.linger && *t.linger == 0, now);
    if (c->done()) {
      for (auto& seg : c->outbox()) tcp_transmit(c->tuple(), seg.hdr, std::move(seg.payload), 0, now);
      c->outbox().clear();
      if (e != nullptr) conns_.erase(it);
      t.conn.reset();
    } else {
      orphans_.emplace(c, std::move(t.conn));
      tcp_after(c, ev, now);
    }
  }
  tcp_unbind(s, t);
  return {};
}

// ---- introspection -----------------------------------------------------------

Result<tcp::TcpInfo> Stack::tcp_info_of(const TcpSocket& t, Instant now) const {
  if (t.conn) {
    tcp::TcpInfo i = t.conn->info(now);
    // Linux tp->advmss loses the timestamp option's 12 bytes once
    // timestamps are on (tcp_rcv_synsent_state_process).
    if (i.ts_ok && i.advmss > 12) i.advmss -= 12;
    return i;
  }
  tcp::TcpInfo i;
  i.state = t.listening() ? TcpState::kListen : TcpState::kClosed;
  // A socket never connected reports TCP_MSS_DEFAULT (tcp_init_sock), a
  // listener nothing (tcp_get_info returns early).
  if (!t.listening()) {
    i.snd_mss = 536;
    return i;
  }
  i.unacked = static_cast<uint32_t>(t.listener->accept_queue_length());  // Linux: sk_ack_backlog
  i.sacked = t.listener->backlog();  // Linux: sk_max_ack_backlog
  return i;
}

Result<> Stack::tcp_disconnect(SocketId s, TcpSocket& t, Instant now) {
  // Linux tcp_disconnect (connect with AF_UNSPEC): a connection is reset
  // and the socket is as new, with ECONNRESET pending.
  if (t.listening()) return Error::kOpNotSupp;  // not done: stopping a listener this way
  t.connecting = false;
  if (!t.conn) return {};
  TcpConnection* c = t.conn.get();
  if (!c->done()) {
    tcp_after(c, c->abort(now), now);
    flush(now);
  }
  auto it = conns_.find(c->tuple());
  if (it != conns_.end() && it->second.conn == c) conns_.erase(it);
  t.conn.reset();
  t.error = Error::kConnReset;
  mark_changed(s);
  return {};
}

}  // namespace shunt
