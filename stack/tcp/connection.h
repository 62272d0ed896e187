// TcpConnection: one connection's control block (RFC 9293 3.3.1, the TCB),
// its state machine, and its timers.
//
// The connection knows nothing of IP or of the Stack: segments arrive
// through input() and the segments it wants sent pile up in outbox() as a
// header repr plus a payload buffer with headroom; the owner drains the
// outbox after every call. Time is an argument and timers are deadlines
// (next_deadline / on_timer), so tests drive one connection segment by
// segment with a manual clock.
//
// Files: connection.cc (open, timers, API), connection_input.cc (segment
// arrival, RFC 9293 3.10.7), connection_output.cc (what and when to send),
// connection_recovery.cc (ACK processing, loss recovery).
//
// Reading list: RFC 9293 (TCP), RFC 5961 (blind attacks), RFC 7323
// (window scale, timestamps, PAWS), RFC 2018 / 6675 (SACK, SACK-based
// recovery), RFC 6582 (NewReno), RFC 5681 (congestion control), RFC 6298
// (RTO), RFC 3042 (limited transmit), RFC 1122 4.2.3.x (delayed ACK,
// keepalive), RFC 6691 (MSS).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "stack/base/result.h"
#include "stack/base/seq.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/tcp/congestion.h"
#include "stack/tcp/isn.h"
#include "stack/tcp/recv_buffer.h"
#include "stack/tcp/rtt_estimator.h"
#include "stack/tcp/sack_scoreboard.h"
#include "stack/tcp/send_buffer.h"
#include "stack/tcp/tcp_config.h"
#include "stack/tcp/tcp_state.h"
#include "stack/wire/tcp.h"

