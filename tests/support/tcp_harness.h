// State-machine test harness for one TcpConnection (docs/design.md section 10,
// layer 2): segment in, segments out, a manual clock.
//
// The harness plays the peer 198.18.0.2:80 against our connection
// 198.18.0.1:4000. Tests read like the RFC's examples (and like smoltcp's
// send!/recv!/recv_nothing! or gVisor's testing context):
//
//   establish_active();
//   send(data(irs + 1, iss + 1, "hello"));
//   expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 6});
//   advance(200ms);
//   expect_nothing_sent();
//
// Our ISS is `iss`, the peer's is `irs`. Everything the connection emits is
// drained after each call (as the Stack does) into a queue that
// expect_sent() pops from; a failure names the caller's line and lists what
// was actually sent, with sequence numbers relative to ISS / IRS.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "stack/buffer/buffer_pool.h"
#include "stack/tcp/connection.h"
#include "stack/wire/tcp.h"

namespace shunt::testing {

using wire::tcp_flag::kAck;
using wire::tcp_flag::kFin;
using wire::tcp_flag::kPsh;
using wire::tcp_flag::kRst;
using wire::tcp_flag::kSyn;

inline std::string tcp_flags_string(uint8_t f) {
  static constexpr std::pair<uint8_t, const char*> kNames[] = {{kSyn, "SYN"},
                                                               {kFin, "FIN"},
                                                               {kRst, "RST"},
                                                               {kPsh, "PSH"},
                                                               {kAck, "ACK"},
                                                               {wire::tcp_flag::kUrg, "URG"},
                                                               {wire::tcp_flag::kEce, "ECE"},
                                                               {wire::tcp_flag::kCwr, "CWR"}};
  std::string s;
  for (auto [bit, name] : kNames) {
    if ((f & bit) == 0) continue;
    if (!s.empty()) s += '|';
    s += name;
  }
  return s.empty() ? "-" : s;
}

// A segment from the peer, built step by step:
//   Seg().seq(irs + 1).ack(iss + 1).win(1000).data("abc")
struct Seg {
  wire::TcpRepr repr;
  std::vector<uint8_t> payload;

  Seg& seq(SeqNum s) {
    repr.seq = s;
    return *this;
  }
  // Sets the ACK flag too.
  Seg& ack(SeqNum a) {
    repr.ack = a;
    repr.flags |= kAck;
    return *this;
  }
  Seg& flags(uint8_t f) {
    repr.flags |= f;
    return *this;
  }
  Seg& clear_flags(uint8_t f) {
    repr.flags &= static_cast<uint8_t>(~f);
    return *this;
  }
  Seg& win(uint16_t w) {
    repr.window = w;
    return *this;
  }
  Seg& data(std::string_view s) {
    payload.assign(s.begin(), s.end());
    return *this;
  }
  // n bytes of a recognisable pattern, starting at stream offset `from`.
  Seg& data(size_t n, size_t from = 0) {
    payload.resize(n);
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<uint8_t>((from + i) * 7 + 1);
    return *this;
  }
  Seg& ts(uint32_t tsval, uint32_t tsecr) {
    repr.options.timestamps = wire::TcpOptions::Timestamps{tsval, tsecr};
    return *this;
  }
  Seg& no_ts() {
    repr.options.timestamps.reset();
    return *this;
  }
  Seg& sack(std::initializer_list<wire::SackBlock> blocks) {
    repr.options.sack_count = 0;
    for (const auto& b : blocks) repr.options.sack_blocks[repr.options.sack_count++] = b;
    return *this;
  }
  Seg& options(const wire::TcpOptions& o) {
    repr.options = o;
    return *this;
  }
};

// What expect_sent() checks: flags always, every other field when given.
struct Want {
  uint8_t flags = 0;
  std::optional<SeqNum> seq{};
  std::optional<SeqNum> ack{};
  std::optional<uint16_t> win{};
  std::optional<uint32_t> len{};
  // The SACK blocks, in order (an empty vector: none).
  std::optional<std::vector<wire::SackBlock>> sack{};
  std::optional<wire::TcpOptions::Timestamps> ts{};
  // All options, exactly.
  std::optional<wire::TcpOptions> options{};
  std::optional<bool> retransmit{};
};

// One segment the connection emitted, with its payload copied out.
struct Sent {
  wire::TcpRepr hdr;
  std::vector<uint8_t> payload;
  bool retransmit = false;
};

class TcpHarness {
 public:
  // ---- the setting: change before the connection is made -----------------
  tcp::TcpConfig cfg;
  tcp::ConnOptions opts;
  uint32_t mtu = 1500;
  uint64_t ts_offset = 1000;  // our TSval = milliseconds since 0 + 1000
  Instant now{};              // the manual clock
  tcp::FourTuple tuple{{Ipv4Address(198, 18, 0, 1), 4000}, {Ipv4Address(198, 18, 0, 2), 80}};
  SeqNum iss{10000};  // ours
  SeqNum irs{50000};  // the peer's
  // Options the peer's SYN / SYN-ACK carries (by default only an MSS, so
  // no timestamps, SACK or window scaling are negotiated).
  wire::TcpOptions peer_syn_options = [] {
    wire::TcpOptions o;
    o.mss = 1460;
    return o;
  }();
  uint16_t peer_window = 65535;  // the window field of the peer's segments

