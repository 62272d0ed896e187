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

bool chance(Rng& rng, double p) {
  return p > 0.0 && (p >= 1.0 || rng.uniform() < p);
}

// "20 ms", "1.5 ms", "250 us", "3 s": for notes.
std::string format_duration(Duration d) {
  const int64_t ns = d.count();
  auto trim = [](double v) {
    std::string s = fmt::format("{:.3f}", v);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
  };
  if (ns >= 1'000'000'000 && ns % 1'000'000 == 0) {
    return trim(static_cast<double>(ns) / 1e9) + " s";
  }
  if (ns >= 1'000'000) return trim(static_cast<double>(ns) / 1e6) + " ms";
  return trim(static_cast<double>(ns) / 1e3) + " us";
}

}  // namespace

std::string FaultLogEntry::to_string() const {
  return fmt::format("{:.6f} rule {} {} {} {}", static_cast<double>(to_ns(when)) / 1e9, rule,
                     outbound ? "out" : "in", shunt::to_string(action), packet.to_string());
}

// ---- the device -------------------------------------------------------------

RuleFaultDevice::RuleState::RuleState(uint64_t seed, uint32_t id)
    : select_rng(0), ge_rng(0), action_rng(0) {
  // Rule `id` takes the (3 id - 2)th to (3 id)th numbers of Rng(seed): the
  // streams the rule at position id always had, whenever it is added.
  Rng master(seed);
  for (uint32_t k = 1; k < id; ++k) {
    master.next();
    master.next();
    master.next();
  }
  select_rng = Rng(master.next());
  ge_rng = Rng(master.next());
  action_rng = Rng(master.next());
}

RuleFaultDevice::RuleFaultDevice(NetDevice& inner, FaultRuleSet rules, uint64_t seed)
    : inner_(inner), seed_(seed) {
  rules_.reserve(rules.rules.size());
  state_.reserve(rules.rules.size());
  for (FaultRule& r : rules.rules) add_rule(std::move(r));
}

RuleFaultDevice::RuleFaultDevice(std::unique_ptr<NetDevice> inner, FaultRuleSet rules,
                                 uint64_t seed)
    : RuleFaultDevice(*inner, std::move(rules), seed) {
  owned_ = std::move(inner);
}

// ---- rules by id ------------------------------------------------------------

uint32_t RuleFaultDevice::add_rule(FaultRule rule) {
  const uint32_t id = next_id_++;
  rules_.push_back(std::move(rule));
  ids_.push_back(id);
  state_.emplace_back(seed_, id);
  const FaultAction& a = rules_.back().action;
  if (a.kind == FaultActionKind::kRate) {
    const TokenBucket bucket(a.rate_bps, uint64_t{a.burst_bytes} * 8);
    state_.back().rate_bucket[0] = bucket;
    state_.back().rate_bucket[1] = bucket;
  }
  unstarted_ = true;
  return id;
}

size_t RuleFaultDevice::index_of(uint32_t id) const {
  const auto it = std::find(ids_.begin(), ids_.end(), id);
  return static_cast<size_t>(it - ids_.begin());
}

bool RuleFaultDevice::remove_rule(uint32_t id) {
  const size_t idx = index_of(id);
  if (idx >= rules_.size()) return false;
  // The frames this rule holds go on at once through the rules after it:
  // they are due at the latest call's time, so the next call releases them.
  std::vector<Pending> released;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.next_rule == idx + 1) {
      released.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [when, p] : pending_) {
    if (p.next_rule > idx) --p.next_rule;
    if (p.rate_rule > static_cast<int>(idx)) --p.rate_rule;
  }
  for (Pending& p : released) {
    p.next_rule = idx;
    p.rate_rule = -1;
    p.released = true;
    pending_.emplace(last_now_, std::move(p));
  }
  for (Held& h : state_[idx].held) {
    pending_.emplace(last_now_, Pending{std::move(h.frame), idx, -1, true});
  }
  const auto at = static_cast<ptrdiff_t>(idx);
  rules_.erase(rules_.begin() + at);
  ids_.erase(ids_.begin() + at);
  state_.erase(state_.begin() + at);
  return true;
}

const FaultRule* RuleFaultDevice::find_rule(uint32_t id) const {
  const size_t idx = index_of(id);
  return idx < rules_.size() ? &rules_[idx] : nullptr;
}

const FaultRuleCounters* RuleFaultDevice::find_counters(uint32_t id) const {
  const size_t idx = index_of(id);
  return idx < rules_.size() ? &state_[idx].counters : nullptr;
}