namespace shunt::tcp {

// A segment the connection wants sent. `payload` holds only the data (it
// may be an empty buffer) with headroom for the TCP, IP and Ethernet
// headers; the owner emits `hdr` in front of it.
struct OutSegment {
  wire::TcpRepr hdr;
  PacketBuffer payload;
  bool retransmit = false;
};

// Per-socket options that shape a connection.
struct ConnOptions {
  bool nodelay = false;       // TCP_NODELAY
  bool cork = false;          // TCP_CORK
  bool keepalive = false;     // SO_KEEPALIVE
  Duration keepidle{0};       // TCP_KEEPIDLE (0: config default)
  Duration keepintvl{0};      // TCP_KEEPINTVL
  uint32_t keepcnt = 0;       // TCP_KEEPCNT
  uint32_t rcvbuf = 0;        // SO_RCVBUF in bytes (0: config default)
  uint32_t sndbuf = 0;        // SO_SNDBUF
  uint16_t user_mss = 0;      // TCP_MAXSEG (0: from the MTU)
  std::string congestion;     // TCP_CONGESTION (empty: config default)
  uint8_t ttl = 0;            // IP_TTL of its packets (0: the stack default); the Stack applies it
  uint8_t tos = 0;            // IP_TOS of its packets (ECN bits clear); the Stack applies it
  Duration user_timeout{0};   // TCP_USER_TIMEOUT (0: retries2 rules)
  bool quickack = false;      // TCP_QUICKACK
};

// What TCP_INFO reports (the kernel's struct tcp_info, in our units).
struct TcpInfo {
  TcpState state = TcpState::kClosed;
  uint8_t ca_state = 0;  // 0 open, 1 disorder, 3 recovery, 4 loss (TCP_CA_*)
  uint32_t retransmits = 0;  // consecutive RTO retransmissions
  uint32_t probes = 0;       // keepalive / zero-window probes unanswered
  uint32_t backoff = 0;
  bool ts_ok = false, sack_ok = false, wscale_ok = false;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  Duration rto{}, ato{}, rtt{}, rttvar{}, min_rtt{};
  uint32_t snd_mss = 0, rcv_mss = 0, advmss = 0;
  uint32_t unacked = 0, sacked = 0, lost = 0, retrans = 0;  // segments
  uint32_t snd_ssthresh = 0, snd_cwnd = 0;                  // segments
  uint32_t snd_wnd = 0, rcv_wnd = 0, rcv_space = 0;
  uint32_t total_retrans = 0;
  uint64_t challenge_acks = 0;
  uint64_t bytes_sent = 0, bytes_retrans = 0, bytes_acked = 0, bytes_received = 0;
  uint64_t segs_out = 0, segs_in = 0, data_segs_out = 0, data_segs_in = 0;
  uint64_t delivery_rate = 0;  // bytes per second, last sample
  Duration last_data_sent{}, last_data_recv{}, last_ack_recv{};
  uint32_t notsent_bytes = 0;
  uint32_t reordering = 3;
  std::string_view congestion;
};

// Events of one connection that the owner adds to the stack-wide
// counters (Stats::tcp), drained with take_counters() like the outbox.
struct ConnCounters {
  uint64_t zero_window_probes_recv = 0;  // Tcp TCPZeroWindowProbesRecv
  uint64_t challenge_acks = 0;           // Tcp TCPChallengeACK (RFC 5961)
  uint64_t window_probes = 0;            // Tcp TCPWinProbe (persist timer)
  // Segments the connection dropped, by reason (the owner counts each as
  // its DropReason, and some also under a TcpExt name):
  uint32_t paws_rejected = 0;  // kTcpPaws; TcpExt PAWSEstab (RFC 7323 5.3)
  uint32_t bad_seq = 0;        // kTcpInvalidSequence (RFC 9293 3.10.7.4 "first")
  uint32_t bad_syn = 0;        // kTcpInvalidSyn; TcpExt TCPSYNChallenge (RFC 5961 4.2)
  uint32_t bad_rst = 0;        // kTcpRstNotAtRcvNxt (RFC 5961 3.2)
  uint32_t old_ack = 0;        // kTcpTooOldAck (RFC 5961 5.2)
  uint32_t unsent_ack = 0;     // kTcpAckUnsentData (RFC 5961 5.2, RFC 9293 3.10.7.3)
  uint32_t no_ack = 0;         // kTcpNoAck (RFC 9293 3.10.7.4 "fifth")
  // ACKs a rate limit kept from being sent (Linux tcp_oow_rate_limited,
  // tcp_send_challenge_ack).
  uint32_t ack_skipped_paws = 0;       // TcpExt TCPACKSkippedPAWS
  uint32_t ack_skipped_seq = 0;        // TcpExt TCPACKSkippedSeq
  uint32_t ack_skipped_challenge = 0;  // TcpExt TCPACKSkippedChallenge
  uint32_t ack_skipped_syn_recv = 0;   // TcpExt TCPACKSkippedSynRecv
};

// What a call did that the owner must act on, as bits. Linux tells the
// socket at the same points through sk_state_change (established, closed)
// and sk_data_ready (readable). Readiness itself is recomputed on demand
// (readiness()), so the owner need not guess it from these.
using ConnEvents = uint8_t;
namespace conn_event {
// The handshake completed: SYN-SENT or SYN-RECEIVED became ESTABLISHED (a
// listener's child moves to the accept queue).
inline constexpr ConnEvents kEstablished = 1u << 0;
// In-order data or the peer's FIN arrived for the application (a child
// TCP_DEFER_ACCEPT holds may be accepted).
inline constexpr ConnEvents kReadable = 1u << 1;
// The connection entered CLOSED: the owner may forget it (done()).
inline constexpr ConnEvents kClosed = 1u << 2;
}  // namespace conn_event

class TcpConnection {
 public:
  // `cfg` and `pool` are kept by reference and must outlive the connection.
  TcpConnection(const TcpConfig& cfg, BufferPool& pool, const FourTuple& tuple,
                const ConnOptions& opts, uint32_t mtu, uint64_t ts_offset, Instant now);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // ---- opening -----------------------------------------------------------
  // Each call that can change the state returns its ConnEvents.
  // Active open (RFC 9293 3.10.1): sends a SYN, enters SYN-SENT.
  ConnEvents connect(SeqNum iss, Instant now);
  // Passive open from a SYN a listener accepted: sends a SYN-ACK, enters
  // SYN-RECEIVED. The connection is then a passive open: a RST or a
  // timeout in SYN-RECEIVED makes it go away quietly (RFC 9293 3.10.7.4
  // "return to the LISTEN state"), where an active one reports an error.
  ConnEvents accept_syn(const wire::TcpRepr& syn, SeqNum iss, Instant now);
  // Passive open completed by the ACK of a valid SYN cookie (RFC 4987):
  // straight to ESTABLISHED with what the cookie and timestamps carried.
  ConnEvents accept_cookie(const wire::TcpRepr& ack, SeqNum iss, uint16_t mss,
                           std::optional<uint8_t> wscale, bool sack, Instant now);

