// A stateful TCP fuzz target (issue 3: "arbitrary segments into connections
// in each state, under ASan+UBSan").
//
// One Stack (198.18.0.2) talks to a scripted peer (198.18.0.1). The stack
// has a listener on port 80 and a client socket connecting out to the
// peer's port 443. The fuzz input is a script: a configuration byte, then
// records, each either a TCP segment from the peer (built into a valid
// Ethernet/IPv4/TCP frame with correct checksums, its sequence and
// acknowledgment numbers chosen relative to what the stack last sent, so
// the segments land in the window often), a socket call (send, recv,
// shutdown, close, accept, set_option, connect/listen, queries) or a jump
// of the virtual clock with the timers that fall due.
//
// Invariants checked (SHUNT_CHECK; a failure is a finding):
//   - every frame the stack sends parses, with correct IP and TCP checksums;
//   - the data the stack sends is the data the application wrote, at the
//     right sequence numbers (the application writes byte (offset & 0xff));
//   - the data the application reads is the data the peer sent, in order:
//     the peer's byte at sequence number s is (s & 0xff), so consecutive
//     bytes of any received stream increase by one;
//   - a timer never asks to run again at the instant it just ran (a spin);
//   - after the input every socket is closed and the clock moves on by
//     hours: no connection may remain (tcp_connection_count() == 0), and
//     once the stack is gone every packet buffer is back in the pool.
//
// The peer answers the stack's ARP requests by itself; nothing else is
// automatic.
//
// Input format (every read past the end yields 0):
//   byte 0        configuration: bit0 no timestamps, bit1 no SACK, bit2 no
//                 window scaling, bit3 no SYN cookies, bit4 NewReno instead
//                 of CUBIC, bits5-7 listen backlog (0..7)
//   then records, the first byte's value modulo 16 being the kind:
//   0..4  segment  [sel] [flags] [seq arg] [ack arg] [window] [length] [options]
//                  sel: bits0-2 flow (modulo 5), bits3-4 seq mode, bits5-6
//                  ack mode, bit7 options follow.
//                  flows: 0 the client connection (stack port -> peer 443),
//                  1..3 peer ports 40001..40003 -> stack port 80 (the
//                  listener), 4 peer port 40004 -> stack port 81 (closed).
//                  seq mode: 0 the peer's next sequence number (no arg),
//                  1 the stack's last ACK + int16, 2 absolute uint32,
//                  3 the peer's next + int16. ack mode: 0 the stack's
//                  SND.NXT as seen on the wire (no arg), 1 that + int16,
//                  2 absolute uint32, 3 the stack's ISS + 1 + int16.
//                  window: 0 -> 0, 255 -> 65535, else w * 257.
//                  length: payload bytes = length * 6 (at most what the MTU allows).
//                  options: [mask] bit0 MSS (uint16), bit1 window scale
//                  (uint8), bit2 SACK-permitted, bit3 timestamps ([t]: t <
//                  128 -> peer clock + t, else the clock - (t - 127) * 10^6;
//                  TSecr echoes the stack's last TSval), bit4 SACK blocks
//                  ([n] then n % 4 + 1 times [uint16 back][len]: left =
//                  stack SND.NXT - back, right = left + len * 16), bit5
//                  urgent pointer (uint16), bit6 raw option bytes ([n] then
//                  n % 41 bytes, replacing the above), bit7 a bad checksum.
//   5     icmp     [flow] [kind] [mtu: uint16] [seq: int16]: an ICMP error
//                  from the peer quoting a segment of the flow with sequence
//                  number stack SND.NXT + seq; kind modulo 8: net, host,
//                  protocol, port unreachable, fragmentation needed (with
//                  the MTU), administratively prohibited, TTL exceeded,
//                  parameter problem.
//   6     send     [socket] [len: * 97 + 1] [flags: bit0 MSG_MORE]
//   7     recv     [socket] [len: * 64 + 1] [flags: bit0 MSG_PEEK]
//   8     shutdown [socket] [how: bit0 read, bit1 write]
//   9     close    [socket]
//   10    accept   [slot]
//   11    setopt   [socket] [option: modulo 16, 15 = congestion] [value]
//   12    open     [which: even client, odd listener] [arg]: a closed
//                  client is reopened (arg bit0 SO_REUSEADDR, bit1 bind to
//                  port 50000) and connects to the peer's port 443; an open
//                  one connects again. A closed listener is reopened
//                  (bit0 SO_REUSEADDR) on port 80; listen(backlog (arg >> 1) % 8).
//   13    clock    [ms]: run the clock forward 0..255 ms
//   14    clock    [c]: run the clock forward c * c / 2 + 1 seconds
//   15    query    [socket]: tcp_info, readiness, take_error, options...
//   sockets: modulo 6: 0 client, 1 listener, 2..5 accepted.
//
// Seeds: SHUNT_TCP_FUZZ_SEEDS=DIR tcp_fuzz writes the seed corpus (below,
// "Seeds") to DIR and exits; fuzz/corpus/tcp/regress_* are minimized
// findings kept once fixed (regress_synack_data_offset: data in a SYN-ACK
// was queued at the SYN's own sequence number, one byte early);
// cookie_ack_shifted completes a SYN cookie with an ACK whose SEG.SEQ and
// SEG.ACK are both off (accepted, as by Linux: see segment()). SHUNT_TCP_FUZZ_TRACE=1 tcp_fuzz
// FILE prints what FILE does, record by record, with every segment the stack sends.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"
#include "stack/tcp/tcp_state.h"
#include "stack/wire/arp.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