std::vector<FaultRuleSnapshot> RuleFaultDevice::rule_status() const {
  std::vector<FaultRuleSnapshot> out;
  out.reserve(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    out.push_back(
        FaultRuleSnapshot{ids_[i], rules_[i].text, state_[i].counters, state_[i].held.size()});
  }
  // A pending frame waits in the rule before its next_rule.
  for (const auto& [when, p] : pending_) {
    if (!p.released && p.next_rule >= 1 && p.next_rule <= out.size()) ++out[p.next_rule - 1].held;
  }
  return out;
}

void RuleFaultDevice::set_observer(FaultObserver* observer) {
  observer_ = observer;
  notes_ = observer != nullptr && observer->wants_notes();
}

// ---- decisions --------------------------------------------------------------

bool RuleFaultDevice::matches(const FaultRule& r, const Frame& f) const {
  const auto dir = static_cast<uint8_t>(r.direction);
  if ((dir & static_cast<uint8_t>(f.outbound ? FaultDirection::kOut : FaultDirection::kIn)) == 0) {
    return false;
  }
  return match_frame(r.match, f.summary, f.outbound);
}

bool RuleFaultDevice::selected(const FaultRule& r, RuleState& s, Instant t) {
  const FaultSelect& sel = r.select;
  if (!s.started) {  // a rule added while this frame was held
    s.started = true;
    s.start = t;
  }
  const Duration since = t - s.start;
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

template <class What>
void RuleFaultDevice::record(size_t i, Frame& f, Instant t, What&& what) {
  ++state_[i].counters.injected;
  if (log_.size() >= kLogCapacity) {
    log_.pop_front();
    ++log_overflow_;
  }
  log_.push_back(FaultLogEntry{t, ids_[i], f.outbound, rules_[i].action.kind, f.summary});
  if (!notes_) return;
  if (f.outbound) {
    f.notes.push_back(fmt::format("shunt fault rule {} '{}': {}", ids_[i], rules_[i].text, what()));
  } else if (f.rx_batch != 0 && f.rx_batch == rx_batch_) {
    // The frame is still kept back by the observer: note it there.
    observer_->annotate_received(
        f.rx_index, fmt::format("shunt fault rule {} '{}': {}{}", ids_[i], rules_[i].text, what(),
                                f.copy ? " (the duplicate)" : ""));
  }
}

void RuleFaultDevice::end(Frame& f, Instant t) {
  if (notes_ && f.outbound) observer_->record_unsent(f.buf.bytes(), t, f.notes);
}

void RuleFaultDevice::deliver(Frame f) {
  if (f.outbound) {
    tx_.push_back(std::move(f.buf));
    if (notes_) tx_notes_.push_back(std::move(f.notes));
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
    const char* gone = f.outbound ? ", not sent" : " before the stack";
    if (a.kind == FaultActionKind::kBlackhole && s.blackhole_started) {
      // A blackhole fires once; while it lasts every matching frame vanishes.
      if (t < s.blackhole_until) {
        ++s.counters.matched;
        record(i, f, t, [&] { return fmt::format("blackholed{}", gone); });
        end(f, t);
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
        record(i, f, t, [&] { return fmt::format("dropped{}", gone); });
        end(f, t);
        return;
      case FaultActionKind::kBlackhole:
        s.blackhole_started = true;
        s.blackhole_until = t + a.time;
        record(i, f, t, [&] { return fmt::format("blackholed{}", gone); });
        end(f, t);
        return;
      case FaultActionKind::kDuplicate: {
        record(i, f, t, [] { return std::string("duplicated"); });
        Frame copy{f.buf.clone(), f.summary, f.outbound, true, f.rx_batch, f.rx_index, f.notes};
        if (notes_ && f.outbound && !copy.notes.empty()) {
          copy.notes.back() =
              fmt::format("shunt fault rule {} '{}': the duplicate", ids_[i], r.text);
        }
        process(std::move(f), i + 1, t);
        process(std::move(copy), i + 1, t);
        return;
      }
      case FaultActionKind::kCorrupt: {
        const size_t first = a.whole_frame ? 0 : wire::kEthernetHeaderLen;
        if (f.buf.size() > first) {
          const uint64_t bit = s.action_rng.below((f.buf.size() - first) * 8);
          f.buf.data()[first + bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          record(i, f, t, [&] { return fmt::format("corrupted bit {}", first * 8 + bit); });
        }
        break;
      }
      case FaultActionKind::kMtu:
        // A black hole for large packets: no ICMP "fragmentation needed".
        if (f.buf.size() > size_t{a.mtu} + wire::kEthernetHeaderLen) {
          record(i, f, t, [&] { return fmt::format("dropped (over mtu {}){}", a.mtu, gone); });
          end(f, t);
          return;
        }
        break;
      case FaultActionKind::kTruncate:
        if (f.buf.size() > a.length) {
          f.buf.truncate(a.length);
          record(i, f, t, [&] { return fmt::format("truncated to {} bytes", a.length); });
        }
        break;
      case FaultActionKind::kDelay: {
        Duration d = a.time;
        if (a.jitter > Duration::zero()) {
          d += Duration(static_cast<int64_t>(
              s.action_rng.below(static_cast<uint64_t>(a.jitter.count()) + 1)));
        }
        Instant due = t + d;
        if (a.keep_order) {
          // fifo: never before a frame this rule delayed earlier (a FIFO
          // path's queueing jitter).
          due = std::max(due, s.delay_last_due[dir]);
          d = due - t;
        }
        s.delay_last_due[dir] = std::max(s.delay_last_due[dir], due);
        record(i, f, t, [&] { return "delayed " + format_duration(d); });
        pending_.emplace(due, Pending{std::move(f), i + 1, -1});
        return;
      }
      case FaultActionKind::kReorder:
        if (a.count > 0) {
          record(i, f, t, [&] {
            return a.count == 1
                       ? std::string("held back until 1 later frame passes (reorder)")
                       : fmt::format("held back until {} later frames pass (reorder)", a.count);
          });
          // Held until `count` later frames have passed this rule (this one
          // does not pass, so it counts down nothing), or for a.time.
          s.held.push_back(Held{std::move(f), a.count, t + a.time});
        } else {
          record(i, f, t, [&] { return "held back " + format_duration(a.time) + " (reorder)"; });
          pending_.emplace(t + a.time, Pending{std::move(f), i + 1, -1});
        }
        return;
      case FaultActionKind::kRate: {
        // A frame conforms once the direction's bucket holds its size in
        // bits; it takes them at its release time (a virtual schedule, so
        // frames queued behind it wait their turn).
        TokenBucket& bucket = s.rate_bucket[dir];
        const uint64_t bits = uint64_t{f.buf.size()} * 8;
        const Instant release = bucket.conform_time(bits, t);
        if (release > t && s.rate_queued[dir] >= a.queue_frames) {
          ++s.counters.rate_dropped;
          record(i, f, t,
                 [&] { return fmt::format("dropped by the rate limit (queue full){}", gone); });
          end(f, t);
          return;
        }
        bucket.consume(bits, release);
        if (release == t) break;  // conforms now: no fault
        record(i, f, t,
               [&] { return "held " + format_duration(release - t) + " by the rate limit"; });
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
  if (!tx_.empty() || inner_.next_deadline() <= now) {
    if (notes_) observer_->annotate_transmit(tx_notes_);
    inner_.transmit(tx_, now);
  }
  tx_.clear();
  tx_notes_.clear();
}

void RuleFaultDevice::enter(PacketBuffer b, bool outbound, Instant now, uint32_t rx_index) {
  if (unstarted_) {
    // Time windows count from the first frame a rule could see.
    for (RuleState& s : state_) {
      if (!s.started) {
        s.started = true;
        s.start = now;
      }
    }
    unstarted_ = false;
  }
  Frame f;
  f.summary = summarize_frame({b.data(), b.size()});
  f.buf = std::move(b);
  f.outbound = outbound;
  if (!outbound && rx_batch_ != 0) {
    f.rx_batch = rx_batch_;
    f.rx_index = rx_index;
  }
  process(std::move(f), 0, now);
}

void RuleFaultDevice::transmit(std::span<PacketBuffer> frames, Instant now) {
  if (idle()) {
    inner_.transmit(frames, now);
    return;
  }
  last_now_ = std::max(last_now_, now);
  advance(now);
  for (PacketBuffer& b : frames) {
    if (!b) continue;
    enter(std::move(b), true, now, 0);
  }
  flush(now);
}

size_t RuleFaultDevice::receive(std::vector<PacketBuffer>& out, size_t max, Instant now) {
  if (idle()) {
    if (inner_.next_deadline() <= now) inner_.transmit({}, now);
    return inner_.receive(out, max, now);
  }
  last_now_ = std::max(last_now_, now);
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
    if (notes_) {
      observer_->begin_receive();
      rx_batch_ = ++rx_batches_;
    }
    const size_t got = inner_.receive(batch_, max - n, now);
    for (size_t i = 0; i < batch_.size(); ++i) {
      enter(std::move(batch_[i]), false, now, static_cast<uint32_t>(i));
    }
    if (notes_) {
      observer_->commit_received();
      rx_batch_ = 0;
    }
    batch_.clear();
    if (got == 0) break;
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
  if (rules_.empty()) return {};
  std::string out = "  fault rules:\n";
  for (size_t i = 0; i < rules_.size(); ++i) {
    const FaultRuleCounters& c = state_[i].counters;
    out += fmt::format("    {} '{}': matched {}, injected {}", ids_[i], rules_[i].text, c.matched,
                       c.injected);
    if (c.rate_dropped != 0) out += fmt::format(" (queue full: {})", c.rate_dropped);
    out += '\n';
  }
  return out;
}

}  // namespace shunt