  // ---- packet path -------------------------------------------------------
  ConnEvents input(const wire::TcpRepr& seg, Bytes payload, Instant now);
  // An ICMP error about this connection (RFC 5461 / Linux tcp_v4_err):
  // during the handshake it aborts with `e`; later it is a soft error,
  // reported if the connection times out. Fragmentation needed lowers
  // the MSS (RFC 1191) and resends.
  ConnEvents icmp_error(Error e, uint16_t next_hop_mtu, bool frag_needed, Instant now);
  // Whether the sequence number an ICMP error quotes is one this connection
  // sent and has not seen acknowledged: SND.UNA <= seq <= the highest
  // SND.NXT (RFC 5927 4.1, Linux tcp_v4_err). Anything else is a forgery or
  // very old.
  bool icmp_quote_in_window(SeqNum seq) const { return snd_una_ <= seq && seq <= snd_max_; }
  Instant next_deadline() const;
  ConnEvents on_timer(Instant now);
  std::vector<OutSegment>& outbox() { return outbox_; }
  // The counts since the last take_counters(), and taking them.
  const ConnCounters& counters() const { return counters_; }
  ConnCounters take_counters() { return std::exchange(counters_, ConnCounters{}); }

  // ---- application -------------------------------------------------------
  // Copies what fits in the send buffer; kAgain when nothing fits, kPipe
  // after shutdown(SHUT_WR) or a reset (the first call after a reset gets
  // the reset error), kNotConn before the connection is established.
  Result<size_t> send(Bytes data, bool more, Instant now);
  // Copies in-order data; 0 at end of stream; kAgain when none yet.
  Result<size_t> recv(MutableBytes out, bool peek, Instant now);
  Result<> shutdown(bool read, bool write, Instant now);
  // close(2): the connection becomes an orphan that finishes on its own.
  // Unread data, or linger with zero timeout, aborts it with a RST.
  ConnEvents close(bool linger_zero, Instant now);
  // Sends a RST and closes at once.
  ConnEvents abort(Instant now);

  uint32_t readiness() const;  // readiness:: bits
  std::optional<Error> take_error();
  const std::optional<Error>& pending_error() const { return error_; }

  // ---- introspection -----------------------------------------------------
  TcpState state() const { return state_; }
  const FourTuple& tuple() const { return tuple_; }
  bool orphan() const { return orphan_; }
  bool passive() const { return passive_; }
  // True once the connection can be forgotten (CLOSED).
  bool done() const { return state_ == TcpState::kClosed; }
  // A connection that was established and then closed by the peer's RST,
  // a timeout or an abort (for accept(): ECONNABORTED on Linux).
  bool was_reset() const { return reset_; }
  size_t readable() const { return rcv_.readable(); }
  size_t unsent() const;           // SIOCOUTQ counts unacked + unsent
  // Queued and never sent (SIOCOUTQNSD, TCP_NOTSENT_LOWAT): Linux's
  // write_seq - snd_nxt.
  size_t notsent() const {
    const uint32_t outstanding = snd_max_ - snd_una_;
    return snd_.size() > outstanding ? snd_.size() - outstanding : 0;
  }
  size_t send_queue() const { return snd_.size(); }
  TcpInfo info(Instant now) const;
  ConnOptions& options() { return opts_; }
  // Applies changed options (buffer sizes, Nagle, cork) and sends what they allow.
  void options_changed(Instant now);
  Result<> set_congestion(std::string_view name, Instant now);
  // TCP_CONGESTION: the algorithm's name.
  std::string_view congestion_name() const { return cc_->name(); }
  // RCV.NXT: the receive buffer's next byte, plus one once the FIN arrived.
  SeqNum rcv_nxt() const { return rcv_.rcv_nxt() + (fin_received_ ? 1u : 0u); }
  SeqNum snd_nxt() const { return snd_nxt_; }
  std::optional<uint32_t> ts_recent() const;
  uint32_t mss() const { return mss_; }
  uint32_t cwnd() const { return cc_->cwnd(); }