namespace {

using namespace shunt;
namespace tf = wire::tcp_flag;

const MacAddress kPeerMac({0x02, 0x00, 0xc6, 0x12, 0x00, 0x01});
const MacAddress kStackMac({0x02, 0x00, 0xc6, 0x12, 0x00, 0x02});
constexpr Ipv4Address kPeerIp(198, 18, 0, 1);
constexpr Ipv4Address kStackIp(198, 18, 0, 2);
constexpr uint16_t kListenPort = 80;
constexpr uint16_t kClosedPort = 81;
constexpr uint16_t kPeerServerPort = 443;
constexpr uint16_t kPeerPortBase = 40000;  // flows 1..4: 40001..40004
constexpr uint16_t kClientBindPort = 50000;
constexpr size_t kFlows = 5;
constexpr size_t kSockets = 6;  // client, listener, 4 accepted
constexpr size_t kClient = 0;
constexpr size_t kListener = 1;
constexpr size_t kMtu = 1500;

bool g_trace = false;

#define TRACE(...)                                  \
  do {                                              \
    if (g_trace) std::fprintf(stderr, __VA_ARGS__); \
  } while (0)

// Reads the input from the front; past the end every read yields zeros.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ == end_; }
  uint8_t u8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t u16() {
    const uint16_t hi = u8();
    return static_cast<uint16_t>((hi << 8) | u8());
  }
  uint32_t u32() {
    const uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  Bytes bytes(size_t n) {
    n = std::min<size_t>(n, static_cast<size_t>(end_ - p_));
    Bytes b(p_, n);
    p_ += n;
    return b;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// What the peer knows about one 4-tuple, from the segments it saw and sent.
struct Flow {
  uint16_t peer_port = 0;
  uint16_t stack_port = 0;
  bool seen = false;   // the stack sent a SYN or SYN-ACK on it
  SeqNum stack_isn{};  // from that SYN
  SeqNum stack_nxt{};  // the highest sequence number the stack sent, + 1
  SeqNum stack_ack{};  // the last acknowledgment the stack sent
  uint32_t stack_tsval = 0;
  SeqNum peer_nxt{};  // the peer's next sequence number
};

struct Sock {
  SocketId id{};
  bool open = false;
  uint64_t written = 0;              // bytes the application wrote
  std::optional<uint8_t> last_read;  // the last byte it consumed
};

class Capture final : public NetDevice {
 public:
  explicit Capture(std::vector<PacketBuffer>& out) : out_(out) {}
  void transmit(std::span<PacketBuffer> frames, Instant) override {
    for (auto& f : frames) out_.push_back(std::move(f));
  }
  size_t receive(std::vector<PacketBuffer>&, size_t, Instant) override { return 0; }
  DeviceInfo info() const override { return DeviceInfo{.mtu = kMtu}; }

 private:
  std::vector<PacketBuffer>& out_;
};

const char* flag_string(uint8_t f) {
  static char buf[16];
  const char* names = "FSRPAUEC";
  size_t n = 0;
  for (int i = 0; i < 8; ++i) {
    if ((f & (1u << i)) != 0) buf[n++] = names[i];
  }
  if (n == 0) buf[n++] = '.';
  buf[n] = '\0';
  return buf;
}

class Harness {
 public:
  Harness(BufferPool& pool, uint8_t config)
      : pool_(pool), dev_(sent_), stack_(dev_, pool_, make_config(config)) {
    for (size_t i = 0; i < kFlows; ++i) {
      flows_[i].peer_port = i == 0 ? kPeerServerPort : static_cast<uint16_t>(kPeerPortBase + i);
      flows_[i].stack_port = i == 4 ? kClosedPort : kListenPort;
      flows_[i].peer_nxt = SeqNum(0x10000000u * static_cast<uint32_t>(i + 1));
    }
    stack_.poll(now_);
    // The peer introduces itself (the stack learns its MAC from the request).
    wire::ArpRepr req{.operation = wire::arp_op::kRequest,
                      .sender_mac = kPeerMac,
                      .sender_ip = kPeerIp,
                      .target_mac = MacAddress(),
                      .target_ip = kStackIp};
    feed_arp(req, MacAddress::broadcast());
    const uint8_t backlog = config >> 5;
    open_listener(0, backlog);
    open_client(0);
    drain();
  }

  void run(Reader& in) {
    while (!in.empty()) {
      const uint8_t op = in.u8() % 16;
      if (op <= 4) {
        segment(in);
      } else if (op == 5) {
        icmp(in);
      } else {
        switch (op) {
          case 6:
            op_send(in);
            break;
          case 7:
            op_recv(in);
            break;
          case 8:
            op_shutdown(in);
            break;
          case 9:
            op_close(in);
            break;
          case 10:
            op_accept(in);
            break;
          case 11:
            op_setopt(in);
            break;
          case 12:
            op_open(in);
            break;
          case 13: {
            const uint8_t ms = in.u8();
            TRACE("clock +%u ms\n", ms);
            advance_to(now_ + std::chrono::milliseconds(ms));
            break;
          }
          case 14: {
            const uint32_t c = in.u8();
            const uint32_t s = c * c / 2 + 1;
            TRACE("clock +%u s\n", s);
            advance_to(now_ + std::chrono::seconds(s));
            break;
          }
          default:
            op_query(in);
            break;
        }
      }
      drain();
    }
  }

  // Closes everything and lets every timer run out.
  void finish() {
    TRACE("finish: close all, clock +6 h\n");
    for (auto& s : socks_) {
      if (s.open) (void)stack_.close(s.id, now_);
      s.open = false;
    }
    drain();
    advance_to(now_ + std::chrono::hours(6), 1'000'000);
    if (stack_.tcp_connection_count() != 0) {
      std::fprintf(stderr, "tcp_fuzz: %zu connection(s) left 6 h after every socket closed\n",
                   stack_.tcp_connection_count());
    }
    SHUNT_CHECK(stack_.tcp_connection_count() == 0);
    SHUNT_CHECK(stack_.socket_count() == 0);
  }

 private:
  static StackConfig make_config(uint8_t c) {
    StackConfig cfg;
    cfg.mac = kStackMac;
    cfg.address = Ipv4Cidr(kStackIp, 24);
    cfg.mtu = kMtu;
    cfg.seed = 7;
    cfg.tcp.timestamps = (c & 1) == 0;
    cfg.tcp.sack = (c & 2) == 0;
    cfg.tcp.window_scaling = (c & 4) == 0;
    cfg.tcp.syncookies = (c & 8) == 0;
    cfg.tcp.congestion_control = (c & 16) == 0 ? "cubic" : "reno";
    return cfg;
  }

  // ---- the peer's side of the wire ----------------------------------------

  void feed(PacketBuffer frame) {
    stack_.receive(std::move(frame), now_);
    drain();
  }

  void feed_arp(const wire::ArpRepr& arp, MacAddress dst) {
    PacketBuffer b = pool_.allocate(wire::ArpRepr::kLen);
    arp.emit(b.append(wire::ArpRepr::kLen));
    wire::EthernetRepr{dst, kPeerMac, wire::ethertype::kArp}.emit(
        b.push_front(wire::kEthernetHeaderLen));
    stack_.receive(std::move(b), now_);
  }

  uint32_t peer_clock_ms() const { return static_cast<uint32_t>(to_ns(now_) / 1'000'000) + 1000; }

  void segment(Reader& in) {
    const uint8_t sel = in.u8();
    Flow& fl = flows_[(sel & 7) % kFlows];
    const size_t flow_index = static_cast<size_t>(&fl - flows_.data());
    const uint8_t flags = in.u8();
    auto rel = [&](Reader& r) { return static_cast<uint32_t>(static_cast<int16_t>(r.u16())); };
    SeqNum seq;
    switch ((sel >> 3) & 3) {
      case 0:
        seq = fl.peer_nxt;
        break;
      case 1:
        seq = fl.stack_ack + rel(in);
        break;
      case 2:
        seq = SeqNum(in.u32());
        break;
      default:
        seq = fl.peer_nxt + rel(in);
        break;
    }
    SeqNum ack;
    switch ((sel >> 5) & 3) {
      case 0:
        ack = fl.stack_nxt;
        break;
      case 1:
        ack = fl.stack_nxt + rel(in);
        break;
      case 2:
        ack = SeqNum(in.u32());
        break;
      default:
        ack = fl.stack_isn + 1 + rel(in);
        break;
    }
    const uint8_t w = in.u8();
    const uint16_t window = w == 0 ? 0 : w == 255 ? 65535 : static_cast<uint16_t>(w * 257);
    size_t len = size_t{in.u8()} * 6;

    std::vector<uint8_t> opts;
    uint16_t urgent = 0;
    bool bad_checksum = false;
    if ((sel & 0x80) != 0) {
      const uint8_t mask = in.u8();
      wire::TcpOptions o;
      if (mask & 0x01) o.mss = in.u16();
      if (mask & 0x02) o.window_scale = in.u8();
      if (mask & 0x04) o.sack_permitted = true;
      if (mask & 0x08) {
        const uint8_t t = in.u8();
        const uint32_t clock = peer_clock_ms();
        const uint32_t tsval = t < 128 ? clock + t : clock - (t - 127u) * 1'000'000u;
        o.timestamps = wire::TcpOptions::Timestamps{tsval, fl.stack_tsval};
      }
      if (mask & 0x10) {
        const size_t n = in.u8() % 4 + 1;
        for (size_t i = 0; i < n; ++i) {
          const uint16_t back = in.u16();
          const uint8_t l = in.u8();
          SeqNum left = fl.stack_nxt - back;
          o.sack_blocks[i] = wire::SackBlock{left, left + uint32_t{l} * 16};
        }
        o.sack_count = static_cast<uint8_t>(n);
        while (o.sack_count > 0 && o.encoded_len() > wire::TcpOptions::kMaxLen) --o.sack_count;
      }
      if (mask & 0x20) urgent = in.u16();
      if (mask & 0x40) {
        Bytes raw = in.bytes(in.u8() % (wire::TcpOptions::kMaxLen + 1));
        opts.assign(raw.begin(), raw.end());
        while (opts.size() % 4 != 0) opts.push_back(wire::tcp_option::kEnd);
      } else {
        opts.resize(o.encoded_len());
        o.emit(opts);
      }
      bad_checksum = (mask & 0x80) != 0;
    }
    const size_t room =
        kMtu - wire::Ipv4Repr::kMinHeaderLen - wire::TcpRepr::kMinHeaderLen - opts.size();
    len = std::min(len, room);

    TRACE("peer> flow%zu %s seq=%u ack=%u win=%u len=%zu opts=%zu%s%s\n", flow_index,
          flag_string(flags), seq.value(), ack.value(), window, len, opts.size(),
          urgent != 0 ? " urg" : "", bad_checksum ? " BADSUM" : "");
    const size_t queue_before = accept_queue();
    stack_.receive(build(fl, seq, ack, flags, window, urgent, opts, len, bad_checksum), now_);
    if (flow_index != 0 && (flags & (tf::kSyn | tf::kRst | tf::kAck)) == tf::kAck &&
        accept_queue() > queue_before) {
      // The ACK completed a handshake: the stack's ISS is SEG.ACK - 1. For
      // a SYN-RECEIVED child that is the ISS of its SYN-ACK (only ISS + 1
      // is acceptable); for a SYN cookie (RFC 4987) the stack kept nothing
      // and takes SEG.ACK - 1 as its ISS, and the cookie check (like
      // Linux's) passes ACKs off by a few (the MSS index bits) and any
      // (SEG.SEQ, SEG.ACK) shifted together from a valid pair, so the ISS
      // may differ from the SYN-ACK the peer saw.
      TRACE("peer: flow%zu handshake completed, stack ISS %u\n", flow_index, (ack - 1).value());
      fl.stack_isn = ack - 1;
      fl.stack_nxt = ack;
    }
    drain();

    // The peer's own sequence space: a SYN starts it again; data that
    // reaches or overlaps its next byte extends it.
    const uint32_t seg_len =
        static_cast<uint32_t>(len) + ((flags & tf::kSyn) ? 1 : 0) + ((flags & tf::kFin) ? 1 : 0);
    if ((flags & tf::kRst) == 0 && !bad_checksum) {
      if (flags & tf::kSyn) {
        fl.peer_nxt = seq + seg_len;
      } else if (seq <= fl.peer_nxt && seq + seg_len > fl.peer_nxt) {
        fl.peer_nxt = seq + seg_len;
      }
    }
  }

  void icmp(Reader& in) {
    Flow& fl = flows_[in.u8() % kFlows];
    static constexpr std::array<std::pair<uint8_t, uint8_t>, 8> kKinds = {{
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kNetUnreachable},
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kHostUnreachable},
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kProtocolUnreachable},
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kPortUnreachable},
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kFragNeeded},
        {wire::icmp_type::kDestUnreachable, wire::icmp_code::kAdminProhibited},
        {wire::icmp_type::kTimeExceeded, wire::icmp_code::kTtlExceeded},
        {wire::icmp_type::kParameterProblem, 0},
    }};
    const auto [type, code] = kKinds[in.u8() % kKinds.size()];
    const uint16_t mtu = in.u16();
    const SeqNum seq = fl.stack_nxt + static_cast<uint32_t>(static_cast<int16_t>(in.u16()));
    // The quoted datagram: the stack's IP header and the first 8 bytes of
    // its TCP header (RFC 792).
    std::array<uint8_t, wire::Ipv4Repr::kMinHeaderLen + 8> quote{};
    wire::Ipv4Repr q;
    q.src = kStackIp;
    q.dst = kPeerIp;
    q.protocol = wire::ip_proto::kTcp;
    q.dont_fragment = true;
    q.payload_len = wire::TcpRepr::kMinHeaderLen;
    q.emit(quote);
    store_be16(quote.data() + 20 + wire::tcp_field::kSrcPort, fl.stack_port);
    store_be16(quote.data() + 20 + wire::tcp_field::kDstPort, fl.peer_port);
    store_be32(quote.data() + 20 + wire::tcp_field::kSeq, seq.value());
    wire::IcmpRepr m;
    m.type = type;
    m.code = code;
    m.next_hop_mtu =
        code == wire::icmp_code::kFragNeeded && type == wire::icmp_type::kDestUnreachable ? mtu : 0;
    m.payload = quote;
    TRACE("peer> flow%zu icmp %u/%u mtu=%u seq=%u\n", static_cast<size_t>(&fl - flows_.data()),
          type, code, m.next_hop_mtu, seq.value());
    PacketBuffer b = pool_.allocate(m.len());
    m.emit(b.append(m.len()));
    wire::Ipv4Repr ip;
    ip.src = kPeerIp;
    ip.dst = kStackIp;
    ip.protocol = wire::ip_proto::kIcmp;
    ip.ident = ++ip_ident_;
    ip.payload_len = static_cast<uint16_t>(m.len());
    ip.emit(b.push_front(wire::Ipv4Repr::kMinHeaderLen));
    wire::EthernetRepr{kStackMac, kPeerMac, wire::ethertype::kIpv4}.emit(
        b.push_front(wire::kEthernetHeaderLen));
    feed(std::move(b));
  }

  PacketBuffer build(const Flow& fl, SeqNum seq, SeqNum ack, uint8_t flags, uint16_t window,
                     uint16_t urgent, const std::vector<uint8_t>& opts, size_t len,
                     bool bad_checksum) {
    const size_t hl = wire::TcpRepr::kMinHeaderLen + opts.size();
    const size_t total = hl + len;
    PacketBuffer b = pool_.allocate(total);
    uint8_t* p = b.append(total).data();
    store_be16(p + wire::tcp_field::kSrcPort, fl.peer_port);
    store_be16(p + wire::tcp_field::kDstPort, fl.stack_port);
    store_be32(p + wire::tcp_field::kSeq, seq.value());
    store_be32(p + wire::tcp_field::kAck, ack.value());
    p[wire::tcp_field::kDataOffset] = static_cast<uint8_t>((hl / 4) << 4);
    p[wire::tcp_field::kFlags] = flags;
    store_be16(p + wire::tcp_field::kWindow, window);
    store_be16(p + wire::tcp_field::kChecksum, 0);
    store_be16(p + wire::tcp_field::kUrgent, urgent);
    if (!opts.empty()) std::copy(opts.begin(), opts.end(), p + wire::tcp_field::kOptions);
    // The peer's byte at sequence number s is (s & 0xff); data in a SYN
    // starts after the SYN's own sequence number.
    const SeqNum data_seq = seq + ((flags & tf::kSyn) ? 1u : 0u);
    for (size_t i = 0; i < len; ++i)
      p[hl + i] = static_cast<uint8_t>((data_seq + static_cast<uint32_t>(i)).value());
    const uint32_t pseudo = checksum::pseudo_header(kPeerIp, kStackIp, wire::ip_proto::kTcp,
                                                    static_cast<uint16_t>(total));
    uint16_t sum = checksum::finish(checksum::partial(Bytes(p, total), pseudo));
    if (bad_checksum) sum = static_cast<uint16_t>(sum ^ 0x0101);
    store_be16(p + wire::tcp_field::kChecksum, sum);

    wire::Ipv4Repr ip;
    ip.src = kPeerIp;
    ip.dst = kStackIp;
    ip.protocol = wire::ip_proto::kTcp;
    ip.ttl = 64;
    ip.ident = ++ip_ident_;
    ip.dont_fragment = true;
    ip.payload_len = static_cast<uint16_t>(total);
    ip.emit(b.push_front(wire::Ipv4Repr::kMinHeaderLen));
    wire::EthernetRepr{kStackMac, kPeerMac, wire::ethertype::kIpv4}.emit(
        b.push_front(wire::kEthernetHeaderLen));
    return b;
  }

  // Looks at everything the stack sent: answers ARP, checks every TCP
  // segment and learns the flows' sequence numbers.
  void drain() {
    for (int round = 0; round < 8; ++round) {
      if (stack_.next_deadline() <= now_) stack_.poll(now_);
      if (sent_.empty()) break;
      std::vector<PacketBuffer> frames = std::move(sent_);
      sent_.clear();
      bool arp_request = false;
      for (auto& f : frames) arp_request |= observe(f.bytes());
      frames.clear();
      if (arp_request) {
        wire::ArpRepr reply{.operation = wire::arp_op::kReply,
                            .sender_mac = kPeerMac,
                            .sender_ip = kPeerIp,
                            .target_mac = kStackMac,
                            .target_ip = kStackIp};
        feed_arp(reply, kStackMac);
      }
    }
  }

  // Returns true for an ARP request for the peer's address.
  bool observe(Bytes frame) {
    auto eth = wire::EthernetRepr::parse(frame);
    SHUNT_CHECK(eth.ok());
    Bytes l3 = frame.subspan(wire::kEthernetHeaderLen);
    if (eth->ethertype == wire::ethertype::kArp) {
      auto arp = wire::ArpRepr::parse(l3);
      SHUNT_CHECK(arp.ok());
      return arp->operation == wire::arp_op::kRequest && arp->target_ip == kPeerIp;
    }
    SHUNT_CHECK(eth->ethertype == wire::ethertype::kIpv4);
    auto ip = wire::Ipv4Repr::parse(l3, /*verify_checksum=*/true);
    SHUNT_CHECK(ip.ok());
    if (ip->protocol != wire::ip_proto::kTcp) {
      TRACE("stack> ip protocol %u, %u bytes\n", ip->protocol, ip->payload_len);
      return false;
    }
    SHUNT_CHECK(!ip->is_fragment());
    Bytes l4 = l3.subspan(ip->header_len, ip->payload_len);
    auto seg = wire::TcpRepr::parse(l4, ip->src, ip->dst, /*verify_checksum=*/true);
    SHUNT_CHECK(seg.ok());
    Bytes data = l4.subspan(seg->header_len);

    Flow* fl = nullptr;
    if (seg->dst_port == kPeerServerPort) {
      fl = &flows_[0];
      if (seg->has(tf::kSyn) && !seg->has(tf::kAck)) {
        fl->stack_port = seg->src_port;  // a new client connection
      }
      if (seg->src_port != fl->stack_port) fl = nullptr;  // an older client connection
    } else if (seg->dst_port > kPeerPortBase && seg->dst_port < kPeerPortBase + kFlows) {
      fl = &flows_[seg->dst_port - kPeerPortBase];
      if (seg->src_port != fl->stack_port) fl = nullptr;
    }
    TRACE("stack> flow%d %s seq=%u ack=%u win=%u len=%zu%s\n",
          fl == nullptr ? -1 : static_cast<int>(fl - flows_.data()), flag_string(seg->flags),
          seg->seq.value(), seg->ack.value(), seg->window, data.size(),
          seg->options.sack_count > 0 ? " sack" : "");
    if (fl == nullptr || seg->has(tf::kRst)) return false;

    if (seg->has(tf::kSyn)) {
      fl->seen = true;
      fl->stack_isn = seg->seq;
      fl->stack_nxt = seg->seq + 1;
      SHUNT_CHECK(data.empty());
    } else if (fl->seen) {
      const SeqNum end =
          seg->seq + static_cast<uint32_t>(data.size()) + (seg->has(tf::kFin) ? 1u : 0u);
      if (end > fl->stack_nxt) fl->stack_nxt = end;
      // The data is what the application wrote: byte k of the stream is k & 0xff.
      for (size_t i = 0; i < data.size(); ++i) {
        const uint32_t k = (seg->seq + static_cast<uint32_t>(i)) - (fl->stack_isn + 1);
        if (data[i] != static_cast<uint8_t>(k)) {
          std::fprintf(stderr,
                       "tcp_fuzz: stack sent byte %u at stream offset %u (seq %u), wrote %u\n",
                       data[i], k, (seg->seq + static_cast<uint32_t>(i)).value(), k & 0xff);
        }
        SHUNT_CHECK(data[i] == static_cast<uint8_t>(k));
      }
    }
    if (seg->has(tf::kAck)) {
      fl->stack_ack = seg->ack;
      // The stack took more than the peer thinks it sent in order (the
      // peer filled a hole below data it had sent out of order).
      if (seg->ack > fl->peer_nxt && seg->ack - fl->peer_nxt < (1 << 24)) fl->peer_nxt = seg->ack;
    }
    if (seg->options.timestamps) fl->stack_tsval = seg->options.timestamps->tsval;
    return false;
  }

  // The listener's accept queue length (TCP_INFO's unacked for a listener).
  size_t accept_queue() const {
    const Sock& l = socks_[kListener];
    if (!l.open) return 0;
    auto info = stack_.tcp_info(l.id, now_);
    return info ? info->unacked : 0;
  }

  // Runs the clock to `target`, polling at every deadline on the way.
  void advance_to(Instant target, size_t max_polls = 10'000) {
    size_t polls = 0, same_instant = 0;
    while (polls < max_polls) {
      const Instant d = stack_.next_deadline();
      if (d > target) break;
      const Instant at = std::max(d, now_);
      same_instant = at == now_ ? same_instant + 1 : 0;
      // A timer that wants to run again at the instant it just ran would
      // spin the stack thread for ever.
      SHUNT_CHECK(same_instant < 1000);
      now_ = at;
      stack_.poll(now_);
      drain();
      ++polls;
    }
    now_ = std::max(now_, target);
    stack_.poll(now_);
    drain();
  }

  // ---- the application -----------------------------------------------------

  Sock& sock(Reader& in) { return socks_[in.u8() % kSockets]; }

  void open_client(uint8_t arg) {
    Sock& c = socks_[kClient];
    c = Sock{};
    auto id = stack_.tcp_open();
    SHUNT_CHECK(id.ok());
    c.id = *id;
    c.open = true;
    if (arg & 1) (void)stack_.set_option(c.id, SockOpt::kReuseAddr, 1, now_);
    if (arg & 2) (void)stack_.bind(c.id, {Ipv4Address::any(), kClientBindPort});
    connect_client();
  }

  void connect_client() {
    Sock& c = socks_[kClient];
    auto r = stack_.connect(c.id, {kPeerIp, kPeerServerPort}, now_);
    TRACE("app: connect -> %s\n", r ? "ok" : to_string(r.error()).data());
    if (!r && r.error() == Error::kInProgress) {
      c.written = 0;
      c.last_read.reset();
    }
  }

  void open_listener(uint8_t arg, uint8_t backlog) {
    Sock& l = socks_[kListener];
    l = Sock{};
    auto id = stack_.tcp_open();
    SHUNT_CHECK(id.ok());
    l.id = *id;
    l.open = true;
    if (arg & 1) (void)stack_.set_option(l.id, SockOpt::kReuseAddr, 1, now_);
    auto b = stack_.bind(l.id, {Ipv4Address::any(), kListenPort});
    auto r = stack_.listen(l.id, backlog, now_);
    TRACE("app: listener bind %s listen(%u) %s\n", b ? "ok" : to_string(b.error()).data(), backlog,
          r ? "ok" : to_string(r.error()).data());
  }

  void op_send(Reader& in) {
    Sock& s = sock(in);
    const size_t len = size_t{in.u8()} * 97 + 1;
    const uint8_t flags = in.u8();
    if (!s.open) return;
    std::vector<uint8_t> data(len);
    for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(s.written + i);
    auto r = stack_.send_to(s.id, data, std::nullopt, now_, (flags & 1) ? msg_flag::kMore : 0);
    if (r) s.written += *r;
    TRACE("app: send(sock%zu, %zu%s) -> %s%zu\n", static_cast<size_t>(&s - socks_.data()), len,
          (flags & 1) ? ", MORE" : "", r ? "" : to_string(r.error()).data(), r ? *r : 0);
  }

  void op_recv(Reader& in) {
    Sock& s = sock(in);
    const size_t len = size_t{in.u8()} * 64 + 1;
    const bool peek = (in.u8() & 1) != 0;
    if (!s.open) return;
    std::vector<uint8_t> buf(len);
    auto r = stack_.recv_from(s.id, buf, peek ? msg_flag::kPeek : 0, now_);
    TRACE("app: recv(sock%zu, %zu%s) -> %s%zu\n", static_cast<size_t>(&s - socks_.data()), len,
          peek ? ", PEEK" : "", r ? "" : to_string(r.error()).data(), r ? r->copied : 0);
    if (!r) return;
    SHUNT_CHECK(r->copied <= len);
    // The peer's bytes are (seq & 0xff): a stream read in order counts up.
    std::optional<uint8_t> last = s.last_read;
    for (size_t i = 0; i < r->copied; ++i) {
      if (last && buf[i] != static_cast<uint8_t>(*last + 1)) {
        std::fprintf(stderr, "tcp_fuzz: read byte %u after %u (offset %zu of this read)\n", buf[i],
                     *last, i);
      }
      SHUNT_CHECK(!last || buf[i] == static_cast<uint8_t>(*last + 1));
      last = buf[i];
    }
    if (!peek) s.last_read = last;
  }

  void op_shutdown(Reader& in) {
    Sock& s = sock(in);
    const uint8_t how = in.u8();
    if (!s.open) return;
    auto r = stack_.shutdown(s.id, (how & 1) != 0, (how & 2) != 0, now_);
    TRACE("app: shutdown(sock%zu, rd=%d wr=%d) -> %s\n", static_cast<size_t>(&s - socks_.data()),
          how & 1, (how >> 1) & 1, r ? "ok" : to_string(r.error()).data());
  }

  void op_close(Reader& in) {
    Sock& s = sock(in);
    if (!s.open) return;
    auto r = stack_.close(s.id, now_);
    SHUNT_CHECK(r.ok());
    s.open = false;
    TRACE("app: close(sock%zu)\n", static_cast<size_t>(&s - socks_.data()));
  }

  void op_accept(Reader& in) {
    const size_t hint = in.u8() % (kSockets - 2);
    Sock& l = socks_[kListener];
    if (!l.open) return;
    auto r = stack_.accept(l.id, now_);
    TRACE("app: accept -> %s\n", r ? "ok" : to_string(r.error()).data());
    if (!r) return;
    size_t slot = kSockets;
    for (size_t i = 2; i < kSockets; ++i) {
      if (!socks_[i].open) {
        slot = i;
        break;
      }
    }
    if (slot == kSockets) {
      slot = 2 + hint;
      (void)stack_.close(socks_[slot].id, now_);
    }
    socks_[slot] = Sock{};
    socks_[slot].id = r->socket;
    socks_[slot].open = true;
    TRACE("app:   accepted port %u as sock%zu\n", r->peer.port, slot);
  }

  void op_setopt(Reader& in) {
    Sock& s = sock(in);
    const uint8_t which = in.u8() % 16;
    const uint8_t v = in.u8();
    if (!s.open) return;
    if (which == 15) {
      static constexpr const char* kNames[] = {"cubic", "reno", "newreno", "bogus"};
      auto r = stack_.set_congestion(s.id, kNames[v % 4], now_);
      TRACE("app: congestion %s -> %s\n", kNames[v % 4], r ? "ok" : to_string(r.error()).data());
      return;
    }
    const auto opt = static_cast<SockOpt>(which % (static_cast<int>(SockOpt::kUserTimeout) + 1));
    int value = v;
    switch (opt) {
      case SockOpt::kRcvBuf:
      case SockOpt::kSndBuf:
        value = v * 1024;
        break;
      case SockOpt::kMaxSeg:
        value = v * 8;
        break;
      case SockOpt::kUserTimeout:
        value = v * 50;
        break;
      case SockOpt::kLinger:
        value = static_cast<int>(v) - 1;
        break;
      default:
        break;
    }
    auto r = stack_.set_option(s.id, opt, value, now_);
    TRACE("app: setopt(sock%zu, %u, %d) -> %s\n", static_cast<size_t>(&s - socks_.data()),
          static_cast<unsigned>(opt), value, r ? "ok" : to_string(r.error()).data());
  }

  void op_open(Reader& in) {
    const uint8_t which = in.u8();
    const uint8_t arg = in.u8();
    if ((which & 1) == 0) {
      if (!socks_[kClient].open) {
        open_client(arg);
      } else {
        connect_client();
      }
    } else {
      const uint8_t backlog = (arg >> 1) % 8;
      if (!socks_[kListener].open) {
        open_listener(arg, backlog);
      } else {
        auto r = stack_.listen(socks_[kListener].id, backlog, now_);
        TRACE("app: listen(%u) -> %s\n", backlog, r ? "ok" : to_string(r.error()).data());
      }
    }
  }

  void op_query(Reader& in) {
    Sock& s = sock(in);
    if (!s.open) return;
    auto info = stack_.tcp_info(s.id, now_);
    auto ready = stack_.readiness(s.id);
    auto err = stack_.take_error(s.id);
    (void)stack_.unsent_bytes(s.id);
    (void)stack_.next_datagram_size(s.id);
    (void)stack_.local_endpoint(s.id);
    (void)stack_.remote_endpoint(s.id);
    (void)stack_.get_congestion(s.id);
    for (int o = 0; o <= static_cast<int>(SockOpt::kUserTimeout); ++o) {
      (void)stack_.get_option(s.id, static_cast<SockOpt>(o));
    }
    TRACE("app: query(sock%zu): state %s readiness %x error %s\n",
          static_cast<size_t>(&s - socks_.data()), info ? tcp::to_string(info->state).data() : "-",
          ready ? *ready : 0u, err && err->has_value() ? to_string(**err).data() : "-");
  }

  BufferPool& pool_;
  std::vector<PacketBuffer> sent_;
  Capture dev_;
  Stack stack_;
  Instant now_{};
  std::array<Flow, kFlows> flows_{};
  std::array<Sock, kSockets> socks_{};
  uint16_t ip_ident_ = 0;
};

