// TcpConnection: segment arrival (RFC 9293 3.10.7.3 SYN-SENT and 3.10.7.4
// the other states), with RFC 5961 (RST/SYN/ACK hardening) and RFC 7323
// (PAWS, timestamps).
#include <algorithm>

#include "stack/tcp/connection.h"

namespace shunt::tcp {
namespace {

using wire::tcp_flag::kAck;
using wire::tcp_flag::kFin;
using wire::tcp_flag::kRst;
using wire::tcp_flag::kSyn;

// RFC 7323 5.5: a timestamp older than 24 days is no longer a reference.
constexpr Duration kPawsIdle = std::chrono::hours(24 * 24);

// Timestamps compare modulo 2^32 like sequence numbers.
bool ts_before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

}  // namespace

ConnEvents TcpConnection::input(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  input_segment(seg, payload, now);
  return take_events();
}

void TcpConnection::input_segment(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  ++stats_.segs_in;
  if (!payload.empty()) ++stats_.data_segs_in;
  switch (state_) {
    case TcpState::kClosed:
    case TcpState::kListen:
      return;  // the owner answers for closed and listening sockets
    case TcpState::kSynSent:
      input_syn_sent(seg, payload, now);
      output(now);
      return;
    default:
      break;
  }

  const uint32_t seg_len =
      static_cast<uint32_t>(payload.size()) + (seg.has(kSyn) ? 1 : 0) + (seg.has(kFin) ? 1 : 0);

  // A retransmission of the peer's SYN in SYN-RECEIVED means our SYN-ACK
  // was lost: send it again (Linux tcp_check_req, rate-limited like an
  // out-of-window ACK). It lies below RCV.NXT, so the acceptability test
  // below would only answer it with a bare ACK, which a peer in SYN-SENT
  // drops (RFC 9293 3.10.7.3 "fifth").
  if (state_ == TcpState::kSynReceived && seg.has(kSyn) && !seg.has(kAck) && !seg.has(kRst) &&
      seg.seq == irs_) {
    if (last_oow_ack_ && now - *last_oow_ack_ < cfg_.invalid_ratelimit) {
      ++counters_.ack_skipped_syn_recv;
      return;
    }
    last_oow_ack_ = now;
    send_syn(now);
    return;
  }

  // RFC 7323 5.3 R1: PAWS before the sequence check.
  if (paws_reject(seg, now)) return;

  if (zero_window_probe(seg, payload)) ++counters_.zero_window_probes_recv;

  // First: the sequence number (RFC 9293 3.10.7.4 "first").
  if (!acceptable(seg, seg_len)) {
    if (seg.has(kSyn) && !seg.has(kRst)) {
      // RFC 5961 4.2 / RFC 9293 3.10.7.4 "fourth": a SYN gets a challenge
      // ACK "irrespective of the sequence number" (Linux syn_challenge).
      ++counters_.bad_syn;
      send_challenge_ack(now);
      return;
    }
    ++counters_.bad_seq;
    if (seg.has(kRst)) return;  // RFC 5961 3.2: dropped silently
    if (state_ == TcpState::kTimeWait && seg.has(kFin)) {
      // RFC 9293 3.10.7.4 "eighth", TIME-WAIT: the peer retransmitted its
      // FIN (our ACK was lost): acknowledge it and restart the 2 MSL
      // timeout. It lies below RCV.NXT, so it is handled here.
      timewait_at_ = now + cfg_.time_wait;
    }
    if (!send_oow_ack(now)) ++counters_.ack_skipped_seq;  // and drop
    return;
  }

  // Second: RST (RFC 5961 3.2): exactly RCV.NXT resets; anything else in
  // the window gets a challenge ACK.
  if (seg.has(kRst)) {
    if (seg.seq != rcv_nxt()) {
      ++counters_.bad_rst;
      send_challenge_ack(now);
      return;
    }
    switch (state_) {
      case TcpState::kSynReceived:
        // A passive open goes back to LISTEN: for us, the half-open child
        // disappears; an active one (simultaneous open) is refused.
        if (passive_) {
          reset_ = true;
          set_state(TcpState::kClosed);
        } else {
          fail(Error::kConnRefused, now, false);
        }
        return;
      case TcpState::kEstablished:
      case TcpState::kFinWait1:
      case TcpState::kFinWait2:
      case TcpState::kCloseWait:
        // RFC 9293: "any outstanding RECEIVEs and SEND should receive reset
        // responses"; Linux reports EPIPE instead of ECONNRESET in CLOSE-WAIT.
        fail(state_ == TcpState::kCloseWait ? Error::kPipe : Error::kConnReset, now, false);
        return;
      default:  // CLOSING, LAST-ACK, TIME-WAIT
        set_state(TcpState::kClosed);
        return;
    }
  }

  // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK. (A
  // retransmitted SYN in SYN-RECEIVED got the SYN-ACK again above.)
  if (seg.has(kSyn)) {
    ++counters_.bad_syn;
    send_challenge_ack(now);
    return;
  }

  // Fifth: the ACK field.
  if (!seg.has(kAck)) {
    ++counters_.no_ack;
    return;
  }
  if (!process_ack(seg, seg_len, now)) return;
  if (done()) return;

  update_ts_recent(seg, seg_len, now);

  // Seventh: segment text; eighth: FIN.
  input_text(seg, payload, now);
  if (done()) return;
  output(now);
}

bool TcpConnection::paws_reject(const wire::TcpRepr& seg, Instant now) {
  if (!ts_ok_ || !seg.options.timestamps || seg.has(kRst)) return false;
  // Like Linux (TCP_PAWS_WINDOW), a timestamp one tick behind passes:
  // segments reordered within a millisecond are not old duplicates.
  if (!ts_before(seg.options.timestamps->tsval + 1, ts_recent_)) return false;
  if (now - ts_recent_stamp_ > kPawsIdle) {
    // RFC 7323 5.5: an idle connection's ts_recent is stale, not a reference.
    ts_recent_ = seg.options.timestamps->tsval;
    ts_recent_stamp_ = now;
    return false;
  }
  // RFC 7323 5.3 R1: an old duplicate: acknowledge and drop.
  ++counters_.paws_rejected;
  if (!send_oow_ack(now)) ++counters_.ack_skipped_paws;
  return true;
}

bool TcpConnection::zero_window_probe(const wire::TcpRepr& seg, Bytes payload) const {
  // RFC 9293 3.8.6.1: a sender facing a zero window probes it from its
  // persist timer. Linux and the BSDs send an empty segment one below
  // RCV.NXT (tcp_xmit_probe_skb; a keepalive looks the same), RFC 9293
  // describes new data at RCV.NXT. Either, while the window we advertised
  // is closed, is a probe: a peer that must probe is waiting for a window
  // update we did not send in time. (Linux also probes a window smaller
  // than one segment with data, tcp_write_wakeup; that is not counted.)
  if (seg.has(kSyn) || seg.has(kRst) || !seg.has(kAck) || receive_window() != 0) return false;
  if (payload.empty()) return !seg.has(kFin) && seg.seq == rcv_nxt() - 1;
  return seg.seq == rcv_nxt();
}

bool TcpConnection::acceptable(const wire::TcpRepr& seg, uint32_t seg_len) const {
  // RFC 9293 3.10.7.4, the four cases of the acceptability test, against
  // the window we advertised (never shrunk).
  const SeqNum nxt = rcv_nxt();
  const uint32_t wnd = rcv_adv_ > nxt ? static_cast<uint32_t>(rcv_adv_ - nxt) : 0;
  const SeqNum end = seg.seq + (seg_len == 0 ? 0 : seg_len - 1);
  if (seg_len == 0) {
    // Like Linux tcp_sequence(): an ACK is acceptable from the RCV.NXT we
    // last acknowledged (RCV.WUP) up to the window's edge, so a peer whose
    // ACK carries a slightly old sequence number (it sent to an edge we
    // have since passed) is still heard.
    return seq_in_window(seg.seq, seq_min(last_ack_sent_, nxt), nxt + wnd + 1);
  }
  if (wnd == 0) {
    // Like Linux: a segment starting at RCV.NXT is processed for its ACK
    // and FIN even when the window is closed (its data will not fit).
    return seg.seq == nxt;
  }
  return seq_in_window(seg.seq, nxt, nxt + wnd) || seq_in_window(end, nxt, nxt + wnd) ||
         (seg.seq < nxt && end >= nxt + wnd);
}

bool TcpConnection::send_oow_ack(Instant now) {
  // An ACK answering an out-of-window segment is rate-limited (Linux
  // tcp_invalid_ratelimit, 500 ms): two confused peers would otherwise
  // answer each other's ACKs for ever.
  if (last_oow_ack_ && now - *last_oow_ack_ < cfg_.invalid_ratelimit) return false;
  last_oow_ack_ = now;
  send_ack(now);
  return true;
}

bool TcpConnection::send_challenge_ack(Instant now) {
  // RFC 5961 7: rate-limit challenge ACKs (per connection here: at most
  // challenge_ack_limit per second).
  if (now - last_challenge_ >= 1s) {
    last_challenge_ = now;
    challenges_this_second_ = 0;
  }
  if (challenges_this_second_ >= cfg_.challenge_ack_limit) {
    ++counters_.ack_skipped_challenge;
    return false;
  }
  ++challenges_this_second_;
  ++stats_.challenge_acks;
  ++counters_.challenge_acks;
  send_ack(now);
  return true;
}

void TcpConnection::update_ts_recent(const wire::TcpRepr& seg, uint32_t seg_len, Instant now) {
  // RFC 7323 4.3 (2): remember the timestamp of the segment that covers
  // the last ACK we sent.
  if (!ts_ok_ || !seg.options.timestamps) return;
  if (seg.seq <= last_ack_sent_ && last_ack_sent_ <= seg.seq + seg_len &&
      !ts_before(seg.options.timestamps->tsval, ts_recent_)) {
    ts_recent_ = seg.options.timestamps->tsval;
    ts_recent_stamp_ = now;
  }
}

void TcpConnection::input_syn_sent(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  // RFC 9293 3.10.7.3, "first": the ACK must acknowledge our SYN.
  if (seg.has(kAck) && (seg.ack <= iss_ || seg.ack > snd_max_)) {
    ++(seg.ack > snd_max_ ? counters_.unsent_ack : counters_.old_ack);
    if (!seg.has(kRst)) send_segment(seg.ack, 0, kRst, now, false);
    return;
  }
  // "second": RST, only with an acceptable ACK (RFC 5961 3.2 in SYN-SENT).
  if (seg.has(kRst)) {
    if (seg.has(kAck)) fail(Error::kConnRefused, now, false);
    return;
  }
  if (!seg.has(kSyn)) return;
  // "fourth": the SYN.
  irs_ = seg.seq;
  rcv_ = RecvBuffer(pool_.blocks(), initial_rcvbuf(), irs_ + 1);
  // The window our SYN offered now starts at the peer's ISN + 1.
  rcv_adv_ = rcv_nxt() + static_cast<uint32_t>(std::min<size_t>(rcv_.receive_space(), 65535));
  apply_syn_options(seg.options);
  ts_recent_stamp_ = now;
  if (seg.has(kAck)) {
    snd_una_ = seg.ack;
    // RTT of the handshake (timestamps echo, or the timed SYN).
    if (rtt_probe_ && seg.ack >= rtt_probe_->first) {
      rtt_.sample(now - rtt_probe_->second);
    } else if (ts_ok_ && seg.options.timestamps && seg.options.timestamps->tsecr != 0) {
      rtt_.sample(std::chrono::milliseconds(tsval(now) - seg.options.timestamps->tsecr));
    }
    rtt_probe_.reset();
    rtt_.reset_backoff();
    if (!rtt_.has_sample()) {
      // RFC 6298 (5.7): the SYN timed out and the handshake gave no valid
      // sample: "the RTO MUST be re-initialized to 3 seconds when data
      // transmission begins" (Linux TCP_TIMEOUT_FALLBACK).
      RttConfig rc = rtt_.config();
      rc.initial_rto = std::max<Duration>(rc.initial_rto, 3s);
      rtt_ = RttEstimator(rc);
    }
    rto_at_ = kNever;
    retransmits_ = 0;
    // RFC 7323 2.2: "The window field in a SYN (i.e., a <SYN> or <SYN,ACK>)
    // segment itself is never scaled."
    snd_wnd_ = seg.window;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    set_state(TcpState::kEstablished);
    // Linux tcp_finish_connect: the SYN-ACK counts as the last data
    // received (TCP_INFO's last_data_recv, the keepalive idle time).
    last_ack_recv_ = last_data_recv_ = now;
    quickacks_ = 16;
    if (opts_.keepalive) keepalive_at_ = now + keepalive_idle();
    // RFC 9293 3.10.7.3: "If there are other controls or text in the
    // segment, then continue processing at the sixth step": text and a
    // FIN start after the SYN's sequence number. One ACK covers it all.
    ack_now_ = true;
    if (!payload.empty() || seg.has(kFin)) {
      wire::TcpRepr rest = seg;
      rest.seq = seg.seq + 1;
      rest.flags = static_cast<uint8_t>(rest.flags & ~kSyn);
      input_text(rest, payload, now);
    }
    if (ack_now_ && !done()) {
      ack_now_ = false;
      send_ack(now);
    }
    return;
  }
  // Simultaneous open (RFC 9293 3.5 figure 8): SYN-RECEIVED, SYN-ACK with
  // our original ISS.
  snd_wnd_ = seg.window;
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seg.seq;
  set_state(TcpState::kSynReceived);
  rto_at_ = kNever;
  snd_max_ = iss_;  // resend the SYN as a SYN-ACK: not a retransmission
  send_syn(now);
}

void TcpConnection::input_text(const wire::TcpRepr& seg, Bytes payload, Instant now) {
  const bool fin = seg.has(kFin);
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent its
      // FIN; RFC 9293 says ignore text. A retransmitted FIN gets its ACK.
      if (fin || !payload.empty()) {
        send_ack(now);
        if (state_ == TcpState::kTimeWait) timewait_at_ = now + cfg_.time_wait;  // restart 2MSL
      }
      return;
  }
  if (!payload.empty()) {
    if (orphan_ && shut_rd_) {
      // Linux: new data for a socket the application closed: RST.
      fail(Error::kConnReset, now, true);
      return;
    }
    last_data_recv_ = now;
    const SeqNum before = rcv_nxt();
    // Data while our window is closed is a probe (zero_window_probe): the
    // answer goes at once (RFC 9293 3.8.6.1), with the window as it is.
    const bool window_closed = receive_window() == 0;
    auto acc = rcv_.insert(seg.seq, payload);
    if (rcv_nxt() != before) events_ |= conn_event::kReadable;
    stats_.bytes_received += acc.in_order;
    measure_rcv_mss(seg, static_cast<uint32_t>(payload.size()));
    const bool out_of_order = acc.out_of_order > 0 || acc.duplicate > 0 || seg.seq != before;
    const bool filled_hole = rcv_nxt() - before > static_cast<int32_t>(payload.size());
    if (out_of_order || filled_hole || rcv_.ooo_bytes() > 0 || acc.dropped_no_space > 0 ||
        window_closed) {
      // RFC 5681 4.2: ACK out-of-order data and hole fills at once (with
      // SACK blocks); RFC 9293: unacceptable data gets an ACK too.
      ack_now_ = true;
    } else if (quickacks_ > 0) {
      --quickacks_;
      ack_now_ = true;
    } else {
      // RFC 5681 4.2 / RFC 1122 4.2.3.2: an ACK at least every second
      // full-sized segment, else within the delayed-ACK timeout.
      ++unacked_segments_;
      if (unacked_segments_ >= 2 || (seg.has(wire::tcp_flag::kPsh) && opts_.nodelay)) {
        ack_now_ = true;
      } else {
        schedule_delack(now);
      }
    }
  }
  if (fin) {
    const SeqNum fin_at = seg.seq + static_cast<uint32_t>(payload.size());
    if (fin_at == rcv_nxt()) {
      input_fin(now);
    } else if (fin_at > rcv_nxt()) {
      peer_fin_at_ = fin_at;  // behind a hole: handled when the hole fills
      ack_now_ = true;
    }
  } else if (peer_fin_at_ && *peer_fin_at_ == rcv_nxt()) {
    input_fin(now);
  }
  if (ack_now_ && !done()) {
    ack_now_ = false;
    send_ack(now);
  }
}