  // The bind flags of the socket it belongs to (an accepted child has its
  // listener's), kept after that socket is gone, as Linux keeps sk_reuse,
  // sk_reuseport and the uid in the child and the TIME-WAIT socket: bind()
  // checks them while the connection holds its port (inet_bind_conflict).
  bool reuse_addr = false;
  bool reuse_port = false;
  uint32_t uid = 0;

 private:
  // connection_input.cc
  void input_segment(const wire::TcpRepr& seg, Bytes payload, Instant now);
  void input_syn_sent(const wire::TcpRepr& seg, Bytes payload, Instant now);
  bool acceptable(const wire::TcpRepr& seg, uint32_t seg_len) const;
  bool paws_reject(const wire::TcpRepr& seg, Instant now);
  bool zero_window_probe(const wire::TcpRepr& seg, Bytes payload) const;
  void input_text(const wire::TcpRepr& seg, Bytes payload, Instant now);
  void input_fin(Instant now);
  void apply_syn_options(const wire::TcpOptions& o);
  void measure_rcv_mss(const wire::TcpRepr& seg, uint32_t len);
  void update_ts_recent(const wire::TcpRepr& seg, uint32_t seg_len, Instant now);
  void enter_time_wait(Instant now);
  // Both return false when a rate limit kept the ACK from being sent.
  bool send_challenge_ack(Instant now);
  bool send_oow_ack(Instant now);

  // connection_recovery.cc
  // Returns false when the segment must be dropped.
  bool process_ack(const wire::TcpRepr& seg, uint32_t seg_len, Instant now);
  void on_new_ack(SeqNum ack, const wire::TcpRepr& seg, Instant now);
  void on_dup_ack(const wire::TcpRepr& seg, Instant now);
  void enter_recovery(Instant now);
  void update_window(const wire::TcpRepr& seg, bool new_ack);
  void on_rto(Instant now);

  // connection_output.cc
  void output(Instant now);
  bool send_one(Instant now);
  void send_segment(SeqNum seq, uint32_t len, uint8_t flags, Instant now, bool retransmit);
  void send_ack(Instant now);
  void send_rst(SeqNum seq, Instant now);
  void send_syn(Instant now);
  void retransmit_head(Instant now);
  wire::TcpOptions segment_options(uint8_t flags, Instant now) const;
  // The receive window to offer now, in bytes from RCV.NXT before
  // scaling; `hold` when receiver SWS avoidance (or never shrinking)
  // keeps the right edge where it is. window_field() sends it.
  struct WindowChoice {
    uint32_t win;
    bool hold;
  };
  WindowChoice select_window() const;
  uint16_t window_field(bool syn);
  // RCV.ADV - RCV.NXT, never negative (Linux tcp_receive_window).
  uint32_t receive_window() const;
  uint32_t tsval(Instant now) const;
  void arm_rto(Instant now);
  void schedule_delack(Instant now);
  bool fin_ready() const;
  uint32_t in_flight() const;
  uint32_t current_mss() const;

  // connection.cc
  void set_state(TcpState s);
  ConnEvents take_events() { return std::exchange(events_, ConnEvents{0}); }
  void run_timers(Instant now);
  void fail(Error e, Instant now, bool send_reset);
  uint32_t initial_rcvbuf() const;
  void recompute_mss();
  uint32_t adv_mss() const;
  void init_rcv_mss();
  void cleanup_rbuf(Instant now);
  Duration keepalive_idle() const;

  // The stack's settings, shared by all its connections (a copy per
  // connection was 184 bytes of every idle connection); they must outlive it.
  const TcpConfig& cfg_;
  BufferPool& pool_;
  FourTuple tuple_;
  ConnOptions opts_;
  uint32_t mtu_;
  uint64_t ts_offset_;
  TcpState state_ = TcpState::kClosed;
  std::vector<OutSegment> outbox_;

