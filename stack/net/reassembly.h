// IPv4 fragment reassembly (RFC 791 3.2, the hole bookkeeping of RFC 815).
//
// Datagrams are keyed by (src, dst, protocol, identification). Fragments
// are kept as they arrived (no copy) until the datagram is complete, then
// copied once into one buffer. Bounded: a memory limit on held fragment
// bytes and a limit on datagrams in progress; when either is reached the
// oldest incomplete datagrams are evicted to make room (Linux's LRU
// evictor), so fragments that will never complete cannot block a
// legitimate datagram for the whole timeout; an incomplete datagram is
// dropped after the timeout. A fragment that partly overlaps another drops
// the whole datagram (overlaps are how fragment attacks work, and Linux
// does the same since CVE-2018-5391); an exact duplicate is ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <map>
#include <optional>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/result.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/config.h"
#include "stack/base/drop_reason.h"
#include "stack/wire/ipv4.h"

namespace shunt {

class Reassembler {
 public:
  Reassembler(const ReassemblyConfig& cfg, BufferPool& pool) : cfg_(cfg), pool_(pool) {}

  struct Complete {
    wire::Ipv4Repr header;  // of the first fragment, with offset/MF cleared and the full payload_len
    PacketBuffer payload;   // the reassembled IP payload
  };

  // A fragment whose IP header has been consumed: `payload` holds exactly
  // hdr.payload_len bytes. Returns the datagram once complete, nothing while
  // incomplete, or the reason the fragment (and maybe its datagram) was dropped.
  Expected<std::optional<Complete>, DropReason> add(const wire::Ipv4Repr& hdr,
                                                     PacketBuffer payload, Instant now);

  // A datagram given up after the timeout. first_fragment is set when the
  // offset-0 fragment had arrived, so the caller can send ICMP time
  // exceeded (RFC 792, RFC 1122 3.3.2); it holds the IP header and data.
  struct Expired {
    wire::Ipv4Repr header;
    std::optional<PacketBuffer> first_fragment;
  };
  void poll(Instant now, std::vector<Expired>& expired);

  Instant next_deadline() const;
  size_t datagrams() const { return datagrams_.size(); }
  size_t memory_used() const { return memory_; }
  // Incomplete datagrams evicted (oldest first) to make room since the
  // last call; the caller counts them.
  uint64_t take_evicted() { return std::exchange(evicted_, 0); }

 private:
  struct Key {
    uint32_t src, dst;
    uint16_t ident;
    uint8_t protocol;
    auto operator<=>(const Key&) const = default;
  };
  struct Fragment {
    uint16_t offset;
    uint16_t len;
    PacketBuffer data;
  };
  struct Datagram {
    wire::Ipv4Repr first_header;  // valid once have_first
    bool have_first = false;
    std::optional<uint32_t> total_len;  // known once the last fragment (MF=0) arrived
    std::vector<Fragment> fragments;    // sorted by offset, non-overlapping
    uint32_t received = 0;              // payload bytes held
    size_t memory = 0;
    Instant deadline;
    uint64_t serial = 0;  // creation order, for eviction
  };

  void drop(std::map<Key, Datagram>::iterator it);
  // Evicts the oldest datagram other than `keep`; false if there is none.
  bool evict_oldest(const Key& keep);
  void note_created(uint64_t serial, const Key& key);
  static size_t cost(const PacketBuffer& b) { return b.size() + b.headroom() + b.tailroom(); }

  ReassemblyConfig cfg_;
  BufferPool& pool_;
  std::map<Key, Datagram> datagrams_;
  // Creation order (serial, key); entries of datagrams already gone are
  // skipped when met.
  std::deque<std::pair<uint64_t, Key>> order_;
  uint64_t next_serial_ = 0;
  uint64_t evicted_ = 0;
  size_t memory_ = 0;
};

}  // namespace shunt
