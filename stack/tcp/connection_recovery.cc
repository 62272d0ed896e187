// TcpConnection: ACK processing (RFC 9293 3.10.7.4 "fifth"), RTT samples
// (RFC 6298, RFC 7323 4), fast retransmit and recovery (RFC 5681 3.2,
// RFC 6582 NewReno, RFC 6675 SACK-based), retransmission timeout.
#include <algorithm>

#include "stack/tcp/connection.h"

namespace shunt::tcp {

bool TcpConnection::process_ack(const wire::TcpRepr& seg, uint32_t seg_len, Instant now) {
  const SeqNum ack = seg.ack;
  if (state_ == TcpState::kSynReceived) {
    // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT moves to ESTABLISHED; any
    // other ACK gets <SEQ=SEG.ACK><CTL=RST>.
    if (!(snd_una_ < ack && ack <= snd_max_)) {
      ++(ack > snd_max_ ? counters_.unsent_ack : counters_.old_ack);
      send_segment(ack, 0, wire::tcp_flag::kRst, now, false);
      return false;
    }
    set_state(TcpState::kEstablished);
    snd_wnd_ = uint32_t{seg.window} << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seg.seq;
    snd_wl2_ = ack;
    quickacks_ = 16;
    if (opts_.keepalive) keepalive_at_ = now + keepalive_idle();
  }
  // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT];
  // others are dropped with an ACK.
  if (ack > snd_max_ || ack < snd_una_ - std::max<uint32_t>(max_snd_wnd_, 1)) {
    ++(ack > snd_max_ ? counters_.unsent_ack : counters_.old_ack);
    send_challenge_ack(now);
    return false;
  }
  last_ack_recv_ = now;
  if (probes_ > 0 && state_ != TcpState::kTimeWait) probes_ = 0;

  uint32_t newly_sacked = 0;
  if (sack_ok_ && seg.options.sack_count > 0) {
    auto upd = sacks_.on_ack(seq_max(ack, snd_una_), snd_max_,
                             std::span<const wire::SackBlock>(seg.options.sack_blocks.data(),
                                                              seg.options.sack_count));
    newly_sacked = upd.newly_sacked;
  }

  const bool new_ack = ack > snd_una_;
  if (new_ack) {
    on_new_ack(ack, seg, now);
  } else if (ack == snd_una_ && snd_max_ != snd_una_ && seg_len == 0 &&
             ((uint32_t{seg.window} << snd_wscale_) == snd_wnd_ || newly_sacked > 0)) {
    // RFC 5681 2 (duplicate ACK), or RFC 6675's "ACK with new SACK info".
    on_dup_ack(seg, now);
  }
  update_window(seg, new_ack);

  const bool fin_acked = fin_sent_ && snd_una_ > fin_seq_;
  switch (state_) {
    case TcpState::kFinWait1:
      if (fin_acked) {
        set_state(TcpState::kFinWait2);
        if (orphan_) finwait2_at_ = now + cfg_.fin_timeout;
      }
      break;
    case TcpState::kClosing:
      if (fin_acked) enter_time_wait(now);
      break;
    case TcpState::kLastAck:
      if (fin_acked) {
        set_state(TcpState::kClosed);
        return false;
      }
      break;
    default:
      break;
  }
  return true;
}

void TcpConnection::on_new_ack(SeqNum ack, const wire::TcpRepr& seg, Instant now) {
  const uint32_t flight_before = snd_max_ - snd_una_;
  if (snd_una_ == iss_) {
    snd_una_ += 1;  // the SYN
    if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
  }
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(snd_.size());
  const uint32_t data_acked =
      seq_min(ack, data_end) > snd_una_ ? static_cast<uint32_t>(seq_min(ack, data_end) - snd_una_) : 0;
  snd_.consume(data_acked);
  stats_.bytes_acked += data_acked;

  // RTT: RFC 7323 4.2 (timestamps, every ACK of new data) or RFC 6298
  // with Karn's rule (the one timed segment, never a retransmission).
  // The timed segment gives a precise sample; timestamps (millisecond
  // ticks) cover what it cannot, e.g. ACKs of retransmissions (RFC 7323 4).
  std::optional<Duration> sample;
  if (rtt_probe_ && ack >= rtt_probe_->first) {
    sample = now - rtt_probe_->second;
    rtt_probe_.reset();
  } else if (ts_ok_ && seg.options.timestamps && seg.options.timestamps->tsecr != 0) {
    uint32_t ms = tsval(now) - seg.options.timestamps->tsecr;
    if (ms < 0x7fffffff) sample = std::chrono::milliseconds(ms);
  }
  if (sample) {
    rtt_.sample(*sample);
    if (*sample > Duration::zero() && data_acked > 0) {
      stats_.delivery_rate = static_cast<uint64_t>(
          static_cast<double>(std::min(flight_before, cc_->cwnd())) /
          std::chrono::duration<double>(*sample).count());
    }
  }
  // The backoff ends with the next valid RTT sample (Karn; sample()
  // resets it, as Linux does in tcp_ack_update_rtt); the count of
  // consecutive timeouts ends with any progress.
  retransmits_ = 0;

  const uint32_t acked = static_cast<uint32_t>(ack - snd_una_);
  snd_una_ = ack;
  if (snd_nxt_ < snd_una_) snd_nxt_ = snd_una_;
  sacks_.advance(snd_una_);

  if (in_recovery_) {
    if (ack >= recover_) {
      // RFC 6582 3.2 step 3 / RFC 6675 5: a full ACK ends recovery.
      in_recovery_ = false;
      dupacks_ = 0;
      cc_->on_recovery_exit(now);
    } else if (!sack_ok_) {
      // RFC 6582 3.2 step 4: a partial ACK: the next hole is lost too.
      uint32_t segs = (acked + mss_ - 1) / mss_;
      dupacks_ = dupacks_ > segs ? dupacks_ - segs : 0;
      retransmit_head(now);
    }
  } else {
    if (in_loss_ && ack >= recover_) in_loss_ = false;
    dupacks_ = 0;
    AckSample s;
    s.now = now;
    s.bytes_acked = acked;
    s.rtt = sample;
    s.bytes_in_flight = flight_before;
    // Not using the window (RFC 7661 "rate-limited"), as Linux's
    // tcp_is_cwnd_limited decides: cwnd grows if sending was cwnd-limited
    // over the last window or, in slow start, while cwnd is below twice the
    // most that was in flight (so it can reach what an ACK clock doubles).
    const bool cwnd_used = cwnd_limited_ || (cc_->in_slow_start() && cc_->cwnd() < 2 * max_flight_);
    s.app_limited = !cwnd_used;
    cc_->on_ack(s);
  }

  // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it.
  rto_at_ = kNever;
  if (snd_una_ != snd_max_) rto_at_ = now + rtt_.rto();
  if (opts_.keepalive) keepalive_at_ = now + keepalive_idle();
}

void TcpConnection::on_dup_ack(const wire::TcpRepr& seg, Instant now) {
  ++dupacks_;
  if (in_recovery_ || in_loss_) return;  // output() uses the new pipe/allowance
  // RFC 5681 3.2 / RFC 6675 5 (2): three duplicates, or SACK showing the
  // first unacknowledged segment lost, start fast retransmit.
  if (dupacks_ >= 3 || (sack_ok_ && sacks_.is_lost(snd_una_, mss_))) enter_recovery(now);
}

void TcpConnection::enter_recovery(Instant now) {
  in_recovery_ = true;
  recover_ = snd_max_;
  high_rxt_ = snd_una_;
  ++stats_.lost;
  cc_->on_congestion_event(now, snd_max_ - snd_una_);
  retransmit_head(now);
}

void TcpConnection::update_window(const wire::TcpRepr& seg, bool new_ack) {
  // RFC 9293 3.10.7.4: take the window from the newest segment (SND.WL1,
  // SND.WL2 order them). Like Linux tcp_may_update_window, an ACK of new
  // data also updates it whatever its sequence number: a peer whose pure
  // ACKs carry a sequence number below one it used before (its window
  // edge moved back) would otherwise never be heard again.
  if (new_ack || snd_wl1_ < seg.seq || (snd_wl1_ == seg.seq && snd_wl2_ <= seg.ack)) {
    uint32_t before = snd_wnd_;
    snd_wnd_ = uint32_t{seg.window} << snd_wscale_;
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    if (before == 0 && snd_wnd_ > 0) {
      persist_at_ = kNever;
      probes_ = 0;
    }
  }
}

void TcpConnection::on_rto(Instant now) {
  switch (state_) {
    case TcpState::kSynSent:
      // RFC 6298 5.5 backoff; tcp_syn_retries bounds the attempts.
      if (++retransmits_ > cfg_.syn_retries) {
        fail(soft_error_.value_or(Error::kTimedOut), now, false);
        return;
      }
      rtt_.backoff();
      send_syn(now);
      return;
    case TcpState::kSynReceived:
      if (++retransmits_ > cfg_.synack_retries) {
        if (passive_) {
          set_state(TcpState::kClosed);  // the half-open child just goes away
        } else {
          fail(Error::kTimedOut, now, false);
        }
        return;
      }
      rtt_.backoff();
      send_syn(now);
      return;
    default:
      break;
  }
  if (snd_una_ == snd_max_) return;  // everything was acknowledged meanwhile
  const uint32_t limit = orphan_ ? cfg_.orphan_retries : cfg_.retries2;
  const bool user_timeout_hit =
      opts_.user_timeout != Duration::zero() && now - last_ack_recv_ >= opts_.user_timeout;
  if (++retransmits_ > limit || user_timeout_hit) {
    fail(soft_error_.value_or(Error::kTimedOut), now, false);
    return;
  }
  // RFC 5681 (4): ssthresh and a loss window of one segment; RFC 6298
  // 5.4-5.6: back the timer off and retransmit the earliest segment; the
  // rest follows go-back-N as ACKs return (RFC 6675 5.1 allows dropping
  // the SACK information; we keep none after a timeout).
  // Only the first timeout of an episode lowers ssthresh (RFC 5681 (4):
  // "upon the first retransmission"); later ones only back off.
  if (retransmits_ == 1) cc_->on_rto(now, snd_max_ - snd_una_);
  in_loss_ = true;
  in_recovery_ = false;
  recover_ = snd_max_;
  dupacks_ = 0;
  sacks_.reset();
  high_rxt_ = snd_una_;
  rtt_.backoff();
  rtt_probe_.reset();
  snd_nxt_ = snd_una_;
  ++stats_.lost;
  output(now);
  arm_rto(now);
}

ConnEvents TcpConnection::icmp_error(Error e, uint16_t next_hop_mtu, bool frag_needed,
                                     Instant now) {
  if (frag_needed) {
    // RFC 1191: a smaller path MTU: shrink segments and resend at once,
    // never below min_pmtu (Linux: a smaller one is taken as min_pmtu).
    const uint32_t pmtu = std::max<uint32_t>(next_hop_mtu, cfg_.min_pmtu);
    if (next_hop_mtu >= 68 && pmtu < mtu_) {
      mtu_ = pmtu;
      recompute_mss();
      if (snd_una_ != snd_max_ && is_synchronized(state_)) {
        snd_nxt_ = snd_una_;
        output(now);
      }
    }
    return take_events();
  }
  if (state_ == TcpState::kSynSent || (state_ == TcpState::kSynReceived && !passive_)) {
    // Linux tcp_v4_err: during the handshake any destination-unreachable
    // fails the connect.
    fail(e, now, false);
    return take_events();
  }
  soft_error_ = e;
  return take_events();
}

}  // namespace shunt::tcp
