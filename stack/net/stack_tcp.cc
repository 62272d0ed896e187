// The Stack's TCP glue: demultiplexing, listeners (SYN and accept queues,
// SYN cookies), resets for closed ports, the connection timer heap, and
// the TCP half of the socket API. The protocol itself is in stack/tcp/.
#include <algorithm>
#include <functional>

#include "stack/base/bytes.h"
#include "stack/net/stack.h"
#include "stack/tcp/syn_options.h"
#include "stack/wire/tcp.h"

namespace shunt {

using tcp::ConnEvents;
using tcp::FourTuple;
using tcp::TcpConnection;
using tcp::TcpState;

namespace {

void count_drop(Stats& s, DropReason r) { ++s.drops[static_cast<size_t>(r)]; }

// SO_RCVBUF/SO_SNDBUF (sock_buf_size): capped by the StackConfig's
// core.rmem_max / wmem_max and doubled; the floors are SOCK_MIN_RCVBUF /
// SOCK_MIN_SNDBUF.
constexpr uint32_t kMinRcvBuf = 2304;
constexpr uint32_t kMinSndBuf = 4608;

bool ts_newer(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

// The bind flags of one user of a port, a socket or a connection.
struct PortUser {
  bool reuse_addr = false;
  bool reuse_port = false;
  uint32_t uid = 0;
  bool listening = false;
  bool time_wait = false;
};

// Linux inet_bind_conflict (net/ipv4/inet_connection_sock.c) with
// relax = reuseport_ok = true, as bind() and listen() call it: `sk` may
// share the port with `o` (whose address overlaps) when both have
// SO_REUSEADDR and `o` is not listening, or both have SO_REUSEPORT and one
// owner uid (any uid when `o` is in TIME-WAIT).
bool may_share(const PortUser& sk, const PortUser& o) {
  if (sk.reuse_addr && o.reuse_addr && !o.listening) return true;
  return sk.reuse_port && o.reuse_port && (o.time_wait || sk.uid == o.uid);
}

// A child takes its listener's flags (Linux sk_clone_lock).
void inherit_bind_flags(TcpConnection& c, const TcpSocket& l) {
  c.reuse_addr = l.reuse_addr;
  c.reuse_port = l.reuse_port;
  c.uid = l.uid;
}

}  // namespace

uint64_t Stack::ts_offset_for(const FourTuple& t) const {
  // Per address pair, not per 4-tuple (Linux secure_tcp_ts_off): the
  // timestamps a peer sees from us keep growing across connections, which
  // is what lets it reopen a TIME-WAIT pair on a newer timestamp (RFC 6191).
  uint8_t buf[8];
  store_be32(buf, t.local.addr.value());
  store_be32(buf + 4, t.remote.addr.value());
  return siphash24(ts_key_, buf) & 0xffffffffu;
}

// ---- binding --------------------------------------------------------------

bool Stack::tcp_port_conflict(const TcpSocket& sock, Endpoint local, PortCheck why) const {
  auto overlaps = [&](Ipv4Address a) {
    return a.is_unspecified() || local.addr.is_unspecified() || a == local.addr;
  };
  // bind(port 0) takes no port anyone uses, whatever the flags (Linux
  // inet_csk_find_open_port: relax = false, reuseport_ok = false).
  const bool autobind = why == PortCheck::kAutobind;
  const PortUser me{sock.reuse_addr, sock.reuse_port, sock.uid};
  auto [lo, hi] = tcp_ports_.equal_range(local.port);
  for (auto it = lo; it != hi; ++it) {
    const TcpSocket* o = tcp(it->second);
    if (o == nullptr || o == &sock || !overlaps(o->local.addr)) continue;
    const PortUser other{o->reuse_addr, o->reuse_port, o->uid, o->listening()};
    if (autobind || !may_share(me, other)) return true;
  }
  // Connections still using the port (TIME-WAIT, orphans, accepted
  // children) with the flags of the socket they came from; Linux keeps
  // them on the port's bind bucket too.
  for (const auto& [t, e] : conns_) {
    if (t.local.port != local.port || !overlaps(t.local.addr)) continue;
    const TcpConnection* c = e.conn;
    const PortUser o{c->reuse_addr, c->reuse_port, c->uid, false,
                     c->state() == TcpState::kTimeWait};
    if (autobind || !may_share(me, o)) return true;
  }
  return false;
}

Result<> Stack::tcp_bind(SocketId s, TcpSocket& t, Endpoint local) {
  if (t.bound || t.conn || t.listening()) return Error::kInval;
  // Linux inet_bind: an address not ours only with IP_FREEBIND / IP_TRANSPARENT.
  if (!local.addr.is_unspecified() && !is_our_address(local.addr) && !t.sockopts.freebind) {
    return Error::kAddrNotAvail;
  }
  if (local.port == 0) {
    auto port = ports_.pick_random([&](uint16_t p) {
      return tcp_port_conflict(t, Endpoint{local.addr, p}, PortCheck::kAutobind);
    });
    if (!port) return Error::kAddrInUse;
    local.port = *port;
  } else if (tcp_port_conflict(t, local, PortCheck::kBind)) {
    return Error::kAddrInUse;
  }
  t.local = local;
  t.bound = true;
  tcp_ports_.emplace(local.port, s);
  return {};
}

void Stack::tcp_unbind(SocketId s, TcpSocket& t) {
  if (t.in_reuseport_group) {
    reuseport_.leave({wire::ip_proto::kTcp, t.local, t.uid}, s);  // reuseport_detach_sock
    t.in_reuseport_group = false;
  }
  if (!t.bound) return;
  auto [lo, hi] = tcp_ports_.equal_range(t.local.port);
  for (auto it = lo; it != hi; ++it) {
    if (it->second == s) {
      tcp_ports_.erase(it);
      break;
    }
  }
}

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

Result<> Stack::listen(SocketId s, int backlog, Instant now) {
  last_now_ = now;
  TcpSocket* t = tcp(s);
  if (t == nullptr) return udp(s) != nullptr ? Error::kOpNotSupp : Error::kBadFd;
  if (t->conn) return Error::kInval;
  if (!t->bound) {
    if (auto r = tcp_bind(s, *t, Endpoint{Ipv4Address::any(), 0}); !r) return r;
  }
  if (!t->listening()) {
    // Linux inet_csk_listen_start checks the port again: another listener
    // on an overlapping address is a conflict unless both have
    // SO_REUSEPORT and one uid (SO_REUSEADDR does not let two listen).
    if (tcp_port_conflict(*t, t->local, PortCheck::kBind)) return Error::kAddrInUse;
    if (t->reuse_port) {
      // inet_hash -> inet_reuseport_add_sock: join the group of this exact
      // address and port, or start it.
      reuseport_.join({wire::ip_proto::kTcp, t->local, t->uid}, s);
      t->in_reuseport_group = true;
    }
    t->listener = std::make_unique<tcp::TcpListener>(cfg_.tcp, pool_, isn_, cookies_);
  }
  // Linux: the backlog is clamped to somaxconn (a negative one too).
  uint32_t b = backlog < 0 ? cfg_.tcp.somaxconn
                           : std::min<uint32_t>(static_cast<uint32_t>(backlog), cfg_.tcp.somaxconn);
  t->listener->set_backlog(b);
  return {};
}

Result<AcceptResult> Stack::accept(SocketId s, Instant now) {
  last_now_ = now;
  TcpSocket* l = tcp(s);
  if (l == nullptr) return udp(s) != nullptr ? Error::kOpNotSupp : Error::kBadFd;
  if (!l->listening()) return Error::kInval;
  std::unique_ptr<TcpConnection> conn = l->listener->accept(now);
  if (!conn) return Error::kAgain;
  TcpConnection* c = conn.get();
  auto id = tcp_open();
  TcpSocket& t = *slots_[id->slot].tcp;
  t.local = c->tuple().local;
  t.opts = l->opts;
  t.linger = l->linger;
  // Linux sk_clone_lock copies the listener's flags into the child
  // (getsockopt shows them on the accepted socket).
  t.reuse_addr = l->reuse_addr;
  t.reuse_port = l->reuse_port;
  t.uid = l->uid;
  // The connection now belongs to the socket, no longer to the listener.
  auto entry = conns_.find(c->tuple());
  SHUNT_CHECK(entry != conns_.end() && entry->second.conn == c);
  entry->second.owner = *id;
  entry->second.listener = SocketId{};
  t.sockopts = l->sockopts;
  t.sockopts.defer_accept = 0;  // Linux clears the child's accept queue settings
  t.sockopts.fastopen_qlen = 0;
  AcceptResult r{*id, c->tuple().remote};
  t.conn = std::move(conn);
  mark_changed(s);
  return r;
}

Result<> Stack::shutdown(SocketId s, bool read, bool write, Instant now) {
  last_now_ = now;
  if (TcpSocket* t = tcp(s)) {
    if (t->listening()) {
      // Linux: shutdown(SHUT_RD) on a listener stops it (tcp_disconnect).
      if (!read) return {};
      return tcp_close(s, *t, now).ok() ? Result<>() : Result<>(Error::kNotConn);
    }
    if (!t->conn) return Error::kNotConn;
    auto r = t->conn->shutdown(read, write, now);
    tcp_after(t->conn.get(), 0, now, s);
    flush(now);
    return r;
  }
  UdpSocket* u = udp(s);
  if (u == nullptr) return Error::kBadFd;
  // Linux inet_shutdown: the flags are set on an unconnected datagram
  // socket too, which still reports ENOTCONN.
  u->shut_rd = u->shut_rd || read;
  u->shut_wr = u->shut_wr || write;
  mark_changed(s);
  if (!u->remote) return Error::kNotConn;
  return {};
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

// ---- packet path ---------------------------------------------------------

void Stack::tcp_transmit(const FourTuple& t, wire::TcpRepr& hdr, PacketBuffer payload,
                         uint64_t owner, Instant now, uint8_t ttl, uint8_t tos) {
  if (!payload) payload = pool_.allocate(0);
  const size_t hl = hdr.header_len_for_emit();
  payload.push_front(hl);
  hdr.emit(payload.bytes(), t.local.addr, t.remote.addr);
  ++stats_.tcp.OutSegs;
  if (hdr.has(wire::tcp_flag::kRst)) ++stats_.tcp.OutRsts;
  wire::Ipv4Repr ip;
  ip.src = t.local.addr;
  ip.dst = t.remote.addr;
  ip.protocol = wire::ip_proto::kTcp;
  ip.ttl = ttl;  // 0: the default
  ip.tos = tos;
  ip.dont_fragment = true;  // RFC 1191: TCP does path MTU discovery
  (void)ip_output(ip, std::move(payload), owner, now);
}

void Stack::tcp_send_reset_for(const FourTuple& t, const wire::TcpRepr& seg, uint32_t payload_len,
                               Instant now) {
  // RFC 9293 3.10.7.1: never answer a RST; otherwise
  //   with ACK:    <SEQ=SEG.ACK><CTL=RST>
  //   without:     <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
  if (seg.has(wire::tcp_flag::kRst)) return;
  wire::TcpRepr r;
  r.src_port = t.local.port;
  r.dst_port = t.remote.port;
  if (seg.has(wire::tcp_flag::kAck)) {
    r.seq = seg.ack;
    r.flags = wire::tcp_flag::kRst;
  } else {
    uint32_t len = payload_len + (seg.has(wire::tcp_flag::kSyn) ? 1 : 0) +
                   (seg.has(wire::tcp_flag::kFin) ? 1 : 0);
    r.seq = SeqNum(0);
    r.ack = seg.seq + len;
    r.flags = wire::tcp_flag::kRst | wire::tcp_flag::kAck;
  }
  tcp_transmit(t, r, PacketBuffer(), 0, now);
}

void Stack::tcp_input(IpInput& in, PacketBuffer payload, Instant now) {
  const bool verify = !device_.info().rx_checksum_offload || in.original.empty();
  auto seg = wire::TcpRepr::parse(payload.bytes(), in.hdr.src, in.hdr.dst, verify);
  if (!seg) {
    ++stats_.tcp.InErrs;
    if (seg.error() == DropReason::kTcpBadChecksum) ++stats_.tcp.InCsumErrors;
    return count_drop(stats_, seg.error());
  }
  ++stats_.tcp.InSegs;
  if (in.link_broadcast || in.hdr.dst.is_multicast()) {
    return count_drop(stats_, DropReason::kTcpNoSocket);  // TCP is unicast only
  }
  const Bytes data = payload.bytes().subspan(seg->header_len, seg->payload_len);
  const FourTuple t{{in.hdr.dst, seg->dst_port}, {in.hdr.src, seg->src_port}};

  if (auto it = conns_.find(t); it != conns_.end()) {
    TcpConnection* c = it->second.conn;
    const bool pure_syn = seg->has(wire::tcp_flag::kSyn) && !seg->has(wire::tcp_flag::kAck) &&
                          !seg->has(wire::tcp_flag::kRst);
    if (c->state() == TcpState::kTimeWait && pure_syn) {
      // RFC 9293 3.6.1 / RFC 6191: a new SYN for a TIME-WAIT pair may reopen
      // it when its sequence number (or timestamp) is newer.
      auto ts = c->ts_recent();
      bool newer = (ts && seg->options.timestamps) ? ts_newer(seg->options.timestamps->tsval, *ts)
                                                   : seg->seq > c->rcv_nxt();
      SocketId lid = find_listener_id(t);
      if (newer && lid.generation != 0) {
        ++stats_.tcp.TimeWaitRecycled;
        tcp_retire(t);
        tcp_listen_input(lid, *tcp(lid), t, *seg, data, now);
        return;
      }
    }
    if (tcp::TcpListener* l = tcp_listener_of(it->second);
        l != nullptr && l->drop_handshake_ack(*c, *seg)) {
      return tcp_listen_counters(*l);
    }
    tcp_after(c, c->input(*seg, data, now), now);
    return;
  }
  SocketId lid = find_listener_id(t);
  if (lid.generation != 0) {
    tcp_listen_input(lid, *tcp(lid), t, *seg, data, now);
    return;
  }
  count_drop(stats_, DropReason::kTcpNoSocket);
  tcp_send_reset_for(t, *seg, static_cast<uint32_t>(data.size()), now);
}

SocketId Stack::find_listener_id(const FourTuple& t) const {
  // A listener bound to the address wins over a wildcard one (Linux
  // __inet_lookup_listener looks up the address, then INADDR_ANY).
  SocketId found{}, wildcard{};
  auto [lo, hi] = tcp_ports_.equal_range(t.local.port);
  for (auto it = lo; it != hi; ++it) {
    const TcpSocket* l = tcp(it->second);
    if (l == nullptr || !l->listening()) continue;
    if (l->local.addr == t.local.addr) {
      found = it->second;
      break;
    }
    if (l->local.addr.is_unspecified()) wildcard = it->second;
  }
  if (found.generation == 0) found = wildcard;
  const TcpSocket* l = found.generation != 0 ? tcp(found) : nullptr;
  if (l == nullptr || !l->in_reuseport_group) return found;
  // Linux inet_lhash2_lookup -> inet_lookup_reuseport: the group member
  // the flow hash picks (every member listens, so the first it tries).
  SocketId pick = reuseport_.select({wire::ip_proto::kTcp, l->local, l->uid},
                                    reuseport_.flow_hash(t.local, t.remote),
                                    [](SocketId) { return true; });
  return pick.generation != 0 ? pick : found;
}

void Stack::tcp_listen_input(SocketId lid, TcpSocket& l, const FourTuple& t,
                             const wire::TcpRepr& seg, Bytes payload, Instant now) {
  using Kind = tcp::ListenVerdict::Kind;
  const tcp::ChildTemplate tpl{l.opts, mtu_, ts_offset_for(t)};
  tcp::ListenVerdict v = l.listener->input(t, seg, payload, tpl, now);
  tcp_listen_counters(*l.listener);
  switch (v.kind) {
    case Kind::kIgnore:
      return;
    case Kind::kDrop:
      return count_drop(stats_, v.reason);
    case Kind::kReset:
      return tcp_send_reset_for(t, seg, static_cast<uint32_t>(payload.size()), now);
    case Kind::kReply:
      return tcp_transmit(t, v.reply->hdr, std::move(v.reply->payload), 0, now);
    case Kind::kChild:
      break;
  }
  TcpConnection* c = v.child;
  inherit_bind_flags(*c, l);
  conns_[t] = TcpEntry{c, {}, lid};
  tcp_after(c, v.events, now);
  if (v.queued) mark_changed(lid);  // a SYN cookie's child: accept() may take it
}

void Stack::tcp_listen_counters(tcp::TcpListener& l) {
  const tcp::ListenCounters lc = l.take_counters();
  stats_.tcp.PassiveOpens += lc.passive_opens;
  stats_.tcp.ListenOverflows += lc.listen_overflows;
  stats_.tcp.ListenDrops += lc.listen_drops;
  stats_.tcp.SyncookiesSent += lc.syncookies_sent;
  stats_.tcp.SyncookiesRecv += lc.syncookies_recv;
  stats_.tcp.SyncookiesFailed += lc.syncookies_failed;
}

tcp::TcpListener* Stack::tcp_listener_of(const TcpEntry& e) {
  if (e.listener.generation == 0) return nullptr;
  TcpSocket* l = tcp(e.listener);
  if (l == nullptr || !l->listening() || !l->listener->owns(e.conn)) return nullptr;
  return l->listener.get();
}

void Stack::tcp_after(TcpConnection* c, ConnEvents ev, Instant now, SocketId caller) {
  auto it = conns_.find(c->tuple());
  TcpEntry* e = it != conns_.end() && it->second.conn == c ? &it->second : nullptr;
  const uint64_t owner = e != nullptr ? e->owner.raw() : caller.raw();
  for (auto& seg : c->outbox()) {
    if (seg.retransmit) ++stats_.tcp.RetransSegs;
    tcp_transmit(c->tuple(), seg.hdr, std::move(seg.payload), owner, now, c->options().ttl,
                 c->options().tos);
  }
  c->outbox().clear();
  const tcp::ConnCounters cc = c->take_counters();
  stats_.tcp.TCPZeroWindowProbesRecv += cc.zero_window_probes_recv;
  stats_.tcp.TCPChallengeACK += cc.challenge_acks;
  stats_.tcp.TCPWinProbe += cc.window_probes;
  // Any call may change what the socket reports; readiness is recomputed
  // when asked (tcp_readiness), so marking it is enough.
  if (caller.generation != 0) mark_changed(caller);
  // A connection that left the table (a socket keeps its closed one, or
  // one whose 4-tuple a new SYN reopened) has no timers and no listener.
  if (e == nullptr) return;
  if (e->listener.generation != 0) tcp_child_events(*e, ev, now);
  if ((ev & tcp::conn_event::kClosed) != 0) {
    // Counted once, when the connection leaves the table.
    if (c->was_reset() && e->owner.generation != 0) ++stats_.tcp.EstabResets;
    tcp_retire(c->tuple());
    return;
  }
  const Instant d = c->next_deadline();
  if (d < e->heap_at) {
    e->heap_at = d;
    tcp_timers_.push_back(TimerEntry{d, c->tuple()});
    std::push_heap(tcp_timers_.begin(), tcp_timers_.end(), std::greater<>());
  }
  if (e->owner.generation != 0) mark_changed(e->owner);
}

void Stack::tcp_child_events(const TcpEntry& e, ConnEvents ev, Instant now) {
  tcp::TcpListener* l = tcp_listener_of(e);
  if (l == nullptr) return;
  const uint8_t defer = tcp(e.listener)->sockopts.defer_accept;
  if ((ev & tcp::conn_event::kEstablished) != 0 && (ev & tcp::conn_event::kClosed) == 0 &&
      l->established(e.conn, defer, now)) {
    // The handshake completed: from the SYN queue to the accept queue.
    mark_changed(e.listener);
    if (l->deferred(e.conn) &&
        std::find(deferring_.begin(), deferring_.end(), e.listener) == deferring_.end()) {
      deferring_.push_back(e.listener);
    }
  } else if ((ev & tcp::conn_event::kReadable) != 0 && l->deferred(e.conn)) {
    // Data, or the end of the stream, on a deferred connection makes its
    // listener readable.
    mark_changed(e.listener);
  }
}

void Stack::tcp_retire(const FourTuple& t) {
  auto it = conns_.find(t);
  if (it == conns_.end()) return;
  const TcpEntry e = it->second;
  tcp::TcpListener* l = tcp_listener_of(e);
  conns_.erase(it);
  if (e.owner.generation != 0) {
    // The socket keeps the closed connection to report EOF or the error.
    mark_changed(e.owner);
    return;
  }
  if (l != nullptr) {
    if (l->remove(e.conn)) mark_changed(e.listener);  // destroys it
    return;
  }
  orphans_.erase(e.conn);  // destroys it
}

void Stack::run_tcp_timers(Instant now) {
  tcp_due_.clear();
  while (!tcp_timers_.empty() && tcp_timers_.front().at <= now) {
    std::pop_heap(tcp_timers_.begin(), tcp_timers_.end(), std::greater<>());
    TimerEntry e = tcp_timers_.back();
    tcp_timers_.pop_back();
    auto it = conns_.find(e.tuple);
    if (it == conns_.end() || it->second.heap_at != e.at) continue;  // stale entry
    it->second.heap_at = kNever;
    tcp_due_.push_back(it->second.conn);
  }
  for (TcpConnection* c : tcp_due_) tcp_after(c, c->on_timer(now), now);
  tcp_due_.clear();
}

void Stack::tcp_icmp_error(const FourTuple& t, std::optional<SeqNum> quoted_seq, Error e, bool fatal,
                           bool frag_needed, uint16_t mtu, Instant now) {
  (void)fatal;  // TCP treats every ICMP error as soft once established
  auto it = conns_.find(t);
  if (it == conns_.end()) return;
  TcpConnection* c = it->second.conn;
  if (quoted_seq && !c->icmp_quote_in_window(*quoted_seq)) {
    // RFC 5927 4.1 / RFC 5961: the quoted segment is not one in flight.
    ++stats_.tcp.OutOfWindowIcmps;
    return;
  }
  tcp_after(c, c->icmp_error(e, mtu, frag_needed, now), now);
  flush(now);
}

bool Stack::has_pending_output() const {
  if (arp_.queued() > 0) return true;
  for (const auto& [t, e] : conns_) {
    const TcpConnection* c = e.conn;
    switch (c->state()) {
      case TcpState::kSynSent:
      case TcpState::kFinWait1:
      case TcpState::kClosing:
      case TcpState::kLastAck:
        return true;
      case TcpState::kEstablished:
      case TcpState::kCloseWait:
        if (c->send_queue() > 0) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

// ---- options and introspection --------------------------------------------

Result<> Stack::tcp_set_option(SocketId s, SockOpt opt, int value) {
  TcpSocket& t = *tcp(s);
  tcp::ConnOptions& o = t.conn ? t.conn->options() : t.opts;
  auto secs = [](int v) { return Duration(std::chrono::seconds(v)); };
  switch (opt) {
    case SockOpt::kReuseAddr: t.reuse_addr = value != 0; break;
    // Read when the socket binds and listens, and when others bind over
    // it (Linux sk_reuseport); a listener stays in its group.
    case SockOpt::kReusePort: t.reuse_port = value != 0; break;
    case SockOpt::kBroadcast: break;  // accepted and meaningless for TCP, as on Linux
    case SockOpt::kRcvBuf: {
      o.rcvbuf = sock_buf_size(value, false, cfg_.core.rmem_max, kMinRcvBuf);
      break;
    }
    case SockOpt::kSndBuf: {
      o.sndbuf = sock_buf_size(value, false, cfg_.core.wmem_max, kMinSndBuf);
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
    t.conn->options_changed(last_now_);
    tcp_after(t.conn.get(), 0, last_now_, s);
    flush(last_now_);
  }
  return {};
}

Result<int> Stack::tcp_get_option(SocketId s, SockOpt opt) const {
  const TcpSocket& t = *tcp(s);
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
      o.rcvbuf = sock_buf_size(value, true, 0, kMinRcvBuf);
      return {};
    case SockOpt::kSndBufForce:
      o.sndbuf = sock_buf_size(value, true, 0, kMinSndBuf);
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

uint32_t Stack::tcp_readiness(const TcpSocket& t) const {
  using namespace readiness;
  if (t.listening()) return t.listener->acceptable(last_now_) ? kReadable : 0;
  // An unconnected socket: Linux poll reports POLLOUT | POLLHUP.
  if (!t.conn) return kWritable | kHangup | (t.error ? kError : 0u);
  uint32_t r = t.conn->readiness();
  const bool ended = (r & (kReadHangup | kHangup | kError)) != 0;
  if (t.conn->readable() > 0) r |= kBytes;
  // Both directions shut (Linux SHUTDOWN_MASK): POLLHUP.
  const TcpState sent_fin = t.conn->state();
  if ((r & kReadHangup) != 0 &&
      (sent_fin == TcpState::kFinWait1 || sent_fin == TcpState::kFinWait2 || sent_fin == TcpState::kClosing ||
       sent_fin == TcpState::kLastAck || sent_fin == TcpState::kTimeWait)) {
    r |= kHangup;
  }
  // SO_RCVLOWAT (Linux tcp_poll -> tcp_stream_is_readable): fewer bytes
  // than the mark are not readable yet, unless the stream ended or failed.
  // Never more than the receive buffer holds, or it would never be.
  const size_t capacity = t.conn->options().rcvbuf != 0 ? t.conn->options().rcvbuf : cfg_.tcp.rcvbuf;
  const size_t lowat = std::min<size_t>(static_cast<size_t>(t.sockopts.rcvlowat), capacity);
  if ((r & kReadable) != 0 && !ended && t.conn->readable() < lowat) r &= ~kReadable;
  // TCP_NOTSENT_LOWAT (tcp_stream_memory_free with wake = 1): writable
  // while fewer than half the mark's bytes wait unsent.
  const TcpState st = t.conn->state();
  if (t.sockopts.notsent_lowat != 0 && (r & kWritable) != 0 && !ended &&
      (st == TcpState::kEstablished || st == TcpState::kCloseWait) &&
      t.conn->notsent() * 2 >= t.sockopts.notsent_lowat) {
    r &= ~kWritable;
  }
  return r;
}

Instant Stack::defer_deadline() const {
  Instant t = kNever;
  for (SocketId lid : deferring_) {
    const TcpSocket* l = tcp(lid);
    if (l != nullptr && l->listening()) t = std::min(t, l->listener->defer_deadline());
  }
  return t;
}

void Stack::run_defer_timers(Instant now) {
  // A listener whose deferrals end becomes readable.
  std::erase_if(deferring_, [&](SocketId lid) {
    TcpSocket* l = tcp(lid);
    if (l == nullptr || !l->listening()) return true;
    if (l->listener->run_defer_timers(now)) mark_changed(lid);
    return !l->listener->deferring();
  });
}

Result<tcp::TcpInfo> Stack::tcp_info(SocketId s, Instant now) const {
  const TcpSocket* t = tcp(s);
  if (t == nullptr) return udp(s) != nullptr ? Error::kOpNotSupp : Error::kBadFd;
  if (t->conn) {
    tcp::TcpInfo i = t->conn->info(now);
    // Linux tp->advmss loses the timestamp option's 12 bytes once
    // timestamps are on (tcp_rcv_synsent_state_process).
    if (i.ts_ok && i.advmss > 12) i.advmss -= 12;
    return i;
  }
  tcp::TcpInfo i;
  i.state = t->listening() ? TcpState::kListen : TcpState::kClosed;
  // A socket never connected reports TCP_MSS_DEFAULT (tcp_init_sock), a
  // listener nothing (tcp_get_info returns early).
  if (!t->listening()) {
    i.snd_mss = 536;
    return i;
  }
  i.unacked = static_cast<uint32_t>(t->listener->accept_queue_length());  // Linux: sk_ack_backlog
  i.sacked = t->listener->backlog();  // Linux: sk_max_ack_backlog
  return i;
}

Result<> Stack::set_congestion(SocketId s, std::string_view name, Instant now) {
  TcpSocket* t = tcp(s);
  if (t == nullptr) return udp(s) != nullptr ? Error::kOpNotSupp : Error::kBadFd;
  if (t->conn) return t->conn->set_congestion(name, now);
  auto probe = tcp::make_congestion_control(name, 1460, now);
  if (!probe) return Error::kNoProtoOpt;
  t->opts.congestion = std::string(name);
  return {};
}

Result<std::string> Stack::get_congestion(SocketId s) const {
  const TcpSocket* t = tcp(s);
  if (t == nullptr) return udp(s) != nullptr ? Error::kOpNotSupp : Error::kBadFd;
  if (t->conn) return std::string(t->conn->info(last_now_).congestion);
  return t->opts.congestion.empty() ? cfg_.tcp.congestion_control : t->opts.congestion;
}

Result<size_t> Stack::unsent_bytes(SocketId s) const {
  if (const TcpSocket* t = tcp(s)) {
    // Linux tcp_ioctl SIOCOUTQ: EINVAL listening, 0 during the handshake.
    if (t->listening()) return Error::kInval;
    if (!t->conn || !tcp::is_synchronized(t->conn->state())) return size_t{0};
    return t->conn->unsent();
  }
  if (udp(s) != nullptr) return size_t{0};
  return Error::kBadFd;
}

Result<size_t> Stack::notsent_bytes(SocketId s) const {
  if (const TcpSocket* t = tcp(s)) {
    // Linux tcp_ioctl SIOCOUTQNSD: write_seq - snd_nxt, like SIOCOUTQ.
    if (t->listening()) return Error::kInval;
    if (!t->conn || !tcp::is_synchronized(t->conn->state())) return size_t{0};
    return t->conn->notsent();
  }
  if (udp(s) != nullptr) return Error::kNoProtoOpt;  // udp_ioctl has no SIOCOUTQNSD
  return Error::kBadFd;
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

Result<Instant> Stack::last_data_received(SocketId s, Instant now) const {
  const TcpSocket* t = tcp(s);
  if (t == nullptr) return Error::kBadFd;
  if (!t->conn) return Error::kNotConn;
  return now - t->conn->info(now).last_data_recv;
}

}  // namespace shunt