void TcpConnection::measure_rcv_mss(const wire::TcpRepr& seg, uint32_t len) {
  // Linux tcp_measure_rcv_mss: the estimate of the peer's segment size,
  // which sets the bar of receiver SWS avoidance (select_window) and of
  // the ACK owed after a read (cleanup_rbuf).
  const uint32_t lss = last_seg_size_;
  last_seg_size_ = 0;
  if (len >= rcv_mss_) {
    // As large as the estimate or larger: the new estimate, but never
    // above the MSS we offered. A larger payload is an aggregate of
    // several wire segments (GSO over a veth, or GRO: an AF_PACKET socket
    // hands them over whole), not the peer's MSS; 64 KiB here made a
    // reader taking 16 KiB at a time never reopen a closed window.
    rcv_mss_ = std::min(len, adv_mss());
    return;
  }
  // Smaller: the peer's MSS may be smaller than we thought (a tunnel,
  // TCP_MAXSEG), but short segments also end writes. Like Linux, trust a
  // size only when it is at least 536 bytes or the segment carries none
  // of PSH, FIN, SYN, URG (TCP_REMNANT), and only when two segments in a
  // row have it. (Linux measures the segment less its fixed header and
  // timestamp option, so SACK blocks count; the payload alone is steadier.)
  constexpr uint8_t kRemnant = kFin | kSyn | wire::tcp_flag::kPsh | wire::tcp_flag::kUrg;
  constexpr uint32_t kDefaultMss = 536;  // TCP_MSS_DEFAULT
  constexpr uint32_t kMinMss = 88;       // TCP_MIN_MSS
  if (len >= kDefaultMss || (len >= kMinMss && (seg.flags & kRemnant) == 0)) {
    last_seg_size_ = len;
    if (len == lss) rcv_mss_ = len;
  }
}

void TcpConnection::input_fin(Instant now) {
  if (fin_received_) return;
  // RFC 9293 3.10.7.4 "eighth": advance RCV.NXT over the FIN and ACK it.
  fin_received_ = true;
  events_ |= conn_event::kReadable;
  peer_fin_at_.reset();
  ack_now_ = true;
  switch (state_) {
    case TcpState::kEstablished:
      set_state(TcpState::kCloseWait);
      break;
    case TcpState::kFinWait1:
      // Our FIN not yet acknowledged: simultaneous close.
      set_state(TcpState::kClosing);
      break;
    case TcpState::kFinWait2:
      enter_time_wait(now);
      break;
    default:
      break;
  }
}

void TcpConnection::enter_time_wait(Instant now) {
  set_state(TcpState::kTimeWait);
  rto_at_ = persist_at_ = keepalive_at_ = finwait2_at_ = kNever;
  timewait_at_ = now + cfg_.time_wait;
}

}  // namespace shunt::tcp
