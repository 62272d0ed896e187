// TcpConnection: deciding what to send and building segments (RFC 9293
// 3.7.4 Nagle, 3.8.6.2.1 sender SWS avoidance, RFC 5681 / 6675 windows).
#include <algorithm>

#include "stack/tcp/connection.h"
#include "stack/tcp/syn_options.h"

namespace shunt::tcp {

uint32_t TcpConnection::tsval(Instant now) const {
  return ts_clock(now, ts_offset_);  // RFC 7323 5.4
}

uint32_t TcpConnection::in_flight() const { return snd_nxt_ - snd_una_; }

uint32_t TcpConnection::current_mss() const {
  // mss_ leaves room for the timestamp option only; while we carry SACK
  // blocks the payload shrinks so the segment still fits the MTU (Linux
  // tcp_current_mss): 3 blocks next to timestamps (+28 bytes), else 4 (+36).
  if (!sack_ok_ || rcv_.ooo_bytes() == 0) return mss_;
  const uint32_t sack = ts_ok_ ? 28 : 36;
  return mss_ > sack + 64 ? mss_ - sack : 64;
}

bool TcpConnection::fin_ready() const {
  return fin_queued_ && !fin_sent_ && snd_nxt_ == snd_una_ + static_cast<uint32_t>(snd_.size());
}

uint32_t TcpConnection::receive_window() const {
  // Like Linux tcp_receive_window: RCV.NXT may pass the edge we keep by
  // less than one scale unit (a held edge is rounded up, below), and the
  // window left is then 0, not 2^32 minus the overrun.
  const int32_t w = rcv_adv_ - rcv_nxt();
  return w > 0 ? static_cast<uint32_t>(w) : 0;
}

TcpConnection::WindowChoice TcpConnection::select_window() const {
  uint32_t win = static_cast<uint32_t>(std::min<size_t>(rcv_.receive_space(), 0x3fffffff));
  // Leave one scale unit of slack: an edge we hold is rounded up in
  // window_field and must still fit what the receive buffer accepts.
  const uint32_t unit = (uint32_t{1} << rcv_wscale_) - 1;
  win = win > unit ? win - unit : 0;
  const uint32_t current = receive_window();
  // RFC 9293 3.8.6.2.2 / RFC 7323 2.4: never move the right edge left.
  if (win < current) return {current, true};
  // Receiver SWS avoidance (RFC 9293 3.8.6.2.2, RFC 1122 4.2.3.3): hold
  // the edge until it can move by at least min(buffer/2, MSS), the MSS
  // being our estimate of the peer's segments (rcv_mss_, capped at the MSS
  // we offered: a 64 KiB GSO aggregate must not raise the bar to 64 KiB).
  if (win - current < std::min<uint32_t>(static_cast<uint32_t>(rcv_.capacity()) / 2, rcv_mss_) &&
      win != rcv_.capacity()) {
    return {current, true};
  }
  return {std::min<uint32_t>(win, uint32_t{65535} << rcv_wscale_), false};
}

uint16_t TcpConnection::window_field(bool syn) {
  const SeqNum nxt = rcv_nxt();
  if (syn) {
    const uint16_t win = syn_window(rcv_.receive_space());
    rcv_adv_ = nxt + win;
    return win;
  }
  const uint32_t unit = (uint32_t{1} << rcv_wscale_) - 1;
  const auto [win, hold] = select_window();
  // Scaling truncates; an edge we hold is rounded up instead, or the peer
  // would see the window shrink by the truncated bytes (Linux
  // tcp_select_window aligns it the same way).
  auto field = static_cast<uint16_t>(
      std::min<uint32_t>((hold ? win + unit : win) >> rcv_wscale_, 65535));
  // RCV.ADV keeps the exact edge promised; a rounded-up held edge may
  // reach up to one unit past it, which the slack above keeps inside the
  // buffer (ratcheting RCV.ADV by each rounding would let the edge creep
  // past the buffer and data inside the window be dropped).
  SeqNum edge = nxt + (uint32_t{field} << rcv_wscale_);
  if (!hold && edge > rcv_adv_) rcv_adv_ = edge;
  return field;
}

wire::TcpOptions TcpConnection::segment_options(uint8_t flags, Instant now) const {
  wire::TcpOptions o;
  const bool syn = (flags & wire::tcp_flag::kSyn) != 0;
  const bool synack = syn && (flags & wire::tcp_flag::kAck) != 0;
  if (syn) {
    std::optional<SynNegotiation> agreed;
    if (synack) agreed = SynNegotiation{peer_mss_, wscale_ok_, snd_wscale_, ts_ok_, sack_ok_};
    return syn_options(cfg_, agreed, offered_mss(mtu_, opts_.user_mss), rcv_wscale_, tsval(now),
                       ts_recent_);
  }
  if ((flags & wire::tcp_flag::kRst) != 0) return o;
  if (ts_ok_) o.timestamps = wire::TcpOptions::Timestamps{tsval(now), ts_recent_};
  if (sack_ok_ && rcv_.ooo_bytes() > 0) {
    // RFC 2018 3: at most 3 blocks fit next to a timestamp option.
    size_t max_blocks = ts_ok_ ? 3 : 4;
    o.sack_count = static_cast<uint8_t>(
        rcv_.sack_blocks(std::span<wire::SackBlock>(o.sack_blocks.data(), max_blocks)));
  }
  return o;
}

void TcpConnection::send_segment(SeqNum seq, uint32_t len, uint8_t flags, Instant now,
                                 bool retransmit) {
  PacketBuffer payload = pool_.allocate(len);
  if (len > 0) snd_.copy_out(seq - snd_una_, payload.append(len));
  OutSegment s;
  s.hdr.src_port = tuple_.local.port;
  s.hdr.dst_port = tuple_.remote.port;
  s.hdr.seq = seq;
  s.hdr.flags = flags;
  if ((flags & wire::tcp_flag::kAck) != 0) {
    s.hdr.ack = rcv_nxt();
    last_ack_sent_ = rcv_nxt();
    delack_at_ = kNever;
    unacked_segments_ = 0;
  }
  if ((flags & wire::tcp_flag::kRst) == 0) {
    s.hdr.window = window_field((flags & wire::tcp_flag::kSyn) != 0);
  }
  s.hdr.options = segment_options(flags, now);
  s.hdr.payload_len = static_cast<uint16_t>(len);
  s.payload = std::move(payload);
  s.retransmit = retransmit;
  outbox_.push_back(std::move(s));
  ++stats_.segs_out;
  if (len > 0) {
    ++stats_.data_segs_out;
    stats_.bytes_sent += len;
    last_data_sent_ = now;
    if (retransmit) {
      stats_.bytes_retrans += len;
      ++stats_.total_retrans;
      rtt_probe_.reset();  // Karn: nothing retransmitted is timed
    }
  }
}

void TcpConnection::send_ack(Instant now) {
  // The sequence number of a pure ACK must be acceptable to the peer: the
  // highest we sent, but not beyond the window it offered (Linux
  // tcp_acceptable_seq). After an RTO SND.NXT went back; SND.MAX did not.
  // Like Linux tcp_acceptable_seq: SND.MAX when it is inside the offered
  // window or past its edge by less than one unit of the peer's window
  // scale (its scaled edges round), else the window's edge.
  const SeqNum edge = snd_una_ + snd_wnd_;
  const bool fits = snd_max_ <= edge || (snd_max_ - edge) < (int32_t{1} << snd_wscale_);
  send_segment(fits ? snd_max_ : seq_max(edge, snd_una_), 0, wire::tcp_flag::kAck, now, false);
}

void TcpConnection::send_rst(SeqNum seq, Instant now) {
  send_segment(seq, 0, wire::tcp_flag::kRst | wire::tcp_flag::kAck, now, false);
}

void TcpConnection::send_syn(Instant now) {
  uint8_t flags = wire::tcp_flag::kSyn;
  if (state_ == TcpState::kSynReceived) flags |= wire::tcp_flag::kAck;
  const bool retransmit = snd_max_ != iss_;
  send_segment(iss_, 0, flags, now, retransmit);
  snd_nxt_ = iss_ + 1;
  snd_max_ = iss_ + 1;
  // Karn: only the first transmission is timed (timestamps time them all).
  if (!retransmit) rtt_probe_ = std::make_pair(iss_ + 1, now);
  if (retransmit) rtt_probe_.reset();
  arm_rto(now);
}

void TcpConnection::arm_rto(Instant now) {
  if (rto_at_ == kNever) rto_at_ = now + rtt_.rto();
}

void TcpConnection::schedule_delack(Instant now) {
  if (delack_at_ == kNever) delack_at_ = now + cfg_.delack_min;
}

void TcpConnection::output(Instant now) {
  switch (state_) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      break;
    default:
      return;
  }
  while (send_one(now)) {
  }
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(snd_.size());
  // Linux tcp_cwnd_validate: remember the most in flight over the last
  // window and whether data waited for cwnd (tcp_is_cwnd_limited reads it).
  const bool cwnd_limited = snd_nxt_ < data_end && in_flight() + current_mss() > cc_->cwnd();
  if (!cwnd_usage_seq_ || snd_una_ >= *cwnd_usage_seq_ || cwnd_limited ||
      in_flight() > max_flight_) {
    max_flight_ = in_flight();
    cwnd_usage_seq_ = snd_nxt_;
    cwnd_limited_ = cwnd_limited;
  }
  // RFC 9293 3.8.6.1: data waits behind a window too small to use and
  // nothing is in flight to bring an ACK: the persist timer probes.
  const bool waiting = snd_nxt_ < data_end || fin_ready();
  if (waiting && snd_una_ == snd_max_ && rto_at_ == kNever) {
    if (persist_at_ == kNever) {
      persist_backoff_ = std::clamp(rtt_.rto(), cfg_.persist_min, cfg_.persist_max);
      persist_at_ = now + persist_backoff_;
    }
  } else if (snd_una_ != snd_max_) {
    persist_at_ = kNever;
  }
}

