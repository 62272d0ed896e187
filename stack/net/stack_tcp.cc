// The Stack's TCP glue: demultiplexing to connections and listeners,
// resets for closed ports, the connection timer heap, and the TCP socket
// calls. The protocol itself is in stack/tcp/ (connections, and the
// listener's queues and SYN cookies in listener.h); ports and listener
// lookup are in stack_tcp_ports.cc, socket options in stack_tcp_options.cc.
#include <algorithm>
#include <functional>

#include "stack/base/bytes.h"
#include "stack/net/stack.h"
#include "stack/wire/tcp.h"

namespace shunt {

using tcp::ConnEvents;
using tcp::FourTuple;
using tcp::TcpConnection;
using tcp::TcpState;

namespace {

bool ts_newer(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }

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
  udp::UdpSocket* u = udp(s);
  if (u == nullptr) return Error::kBadFd;
  auto r = u->shutdown(read, write);
  udp_after(s, *u);
  return r;
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
    return stats_.count_drop(seg.error());
  }
  ++stats_.tcp.InSegs;
  if (in.link_broadcast || in.hdr.dst.is_multicast()) {
    return stats_.count_drop(DropReason::kTcpNoSocket);  // TCP is unicast only
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
  stats_.count_drop(DropReason::kTcpNoSocket);
  tcp_send_reset_for(t, *seg, static_cast<uint32_t>(data.size()), now);
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
      return stats_.count_drop(v.reason);
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
  tcp_conn_drops(cc);
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

void Stack::tcp_conn_drops(const tcp::ConnCounters& cc) {
  auto drops = [&](DropReason r, uint32_t n) { stats_.drops[static_cast<size_t>(r)] += n; };
  drops(DropReason::kTcpPaws, cc.paws_rejected);
  drops(DropReason::kTcpInvalidSequence, cc.bad_seq);
  drops(DropReason::kTcpInvalidSyn, cc.bad_syn);
  drops(DropReason::kTcpRstNotAtRcvNxt, cc.bad_rst);
  drops(DropReason::kTcpTooOldAck, cc.old_ack);
  drops(DropReason::kTcpAckUnsentData, cc.unsent_ack);
  drops(DropReason::kTcpNoAck, cc.no_ack);
  stats_.tcp.PAWSEstab += cc.paws_rejected;
  stats_.tcp.TCPSYNChallenge += cc.bad_syn;
  stats_.tcp.TCPACKSkippedPAWS += cc.ack_skipped_paws;
  stats_.tcp.TCPACKSkippedSeq += cc.ack_skipped_seq;
  stats_.tcp.TCPACKSkippedChallenge += cc.ack_skipped_challenge;
  stats_.tcp.TCPACKSkippedSynRecv += cc.ack_skipped_syn_recv;
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
