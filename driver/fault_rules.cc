#include "driver/fault_rules.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace shunt {
namespace {

constexpr std::string_view kActions =
    "an action (drop, duplicate, corrupt, reorder=K, delay=D, truncate=N, rate=R, blackhole=D, "
    "mtu=N)";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<uint64_t> parse_whole(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// A non-negative decimal: digits, optionally '.' and digits. Splits off the
// unit (whatever follows the number) into `unit`.
std::optional<double> parse_decimal(std::string_view s, std::string_view* unit) {
  size_t i = 0;
  size_t digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
  }
  if (digits == 0 || digits > 15) return std::nullopt;
  std::string num(s.substr(0, i));
  if (unit != nullptr) {
    *unit = s.substr(i);
  } else if (i != s.size()) {
    return std::nullopt;
  }
  return std::strtod(num.c_str(), nullptr);
}

std::optional<Duration> parse_duration(std::string_view s) {
  std::string_view unit;
  auto v = parse_decimal(s, &unit);
  if (!v) return std::nullopt;
  double scale = 0;
  if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else
    return std::nullopt;
  double ns = *v * scale;
  if (ns > 1e18) return std::nullopt;
  return Duration(static_cast<int64_t>(std::llround(ns)));
}

std::optional<uint64_t> parse_rate(std::string_view s) {
  std::string_view unit;
  auto v = parse_decimal(s, &unit);
  if (!v) return std::nullopt;
  double scale = 0;
  if (iequals(unit, "bit"))
    scale = 1;
  else if (iequals(unit, "kbit"))
    scale = 1e3;
  else if (iequals(unit, "mbit"))
    scale = 1e6;
  else if (iequals(unit, "gbit"))
    scale = 1e9;
  else
    return std::nullopt;
  double bps = *v * scale;
  if (bps < 1 || bps > 1e13) return std::nullopt;
  return static_cast<uint64_t>(std::llround(bps));
}

// "N%" (percent) or a fraction in [0, 1].
std::optional<double> parse_probability(std::string_view s, bool need_percent) {
  std::string_view unit;
  auto v = parse_decimal(s, &unit);
  if (!v) return std::nullopt;
  if (unit == "%") {
    if (*v > 100) return std::nullopt;
    return *v / 100;
  }
  if (need_percent || !unit.empty() || *v > 1) return std::nullopt;
  return *v;
}

std::optional<PortRange> parse_ports(std::string_view s) {
  size_t dash = s.find('-');
  auto lo = parse_whole(s.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : parse_whole(s.substr(dash + 1));
  if (!lo || !hi || *lo > 65535 || *hi > 65535 || *lo > *hi) return std::nullopt;
  return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

std::optional<Ipv4Cidr> parse_addr(std::string_view s) {
  if (s.find('/') != std::string_view::npos) return Ipv4Cidr::parse(s);
  auto a = Ipv4Address::parse(s);
  if (!a) return std::nullopt;
  return Ipv4Cidr(*a, 32);
}

// "'TEXT', column C: expected E, got 'G'" (or "... at the end").
std::string fail_at(std::string_view text, size_t pos, std::string_view expected,
                    std::string_view got) {
  std::string s = fmt::format("'{}', column {}: expected {}", text, pos + 1, expected);
  if (!got.empty())
    s += fmt::format(", got '{}'", got);
  else if (pos >= text.size())
    s += " at the end";
  return s;
}

// The match words, shared by rules and capture filters.
class MatchParser {
 public:
  MatchParser(std::string_view text, FaultMatch& m) : text_(text), m_(m) {}

  // nullopt: not a match word; "": taken; else the error.
  std::optional<std::string> word(std::string_view word, size_t pos) {
    if (word == "tcp") return set_proto(FaultProto::kTcp, pos, word);
    if (word == "udp") return set_proto(FaultProto::kUdp, pos, word);
    if (word == "icmp") return set_proto(FaultProto::kIcmp, pos, word);
    if (word == "arp") return set_proto(FaultProto::kArp, pos, word);
    if (word == "syn") return add_flag(kFaultSyn, pos, word);
    if (word == "synack") return add_flag(kFaultSynAck, pos, word);
    if (word == "fin") return add_flag(kFaultFin, pos, word);
    if (word == "rst") return add_flag(kFaultRst, pos, word);
    if (word == "payload") {
      m_.payload = true;
      return std::string();
    }
    if (word.starts_with("len>=") || word.starts_with("len<=")) {
      const std::string_view v = word.substr(5);
      auto n = parse_whole(v);
      if (!n || *n > 65535)
        return fail(pos + 5, "a payload length from 0 to 65535 after 'len>='", v);
      (word[3] == '>' ? m_.len_min : m_.len_max) = static_cast<uint32_t>(*n);
      if (m_.len_min && m_.len_max && *m_.len_min > *m_.len_max) {
        return fail(pos, "len>= no larger than len<=", word);
      }
      return std::string();
    }
    const size_t eq = word.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = word.substr(0, eq);
    const std::string_view v = word.substr(eq + 1);
    const size_t vpos = pos + eq + 1;
    if (key == "laddr" || key == "raddr" || key == "host") {
      auto a = parse_addr(v);
      if (!a) return fail(vpos, "an IPv4 address or ADDR/PREFIX, e.g. 198.18.0.1", v);
      (key == "laddr" ? m_.laddr : key == "raddr" ? m_.raddr : m_.addr) = *a;
      return std::string();
    }
    if (key == "lport" || key == "rport" || key == "port") {
      auto p = parse_ports(v);
      if (!p) return fail(vpos, "a port or a range LO-HI from 0 to 65535", v);
      if (m_.proto == FaultProto::kIcmp || m_.proto == FaultProto::kArp) {
        return fail(pos, "no ports in an icmp or arp rule", word);
      }
      (key == "lport" ? m_.lport : key == "rport" ? m_.rport : m_.port) = *p;
      return std::string();
    }
    return std::nullopt;
  }

 private:
  std::string fail(size_t pos, std::string_view expected, std::string_view got) const {
    return fail_at(text_, pos, expected, got);
  }

  std::string set_proto(FaultProto p, size_t pos, std::string_view word) {
    if (p != FaultProto::kTcp && m_.tcp_flags != 0) {
      return fail(pos, "tcp (the rule has TCP flags)", word);
    }
    if (m_.proto != FaultProto::kAny && m_.proto != p) {
      return fail(pos, "one protocol per rule", word);
    }
    if ((p == FaultProto::kIcmp || p == FaultProto::kArp) && (m_.lport || m_.rport || m_.port)) {
      return fail(pos, "tcp or udp (the rule has ports)", word);
    }
    m_.proto = p;
    return {};
  }

  std::string add_flag(uint8_t flag, size_t pos, std::string_view word) {
    if (m_.proto != FaultProto::kAny && m_.proto != FaultProto::kTcp) {
      return fail(pos, "no TCP flags in a rule for another protocol", word);
    }
    m_.proto = FaultProto::kTcp;
    m_.tcp_flags |= flag;
    return {};
  }

  std::string_view text_;
  FaultMatch& m_;
};

class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : text_(text) {}

  Expected<FaultRule, std::string> parse() {
    rule_.text = std::string(text_);
    size_t pos = 0;
    bool first = true;
    while (true) {
      while (pos < text_.size() && is_space(text_[pos])) ++pos;
      if (pos >= text_.size()) break;
      size_t end = pos;
      while (end < text_.size() && !is_space(text_[end])) ++end;
      const std::string_view word = text_.substr(pos, end - pos);
      if (first) {
        if (word == "in")
          rule_.direction = FaultDirection::kIn;
        else if (word == "out")
          rule_.direction = FaultDirection::kOut;
        else if (word == "both")
          rule_.direction = FaultDirection::kBoth;
        else
          return fail(pos, "a direction (in, out or both)", word);
        first = false;
      } else if (auto err = word_(word, pos); !err.empty()) {
        return err;
      }
      pos = end;
    }
    if (first) return fail(text_.size(), "a direction (in, out or both)", "");
    if (!has_action_) return fail(text_.size(), kActions, "");
    return rule_;
  }

 private:
  std::string fail(size_t pos, std::string_view expected, std::string_view got) const {
    return fail_at(text_, pos, expected, got);
  }

  std::string set_action(FaultActionKind k, size_t pos, std::string_view word) {
    if (has_action_) {
      return fail(pos,
                  fmt::format("one action per rule ('{}' already given): split it into two rules",
                              to_string(rule_.action.kind)),
                  word);
    }
    has_action_ = true;
    rule_.action.kind = k;
    return {};
  }

  // Returns an error, or "" when the word was taken.
  std::string word_(std::string_view word, size_t pos) {
    using K = FaultActionKind;
    if (word == "drop") return set_action(K::kDrop, pos, word);
    if (word == "duplicate") return set_action(K::kDuplicate, pos, word);
    if (word == "corrupt") return set_action(K::kCorrupt, pos, word);
    if (auto m = MatchParser(text_, rule_.match).word(word, pos)) return *m;
    if (!word.empty() && word.back() == '%' && word.find('=') == std::string_view::npos) {
      auto p = parse_probability(word, true);
      if (!p) return fail(pos, "a probability from 0% to 100%, e.g. 2% or 0.5%", word);
      if (rule_.select.probability) return fail(pos, "one probability per rule", word);
      rule_.select.probability = *p;
      return {};
    }
    const size_t eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(pos,
                  fmt::format("{}, a selection (P%, nth=, every=, first=, after=, for=, ge=) "
                              "or a match (tcp, udp, icmp, arp, syn, synack, fin, rst, payload, "
                              "len>=, len<=, laddr=, raddr=, host=, lport=, rport=, port=)",
                              kActions),
                  word);
    }
    const std::string_view key = word.substr(0, eq);
    const std::string_view v = word.substr(eq + 1);
    const size_t vpos = pos + eq + 1;
    auto whole_at_least_1 = [&](uint64_t& out) -> std::string {
      auto n = parse_whole(v);
      if (!n || *n == 0) return fail(vpos, fmt::format("a whole number >= 1 after '{}='", key), v);
      if (out != 0) return fail(pos, fmt::format("one '{}=' per rule", key), word);
      out = *n;
      return {};
    };
    auto duration = [&](Duration& out) -> std::string {
      auto d = parse_duration(v);
      if (!d)
        return fail(vpos, fmt::format("a duration after '{}=' such as 50ms, 3s or 500us", key), v);
      out = *d;
      return {};
    };
    if (key == "nth") return whole_at_least_1(rule_.select.nth);
    if (key == "every") return whole_at_least_1(rule_.select.every);
    if (key == "first") return whole_at_least_1(rule_.select.first);
    if (key == "after") return duration(rule_.select.after);
    if (key == "for") {
      Duration d{0};
      if (auto e = duration(d); !e.empty()) return e;
      if (d <= Duration::zero()) return fail(vpos, "a duration > 0 after 'for='", v);
      rule_.select.duration = d;
      return {};
    }
    if (key == "ge") {
      std::vector<double> ps;
      std::string_view rest = v;
      while (true) {
        const size_t comma = rest.find(',');
        auto p = parse_probability(rest.substr(0, comma), false);
        if (!p) break;
        ps.push_back(*p);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
      }
      if ((ps.size() != 2 && ps.size() != 4) || rest.find(',') != std::string_view::npos ||
          !parse_probability(rest, false)) {
        return fail(vpos,
                    "ge=p,r or ge=p,r,h,k: probabilities (0.01 or 1%) of good->bad, bad->good, "
                    "no fault in bad, no fault in good",
                    v);
      }
      GilbertElliott ge{ps[0], ps[1], 0.0, 1.0};
      if (ps.size() == 4) ge.h = ps[2], ge.k = ps[3];
      rule_.select.ge = ge;
      return {};
    }
    if (key == "corrupt") {
      if (auto e = set_action(K::kCorrupt, pos, word); !e.empty()) return e;
      if (v != "frame") {
        return fail(vpos,
                    "'frame' after 'corrupt=' (the flipped bit may also fall in the Ethernet "
                    "header)",
                    v);
      }
      rule_.action.whole_frame = true;
      return {};
    }
    if (key == "reorder") return reorder(v, pos, vpos, word);
    if (key == "mtu") {
      if (auto e = set_action(K::kMtu, pos, word); !e.empty()) return e;
      auto n = parse_whole(v);
      // RFC 791: every IPv4 link carries 68 bytes.
      if (!n || *n < 68 || *n > 65535)
        return fail(vpos, "an MTU in bytes from 68 to 65535 after 'mtu=', e.g. 1400", v);
      rule_.action.mtu = static_cast<uint32_t>(*n);
      return {};
    }
    if (key == "delay") {
      if (auto e = set_action(K::kDelay, pos, word); !e.empty()) return e;
      std::string_view dv = v;
      const size_t comma = dv.find(',');
      if (comma != std::string_view::npos) {
        if (dv.substr(comma + 1) != "fifo") {
          return fail(vpos + comma + 1, "'fifo' after ',' (frames leave in the order they came)",
                      dv.substr(comma + 1));
        }
        rule_.action.keep_order = true;
        dv = dv.substr(0, comma);
      }
      const size_t tilde = dv.find('~');
      auto d = parse_duration(dv.substr(0, tilde));
      if (!d) return fail(vpos, "a delay such as 50ms, optionally with jitter: 50ms~10ms", dv);
      rule_.action.time = *d;
      if (tilde != std::string_view::npos) {
        auto j = parse_duration(dv.substr(tilde + 1));
        if (!j)
          return fail(vpos + tilde + 1, "a jitter after '~' such as 10ms", dv.substr(tilde + 1));
        rule_.action.jitter = *j;
      }
      return {};
    }
    if (key == "truncate") {
      if (auto e = set_action(K::kTruncate, pos, word); !e.empty()) return e;
      auto n = parse_whole(v);
      if (!n || *n > 65535)
        return fail(vpos, "a frame length in bytes after 'truncate=', e.g. 60", v);
      // Fewer bytes than an Ethernet header leave no frame at all: every
      // matched frame would vanish (a drop rule says that plainly).
      if (*n < 14)
        return fail(vpos,
                    "truncate=14 or more (a frame keeps at least its 14-byte Ethernet header; use "
                    "drop to lose frames)",
                    v);
      rule_.action.length = static_cast<uint32_t>(*n);
      return {};
    }
    if (key == "rate") return rate(v, pos, vpos, word);
    if (key == "blackhole") {
      if (auto e = set_action(K::kBlackhole, pos, word); !e.empty()) return e;
      auto d = parse_duration(v);
      if (!d || *d <= Duration::zero())
        return fail(vpos, "a duration such as 3s after 'blackhole='", v);
      rule_.action.time = *d;
      return {};
    }
    if (key == "seed") {
      return fail(pos,
                  "no seed= inside a rule: give it as a rule of its own ('seed=42; both drop 2%')",
                  word);
    }
    return fail(pos,
                "a known key (nth, every, first, after, for, ge, corrupt, reorder, delay, "
                "truncate, rate, blackhole, mtu, laddr, raddr, host, lport, rport, port)",
                word);
  }

  // reorder=K, reorder=DUR or reorder=K,DUR (v is what follows '=', at
  // column vpos).
  std::string reorder(std::string_view v, size_t pos, size_t vpos, std::string_view word) {
    if (auto e = set_action(FaultActionKind::kReorder, pos, word); !e.empty()) return e;
    const size_t comma = v.find(',');
    const std::string_view first = v.substr(0, comma);
    auto n = parse_whole(first);
    const bool count = n && *n >= 1 && *n <= 1'000'000;
    if (comma != std::string_view::npos) {
      if (!count) {
        return fail(vpos, "a count of packets before ',' (reorder=K,DUR: K packets or DUR)", first);
      }
      const std::string_view bound = v.substr(comma + 1);
      auto d = parse_duration(bound);
      if (!d || *d <= Duration::zero()) {
        return fail(vpos + comma + 1, "a time bound after ',' such as 5ms (reorder=K,DUR)", bound);
      }
      rule_.action.count = static_cast<uint32_t>(*n);
      rule_.action.time = *d;
      return {};
    }
    if (count) {
      rule_.action.count = static_cast<uint32_t>(*n);
      rule_.action.time = FaultAction::kReorderMaxHold;
      return {};
    }
    if (auto d = parse_duration(v); d && *d > Duration::zero()) {
      rule_.action.time = *d;
      return {};
    }
    return fail(vpos, "a count of packets (reorder=1) or a hold time (reorder=20ms)", v);
  }

  // rate=R, then optionally ,burst=BYTES and ,queue=FRAMES in any order.
  std::string rate(std::string_view v, size_t pos, size_t vpos, std::string_view word) {
    if (auto e = set_action(FaultActionKind::kRate, pos, word); !e.empty()) return e;
    size_t comma = v.find(',');
    auto r = parse_rate(v.substr(0, comma));
    if (!r) {
      return fail(vpos, "a rate such as 1mbit, 500kbit or 2gbit (bits per second)",
                  v.substr(0, comma));
    }
    rule_.action.rate_bps = *r;
    bool burst = false;
    bool queue = false;
    while (comma != std::string_view::npos) {
      const size_t at = comma + 1;
      comma = v.find(',', at);
      const std::string_view opt =
          v.substr(at, comma == std::string_view::npos ? comma : comma - at);
      const size_t opos = vpos + at;
      if (opt.starts_with("burst=") && !burst) {
        auto b = parse_whole(opt.substr(6));
        if (!b || *b == 0 || *b > 1'000'000'000) {
          return fail(opos + 6, "a bucket size in bytes from 1 to 1000000000 after 'burst='",
                      opt.substr(6));
        }
        rule_.action.burst_bytes = static_cast<uint32_t>(*b);
        burst = true;
      } else if (opt.starts_with("queue=") && !queue) {
        auto q = parse_whole(opt.substr(6));
        if (!q || *q > 1'000'000) {
          return fail(opos + 6, "a queue length in frames from 0 to 1000000 after 'queue='",
                      opt.substr(6));
        }
        rule_.action.queue_frames = static_cast<uint32_t>(*q);
        queue = true;
      } else {
        return fail(opos, "burst=BYTES or queue=FRAMES after ',' (each at most once)", opt);
      }
    }
    return {};
  }

  std::string_view text_;
  FaultRule rule_;
  bool has_action_ = false;
};

}  // namespace