  // Bookkeeping of the state helpers: our SND.NXT, SND.UNA and the peer's
  // next sequence number (our RCV.NXT) once there.
  SeqNum ours{}, una{}, theirs{};

  BufferPool pool;  // outlives the connection
  std::unique_ptr<tcp::TcpConnection> conn;

  // The connection, made on first use with the setting above.
  tcp::TcpConnection& c() {
    if (!conn) {
      conn = std::make_unique<tcp::TcpConnection>(cfg, pool, tuple, opts, mtu, ts_offset, now);
    }
    return *conn;
  }
  tcp::TcpState state() { return c().state(); }
  // Our TSval at the current time.
  uint32_t our_tsval() const { return static_cast<uint32_t>(to_ns(now) / 1'000'000 + ts_offset); }

  // ---- segment builders (from the peer) ----------------------------------
  Seg seg() const {
    Seg s;
    s.repr.src_port = tuple.remote.port;
    s.repr.dst_port = tuple.local.port;
    s.repr.window = peer_window;
    return s;
  }
  Seg syn(SeqNum seq) const {
    Seg s = seg().seq(seq).flags(kSyn).options(peer_syn_options);
    s.repr.window = peer_window;
    return s;
  }
  Seg syn() const { return syn(irs); }
  Seg syn_ack(SeqNum seq, SeqNum ack) const { return syn(seq).ack(ack); }
  Seg syn_ack() const { return syn_ack(irs, iss + 1); }
  Seg ack(SeqNum seq, SeqNum ack) const { return seg().seq(seq).ack(ack); }
  Seg data(SeqNum seq, SeqNum ack, std::string_view text) const {
    return seg().seq(seq).ack(ack).flags(kPsh).data(text);
  }
  Seg data(SeqNum seq, SeqNum ack, size_t n, size_t from = 0) const {
    return seg().seq(seq).ack(ack).data(n, from);
  }
  Seg fin(SeqNum seq, SeqNum ack) const { return seg().seq(seq).ack(ack).flags(kFin); }
  Seg rst(SeqNum seq) const { return seg().seq(seq).flags(kRst); }
  Seg rst_ack(SeqNum seq, SeqNum ack) const { return seg().seq(seq).ack(ack).flags(kRst); }

