// Fault rules: a small language for targeted fault injection, and its
// parser. docs/faults.md is the user's reference; in short, one rule is
//
//   DIRECTION ACTION [SELECTION...] [MATCH...]      (words in any order
//                                                    after the direction)
//   both drop 2%
//   in drop nth=1 tcp synack
//   out reorder=1 every=20
//   both blackhole=3s after=5s
//   out rate=1mbit
//   out rate=1mbit,burst=1500,queue=0
//   out mtu=1400
//
// and a rule set is rules separated by ';' (SHUNT_FAULTS), with the option
// `seed=N` as a segment of its own. RuleFaultDevice (rule_fault_device.h)
// applies a rule set to a NetDevice's traffic.
//
// Errors name the rule, the 1-based column of the offending word and what
// was expected there, on one line:
//   rule 2 'in drop nth=x', column 9: expected a whole number >= 1 after 'nth=', got 'x'
//
// The match words (tcp, udp, laddr=, port=, ...) are also the words of a
// capture filter (capture_filter.h), which parses them with
// parse_fault_match_word() and tests frames with match_frame().
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/base/time.h"

namespace shunt {

enum class FaultDirection : uint8_t { kIn = 1, kOut = 2, kBoth = 3 };

enum class FaultProto : uint8_t { kAny, kTcp, kUdp, kIcmp, kArp };

// TCP flag conditions; a rule may list several, and all must hold.
enum FaultTcpFlag : uint8_t {
  kFaultSyn = 1,     // SYN without ACK (a connection request)
  kFaultSynAck = 2,  // SYN and ACK
  kFaultFin = 4,     // FIN set
  kFaultRst = 8,     // RST set
};

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0;
  bool contains(uint16_t p) const { return p >= lo && p <= hi; }
  bool operator==(const PortRange&) const = default;
};

// Which frames a rule looks at. Local is the stack's side: for outbound
// frames the source, for inbound frames the destination.
struct FaultMatch {
  FaultProto proto = FaultProto::kAny;
  std::optional<Ipv4Cidr> laddr;
  std::optional<Ipv4Cidr> raddr;
  std::optional<Ipv4Cidr> addr;  // `host=`: either side
  std::optional<PortRange> lport;
  std::optional<PortRange> rport;
  std::optional<PortRange> port;    // `port=`: either side
  uint8_t tcp_flags = 0;            // FaultTcpFlag bits
  bool payload = false;             // the transport payload is not empty
  std::optional<uint32_t> len_min;  // transport payload length bounds (inclusive)
  std::optional<uint32_t> len_max;
};

// Gilbert-Elliott burst loss: a two-state Markov chain stepped once per
// selected packet. p = P(good -> bad), r = P(bad -> good), h = P(no fault
// in bad), k = P(no fault in good), all in [0, 1].
struct GilbertElliott {
  double p = 0.0;
  double r = 1.0;
  double h = 0.0;
  double k = 1.0;
};

// Which of the matching packets the action applies to. Every condition
// given must hold. Counts start at 1 with the first matching packet inside
// the time window.
struct FaultSelect {
  std::optional<double> probability;  // in [0, 1]
  uint64_t nth = 0;                   // exactly the nth (0: any)
  uint64_t every = 0;                 // the every-th, 2*every-th, ... (0: any)
  uint64_t first = 0;                 // the first N (0: any)
  Duration after{0};                  // window start, from the first frame seen
  std::optional<Duration> duration;   // window length (`for=`); none: open
  std::optional<GilbertElliott> ge;
};

enum class FaultActionKind : uint8_t {
  kDrop,
  kDuplicate,
  kReorder,
  kDelay,
  kCorrupt,
  kTruncate,
  kRate,
  kBlackhole,
  kMtu,
};

struct FaultAction {
  // Defaults of the options docs/faults.md lists.
  static constexpr Duration kReorderMaxHold = 1s;  // reorder=K alone: reorder=K,1s
  static constexpr uint32_t kRateBurstBytes = 15'000;
  static constexpr uint32_t kRateQueueFrames = 1000;

  FaultActionKind kind = FaultActionKind::kDrop;
  uint32_t count = 0;  // reorder=K: later frames that overtake a held one
  // delay; reorder=DURATION; reorder=K,DURATION: the bound on a count hold
  // (kReorderMaxHold when not given); blackhole length.
  Duration time{0};
  Duration jitter{0};        // delay=D~J: extra uniform [0, J]
  bool keep_order = false;   // delay=D~J,fifo: a frame never leaves before an earlier one
  bool whole_frame = false;  // corrupt=frame: the Ethernet header is a target too
  uint32_t length = 0;       // truncate=N: frame length after truncation
  uint32_t mtu = 0;          // mtu=N: the largest IP packet (frame less 14 bytes) let through
  uint64_t rate_bps = 0;     // rate=R
  uint32_t burst_bytes = kRateBurstBytes;    // rate=R,burst=B: the bucket, in bytes
  uint32_t queue_frames = kRateQueueFrames;  // rate=R,queue=N: frames waiting per direction
};

struct FaultRule {
  std::string text;  // as written (trimmed)
  FaultDirection direction = FaultDirection::kBoth;
  FaultMatch match;
  FaultSelect select;
  FaultAction action;
};

struct FaultRuleSet {
  std::vector<FaultRule> rules;
  std::optional<uint64_t> seed;  // `seed=N`
};

std::string_view to_string(FaultActionKind k);
std::string_view to_string(FaultDirection d);

// What a rule (or a capture filter) matches on, read once from a frame.
struct PacketSummary {
  FaultProto proto = FaultProto::kAny;  // kAny: not IPv4 or ARP (or not parseable)
  Ipv4Address src{};
  Ipv4Address dst{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;     // the wire flags (wire::tcp_flag)
  uint32_t payload_len = 0;  // TCP/UDP payload; other IP: IP payload
  uint32_t frame_len = 0;
  std::string to_string() const;  // "TCP 198.18.0.1:80 > 198.18.0.2:40000 [S.] len 0"
};

// Bounds-checked: any bytes give a summary (proto kAny when unparseable).
PacketSummary summarize_frame(std::span<const uint8_t> frame);

// Whether a frame travelling in this direction (outbound: the stack sent
// it) has everything `m` asks for. Direction is not part of FaultMatch.
bool match_frame(const FaultMatch& m, const PacketSummary& s, bool outbound);

// One match word (tcp, udp, icmp, arp, syn, synack, fin, rst, payload,
// len>=N, len<=N, laddr=, raddr=, host=, lport=, rport=, port=) found at
// 0-based column `pos` of `text`, added to `m`. Returns std::nullopt when
// `word` is not a match word, "" when it was taken, otherwise the error
// ("'TEXT', column C: expected ..., got '...'").
std::optional<std::string> parse_fault_match_word(std::string_view text, size_t pos,
                                                  std::string_view word, FaultMatch& m);

// One rule. The error is "'TEXT', column C: expected ..., got '...'".
Expected<FaultRule, std::string> parse_fault_rule(std::string_view text);

// Rules separated by ';' (empty segments are ignored). The error is
// "rule N 'TEXT', column C: expected ...", N counting from 1 over the
// non-empty segments.
Expected<FaultRuleSet, std::string> parse_fault_rules(std::string_view spec);

}  // namespace shunt
