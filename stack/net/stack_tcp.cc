// The Stack's TCP glue: demultiplexing to connections and listeners,
// resets for closed ports, the connection timer heap and readiness. The
// protocol itself is in stack/tcp/ (connections, and the listener's queues
// and SYN cookies in listener.h); the TCP halves of the socket calls are
// in stack_tcp_calls.cc, ports and listener lookup in stack_tcp_ports.cc,
// socket options in stack_tcp_options.cc.
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
  if (t.listening()) return t.listener->acceptable() ? kReadable : 0;
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

}  // namespace shunt
