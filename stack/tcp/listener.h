// TcpListener: a socket in LISTEN (RFC 9293 3.10.7.2) with its two queues,
// as Linux's inet_connection_sock keeps them in icsk_accept_queue:
//
//   SYN queue     children in SYN-RECEIVED, one per SYN answered (Linux's
//                 request socks, counted in qlen); bounded by the backlog
//                 and tcp_max_syn_backlog.
//   accept queue  children whose handshake completed, in order, waiting
//                 for accept() (Linux rskq_accept_head, sk_ack_backlog);
//                 bounded by the backlog (sk_max_ack_backlog).
//
// When the SYN queue is full, a SYN is answered from a SYN cookie (RFC
// 4987 3.6) and nothing is kept; the ACK that returns the cookie makes an
// established child at once. TCP_DEFER_ACCEPT holds a child in the accept
// queue until it has data or its time is up.
//
// Unlike Linux, a SYN-RECEIVED child is a whole TcpConnection (it sends
// and retransmits its own SYN-ACK), so the only SYN-ACK built here is the
// cookie's, from the same option code (syn_options.h). The listener never
// talks to IP: it answers each segment with a verdict the Stack carries
// out, and the Stack puts the children in its 4-tuple table.
//
// Reading list: RFC 9293 3.10.7.2 (LISTEN), RFC 4987 (SYN flooding and
// cookies), RFC 7323 (timestamps carry the cookie's options); Linux
// net/ipv4/inet_connection_sock.c (inet_csk_accept, inet_csk_listen_stop),
// tcp_input.c (tcp_conn_request), syncookies.c; gVisor
// pkg/tcpip/transport/tcp/accept.go.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/tcp/connection.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/tcp_config.h"
#include "stack/wire/tcp.h"

namespace shunt::tcp {

// Events of a listener the owner adds to the stack-wide counters, drained
// with take_counters() like a connection's.
struct ListenCounters {
  uint64_t passive_opens = 0;      // Tcp PassiveOpens
  uint64_t listen_overflows = 0;   // TcpExt ListenOverflows: accept queue full
  uint64_t listen_drops = 0;       // TcpExt ListenDrops: SYNs dropped
  uint64_t syncookies_sent = 0;    // TcpExt SyncookiesSent
  uint64_t syncookies_recv = 0;    // TcpExt SyncookiesRecv
  uint64_t syncookies_failed = 0;  // TcpExt SyncookiesFailed
};

// What a child is made from: the listening socket's options (the child
// inherits them, Linux sk_clone_lock), the device MTU, and the timestamp
// offset of the 4-tuple.
struct ChildTemplate {
  const ConnOptions& opts;
  uint32_t mtu = 0;
  uint64_t ts_offset = 0;
};

// What the owner does with a segment the listener took.
struct ListenVerdict {
  enum class Kind : uint8_t {
    kIgnore,  // dropped; a counter (if any) is in ListenCounters
    kDrop,    // dropped for `reason`
    kReset,   // answer with a RST (RFC 9293 3.10.7.2: an ACK in LISTEN)
    kReply,   // send `reply` (a SYN cookie's SYN-ACK)
    kChild,   // `child` was made and is queued; its outbox holds what it sends
  };
  Kind kind = Kind::kIgnore;
  DropReason reason = DropReason::kTcpNoSocket;
  std::optional<OutSegment> reply;
  TcpConnection* child = nullptr;
  bool queued = false;  // the child is in the accept queue already (a SYN cookie's)
  ConnEvents events = 0;  // what opening the child did (the owner acts on them)

  static ListenVerdict make(Kind k) {
    ListenVerdict v;
    v.kind = k;
    return v;
  }
  static ListenVerdict drop(DropReason r) {
    ListenVerdict v = make(Kind::kDrop);
    v.reason = r;
    return v;
  }
  static ListenVerdict send(OutSegment s) {
    ListenVerdict v = make(Kind::kReply);
    v.reply = std::move(s);
    return v;
  }
  static ListenVerdict made(TcpConnection* c, bool queued, ConnEvents events) {
    ListenVerdict v = make(Kind::kChild);
    v.child = c;
    v.queued = queued;
    v.events = events;
    return v;
  }
};

class TcpListener {
 public:
  // The references outlive the listener (they are the Stack's).
  TcpListener(const TcpConfig& cfg, BufferPool& pool, const IsnGenerator& isn,
              const SynCookies& cookies);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // listen(2)'s backlog, already clamped to somaxconn.
  void set_backlog(uint32_t backlog) { backlog_ = backlog; }
  uint32_t backlog() const { return backlog_; }
  size_t accept_queue_length() const { return accept_queue_.size(); }  // sk_ack_backlog
  size_t syn_queue_length() const { return syn_queue_; }