// ---- Seeds ---------------------------------------------------------------
// Written by SHUNT_TCP_FUZZ_SEEDS=DIR; each opens a connection, exchanges
// data and closes, in one of the ways below.

class Script {
 public:
  explicit Script(uint8_t config) { b_.push_back(config); }
  enum SeqMode : uint8_t { kPeerNext = 0, kStackAck = 1, kAbsolute = 2, kPeerNextPlus = 3 };
  enum AckMode : uint8_t { kStackNext = 0, kStackNextPlus = 1, kAckAbsolute = 2, kIssPlus = 3 };
  struct Opts {
    bool mss = false, ws = false, sackok = false, ts = false;
    uint8_t sack_blocks = 0;  // 0: none
    uint16_t sack_back = 0;
    uint8_t sack_len = 0;
  };
  static Opts syn_opts() { return Opts{.mss = true, .ws = true, .sackok = true, .ts = true}; }
  static Opts ts_only() { return Opts{.ts = true}; }

  Script& seg(uint8_t flow, uint8_t flags, SeqMode sm = kPeerNext, uint32_t seq_arg = 0,
              AckMode am = kStackNext, uint32_t ack_arg = 0, uint8_t window = 255,
              uint8_t len_code = 0, std::optional<Opts> o = std::nullopt) {
    b_.push_back(0);
    b_.push_back(static_cast<uint8_t>(flow | (sm << 3) | (am << 5) | (o ? 0x80 : 0)));
    b_.push_back(flags);
    arg(sm == kAbsolute, sm == kStackAck || sm == kPeerNextPlus, seq_arg);
    arg(am == kAckAbsolute, am == kStackNextPlus || am == kIssPlus, ack_arg);
    b_.push_back(window);
    b_.push_back(len_code);
    if (o) {
      uint8_t mask = 0;
      if (o->mss) mask |= 0x01;
      if (o->ws) mask |= 0x02;
      if (o->sackok) mask |= 0x04;
      if (o->ts) mask |= 0x08;
      if (o->sack_blocks) mask |= 0x10;
      b_.push_back(mask);
      if (o->mss) u16(1460);
      if (o->ws) b_.push_back(7);
      if (o->ts) b_.push_back(0);
      if (o->sack_blocks) {
        b_.push_back(static_cast<uint8_t>(o->sack_blocks - 1));
        for (uint8_t i = 0; i < o->sack_blocks; ++i) {
          u16(o->sack_back);
          b_.push_back(o->sack_len);
        }
      }
    }
    return *this;
  }
  Script& send(uint8_t sock, uint8_t len_code, uint8_t flags = 0) {
    return op(6, {sock, len_code, flags});
  }
  Script& recv(uint8_t sock, uint8_t len_code = 255, uint8_t flags = 0) {
    return op(7, {sock, len_code, flags});
  }
  Script& shutdown(uint8_t sock, uint8_t how) { return op(8, {sock, how}); }
  Script& close(uint8_t sock) { return op(9, {sock}); }
  Script& accept() { return op(10, {0}); }
  Script& setopt(uint8_t sock, SockOpt o, uint8_t v) {
    return op(11, {sock, static_cast<uint8_t>(o), v});
  }
  Script& open(uint8_t which, uint8_t arg) { return op(12, {which, arg}); }
  Script& ms(uint8_t n) { return op(13, {n}); }
  Script& secs(uint8_t c) { return op(14, {c}); }
  Script& query(uint8_t sock) { return op(15, {sock}); }
  Script& icmp(uint8_t flow, uint8_t kind, uint16_t mtu, uint16_t seq) {
    op(5, {flow, kind});
    u16(mtu);
    u16(seq);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  Script& op(uint8_t kind, std::initializer_list<uint8_t> args) {
    b_.push_back(kind);
    b_.insert(b_.end(), args);
    return *this;
  }
  void u16(uint16_t v) {
    b_.push_back(static_cast<uint8_t>(v >> 8));
    b_.push_back(static_cast<uint8_t>(v));
  }
  void arg(bool absolute, bool relative, uint32_t v) {
    if (absolute) {
      u16(static_cast<uint16_t>(v >> 16));
      u16(static_cast<uint16_t>(v));
    } else if (relative) {
      u16(static_cast<uint16_t>(v));
    }
  }
  std::vector<uint8_t> b_;
};

constexpr uint8_t kSA = tf::kSyn | tf::kAck;
constexpr uint8_t kA = tf::kAck;
constexpr uint8_t kPA = tf::kPsh | tf::kAck;
constexpr uint8_t kFA = tf::kFin | tf::kAck;
constexpr uint8_t kBacklog2 = 2 << 5;

void write_seeds(const char* dir) {
  std::vector<std::pair<std::string, Script>> seeds;
  // Passive open with every option, data both ways, the peer closes first.
  seeds.emplace_back(
      "passive_data_peer_closes",
      Script(kBacklog2)
          .seg(1, tf::kSyn, Script::kAbsolute, 1000, Script::kAckAbsolute, 0, 255, 0,
               Script::syn_opts())
          .seg(1, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .accept()
          .seg(1, kPA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 100, Script::ts_only())
          .recv(2)
          .send(2, 20)
          .seg(1, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .seg(1, kFA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .recv(2)
          .close(2)
          .seg(1, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .secs(20));
  // Active open (the client's SYN went out at start), data, the stack closes
  // first and sits in TIME-WAIT.
  seeds.emplace_back(
      "active_data_stack_closes",
      Script(kBacklog2)
          .seg(0, kSA, Script::kAbsolute, 5000, Script::kStackNext, 0, 255, 0, Script::syn_opts())
          .send(0, 40)
          .seg(0, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .seg(0, kPA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 200, Script::ts_only())
          .recv(0)
          .shutdown(0, 2)
          .seg(0, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .seg(0, kFA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .recv(0)
          .query(0)
          .secs(12));
  // No options at all; out-of-order data (a hole, then the hole filled),
  // a bulk send acknowledged in pieces, then a simultaneous close.
  seeds.emplace_back(
      "no_options_ooo_simultaneous_close",
      Script(kBacklog2 | 1 | 2 | 4)
          .seg(2, tf::kSyn, Script::kAbsolute, 77777, Script::kAckAbsolute, 0, 255, 0)
          .seg(2, kA)
          .accept()
          .seg(2, kPA, Script::kPeerNextPlus, 600, Script::kStackNext, 0, 255, 100)
          .seg(2, kPA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 100)
          .recv(2)
          .send(2, 100)
          .seg(2, kA, Script::kPeerNext, 0, Script::kIssPlus, 2000)
          .ms(50)
          .seg(2, kA)
          .close(2)
          .seg(2, kFA, Script::kPeerNext, 0, Script::kStackNextPlus, 0xffff)
          .seg(2, kA)
          .secs(12));
  // SACK: the peer reports a block above a hole in the stack's data; a
  // retransmission after the RTO; then a reset at RCV.NXT.
  seeds.emplace_back(
      "sack_rto_reset",
      Script(kBacklog2)
          .seg(3, tf::kSyn, Script::kAbsolute, 123, Script::kAckAbsolute, 0, 255, 0,
               Script::syn_opts())
          .seg(3, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .accept()
          .send(2, 60)
          .seg(3, kA, Script::kPeerNext, 0, Script::kIssPlus, 1, 255, 0,
               Script::Opts{.ts = true, .sack_blocks = 1, .sack_back = 2000, .sack_len = 60})
          .ms(255)
          .ms(255)
          .seg(3, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .seg(3, tf::kRst, Script::kStackAck, 0, Script::kStackNext, 0, 0, 0)
          .recv(2)
          .close(2));
  // Zero window: the application writes, the peer's window is closed, the
  // persist timer probes, then the window opens and the data flows.
  seeds.emplace_back(
      "zero_window_persist",
      Script(kBacklog2 | 1)
          .seg(0, kSA, Script::kAbsolute, 9, Script::kStackNext, 0, 0, 0, Script::Opts{.mss = true})
          .send(0, 30)
          .secs(2)
          .secs(3)
          .seg(0, kA, Script::kPeerNext, 0, Script::kIssPlus, 1, 255, 0)
          .seg(0, kA)
          .close(0)
          .seg(0, kFA)
          .secs(12));
  // SYN cookies: backlog 0 and SYNs from three ports; the third port's ACK
  // completes from a cookie; a segment to a closed port gets a RST.
  seeds.emplace_back(
      "syn_cookies_closed_port",
      Script(0)
          .seg(1, tf::kSyn, Script::kAbsolute, 1, Script::kAckAbsolute, 0, 255, 0,
               Script::syn_opts())
          .seg(2, tf::kSyn, Script::kAbsolute, 2, Script::kAckAbsolute, 0, 255, 0,
               Script::syn_opts())
          .seg(3, tf::kSyn, Script::kAbsolute, 3, Script::kAckAbsolute, 0, 255, 0,
               Script::syn_opts())
          .seg(3, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .accept()
          .seg(3, kPA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 10, Script::ts_only())
          .recv(2)
          .seg(4, tf::kSyn, Script::kAbsolute, 4, Script::kAckAbsolute, 0, 255, 0)
          .close(2)
          .seg(3, kFA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .secs(30));
  // ICMP: fragmentation needed lowers the MSS of an established
  // connection; then a soft error during the handshake of a reconnect.
  seeds.emplace_back(
      "icmp_frag_needed",
      Script(kBacklog2)
          .seg(0, kSA, Script::kAbsolute, 31337, Script::kStackNext, 0, 255, 0, Script::syn_opts())
          .send(0, 30)
          .icmp(0, 4, 1280, 0xfa60)
          .seg(0, kA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .close(0)
          .seg(0, kFA, Script::kPeerNext, 0, Script::kStackNext, 0, 255, 0, Script::ts_only())
          .open(0, 0)
          .icmp(0, 1, 0, 0xffff)
          .secs(12));
  for (const auto& [name, script] : seeds) {
    const std::string path = std::string(dir) + "/" + name;
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(script.bytes().data()),
            static_cast<std::streamsize>(script.bytes().size()));
    std::fprintf(stderr, "tcp_fuzz: wrote %s (%zu bytes)\n", path.c_str(), script.bytes().size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("SHUNT_TCP_FUZZ_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  g_trace = std::getenv("SHUNT_TCP_FUZZ_TRACE") != nullptr;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  BufferPool pool;
  {
    Harness h(pool, in.u8());
    h.run(in);
    h.finish();
  }
  // Nothing the stack held may outlive it.
  SHUNT_CHECK(pool.outstanding() == 0);
  return 0;
}
