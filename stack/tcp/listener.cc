// TcpListener: LISTEN, the SYN and accept queues, SYN cookies (listener.h).
#include "stack/tcp/listener.h"

#include <algorithm>

#include "stack/tcp/syn_options.h"

namespace shunt::tcp {

using wire::tcp_flag::kAck;
using wire::tcp_flag::kFin;
using wire::tcp_flag::kRst;
using wire::tcp_flag::kSyn;

TcpListener::TcpListener(const TcpConfig& cfg, BufferPool& pool, const IsnGenerator& isn,
                         const SynCookies& cookies)
    : cfg_(cfg), pool_(pool), isn_(isn), cookies_(cookies) {}

TcpListener::~TcpListener() = default;

ListenVerdict TcpListener::input(const FourTuple& t, const wire::TcpRepr& seg, Bytes payload,
                                 const ChildTemplate& tpl, Instant now) {
  // RFC 9293 3.10.7.2, LISTEN. "First, check for a RST": ignore it.
  if (seg.has(kRst)) return {};
  // "Second, check for an ACK": any acknowledgment is bad in LISTEN and
  // gets a RST, unless it returns one of our SYN cookies (RFC 4987 3.6).
  if (seg.has(kAck)) {
    if (!seg.has(kSyn) && cfg_.syncookies) {
      ListenVerdict v = cookie_ack(t, seg, payload, tpl, now);
      if (v.kind != ListenVerdict::Kind::kReset) return v;
    }
    return ListenVerdict::make(ListenVerdict::Kind::kReset);
  }
  // "Fourth, other text or control": dropped.
  if (!seg.has(kSyn)) return {};
  // SYN+FIN opens nothing: no legitimate client sends it, scanners do (Linux
  // tcp_rcv_state_process in LISTEN: "if (th->fin) goto discard").
  if (seg.has(kFin)) return ListenVerdict::drop(DropReason::kTcpSynFin);

  // "Third, check for a SYN".
  if (accept_queue_full()) {
    // Linux tcp_conn_request: a full accept queue drops new SYNs.
    ++counters_.listen_overflows;
    ++counters_.listen_drops;
    return {};
  }
  if (syn_queue_ >= std::min(backlog_, cfg_.max_syn_backlog)) {
    if (!cfg_.syncookies) {
      ++counters_.listen_drops;
      return {};
    }
    // RFC 4987 3.6: answer from a cookie, keep nothing.
    ++counters_.syncookies_sent;
    return ListenVerdict::send(cookie_syn_ack(t, seg, tpl, now));
  }
  // A request in the SYN queue: the child sends its SYN-ACK and enters
  // SYN-RECEIVED (Linux keeps a request sock and builds the child later).
  TcpConnection* c = add_child(t, tpl, false, now);
  ++syn_queue_;
  ++counters_.passive_opens;
  return ListenVerdict::made(c, false, c->accept_syn(seg, isn_.isn(t, now), now));
}

ListenVerdict TcpListener::cookie_ack(const FourTuple& t, const wire::TcpRepr& seg, Bytes payload,
                                      const ChildTemplate& tpl, Instant now) {
  const SeqNum cookie = seg.ack - 1;
  const std::optional<uint16_t> mss = cookies_.check(t, seg.seq - 1, cookie, now);
  if (!mss) {
    ++counters_.syncookies_failed;
    return ListenVerdict::make(ListenVerdict::Kind::kReset);
  }
  if (accept_queue_full()) {
    ++counters_.listen_overflows;
    return {};
  }
  // Window scale and SACK ride in the low bits of our timestamp, which the
  // peer echoes (cookie_syn_ack); without timestamps they are lost.
  std::optional<uint8_t> wscale;
  bool sack = false;
  if (seg.options.timestamps) {
    const uint32_t echo = seg.options.timestamps->tsecr;
    if ((echo & 0xf) != 0xf) wscale = static_cast<uint8_t>(echo & 0xf);
    sack = (echo & 0x10) != 0;
  }
  TcpConnection* c = add_child(t, tpl, true, now);
  accept_queue_.push_back(c);
  ++counters_.syncookies_recv;
  ++counters_.passive_opens;
  ConnEvents ev = c->accept_cookie(seg, cookie, *mss, wscale, sack, now);
  // The ACK completing the handshake may carry data (and a FIN): the new
  // connection processes it like any segment (Linux cookie_v4_check, then
  // tcp_child_process).
  ev |= c->input(seg, payload, now);
  return ListenVerdict::made(c, true, ev);
}

OutSegment TcpListener::cookie_syn_ack(const FourTuple& t, const wire::TcpRepr& syn,
                                       const ChildTemplate& tpl, Instant now) const {
  OutSegment out;
  wire::TcpRepr& r = out.hdr;
  r.src_port = t.local.port;
  r.dst_port = t.remote.port;
  r.seq = cookies_.make(t, syn.seq, syn.options.mss.value_or(536), now);
  r.ack = syn.seq + 1;
  r.flags = kSyn | kAck;
  // The same options as any SYN-ACK, but window scale and SACK ride in the
  // low bits of our timestamp (as Linux's cookie_init_timestamp does):
  // without timestamps the cookie cannot keep them.
  SynNegotiation agreed = negotiate(cfg_, syn.options);
  if (!agreed.ts_ok) agreed.wscale_ok = agreed.sack_ok = false;
  const uint32_t rcvbuf = tpl.opts.rcvbuf != 0 ? tpl.opts.rcvbuf : cfg_.rcvbuf;
  const uint32_t ms = ts_clock(now, tpl.ts_offset);
  uint32_t tsval =
      (ms & ~0x3fu) | (agreed.wscale_ok ? agreed.snd_wscale : 0xfu) | (agreed.sack_ok ? 0x10u : 0u);
  // Linux cookie_init_timestamp: the options in the low bits must not put
  // the timestamp ahead of our clock, or the peer's PAWS (RFC 7323 5.3)
  // would drop our first real segments, whose TSval is the clock.
  if (static_cast<int32_t>(tsval - ms) > 0) tsval -= 0x40;
  r.window = syn_window(rcvbuf);
  r.options = syn_options(cfg_, agreed, offered_mss(tpl.mtu, tpl.opts.user_mss),
                          receive_wscale(cfg_, rcvbuf), tsval,
                          agreed.ts_ok ? syn.options.timestamps->tsval : 0);
  return out;
}

TcpConnection* TcpListener::add_child(const FourTuple& t, const ChildTemplate& tpl,
                                      bool in_accept_queue, Instant now) {
  auto conn =
      std::make_unique<TcpConnection>(cfg_, pool_, t, tpl.opts, tpl.mtu, tpl.ts_offset, now);
  TcpConnection* c = conn.get();
  children_.emplace(c, Child{std::move(conn), in_accept_queue});
  return c;
}

bool TcpListener::drop_handshake_ack(const TcpConnection& c, const wire::TcpRepr& seg) {
  if (c.state() != TcpState::kSynReceived || !seg.has(kAck) || seg.has(kRst) || seg.has(kSyn)) {
    return false;
  }
  if (!owns(&c) || !accept_queue_full()) return false;
  ++counters_.listen_overflows;
  return true;
}

bool TcpListener::established(TcpConnection* c, uint8_t defer_accept, Instant now) {
  auto it = children_.find(c);
  if (it == children_.end() || it->second.in_accept_queue) return false;
  it->second.in_accept_queue = true;
  if (syn_queue_ > 0) --syn_queue_;
  accept_queue_.push_back(c);
  if (defer_accept != 0) {
    // TCP_DEFER_ACCEPT (Linux tcp_check_req drops the bare ACK and waits):
    // not accepted before data comes or the time is up.
    deferred_until_[c] = now + std::chrono::seconds(defer_seconds(defer_accept));
  }
  return true;
}

bool TcpListener::remove(TcpConnection* c) {
  auto it = children_.find(c);
  if (it == children_.end()) return false;
  const bool queued = it->second.in_accept_queue;
  if (queued) {
    auto q = std::find(accept_queue_.begin(), accept_queue_.end(), c);
    if (q != accept_queue_.end()) accept_queue_.erase(q);
    deferred_until_.erase(c);
  } else if (syn_queue_ > 0) {
    --syn_queue_;
  }
  children_.erase(it);  // destroys it
  return queued;
}

bool TcpListener::child_acceptable(const TcpConnection* c, Instant now) const {
  auto it = deferred_until_.find(c);
  if (it == deferred_until_.end() || now >= it->second) return true;
  // Data, or the end of the stream, ends the wait.
  return c->readable() > 0 || c->state() != TcpState::kEstablished;
}

bool TcpListener::acceptable() const {
  return std::any_of(accept_queue_.begin(), accept_queue_.end(),
                     // Instant::min(): only waits the timers have already ended count.
                     [&](const TcpConnection* c) { return child_acceptable(c, Instant::min()); });
}

std::unique_ptr<TcpConnection> TcpListener::accept(Instant now) {
  // The first connection that may be accepted yet (TCP_DEFER_ACCEPT).
  auto q = std::find_if(accept_queue_.begin(), accept_queue_.end(),
                        [&](const TcpConnection* c) { return child_acceptable(c, now); });
  if (q == accept_queue_.end()) return nullptr;
  TcpConnection* c = *q;
  accept_queue_.erase(q);
  deferred_until_.erase(c);
  auto it = children_.find(c);
  std::unique_ptr<TcpConnection> conn = std::move(it->second.conn);
  children_.erase(it);
  return conn;
}

std::vector<std::unique_ptr<TcpConnection>> TcpListener::stop() {
  std::vector<std::unique_ptr<TcpConnection>> out;
  out.reserve(children_.size());
  for (auto& [ptr, child] : children_) out.push_back(std::move(child.conn));
  children_.clear();
  accept_queue_.clear();
  deferred_until_.clear();
  syn_queue_ = 0;
  return out;
}

Instant TcpListener::defer_deadline() const {
  Instant t = kNever;
  for (const auto& [c, until] : deferred_until_) t = std::min(t, until);
  return t;
}

bool TcpListener::run_defer_timers(Instant now) {
  return std::erase_if(deferred_until_, [&](const auto& e) { return e.second <= now; }) != 0;
}

}  // namespace shunt::tcp