  // ---- packet path -------------------------------------------------------
  // A segment for no connection, on this listener's address and port.
  ListenVerdict input(const FourTuple& t, const wire::TcpRepr& seg, Bytes payload,
                      const ChildTemplate& tpl, Instant now);
  // Linux tcp_check_req: the ACK completing a queued child's handshake is
  // dropped while the accept queue is full (counted as ListenOverflows);
  // the SYN-ACK is retransmitted and the client's ACK comes again.
  bool drop_handshake_ack(const TcpConnection& c, const wire::TcpRepr& seg);

  // ---- children ----------------------------------------------------------
  bool owns(const TcpConnection* c) const { return children_.count(c) != 0; }
  // A child's handshake completed: from the SYN queue to the accept queue
  // (false for a child that is there already). `defer_accept` is the
  // listener's TCP_DEFER_ACCEPT (defer_retransmits), which may hold it.
  bool established(TcpConnection* c, uint8_t defer_accept, Instant now);
  // Whether TCP_DEFER_ACCEPT still holds a queued child.
  bool deferred(const TcpConnection* c) const { return deferred_until_.count(c) != 0; }
  // A child that closed before accept(): forgotten (and destroyed). True
  // when it was in the accept queue (the listener's readiness changed).
  bool remove(TcpConnection* c);
  // accept(): the first child that may be accepted now, handed over.
  std::unique_ptr<TcpConnection> accept(Instant now);
  // Whether the listener is readable: a child is queued whose
  // TCP_DEFER_ACCEPT wait is over (its deadline is run by run_defer_timers,
  // like every other timer) or that has data or the end of its stream. No
  // time argument: readiness changes only at calls that have one.
  bool acceptable() const;
  // close() (Linux inet_csk_listen_stop): every child, handed over for the
  // owner to reset; the queues are empty afterwards.
  std::vector<std::unique_ptr<TcpConnection>> stop();

  // ---- TCP_DEFER_ACCEPT --------------------------------------------------
  Instant defer_deadline() const;
  // Ends the deferrals due by `now`; true when any ended.
  bool run_defer_timers(Instant now);
  bool deferring() const { return !deferred_until_.empty(); }

  ListenCounters take_counters() { return std::exchange(counters_, ListenCounters{}); }

 private:
  struct Child {
    std::unique_ptr<TcpConnection> conn;
    bool in_accept_queue = false;
  };
  bool accept_queue_full() const { return accept_queue_.size() > backlog_; }
  bool child_acceptable(const TcpConnection* c, Instant now) const;
  ListenVerdict cookie_ack(const FourTuple& t, const wire::TcpRepr& seg, Bytes payload,
                           const ChildTemplate& tpl, Instant now);
  OutSegment cookie_syn_ack(const FourTuple& t, const wire::TcpRepr& syn, const ChildTemplate& tpl,
                            Instant now) const;
  TcpConnection* add_child(const FourTuple& t, const ChildTemplate& tpl, bool in_accept_queue,
                           Instant now);

  const TcpConfig& cfg_;
  BufferPool& pool_;
  const IsnGenerator& isn_;
  const SynCookies& cookies_;
  uint32_t backlog_ = 0;
  std::unordered_map<const TcpConnection*, Child> children_;
  uint32_t syn_queue_ = 0;
  std::deque<TcpConnection*> accept_queue_;
  // TCP_DEFER_ACCEPT: when each queued child that sent nothing yet may be
  // accepted anyway.
  std::unordered_map<const TcpConnection*, Instant> deferred_until_;
  ListenCounters counters_;
};

// TCP_DEFER_ACCEPT's seconds kept as Linux keeps them, as a number of
// SYN-ACK retransmissions (secs_to_retrans / retrans_to_secs with
// TCP_TIMEOUT_INIT 1 s doubling up to TCP_RTO_MAX 120 s): 5 s reads back 7.
inline uint8_t defer_retransmits(int seconds) {
  if (seconds <= 0) return 0;
  int timeout = 1, period = 1, res = 1;
  while (seconds > period && res < 255) {
    ++res;
    timeout = std::min(timeout * 2, 120);
    period += timeout;
  }
  return static_cast<uint8_t>(res);
}
inline int defer_seconds(uint8_t retransmits) {
  if (retransmits == 0) return 0;
  int timeout = 1, period = 1;
  while (--retransmits != 0) {
    timeout = std::min(timeout * 2, 120);
    period += timeout;
  }
  return period;
}

}  // namespace shunt::tcp