std::string_view to_string(FaultActionKind k) {
  switch (k) {
    case FaultActionKind::kDrop:
      return "drop";
    case FaultActionKind::kDuplicate:
      return "duplicate";
    case FaultActionKind::kReorder:
      return "reorder";
    case FaultActionKind::kDelay:
      return "delay";
    case FaultActionKind::kCorrupt:
      return "corrupt";
    case FaultActionKind::kTruncate:
      return "truncate";
    case FaultActionKind::kRate:
      return "rate";
    case FaultActionKind::kBlackhole:
      return "blackhole";
    case FaultActionKind::kMtu:
      return "mtu";
  }
  return "?";
}

std::string_view to_string(FaultDirection d) {
  switch (d) {
    case FaultDirection::kIn:
      return "in";
    case FaultDirection::kOut:
      return "out";
    case FaultDirection::kBoth:
      return "both";
  }
  return "?";
}

Expected<FaultRule, std::string> parse_fault_rule(std::string_view text) {
  return RuleParser(trim(text)).parse();
}

Expected<FaultRuleSet, std::string> parse_fault_rules(std::string_view spec) {
  FaultRuleSet set;
  size_t n = 0;
  while (true) {
    const size_t semi = spec.find(';');
    const std::string_view seg = trim(spec.substr(0, semi));
    if (!seg.empty()) {
      ++n;
      if (seg.starts_with("seed=")) {
        auto s = parse_whole(seg.substr(5));
        if (!s) {
          return fmt::format(
              "rule {} '{}', column 6: expected a decimal seed after 'seed=', got '{}'", n, seg,
              seg.substr(5));
        }
        set.seed = *s;
      } else {
        auto r = parse_fault_rule(seg);
        if (!r) return fmt::format("rule {} {}", n, r.error());
        set.rules.push_back(std::move(*r));
      }
    }
    if (semi == std::string_view::npos) break;
    spec = spec.substr(semi + 1);
  }
  return set;
}

