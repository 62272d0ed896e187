#include "driver/rule_fault_device.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace shunt {
namespace {

constexpr uint64_t kNanosPerSecond = 1'000'000'000;

// Time to send `bytes` at `bps`, in whole nanoseconds (as in FaultInjector).
Duration wire_time(uint64_t bytes, uint64_t bps, bool round_up) {
  const unsigned __int128 bit_ns = static_cast<unsigned __int128>(bytes) * 8 * kNanosPerSecond;
  unsigned __int128 ns = bit_ns / bps;
  if (round_up && ns * bps != bit_ns) ++ns;
  return Duration(static_cast<int64_t>(std::min<unsigned __int128>(ns, uint64_t{1} << 60)));
}

bool chance(Rng& rng, double p) {
  return p > 0.0 && (p >= 1.0 || rng.uniform() < p);
}

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

std::string FaultLogEntry::to_string() const {
  return fmt::format("{:.6f} rule {} {} {} {}", static_cast<double>(to_ns(when)) / 1e9, rule + 1,
                     outbound ? "out" : "in", shunt::to_string(action), packet.to_string());
}

// ---- the device -------------------------------------------------------------

RuleFaultDevice::RuleFaultDevice(NetDevice& inner, FaultRuleSet rules, uint64_t seed)
    : inner_(inner), rules_(std::move(rules.rules)), master_(seed) {
  state_.reserve(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) state_.emplace_back(master_);
}

RuleFaultDevice::RuleFaultDevice(std::unique_ptr<NetDevice> inner, FaultRuleSet rules,
                                 uint64_t seed)
    : RuleFaultDevice(*inner, std::move(rules), seed) {
  owned_ = std::move(inner);
}

bool RuleFaultDevice::matches(const FaultRule& r, const Frame& f) const {
  const auto dir = static_cast<uint8_t>(r.direction);
  if ((dir & static_cast<uint8_t>(f.outbound ? FaultDirection::kOut : FaultDirection::kIn)) == 0) {
    return false;
  }
  const FaultMatch& m = r.match;
  const PacketSummary& s = f.summary;
  if (m.proto != FaultProto::kAny && m.proto != s.proto) return false;
  const Ipv4Address local = f.outbound ? s.src : s.dst;
  const Ipv4Address remote = f.outbound ? s.dst : s.src;
  if (m.laddr && (s.proto == FaultProto::kAny || !m.laddr->contains(local))) return false;
  if (m.raddr && (s.proto == FaultProto::kAny || !m.raddr->contains(remote))) return false;
  const bool has_ports = s.proto == FaultProto::kTcp || s.proto == FaultProto::kUdp;
  const uint16_t lport = f.outbound ? s.src_port : s.dst_port;
  const uint16_t rport = f.outbound ? s.dst_port : s.src_port;
  if (m.lport && (!has_ports || !m.lport->contains(lport))) return false;
  if (m.rport && (!has_ports || !m.rport->contains(rport))) return false;
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

bool RuleFaultDevice::selected(const FaultRule& r, RuleState& s, Instant t) {
  const FaultSelect& sel = r.select;
  const Duration since = t - start_;
  if (since < sel.after) return false;
  if (sel.duration && since >= sel.after + *sel.duration) return false;
  ++s.counters.matched;
  const uint64_t n = ++s.seen;
  bool take = true;
  if (sel.nth != 0 && n != sel.nth) take = false;
  if (sel.every != 0 && n % sel.every != 0) take = false;
  if (sel.first != 0 && n > sel.first) take = false;
  if (sel.ge) {
    // Decide in the current state, then step the chain.
    const double fault = s.ge_bad ? 1.0 - sel.ge->h : 1.0 - sel.ge->k;
    const bool hit = chance(s.ge_rng, fault);
    s.ge_bad = s.ge_bad ? !chance(s.ge_rng, sel.ge->r) : chance(s.ge_rng, sel.ge->p);
    take = take && hit;
  }
  if (sel.probability && take) take = chance(s.select_rng, *sel.probability);
  return take;
}

void RuleFaultDevice::record(size_t rule, const Frame& f, Instant t) {
  ++state_[rule].counters.injected;
  if (log_.size() >= kLogCapacity) {
    log_.pop_front();
    ++log_overflow_;
  }
  log_.push_back(FaultLogEntry{t, static_cast<uint32_t>(rule), f.outbound, rules_[rule].action.kind,
                               f.summary});
}

void RuleFaultDevice::deliver(Frame f) {
  if (f.outbound) {
    tx_.push_back(std::move(f.buf));
  } else {
    rx_ready_.push_back(std::move(f.buf));
  }
}

void RuleFaultDevice::process(Frame f, size_t i, Instant t) {
  for (; i < rules_.size(); ++i) {
    const FaultRule& r = rules_[i];
    RuleState& s = state_[i];
    const int dir = f.outbound ? 1 : 0;
    // reorder=K: this frame overtakes every frame the rule holds in its
    // direction; those whose count runs out follow it (after it has gone
    // through the rest of the chain).
    std::vector<Frame> released;
    auto overtake = [&] {
      for (size_t h = 0; h < s.held.size();) {
        if (s.held[h].frame.outbound == f.outbound && s.held[h].remaining > 0 &&
            --s.held[h].remaining == 0) {
          released.push_back(std::move(s.held[h].frame));
          s.held.erase(s.held.begin() + static_cast<ptrdiff_t>(h));
        } else {
          ++h;
        }
      }
    };
    auto finish = [&](Frame frame) {
      process(std::move(frame), i + 1, t);
      for (Frame& g : released) process(std::move(g), i + 1, t);
    };
    if (!matches(r, f)) {
      if (!s.held.empty()) {
        overtake();
        return finish(std::move(f));
      }
      continue;
    }
    const FaultAction& a = r.action;
    if (a.kind == FaultActionKind::kBlackhole && s.blackhole_started) {
      // A blackhole fires once; while it lasts every matching frame vanishes.
      if (t < s.blackhole_until) {
        ++s.counters.matched;
        record(i, f, t);
        return;
      }
      continue;
    }
    if (!selected(r, s, t)) {
      if (!s.held.empty()) {
        overtake();
        return finish(std::move(f));
      }
      continue;
    }
    switch (a.kind) {
      case FaultActionKind::kDrop:
        record(i, f, t);
        return;
      case FaultActionKind::kBlackhole:
        s.blackhole_started = true;
        s.blackhole_until = t + a.time;
        record(i, f, t);
        return;
      case FaultActionKind::kDuplicate: {
        record(i, f, t);
        Frame copy{f.buf.clone(), f.summary, f.outbound};
        process(std::move(f), i + 1, t);
        process(std::move(copy), i + 1, t);
        return;
      }
      case FaultActionKind::kCorrupt: {
        const size_t first = wire::kEthernetHeaderLen;
        if (f.buf.size() > first) {
          const uint64_t bit = s.action_rng.below((f.buf.size() - first) * 8);
          f.buf.data()[first + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          record(i, f, t);
        }
        break;
      }
      case FaultActionKind::kTruncate:
        if (f.buf.size() > a.length) {
          f.buf.truncate(a.length);
          record(i, f, t);
        }
        break;
      case FaultActionKind::kDelay: {
        Duration d = a.time;
        if (a.jitter > Duration::zero()) {
          d += Duration(static_cast<int64_t>(
              s.action_rng.below(static_cast<uint64_t>(a.jitter.count()) + 1)));
        }
        record(i, f, t);
        pending_.emplace(t + d, Pending{std::move(f), i + 1, -1});
        return;
      }
      case FaultActionKind::kReorder:
        record(i, f, t);
        if (a.count > 0) {
          // Held until `count` later frames have passed this rule (this one
          // does not pass, so it counts down nothing).
          s.held.push_back(Held{std::move(f), a.count, t + kReorderMaxHold});
        } else {
          pending_.emplace(t + a.time, Pending{std::move(f), i + 1, -1});
        }
        return;
      case FaultActionKind::kRate: {
        // Token bucket as a virtual schedule (GCRA), as in FaultInjector: the
        // bucket is full at or after tat; a frame conforms once the bucket
        // holds its size.
        const uint64_t bucket = kRateBucketBytes;
        const uint64_t need = std::min<uint64_t>(f.buf.size(), bucket);
        Instant release = t;
        if (s.tat_valid[dir]) {
          release = std::max(t, s.tat[dir] - wire_time(bucket - need, a.rate_bps, false));
        }
        if (release > t && s.rate_queued[dir] >= kRateQueueFrames) {
          ++s.counters.rate_dropped;
          record(i, f, t);
          return;
        }
        const Instant base = s.tat_valid[dir] ? std::max(release, s.tat[dir]) : release;
        s.tat[dir] = base + wire_time(f.buf.size(), a.rate_bps, true);
        s.tat_valid[dir] = true;
        if (release == t) break;  // conforms now: no fault
        record(i, f, t);
        ++s.rate_queued[dir];
        pending_.emplace(release, Pending{std::move(f), i + 1, static_cast<int>(i)});
        return;
      }
    }
    if (!s.held.empty()) {
      overtake();
      return finish(std::move(f));
    }
  }
  deliver(std::move(f));
}

void RuleFaultDevice::advance(Instant now) {
  for (;;) {
    // The earliest event: a pending frame or a held frame's time bound.
    Instant held_time = kNever;
    size_t held_rule = 0;
    size_t held_index = 0;
    for (size_t r = 0; r < state_.size(); ++r) {
      for (size_t h = 0; h < state_[r].held.size(); ++h) {
        if (state_[r].held[h].release_at < held_time) {
          held_time = state_[r].held[h].release_at;
          held_rule = r;
          held_index = h;
        }
      }
    }
    const Instant pending_time = pending_.empty() ? kNever : pending_.begin()->first;
    if (std::min(held_time, pending_time) > now) return;
    if (pending_time <= held_time) {
      Pending p = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
      if (p.rate_rule >= 0)
        --state_[static_cast<size_t>(p.rate_rule)].rate_queued[p.frame.outbound ? 1 : 0];
      process(std::move(p.frame), p.next_rule, pending_time);
    } else {
      auto& held = state_[held_rule].held;
      Frame f = std::move(held[held_index].frame);
      held.erase(held.begin() + static_cast<ptrdiff_t>(held_index));
      process(std::move(f), held_rule + 1, held_time);
    }
  }
}

void RuleFaultDevice::flush(Instant now) {
  advance(now);
  if (!tx_.empty() || inner_.next_deadline() <= now) inner_.transmit(tx_, now);
  tx_.clear();
}

void RuleFaultDevice::transmit(std::span<PacketBuffer> frames, Instant now) {
  advance(now);
  for (PacketBuffer& b : frames) {
    if (!b) continue;
    if (!started_) {
      started_ = true;
      start_ = now;
    }
    PacketSummary s = summarize_frame({b.data(), b.size()});
    process(Frame{std::move(b), s, true}, 0, now);
  }
  flush(now);
}

size_t RuleFaultDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  flush(now);
  size_t n = 0;
  while (n < max) {
    if (!rx_ready_.empty()) {
      out.push_back(std::move(rx_ready_.front()));
      rx_ready_.pop_front();
      ++n;
      continue;
    }
    batch_.clear();
    const size_t got = inner_.receive(batch_, max - n, now);
    if (got == 0) break;
    for (PacketBuffer& b : batch_) {
      if (!started_) {
        started_ = true;
        start_ = now;
      }
      PacketSummary s = summarize_frame({b.data(), b.size()});
      process(Frame{std::move(b), s, false}, 0, now);
    }
    batch_.clear();
  }
  // Inbound processing may have released outbound frames (reorder counts).
  if (!tx_.empty()) flush(now);
  return n;
}

Instant RuleFaultDevice::next_deadline() const {
  if (!rx_ready_.empty()) return Instant::min();
  Instant next = inner_.next_deadline();
  if (!pending_.empty()) next = std::min(next, pending_.begin()->first);
  for (const RuleState& s : state_) {
    for (const Held& h : s.held) next = std::min(next, h.release_at);
  }
  return next;
}

size_t RuleFaultDevice::in_flight() const {
  size_t n = pending_.size() + rx_ready_.size();
  for (const RuleState& s : state_) n += s.held.size();
  return n;
}

std::string RuleFaultDevice::stats_text() const {
  std::string out = "  fault rules:\n";
  for (size_t i = 0; i < rules_.size(); ++i) {
    const FaultRuleCounters& c = state_[i].counters;
    out += fmt::format("    {} '{}': matched {}, injected {}", i + 1, rules_[i].text, c.matched,
                       c.injected);
    if (c.rate_dropped != 0) out += fmt::format(" (queue full: {})", c.rate_dropped);
    out += '\n';
  }
  return out;
}

}  // namespace shunt
