// The neighbour table (RFC 826 with the states of RFC 1122 2.3.2.1 and
// Linux's neighbour subsystem, simplified):
//
//   INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE
//   STALE --used--> PROBE (keeps using the old MAC, re-asks by unicast)
//   PROBE --reply--> REACHABLE;  PROBE/INCOMPLETE --max_probes--> gone
//
// Pure data structure: it says which requests to send and which queued
// packets to release or fail; the Stack does the sending.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/time.h"
#include "stack/buffer/packet_buffer.h"
#include "stack/net/config.h"

namespace shunt {

class ArpCache {
 public:
  enum class State : uint8_t { kIncomplete, kReachable, kStale, kProbe };

  // An IP packet (no Ethernet header yet) waiting for its next hop's MAC,
  // and the socket (0 for none) to tell if resolution fails.
  struct Pending {
    PacketBuffer packet;
    uint64_t owner = 0;
  };

  // A request the Stack must send. unicast_to is set for PROBE refreshes.
  struct Request {
    Ipv4Address target;
    std::optional<MacAddress> unicast_to;
  };

  struct Failure {
    Ipv4Address target;
    std::vector<Pending> packets;
  };

  explicit ArpCache(const ArpConfig& cfg) : cfg_(cfg) {}

  // The MAC to use for ip now, if any. Using a STALE entry starts a probe
  // (a request appears in the next poll()).
  std::optional<MacAddress> lookup(Ipv4Address ip, Instant now);

  enum class Enqueue : uint8_t {
    kSendRequest,  // new INCOMPLETE entry: send the first request now
    kQueued,       // already being resolved
    kQueueFull,    // dropped: too many packets wait for this neighbour
    kTableFull,    // dropped: no room for another neighbour
  };
  // Queues a packet for an unresolved neighbour. On kQueueFull/kTableFull
  // the packet is left with the caller (in `p`).
  Enqueue enqueue(Ipv4Address ip, Pending& p, Instant now);

  // Learns ip -> mac from an ARP packet. `create` adds an entry if none
  // exists (RFC 826: only when the packet was a request for us). Returns
  // the packets that were waiting for this neighbour.
  std::vector<Pending> update(Ipv4Address ip, MacAddress mac, bool create, Instant now);

  // Runs timers: retries (appended to requests), failures (appended to
  // failures, with their queued packets), ageing.
  void poll(Instant now, std::vector<Request>& requests, std::vector<Failure>& failures);

  Instant next_deadline() const;

  size_t size() const { return entries_.size(); }
  // Packets waiting for some neighbour.
  size_t queued() const {
    size_t n = 0;
    for (const auto& [ip, e] : entries_) n += e.queue.size();
    return n;
  }
  std::optional<State> state(Ipv4Address ip) const;

 private:
  struct Entry {
    State state = State::kIncomplete;
    MacAddress mac;
    uint32_t probes_sent = 0;
    Instant deadline;    // next retry (INCOMPLETE/PROBE), stale time (REACHABLE), gc (STALE)
    std::vector<Pending> queue;
  };

  ArpConfig cfg_;
  std::unordered_map<Ipv4Address, Entry> entries_;
};

}  // namespace shunt