  // ---- driving ------------------------------------------------------------
  // Feeds one segment to input() and drains what the connection sends.
  void send(const Seg& s) {
    wire::TcpRepr r = s.repr;
    r.payload_len = static_cast<uint16_t>(s.payload.size());
    c().input(r, Bytes(s.payload), now);
    collect();
  }
  void send(const wire::TcpRepr& r, Bytes payload) {
    wire::TcpRepr copy = r;
    copy.payload_len = static_cast<uint16_t>(payload.size());
    c().input(copy, payload, now);
    collect();
  }
  // Moves the clock forward by d, firing on_timer() at each deadline that
  // falls within, in order, as the Stack does.
  void advance(Duration d) { advance_to(now + d); }
  void advance_to(Instant end) {
    for (int guard = 0; conn; ++guard) {
      Instant dl = conn->next_deadline();
      if (dl > end) break;
      if (guard > 1'000'000) {
        ADD_FAILURE() << "on_timer() does not move next_deadline() past " << to_ns(dl) << " ns";
        break;
      }
      if (dl > now) now = dl;
      conn->on_timer(now);
      collect();
    }
    if (end > now) now = end;
  }
  // Moves the clock to the next deadline and fires it; returns the time.
  Instant fire_next_timer() {
    Instant dl = c().next_deadline();
    if (dl == kNever) {
      ADD_FAILURE() << "no timer armed";
      return now;
    }
    if (dl > now) now = dl;
    conn->on_timer(now);
    collect();
    return now;
  }
  // The application's calls, draining the outbox afterwards.
  Result<size_t> app_send(std::string_view text, bool more = false) {
    auto r = c().send(Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()), more, now);
    collect();
    return r;
  }
  Result<size_t> app_send(size_t n, bool more = false) {
    std::vector<uint8_t> d(n);
    for (size_t i = 0; i < n; ++i) d[i] = static_cast<uint8_t>(i * 7 + 1);
    auto r = c().send(d, more, now);
    collect();
    return r;
  }
  std::string app_recv(size_t max = 1 << 20) {
    std::vector<uint8_t> buf(max);
    auto r = c().recv(buf, false, now);
    collect();
    if (!r) return {};
    return std::string(buf.begin(), buf.begin() + static_cast<long>(*r));
  }
  void app_shutdown_write() {
    EXPECT_TRUE(c().shutdown(false, true, now));
    collect();
  }
  void app_close(bool linger_zero = false) {
    c().close(linger_zero, now);
    collect();
  }
  void options_changed() {
    c().options_changed(now);
    collect();
  }

  // ---- checking what was sent --------------------------------------------
  // Pops the next segment the connection sent and checks it against `w`.
  // Returns it (for payload checks) or nullopt if nothing was sent.
  std::optional<Sent> expect_sent(const Want& w,
                                  std::source_location loc = std::source_location::current()) {
    collect();
    if (sent_.empty()) {
      ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
          << "expected " << describe(w) << "\n  but nothing was sent";
      return std::nullopt;
    }
    Sent s = std::move(sent_.front());
    sent_.pop_front();
    std::string why = mismatch(w, s);
    if (!why.empty()) {
      std::string rest;
      for (const auto& r : sent_) rest += "\n    then " + describe(r);
      ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
          << "expected " << describe(w) << "\n  but sent " << describe(s) << rest << "\n  (" << why
          << ")";
    }
    return s;
  }
  void expect_nothing_sent(std::source_location loc = std::source_location::current()) {
    collect();
    if (sent_.empty()) return;
    std::string all;
    for (const auto& r : sent_) all += "\n    " + describe(r);
    ADD_FAILURE_AT(loc.file_name(), static_cast<int>(loc.line()))
        << "expected nothing sent, but sent:" << all;
    sent_.clear();
  }
  size_t sent_count() {
    collect();
    return sent_.size();
  }
  void discard_sent() {
    collect();
    sent_.clear();
  }

  // ---- reaching each state -------------------------------------------------
  // Each helper asserts its exchange; wrap calls in ASSERT_NO_FATAL_FAILURE.
  // The peer's window and options come from the setting above.