  // Send sequence space (RFC 9293 3.3.1).
  SeqNum iss_, snd_una_, snd_nxt_, snd_max_, snd_wl1_, snd_wl2_;
  uint32_t snd_wnd_ = 0;
  uint32_t max_snd_wnd_ = 0;
  uint8_t snd_wscale_ = 0;
  // Receive sequence space.
  SeqNum irs_;
  SeqNum rcv_adv_;  // right edge of the window we advertised
  uint8_t rcv_wscale_ = 0;
  SeqNum last_ack_sent_;

  // Options negotiated.
  bool wscale_ok_ = false, ts_ok_ = false, sack_ok_ = false;
  uint16_t peer_mss_ = 536;
  uint32_t mss_ = 536;      // effective send MSS (payload bytes per segment)
  // Estimate of the peer's segment size (Linux icsk_ack.rcv_mss): 536
  // until measured, never above adv_mss(); and the size of the last
  // segment smaller than it (icsk_ack.last_seg_size).
  uint32_t rcv_mss_ = 536;
  uint32_t last_seg_size_ = 0;
  uint32_t ts_recent_ = 0;
  Instant ts_recent_stamp_{};

  SendBuffer snd_;
  RecvBuffer rcv_;
  RttEstimator rtt_;
  std::unique_ptr<CongestionControl> cc_;
  SackScoreboard sacks_;

  // FIN bookkeeping.
  bool fin_queued_ = false;  // the application will send no more
  bool fin_sent_ = false;
  SeqNum fin_seq_;
  bool fin_received_ = false;
  std::optional<SeqNum> peer_fin_at_;  // a FIN seen beyond a hole
  bool shut_rd_ = false;
  bool orphan_ = false;
  bool passive_ = false;  // opened by a listener (accept_syn, accept_cookie)
  bool reset_ = false;
  bool established_once_ = false;

  // Loss recovery.
  bool in_recovery_ = false;
  bool in_loss_ = false;  // after an RTO until snd_max is acked
  SeqNum recover_;        // RFC 6582 "recover"
  SeqNum high_rxt_;       // RFC 6675 HighRxt
  uint32_t dupacks_ = 0;
  uint32_t retransmits_ = 0;  // consecutive RTOs without progress
  uint32_t probes_ = 0;
  // RTT measurement without timestamps (Karn): one timed segment at a time.
  std::optional<std::pair<SeqNum, Instant>> rtt_probe_;
  // Whether cwnd is being used (RFC 7661; Linux tcp_cwnd_validate): the
  // most bytes in flight since the window that ends at cwnd_usage_seq_,
  // and whether sending was cwnd-limited then. Set in output().
  uint32_t max_flight_ = 0;
  std::optional<SeqNum> cwnd_usage_seq_;
  bool cwnd_limited_ = false;

  // Timers (kNever when off).
  Instant rto_at_ = kNever;
  Instant persist_at_ = kNever;
  Instant keepalive_at_ = kNever;
  Instant delack_at_ = kNever;
  Instant timewait_at_ = kNever;
  Instant finwait2_at_ = kNever;
  Duration persist_backoff_{0};

  // Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2).
  uint32_t unacked_segments_ = 0;
  uint32_t quickacks_ = 0;
  bool ack_now_ = false;

  // RFC 5961 challenge ACK rate limit (one per interval per connection).
  Instant last_challenge_{};
  std::optional<Instant> last_oow_ack_;
  uint32_t challenges_this_second_ = 0;

  std::optional<Error> error_;       // SO_ERROR, reported once
  std::optional<Error> soft_error_;  // ICMP soft error, used if we time out
  bool reset_reported_ = false;

  // Statistics for TCP_INFO, and for the stack's counters.
  TcpInfo stats_;
  ConnCounters counters_;
  ConnEvents events_ = 0;  // since the last call returned them
  Instant last_data_sent_{}, last_data_recv_{}, last_ack_recv_{};
};

}  // namespace shunt::tcp