std::optional<std::string> parse_fault_match_word(std::string_view text, size_t pos,
                                                  std::string_view word, FaultMatch& m) {
  return MatchParser(text, m).word(word, pos);
}

// ---- frames -----------------------------------------------------------------

namespace {

std::string_view proto_name(FaultProto p) {
  switch (p) {
    case FaultProto::kTcp:
      return "TCP";
    case FaultProto::kUdp:
      return "UDP";
    case FaultProto::kIcmp:
      return "ICMP";
    case FaultProto::kArp:
      return "ARP";
    case FaultProto::kAny:
      break;
  }
  return "frame";
}

}  // namespace

PacketSummary summarize_frame(std::span<const uint8_t> frame) {
  PacketSummary s;
  s.frame_len = static_cast<uint32_t>(frame.size());
  auto eth = wire::EthernetView::check(frame);
  if (!eth) return s;
  if (eth->ethertype() == wire::ethertype::kArp) {
    if (auto arp = wire::ArpView::check(eth->payload())) {
      s.proto = FaultProto::kArp;
      s.src = arp->sender_ip();
      s.dst = arp->target_ip();
    }
    return s;
  }
  if (eth->ethertype() != wire::ethertype::kIpv4) return s;
  auto ip = wire::Ipv4View::check(eth->payload());
  if (!ip) return s;
  s.src = ip->src();
  s.dst = ip->dst();
  const Bytes l4 = ip->payload();
  s.payload_len = static_cast<uint32_t>(l4.size());
  const bool first_fragment = ip->frag_offset() == 0;
  if (ip->protocol() == wire::ip_proto::kTcp) {
    s.proto = FaultProto::kTcp;
    if (!first_fragment) return s;
    if (auto tcp = wire::TcpView::check(l4)) {
      s.src_port = tcp->src_port();
      s.dst_port = tcp->dst_port();
      s.tcp_flags = tcp->flags();
      s.payload_len = static_cast<uint32_t>(l4.size() - tcp->header_len());
    }
  } else if (ip->protocol() == wire::ip_proto::kUdp) {
    s.proto = FaultProto::kUdp;
    if (!first_fragment) return s;
    if (auto udp = wire::UdpView::check(l4)) {
      s.src_port = udp->src_port();
      s.dst_port = udp->dst_port();
      s.payload_len = static_cast<uint32_t>(udp->payload().size());
    }
  } else if (ip->protocol() == wire::ip_proto::kIcmp) {
    s.proto = FaultProto::kIcmp;
  } else {
    s.proto = FaultProto::kAny;
  }
  return s;
}