  // Active open (RFC 9293 3.5 figure 6, our side is TCP A): SYN-SENT.
  void open_active() {
    c().connect(iss, now);
    collect();
    expect_sent({.flags = kSyn, .seq = iss});
    ASSERT_EQ(state(), tcp::TcpState::kSynSent);
    ours = iss + 1;
    una = iss;
    theirs = irs;
  }
  // ... then the SYN-ACK and our ACK: ESTABLISHED.
  void establish_active() {
    ASSERT_NO_FATAL_FAILURE(open_active());
    send(syn_ack());
    expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 1});
    ASSERT_EQ(state(), tcp::TcpState::kEstablished);
    una = iss + 1;
    theirs = irs + 1;
  }
  // Passive open: a listener took the peer's SYN (TCB as accept_syn
  // builds it, a passive open like a listener's child): SYN-RECEIVED.
  void open_passive() {
    wire::TcpRepr s = syn().repr;
    c().accept_syn(s, iss, now);
    collect();
    expect_sent({.flags = kSyn | kAck, .seq = iss, .ack = irs + 1});
    ASSERT_EQ(state(), tcp::TcpState::kSynReceived);
    ours = iss + 1;
    una = iss;
    theirs = irs + 1;
  }
  void establish_passive() {
    ASSERT_NO_FATAL_FAILURE(open_passive());
    send(ack(irs + 1, iss + 1));
    expect_nothing_sent();
    ASSERT_EQ(state(), tcp::TcpState::kEstablished);
    una = iss + 1;
  }
  // shutdown(SHUT_WR) from ESTABLISHED sends our FIN: FIN-WAIT-1.
  void to_fin_wait_1() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    app_shutdown_write();
    expect_sent({.flags = kFin | kAck, .seq = iss + 1, .ack = irs + 1});
    ASSERT_EQ(state(), tcp::TcpState::kFinWait1);
    ours = iss + 2;
  }
  // The peer acknowledges our FIN: FIN-WAIT-2.
  void to_fin_wait_2() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_1());
    send(ack(irs + 1, iss + 2));
    expect_nothing_sent();
    ASSERT_EQ(state(), tcp::TcpState::kFinWait2);
    una = iss + 2;
  }
  // Simultaneous close (RFC 9293 3.6 figure 13): the peer's FIN crosses
  // ours: CLOSING.
  void to_closing() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_1());
    send(fin(irs + 1, iss + 1));
    expect_sent({.flags = kAck, .seq = iss + 2, .ack = irs + 2});
    ASSERT_EQ(state(), tcp::TcpState::kClosing);
    theirs = irs + 2;
  }
  // The peer closes first: CLOSE-WAIT.
  void to_close_wait() {
    ASSERT_NO_FATAL_FAILURE(establish_active());
    send(fin(irs + 1, iss + 1));
    expect_sent({.flags = kAck, .seq = iss + 1, .ack = irs + 2});
    ASSERT_EQ(state(), tcp::TcpState::kCloseWait);
    theirs = irs + 2;
  }
  // ... and we close too: LAST-ACK.
  void to_last_ack() {
    ASSERT_NO_FATAL_FAILURE(to_close_wait());
    app_shutdown_write();
    expect_sent({.flags = kFin | kAck, .seq = iss + 1, .ack = irs + 2});
    ASSERT_EQ(state(), tcp::TcpState::kLastAck);
    ours = iss + 2;
  }
  // FIN-WAIT-2 and the peer's FIN: TIME-WAIT.
  void to_time_wait() {
    ASSERT_NO_FATAL_FAILURE(to_fin_wait_2());
    send(fin(irs + 1, iss + 2));
    expect_sent({.flags = kAck, .seq = iss + 2, .ack = irs + 2});
    ASSERT_EQ(state(), tcp::TcpState::kTimeWait);
    theirs = irs + 2;
  }
  void to_state(tcp::TcpState s) {
    using tcp::TcpState;
    switch (s) {
      case TcpState::kSynSent:
        return open_active();
      case TcpState::kSynReceived:
        return open_passive();
      case TcpState::kEstablished:
        return establish_active();
      case TcpState::kFinWait1:
        return to_fin_wait_1();
      case TcpState::kFinWait2:
        return to_fin_wait_2();
      case TcpState::kClosing:
        return to_closing();
      case TcpState::kCloseWait:
        return to_close_wait();
      case TcpState::kLastAck:
        return to_last_ack();
      case TcpState::kTimeWait:
        return to_time_wait();
      default:
        FAIL() << "no helper for " << tcp::to_string(s);
    }
  }

  // ---- formatting ------------------------------------------------------------
  std::string rel_seq(SeqNum s) const { return rel(s, iss, "ISS"); }
  std::string rel_ack(SeqNum s) const { return rel(s, irs, "IRS"); }

  std::string describe(const Sent& s) const {
    std::string out = fmt::format(
        "<{} seq={} ack={} win={} len={}", tcp_flags_string(s.hdr.flags), rel_seq(s.hdr.seq),
        s.hdr.has(kAck) ? rel_ack(s.hdr.ack) : std::string("-"), s.hdr.window, s.payload.size());
    out += describe(s.hdr.options);
    if (s.retransmit) out += " rtx";
    return out + ">";
  }
  std::string describe(const Want& w) const {
    std::string out = "<" + tcp_flags_string(w.flags);
    out += " seq=" + (w.seq ? rel_seq(*w.seq) : std::string("*"));
    out += " ack=" + (w.ack ? rel_ack(*w.ack) : std::string("*"));
    out += " win=" + (w.win ? std::to_string(*w.win) : std::string("*"));
    out += " len=" + (w.len ? std::to_string(*w.len) : std::string("*"));
    if (w.options) out += describe(*w.options);
    if (w.sack) {
      out += " sack[";
      for (const auto& b : *w.sack)
        out += fmt::format(" {}..{}", rel_ack(b.left), rel_ack(b.right));
      out += " ]";
    }
    if (w.ts) out += fmt::format(" ts={}/{}", w.ts->tsval, w.ts->tsecr);
    if (w.retransmit) out += *w.retransmit ? " rtx" : " not-rtx";
    return out + ">";
  }
  std::string describe(const wire::TcpOptions& o) const {
    std::string out;
    if (o.mss) out += fmt::format(" mss={}", *o.mss);
    if (o.window_scale) out += fmt::format(" ws={}", *o.window_scale);
    if (o.sack_permitted) out += " sackOK";
    if (o.timestamps) out += fmt::format(" ts={}/{}", o.timestamps->tsval, o.timestamps->tsecr);
    if (o.sack_count > 0) {
      out += " sack[";
      for (size_t i = 0; i < o.sack_count; ++i) {
        out +=
            fmt::format(" {}..{}", rel_ack(o.sack_blocks[i].left), rel_ack(o.sack_blocks[i].right));
      }
      out += " ]";
    }
    return out;
  }

 private:
  static std::string rel(SeqNum s, SeqNum base, const char* name) {
    int32_t d = s - base;
    if (d >= -1'000'000 && d <= 100'000'000) return fmt::format("{}{:+d}", name, d);
    return std::to_string(s.value());
  }

  std::string mismatch(const Want& w, const Sent& s) const {
    std::string why;
    auto add = [&](const std::string& m) { why += (why.empty() ? "" : ", ") + m; };
    if (s.hdr.flags != w.flags) add("flags");
    if (w.seq && s.hdr.seq != *w.seq) add("seq");
    if (w.ack && (!s.hdr.has(kAck) || s.hdr.ack != *w.ack)) add("ack");
    if (w.win && s.hdr.window != *w.win) add("window");
    if (w.len && s.payload.size() != *w.len) add("len");
    if (w.sack) {
      std::vector<wire::SackBlock> got(
          s.hdr.options.sack_blocks.begin(),
          s.hdr.options.sack_blocks.begin() + s.hdr.options.sack_count);
      if (got != *w.sack) add("sack blocks");
    }
    if (w.ts && s.hdr.options.timestamps != w.ts) add("timestamps");
    if (w.options && s.hdr.options != *w.options) add("options");
    if (w.retransmit && s.retransmit != *w.retransmit) add("retransmit");
    return why;
  }

  // Drains the connection's outbox (called after every call into it, and
  // before every check, so tests may call the connection directly).
  void collect() {
    if (!conn) return;
    for (auto& o : conn->outbox()) {
      Sent s;
      s.hdr = o.hdr;
      if (o.payload) s.payload.assign(o.payload.bytes().begin(), o.payload.bytes().end());
      s.retransmit = o.retransmit;
      sent_.push_back(std::move(s));
    }
    conn->outbox().clear();
  }

  std::deque<Sent> sent_;
};

}  // namespace shunt::testing
