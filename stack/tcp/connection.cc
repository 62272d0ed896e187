// TcpConnection: opening, timers, the application interface, TCP_INFO.
#include "stack/tcp/connection.h"

#include <algorithm>

#include "stack/base/socket.h"
#include "stack/tcp/syn_options.h"

namespace shunt::tcp {
namespace {

constexpr uint32_t kTimestampOptionLen = 12;  // NOP NOP TS
constexpr uint32_t kQuickAcks = 16;  // ACK at once for the first segments (Linux quickack mode)
constexpr uint32_t kDefaultMss = 536;  // RFC 9293 3.7.1 / RFC 6691 (Linux TCP_MSS_DEFAULT)
constexpr uint32_t kMinMss = 88;       // Linux TCP_MIN_MSS

RttConfig rtt_config(const TcpConfig& c) {
  RttConfig r;
  r.min_rto = c.rto_min;
  r.max_rto = c.rto_max;
  r.initial_rto = c.rto_initial;
  return r;
}

}  // namespace

TcpConnection::TcpConnection(const TcpConfig& cfg, BufferPool& pool, const FourTuple& tuple,
                             const ConnOptions& opts, uint32_t mtu, uint64_t ts_offset, Instant now)
    : cfg_(cfg),
      pool_(pool),
      tuple_(tuple),
      opts_(opts),
      mtu_(mtu),
      ts_offset_(ts_offset),
      snd_(pool.blocks(), opts.sndbuf != 0 ? opts.sndbuf : cfg.sndbuf),
      rcv_(pool.blocks(), opts.rcvbuf != 0 ? opts.rcvbuf : cfg.rcvbuf, SeqNum(0)),
      rtt_(rtt_config(cfg)) {
  std::string_view cc = opts_.congestion.empty() ? std::string_view(cfg_.congestion_control)
                                                  : std::string_view(opts_.congestion);
  cc_ = make_congestion_control(cc, mss_, now);
  if (!cc_) cc_ = make_congestion_control(kDefaultCongestionControl, mss_, now);
  rcv_wscale_ = receive_wscale(cfg_, initial_rcvbuf());
  last_data_recv_ = last_data_sent_ = last_ack_recv_ = now;
}

TcpConnection::~TcpConnection() = default;

uint32_t TcpConnection::initial_rcvbuf() const {
  return opts_.rcvbuf != 0 ? opts_.rcvbuf : cfg_.rcvbuf;
}

void TcpConnection::set_state(TcpState s) {
  const TcpState from = state_;
  state_ = s;
  if (s == TcpState::kEstablished) {
    established_once_ = true;
    if (from == TcpState::kSynSent || from == TcpState::kSynReceived) {
      events_ |= conn_event::kEstablished;
    }
  }
  if (s == TcpState::kClosed && from != TcpState::kClosed) events_ |= conn_event::kClosed;
  if (s == TcpState::kClosed) {
    rto_at_ = persist_at_ = keepalive_at_ = delack_at_ = timewait_at_ = finwait2_at_ = kNever;
  }
}

void TcpConnection::recompute_mss() {
  // RFC 6691 / RFC 9293 3.7.1: the segment payload is the peer's MSS (536
  // when it sent none) and our own MTU limit, less the options we always
  // send (timestamps), like Linux's mss_cache.
  uint32_t m = std::min<uint32_t>(peer_mss_, offered_mss(mtu_, opts_.user_mss));
  if (ts_ok_) m -= kTimestampOptionLen;
  mss_ = std::max<uint32_t>(m, 64);
  cc_->set_mss(mss_);
}

uint32_t TcpConnection::adv_mss() const {
  // The largest payload the peer may put in one segment: the MSS our SYN
  // offered (segment_options) less the timestamp option every segment
  // then carries (Linux tp->advmss, which tcp_rcv_synsent_state_process
  // and tcp_openreq_init_rwin reduce by TCPOLEN_TSTAMP_ALIGNED).
  uint32_t m = offered_mss(mtu_, opts_.user_mss);
  if (ts_ok_ && m > kTimestampOptionLen + kMinMss) m -= kTimestampOptionLen;
  return m;
}

void TcpConnection::init_rcv_mss() {
  // Linux tcp_initialize_rcv_mss: before any data, a guess that errs low
  // ("overestimations make us ACKing less frequently than needed"):
  // min(advmss, send MSS, half the first window, 536), at least 88.
  // measure_rcv_mss() corrects it from the segments that arrive.
  const uint32_t first_window =
      static_cast<uint32_t>(std::min<size_t>(rcv_.receive_space(), 65535));
  const uint32_t hint = std::min({adv_mss(), mss_, first_window / 2, kDefaultMss});
  rcv_mss_ = std::max(hint, kMinMss);
  last_seg_size_ = 0;
}

ConnEvents TcpConnection::connect(SeqNum iss, Instant now) {
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = iss;
  recompute_mss();
  set_state(TcpState::kSynSent);
  send_syn(now);
  return take_events();
}

void TcpConnection::apply_syn_options(const wire::TcpOptions& o) {
  const SynNegotiation n = negotiate(cfg_, o);
  peer_mss_ = n.peer_mss;
  wscale_ok_ = n.wscale_ok;
  snd_wscale_ = n.snd_wscale;
  if (!wscale_ok_) rcv_wscale_ = 0;  // RFC 7323 2.2: both directions or neither
  ts_ok_ = n.ts_ok;
  if (ts_ok_) ts_recent_ = o.timestamps->tsval;
  sack_ok_ = n.sack_ok;
  recompute_mss();
  init_rcv_mss();
}

ConnEvents TcpConnection::accept_syn(const wire::TcpRepr& syn, SeqNum iss, Instant now) {
  passive_ = true;
  irs_ = syn.seq;
  rcv_ = RecvBuffer(pool_.blocks(), initial_rcvbuf(), irs_ + 1);
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = iss;
  apply_syn_options(syn.options);
  ts_recent_stamp_ = now;
  // RFC 9293 3.10.7.2: SND.WND from the SYN (never scaled in a SYN).
  snd_wnd_ = syn.window;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = syn.seq;
  snd_wl2_ = iss;
  set_state(TcpState::kSynReceived);
  send_syn(now);
  return take_events();
}

ConnEvents TcpConnection::accept_cookie(const wire::TcpRepr& ack, SeqNum iss, uint16_t mss,
                                        std::optional<uint8_t> wscale, bool sack, Instant now) {
  passive_ = true;
  irs_ = ack.seq - 1;
  rcv_ = RecvBuffer(pool_.blocks(), initial_rcvbuf(), ack.seq);
  iss_ = iss;
  snd_una_ = snd_nxt_ = snd_max_ = iss + 1;
  wire::TcpOptions o;
  o.mss = mss;
  o.window_scale = wscale;
  o.sack_permitted = sack;
  if (ack.options.timestamps) o.timestamps = wire::TcpOptions::Timestamps{ack.options.timestamps->tsval, 0};
  apply_syn_options(o);
  ts_recent_stamp_ = now;
  rcv_adv_ = rcv_nxt() + std::min<uint32_t>(static_cast<uint32_t>(rcv_.window()), 65535);
  snd_wnd_ = uint32_t{ack.window} << snd_wscale_;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = ack.seq;
  snd_wl2_ = ack.ack;
  // The cookie SYN-ACK acknowledged the peer's SYN: RCV.NXT as last
  // acknowledged (the acceptability test and RFC 7323 4.3 use it).
  last_ack_sent_ = ack.seq;
  set_state(TcpState::kEstablished);
  quickacks_ = kQuickAcks;
  if (opts_.keepalive) keepalive_at_ = now + keepalive_idle();
  // The caller then feeds the ACK itself to input(): it may carry data.
  return take_events();
}

// ---- timers -------------------------------------------------------------

Instant TcpConnection::next_deadline() const {
  return std::min({rto_at_, persist_at_, keepalive_at_, delack_at_, timewait_at_, finwait2_at_});
}

Duration TcpConnection::keepalive_idle() const {
  return opts_.keepidle != Duration::zero() ? opts_.keepidle : cfg_.keepalive_time;
}

ConnEvents TcpConnection::on_timer(Instant now) {
  run_timers(now);
  return take_events();
}

void TcpConnection::run_timers(Instant now) {
  if (timewait_at_ <= now) {
    // RFC 9293 3.10.8: 2*MSL passed, delete the TCB.
    set_state(TcpState::kClosed);
    return;
  }
  if (finwait2_at_ <= now) {
    // An orphan waiting for the peer's FIN for ever (Linux tcp_fin_timeout).
    set_state(TcpState::kClosed);
    return;
  }
  if (delack_at_ <= now) {
    delack_at_ = kNever;
    send_ack(now);
  }
  if (rto_at_ <= now) {
    rto_at_ = kNever;
    on_rto(now);
    if (done()) return;
  }
  if (persist_at_ <= now) {
    persist_at_ = kNever;
    const SeqNum data_end = snd_una_ + static_cast<uint32_t>(snd_.size());
    const SeqNum wnd_end = snd_una_ + snd_wnd_;
    if (snd_nxt_ < data_end && snd_nxt_ < wnd_end) {
      // The window is open but data waits with nothing in flight: held by
      // sender SWS avoidance (a window below one MSS and half the largest
      // offered), TCP_CORK or MSG_MORE. RFC 9293 3.8.6.2.1's override
      // timeout: send what fits. (Linux does this on the same timer,
      // tcp_write_wakeup, which is also TCP_CORK's 200 ms ceiling.)
      const uint32_t len = std::min<uint32_t>(
          {static_cast<uint32_t>(data_end - snd_nxt_), static_cast<uint32_t>(wnd_end - snd_nxt_),
           current_mss()});
      uint8_t flags = wire::tcp_flag::kAck;
      if (snd_nxt_ + len == data_end) flags |= wire::tcp_flag::kPsh;
      send_segment(snd_nxt_, len, flags, now, false);
      if (!ts_ok_ && !rtt_probe_) rtt_probe_ = std::make_pair(snd_nxt_ + len, now);
      snd_nxt_ += len;
      if (snd_nxt_ > snd_max_) snd_max_ = snd_nxt_;
      arm_rto(now);
      output(now);  // a FIN that may follow
    } else {
      // RFC 9293 3.8.6.1: probe a zero window. Like Linux, the probe is an
      // ACK with an old sequence number: it carries no data and makes the
      // peer answer with its current window.
      ++probes_;
      uint32_t limit = orphan_ ? cfg_.orphan_retries : cfg_.retries2;
      if (probes_ > limit) {
        fail(soft_error_.value_or(Error::kTimedOut), now, true);
        return;
      }
      send_segment(snd_una_ - 1, 0, wire::tcp_flag::kAck, now, false);
      ++counters_.window_probes;
      persist_backoff_ = std::min(persist_backoff_ * 2, cfg_.persist_max);
      persist_at_ = now + persist_backoff_;
    }
  }
  if (keepalive_at_ <= now) {
    keepalive_at_ = kNever;
    if (opts_.keepalive && (state_ == TcpState::kEstablished || state_ == TcpState::kCloseWait)) {
      Duration intvl = opts_.keepintvl != Duration::zero() ? opts_.keepintvl : cfg_.keepalive_intvl;
      uint32_t cnt = opts_.keepcnt != 0 ? opts_.keepcnt : cfg_.keepalive_probes;
      // RFC 1122 4.2.3.6: probe only when nothing else is in flight or
      // queued (Linux: packets_out or a non-empty write queue; a zero
      // window has the persist timer).
      // The idle time counts from the last segment received (Linux
      // keepalive_time_elapsed): an answered probe, or any traffic,
      // starts a new idle period instead of the next probe.
      const Instant heard = std::max(last_ack_recv_, last_data_recv_);
      if (snd_una_ != snd_max_ || snd_.size() != 0) {
        keepalive_at_ = now + keepalive_idle();
      } else if (probes_ == 0 && now - heard < keepalive_idle()) {
        keepalive_at_ = heard + keepalive_idle();
      } else {
        if (probes_ >= cnt) {
          fail(soft_error_.value_or(Error::kTimedOut), now, true);
          return;
        }
        ++probes_;
        send_segment(snd_una_ - 1, 0, wire::tcp_flag::kAck, now, false);
        keepalive_at_ = now + intvl;
      }
    }
  }
}

// ---- the application ----------------------------------------------------

Result<size_t> TcpConnection::send(Bytes data, bool more, Instant now) {
  if (error_) {
    Error e = *error_;
    error_.reset();
    reset_reported_ = true;
    return e;
  }
  switch (state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
      // Linux lets a non-blocking connect's caller queue data only once
      // established: sendmsg waits (EAGAIN for non-blocking).
      return Error::kAgain;
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      break;
    default:
      // Closed (refused, reset, or never connected), or closing: EPIPE
      // (Linux sk_stream_wait_connect / sk_stream_error).
      return Error::kPipe;
  }
  if (fin_queued_) return Error::kPipe;
  if (data.empty()) return size_t{0};
  size_t n = snd_.append(data);
  if (n == 0) return Error::kAgain;
  (void)more;  // MSG_MORE behaves like a momentary cork
  bool saved_cork = opts_.cork;
  if (more) opts_.cork = true;
  output(now);
  opts_.cork = saved_cork;
  return n;
}

Result<size_t> TcpConnection::recv(MutableBytes out, bool peek, Instant now) {
  if (rcv_.readable() > 0 && !shut_rd_) {
    const size_t n = rcv_.read(out, peek);
    if (!peek && n > 0) cleanup_rbuf(now);
    return n;
  }
  if (error_) {
    Error e = *error_;
    error_.reset();
    reset_reported_ = true;
    return e;
  }
  if (shut_rd_ || fin_received_) return size_t{0};
  switch (state_) {
    case TcpState::kClosed:
      return established_once_ || reset_ ? Result<size_t>(size_t{0}) : Result<size_t>(Error::kNotConn);
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      return Error::kAgain;
    default:
      return size_t{0};
  }
}

void TcpConnection::cleanup_rbuf(Instant now) {
  // The application took data: the ACK it may owe the peer now, like
  // Linux tcp_cleanup_rbuf.
  if (!is_synchronized(state_) || state_ == TcpState::kTimeWait) return;
  // A delayed ACK is pending and more than one full segment is
  // unacknowledged (one GSO aggregate is many): send it now (RFC 5681
  // 4.2, at least every second full-sized segment).
  if (delack_at_ != kNever && static_cast<uint32_t>(rcv_nxt() - last_ack_sent_) > rcv_mss_) {
    send_ack(now);
    return;
  }
  // No window update once the peer sent its FIN: it will send no more.
  if (fin_received_) return;
  // RFC 9293 3.8.6.2.2 / RFC 1122 4.2.3.3: tell the peer when reading
  // opened the window "significantly". Linux's test: the window we can
  // offer now (after receiver SWS avoidance, select_window) is not zero
  // and at least twice the one the peer holds. A closed window therefore
  // reopens on the first read that frees min(buffer/2, MSS), whatever
  // the size of the reads; an open one is not announced again on every
  // read (an ACK repeating the window is a duplicate ACK to the peer,
  // RFC 5681 2). The window the peer holds is clamped at 0
  // (receive_window): RCV.NXT may be past RCV.ADV by the rounding of a
  // scaled edge, and the unsigned difference used to read as 4 GiB.
  const uint64_t now_wnd = receive_window();
  const uint64_t clamp = std::min<uint64_t>(rcv_.capacity(), uint64_t{65535} << rcv_wscale_);
  if (2 * now_wnd > clamp) return;  // it cannot double any more
  const WindowChoice w = select_window();
  // What the field will say: scaling truncates.
  const uint64_t new_wnd = w.hold ? now_wnd : (uint64_t{w.win} >> rcv_wscale_) << rcv_wscale_;
  if (new_wnd != 0 && new_wnd >= 2 * now_wnd) send_ack(now);
}

Result<> TcpConnection::shutdown(bool read, bool write, Instant now) {
  if (state_ == TcpState::kSynSent || state_ == TcpState::kClosed) return Error::kNotConn;
  if (read) shut_rd_ = true;
  if (write && !fin_queued_) {
    // RFC 9293 3.10.4 CLOSE: queue a FIN after the data.
    fin_queued_ = true;
    if (state_ == TcpState::kEstablished || state_ == TcpState::kSynReceived) {
      set_state(TcpState::kFinWait1);
    } else if (state_ == TcpState::kCloseWait) {
      set_state(TcpState::kLastAck);
    }
    output(now);
  }
  return {};
}

ConnEvents TcpConnection::close(bool linger_zero, Instant now) {
  orphan_ = true;
  switch (state_) {
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
      set_state(TcpState::kClosed);
      return take_events();
    default:
      break;
  }
  // Linux tcp_close: unread data (RFC 2525 2.17) or SO_LINGER {on, 0}
  // abort with a RST instead of a FIN.
  if (linger_zero || rcv_.readable() > 0) return abort(now);
  shut_rd_ = true;
  if (!fin_queued_) {
    (void)shutdown(true, true, now);
  }
  if (state_ == TcpState::kFinWait2 && finwait2_at_ == kNever) finwait2_at_ = now + cfg_.fin_timeout;
  return take_events();
}

ConnEvents TcpConnection::abort(Instant now) {
  if (is_synchronized(state_) || state_ == TcpState::kSynReceived) {
    if (state_ != TcpState::kTimeWait) send_rst(snd_max_, now);
  }
  reset_ = true;
  set_state(TcpState::kClosed);
  return take_events();
}

void TcpConnection::fail(Error e, Instant now, bool send_reset) {
  if (send_reset && state_ != TcpState::kSynSent && state_ != TcpState::kClosed) {
    send_rst(snd_max_, now);
  }
  error_ = e;
  reset_ = true;
  set_state(TcpState::kClosed);
}

std::optional<Error> TcpConnection::take_error() {
  std::optional<Error> e = error_;
  error_.reset();
  return e;
}

uint32_t TcpConnection::readiness() const {
  uint32_t r = 0;
  if (error_) r |= readiness::kError;
  switch (state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
      break;
    case TcpState::kClosed:
      r |= readiness::kHangup | readiness::kReadable | readiness::kReadHangup;
      if (established_once_ || reset_) r |= readiness::kWritable;
      break;
    default: {
      if (rcv_.readable() > 0 || fin_received_ || shut_rd_) r |= readiness::kReadable;
      if (fin_received_ || shut_rd_) r |= readiness::kReadHangup;
      bool can_write = (state_ == TcpState::kEstablished || state_ == TcpState::kCloseWait) &&
                       !fin_queued_;
      // Linux sk_stream_is_writeable: free space at least half of what is queued.
      if (!can_write || snd_.space() >= std::max<size_t>(snd_.size() / 2, 1)) {
        r |= readiness::kWritable;
      }
      if (fin_received_ && fin_queued_) r |= readiness::kHangup;
      break;
    }
  }
  return r;
}

size_t TcpConnection::unsent() const { return snd_.size(); }

std::optional<uint32_t> TcpConnection::ts_recent() const {
  if (!ts_ok_) return std::nullopt;
  return ts_recent_;
}

void TcpConnection::options_changed(Instant now) {
  if (opts_.sndbuf != 0) snd_.set_capacity(opts_.sndbuf);
  if (opts_.rcvbuf != 0) rcv_.set_capacity(opts_.rcvbuf);
  if (opts_.quickack) {
    quickacks_ = kQuickAcks;
    opts_.quickack = false;
  }
  if (opts_.keepalive && keepalive_at_ == kNever && is_synchronized(state_)) {
    keepalive_at_ = now + keepalive_idle();
  }
  if (!opts_.keepalive) keepalive_at_ = kNever;
  if (is_synchronized(state_)) output(now);
}

Result<> TcpConnection::set_congestion(std::string_view name, Instant now) {
  auto cc = make_congestion_control(name, mss_, now);
  if (!cc) return Error::kNoProtoOpt;  // Linux: ENOENT; the preload maps it
  cc_ = std::move(cc);
  opts_.congestion = std::string(name);
  return {};
}

TcpInfo TcpConnection::info(Instant now) const {
  TcpInfo i = stats_;
  i.state = state_;
  i.ca_state = in_loss_ ? 4 : in_recovery_ ? 3 : dupacks_ > 0 ? 1 : 0;
  i.retransmits = retransmits_;
  i.probes = probes_;
  i.backoff = rtt_.backoff_count();
  i.ts_ok = ts_ok_;
  i.sack_ok = sack_ok_;
  i.wscale_ok = wscale_ok_;
  i.snd_wscale = snd_wscale_;
  i.rcv_wscale = rcv_wscale_;
  i.rto = rtt_.rto();
  i.ato = cfg_.delack_min;
  i.rtt = rtt_.srtt();
  i.rttvar = rtt_.rttvar();
  i.min_rtt = rtt_.min_rtt();
  i.snd_mss = mss_;
  i.rcv_mss = rcv_mss_;
  i.advmss = mtu_ - kIpTcpHeaders;
  i.unacked = (snd_max_ - snd_una_ + mss_ - 1) / mss_;
  i.sacked = (sacks_.sacked_bytes() + mss_ - 1) / mss_;
  i.snd_ssthresh = cc_->ssthresh() == UINT32_MAX ? 0x7fffffff : cc_->ssthresh() / mss_;
  i.snd_cwnd = cc_->cwnd() / mss_;
  i.snd_wnd = snd_wnd_;
  i.rcv_wnd = receive_window();
  i.rcv_space = static_cast<uint32_t>(rcv_.window());
  i.last_data_sent = now - last_data_sent_;
  i.last_data_recv = now - last_data_recv_;
  i.last_ack_recv = now - last_ack_recv_;
  uint32_t outstanding = snd_max_ - snd_una_;
  i.notsent_bytes = snd_.size() > outstanding ? static_cast<uint32_t>(snd_.size() - outstanding) : 0;
  i.congestion = cc_->name();
  return i;
}

}  // namespace shunt::tcp