std::string PacketSummary::to_string() const {
  if (proto == FaultProto::kAny && src.value() == 0 && dst.value() == 0) {
    return fmt::format("frame len {}", frame_len);
  }
  if (proto == FaultProto::kArp)
    return fmt::format("ARP {} > {}", src.to_string(), dst.to_string());
  if (proto == FaultProto::kTcp || proto == FaultProto::kUdp) {
    std::string flags;
    if (proto == FaultProto::kTcp) {
      flags = " [";
      if (tcp_flags & wire::tcp_flag::kSyn) flags += 'S';
      if (tcp_flags & wire::tcp_flag::kFin) flags += 'F';
      if (tcp_flags & wire::tcp_flag::kRst) flags += 'R';
      if (tcp_flags & wire::tcp_flag::kPsh) flags += 'P';
      if (tcp_flags & wire::tcp_flag::kAck) flags += '.';
      flags += ']';
    }
    return fmt::format("{} {}:{} > {}:{}{} len {}", proto_name(proto), src.to_string(), src_port,
                       dst.to_string(), dst_port, flags, payload_len);
  }
  return fmt::format("{} {} > {} len {}", proto == FaultProto::kIcmp ? "ICMP" : "IP",
                     src.to_string(), dst.to_string(), payload_len);
}

bool match_frame(const FaultMatch& m, const PacketSummary& s, bool outbound) {
  if (m.proto != FaultProto::kAny && m.proto != s.proto) return false;
  const Ipv4Address local = outbound ? s.src : s.dst;
  const Ipv4Address remote = outbound ? s.dst : s.src;
  if (m.laddr && (s.proto == FaultProto::kAny || !m.laddr->contains(local))) return false;
  if (m.raddr && (s.proto == FaultProto::kAny || !m.raddr->contains(remote))) return false;
  if (m.addr &&
      (s.proto == FaultProto::kAny || !(m.addr->contains(local) || m.addr->contains(remote)))) {
    return false;
  }
  const bool has_ports = s.proto == FaultProto::kTcp || s.proto == FaultProto::kUdp;
  const uint16_t lport = outbound ? s.src_port : s.dst_port;
  const uint16_t rport = outbound ? s.dst_port : s.src_port;
  if (m.lport && (!has_ports || !m.lport->contains(lport))) return false;
  if (m.rport && (!has_ports || !m.rport->contains(rport))) return false;
  if (m.port && (!has_ports || !(m.port->contains(lport) || m.port->contains(rport)))) return false;
  const uint8_t fl = s.tcp_flags;
  using namespace wire::tcp_flag;
  if ((m.tcp_flags & kFaultSyn) && !((fl & kSyn) && !(fl & kAck))) return false;
  if ((m.tcp_flags & kFaultSynAck) && !((fl & kSyn) && (fl & kAck))) return false;
  if ((m.tcp_flags & kFaultFin) && !(fl & kFin)) return false;
  if ((m.tcp_flags & kFaultRst) && !(fl & kRst)) return false;
  if (m.payload && s.payload_len == 0) return false;
  if (m.len_min && s.payload_len < *m.len_min) return false;
  if (m.len_max && s.payload_len > *m.len_max) return false;
  return true;
}

}  // namespace shunt
