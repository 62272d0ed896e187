#include "stack/net/arp_cache.h"

#include <algorithm>

namespace shunt {

std::optional<MacAddress> ArpCache::lookup(Ipv4Address ip, Instant now) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  switch (e.state) {
    case State::kIncomplete:
      return std::nullopt;
    case State::kReachable:
      return e.mac;
    case State::kStale:
      // Use it, but confirm the neighbour is still there (RFC 1122 2.3.2.1).
      e.state = State::kProbe;
      e.probes_sent = 0;
      e.deadline = now;  // the first probe goes out at the next poll
      return e.mac;
    case State::kProbe:
      return e.mac;
  }
  return std::nullopt;
}

ArpCache::Enqueue ArpCache::enqueue(Ipv4Address ip, Pending& p, Instant now) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (entries_.size() >= cfg_.max_entries) {
      // Make room by forgetting an unused stale neighbour, if there is one.
      auto victim = std::find_if(entries_.begin(), entries_.end(),
                                 [](const auto& kv) { return kv.second.state == State::kStale; });
      if (victim == entries_.end()) return Enqueue::kTableFull;
      entries_.erase(victim);
    }
    Entry e;
    e.state = State::kIncomplete;
    e.probes_sent = 1;
    e.deadline = now + cfg_.retrans_time;
    e.queue.push_back(std::move(p));
    entries_.emplace(ip, std::move(e));
    return Enqueue::kSendRequest;
  }
  Entry& e = it->second;
  if (e.queue.size() >= cfg_.queue_len) return Enqueue::kQueueFull;
  e.queue.push_back(std::move(p));
  return Enqueue::kQueued;
}

std::vector<ArpCache::Pending> ArpCache::update(Ipv4Address ip, MacAddress mac, bool create,
                                                Instant now) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (!create || entries_.size() >= cfg_.max_entries) return {};
    it = entries_.emplace(ip, Entry{}).first;
  }
  Entry& e = it->second;
  e.state = State::kReachable;
  e.mac = mac;
  e.probes_sent = 0;
  e.deadline = now + cfg_.reachable_time;
  return std::exchange(e.queue, {});
}

void ArpCache::poll(Instant now, std::vector<Request>& requests, std::vector<Failure>& failures) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      ++it;
      continue;
    }
    switch (e.state) {
      case State::kReachable:
        e.state = State::kStale;
        e.deadline = now + cfg_.gc_stale_time;
        ++it;
        continue;
      case State::kStale:
        it = entries_.erase(it);
        continue;
      case State::kIncomplete:
      case State::kProbe:
        if (e.probes_sent >= cfg_.max_probes) {
          failures.push_back(Failure{it->first, std::move(e.queue)});
          it = entries_.erase(it);
          continue;
        }
        ++e.probes_sent;
        e.deadline = now + cfg_.retrans_time;
        requests.push_back(Request{
            it->first, e.state == State::kProbe ? std::optional(e.mac) : std::nullopt});
        ++it;
        continue;
    }
  }
}

Instant ArpCache::next_deadline() const {
  Instant next = kNever;
  for (const auto& [ip, e] : entries_) next = std::min(next, e.deadline);
  return next;
}

std::optional<ArpCache::State> ArpCache::state(Ipv4Address ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  return it->second.state;
}

}  // namespace shunt