bool TcpConnection::send_one(Instant now) {
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(snd_.size());
  const uint32_t cwnd = cc_->cwnd();

  // RFC 6675 5 (C): during SACK recovery, while pipe < cwnd, retransmit
  // what is deemed lost first (NextSeg rule 1).
  uint32_t flight = in_flight();
  if (in_recovery_ && sack_ok_) {
    flight = sacks_.pipe(snd_una_, snd_max_, high_rxt_, mss_, [](SeqNum) { return true; });
    if (flight >= cwnd) return false;
    SeqNum from = seq_max(high_rxt_, snd_una_);
    if (auto lost = sacks_.next_lost(from, snd_max_, mss_)) {
      uint32_t len = std::min<uint32_t>({lost->second, current_mss(),
                                         data_end > lost->first ? data_end - lost->first : 0u});
      if (len > 0) {
        send_segment(lost->first, len, wire::tcp_flag::kAck, now, true);
        high_rxt_ = lost->first + len;
        arm_rto(now);
        return true;
      }
    }
    // Otherwise rule 2: new data, limited by pipe below.
  }

  const bool resending = snd_nxt_ < snd_max_;  // go-back-N after an RTO
  if (!resending && snd_una_ == snd_max_ && snd_nxt_ < data_end && now - last_data_sent_ > rtt_.rto()) {
    // RFC 5681 4.1: after an idle period longer than the RTO, restart from
    // the restart window instead of bursting the old cwnd.
    cc_->on_idle_restart(now, rtt_.rto());
  }
  const uint32_t avail = data_end > snd_nxt_ ? static_cast<uint32_t>(data_end - snd_nxt_) : 0;
  // RFC 3042 limited transmit: the first two duplicate ACKs may each send
  // one new segment beyond cwnd.
  uint32_t allowance = (!in_recovery_ && dupacks_ > 0 && dupacks_ < 3) ? dupacks_ * mss_ : 0;
  // RFC 6582 3.2 / RFC 5681 3.2 step 4 without SACK: each duplicate ACK
  // means a segment left the network, so the window is inflated by one
  // SMSS per duplicate (the three that started recovery included).
  if (in_recovery_ && !sack_ok_) allowance = dupacks_ * mss_;
  uint32_t cwnd_room = cwnd + allowance > flight ? cwnd + allowance - flight : 0;
  if (in_loss_ && resending) cwnd_room = cwnd > flight ? cwnd - flight : 0;
  const SeqNum wnd_edge = snd_una_ + snd_wnd_;
  uint32_t rwnd_room = wnd_edge > snd_nxt_ ? static_cast<uint32_t>(wnd_edge - snd_nxt_) : 0;
  const uint32_t seg_mss = current_mss();
  uint32_t len = std::min({avail, seg_mss, cwnd_room, rwnd_room});

  const bool fin_here = fin_queued_ && snd_nxt_ + len == data_end &&
                        (!fin_sent_ || (resending && snd_nxt_ + len < snd_max_));
  if (len == 0) {
    // A FIN alone is sent whatever the windows say (Linux queues it and
    // receivers accept a FIN at the window's edge).
    if (fin_here && avail == 0 && (cwnd_room > 0 || flight == 0)) {
      send_segment(snd_nxt_, 0, wire::tcp_flag::kAck | wire::tcp_flag::kFin, now, resending);
      fin_seq_ = snd_nxt_;
      fin_sent_ = true;
      snd_nxt_ += 1;
      if (snd_nxt_ > snd_max_) snd_max_ = snd_nxt_;
      arm_rto(now);
      return true;
    }
    return false;
  }
  if (!resending && len < seg_mss) {
    if (len < avail) {
      // RFC 9293 3.8.6.2.1: a window-limited piece is sent only when it is
      // at least half the largest window the peer offered.
      if (len < max_snd_wnd_ / 2) return false;
    } else {
      // The last, short piece of what the application wrote: TCP_CORK and
      // MSG_MORE hold it; Nagle (RFC 896, RFC 9293 3.7.4) holds it while
      // unacknowledged data is in flight.
      if (opts_.cork && !fin_queued_) return false;
      if (!opts_.nodelay && snd_nxt_ != snd_una_ && !fin_queued_) return false;
    }
  }
  uint8_t flags = wire::tcp_flag::kAck;
  if (snd_nxt_ + len == data_end) flags |= wire::tcp_flag::kPsh;  // last segment of a write
  if (fin_here) flags |= wire::tcp_flag::kFin;
  send_segment(snd_nxt_, len, flags, now, resending);
  if (!resending && !rtt_probe_) rtt_probe_ = std::make_pair(snd_nxt_ + len, now);
  snd_nxt_ += len;
  if ((flags & wire::tcp_flag::kFin) != 0) {
    fin_seq_ = snd_nxt_;
    fin_sent_ = true;
    snd_nxt_ += 1;
  }
  if (snd_nxt_ > snd_max_) snd_max_ = snd_nxt_;
  arm_rto(now);
  return true;
}

void TcpConnection::retransmit_head(Instant now) {
  // The first unacknowledged segment (fast retransmit, RFC 5681 3.2 step 2).
  const SeqNum data_end = snd_una_ + static_cast<uint32_t>(snd_.size());
  uint32_t len = std::min<uint32_t>(current_mss(), data_end > snd_una_ ? data_end - snd_una_ : 0);
  uint8_t flags = wire::tcp_flag::kAck;
  if (len == 0 && fin_sent_ && fin_seq_ == snd_una_) flags |= wire::tcp_flag::kFin;
  if (len == 0 && (flags & wire::tcp_flag::kFin) == 0) return;
  if (fin_sent_ && snd_una_ + len == fin_seq_ && len > 0) flags |= wire::tcp_flag::kFin;
  send_segment(snd_una_, len, flags, now, true);
  if (seq_max(high_rxt_, snd_una_ + len) != high_rxt_) high_rxt_ = snd_una_ + len;
  rtt_probe_.reset();  // Karn
  arm_rto(now);
}

}  // namespace shunt::tcp
