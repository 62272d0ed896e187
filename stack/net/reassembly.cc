#include "stack/net/reassembly.h"

#include <algorithm>
#include <cstring>

namespace shunt {

void Reassembler::drop(std::map<Key, Datagram>::iterator it) {
  memory_ -= it->second.memory;
  datagrams_.erase(it);
  if (datagrams_.empty()) order_.clear();
}

bool Reassembler::evict_oldest(const Key& keep) {
  for (auto o = order_.begin(); o != order_.end();) {
    auto it = datagrams_.find(o->second);
    if (it == datagrams_.end() || it->second.serial != o->first) {
      o = order_.erase(o);  // completed or timed out already
      continue;
    }
    if (o->second == keep) {
      ++o;
      continue;
    }
    order_.erase(o);
    drop(it);
    ++evicted_;
    return true;
  }
  return false;
}

void Reassembler::note_created(uint64_t serial, const Key& key) {
  order_.emplace_back(serial, key);
  // Entries of datagrams that completed or timed out stay until met;
  // rebuild the list when they outnumber the live ones, so it stays
  // proportional to what is held.
  if (order_.size() > 2 * datagrams_.size() + 64) {
    order_.clear();
    for (const auto& [k, d] : datagrams_) order_.emplace_back(d.serial, k);
    std::sort(order_.begin(), order_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
}

Expected<std::optional<Reassembler::Complete>, DropReason> Reassembler::add(
    const wire::Ipv4Repr& hdr, PacketBuffer payload, Instant now) {
  const uint32_t offset = hdr.frag_offset;
  const uint32_t len = hdr.payload_len;
  const uint32_t end = offset + len;
  // RFC 791: every fragment but the last carries a multiple of 8 bytes.
  if (hdr.more_fragments && (len == 0 || len % 8 != 0)) return DropReason::kFragBadOffset;
  if (end > 65535u - hdr.header_len) return DropReason::kFragTooLarge;

  Key key{hdr.src.value(), hdr.dst.value(), hdr.ident, hdr.protocol};
  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    while (datagrams_.size() >= cfg_.max_datagrams) {
      if (!evict_oldest(key)) return DropReason::kFragMemoryLimit;
    }
    Datagram d;
    d.deadline = now + cfg_.timeout;
    d.serial = next_serial_++;
    const uint64_t serial = d.serial;
    it = datagrams_.emplace(key, std::move(d)).first;
    note_created(serial, key);
  }
  Datagram& d = it->second;

  // The last fragment fixes the length; anything beyond it, or a second
  // "last" disagreeing with the first, is an inconsistent datagram.
  if (!hdr.more_fragments) {
    if ((d.total_len && *d.total_len != end) ||
        (!d.fragments.empty() && d.fragments.back().offset + d.fragments.back().len > end)) {
      drop(it);
      return DropReason::kFragOverlap;
    }
    d.total_len = end;
  } else if (d.total_len && end > *d.total_len) {
    drop(it);
    return DropReason::kFragOverlap;
  }

  // Find the insertion point; reject overlaps, ignore exact duplicates.
  auto pos = std::lower_bound(d.fragments.begin(), d.fragments.end(), offset,
                              [](const Fragment& f, uint32_t o) { return f.offset < o; });
  if (pos != d.fragments.end() && pos->offset == offset && pos->len == len) {
    return std::optional<Complete>();  // duplicate: already have these bytes
  }
  bool overlaps_next = pos != d.fragments.end() && end > pos->offset;
  bool overlaps_prev = pos != d.fragments.begin() && std::prev(pos)->offset + std::prev(pos)->len > offset;
  if (overlaps_next || overlaps_prev) {
    drop(it);
    return DropReason::kFragOverlap;
  }

  size_t c = cost(payload);
  while (memory_ + c > cfg_.memory_limit) {
    if (!evict_oldest(key)) {
      drop(it);
      return DropReason::kFragMemoryLimit;
    }
    // Eviction never removes this datagram, but may move the map's nodes:
    // std::map iterators stay valid across other erasures.
  }
  if (offset == 0) {
    d.first_header = hdr;
    d.have_first = true;
  }
  memory_ += c;
  d.memory += c;
  d.received += len;
  d.fragments.insert(pos, Fragment{static_cast<uint16_t>(offset), static_cast<uint16_t>(len),
                                   std::move(payload)});

  if (!d.total_len || d.received != *d.total_len) return std::optional<Complete>();

  // No overlaps and as many bytes as the total: there are no holes left.
  PacketBuffer whole = pool_.allocate(*d.total_len);
  if (!whole) {
    drop(it);
    return DropReason::kFragTooLarge;
  }
  for (const Fragment& f : d.fragments) {
    std::memcpy(whole.append(f.len).data(), f.data.data(), f.len);
  }
  Complete done{d.first_header, std::move(whole)};
  done.header.more_fragments = false;
  done.header.frag_offset = 0;
  done.header.payload_len = static_cast<uint16_t>(*d.total_len);
  drop(it);
  return std::optional<Complete>(std::move(done));
}

void Reassembler::poll(Instant now, std::vector<Expired>& expired) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    Datagram& d = it->second;
    Expired e;
    if (d.have_first && !d.fragments.empty() && d.fragments.front().offset == 0) {
      e.header = d.first_header;
      e.first_fragment = std::move(d.fragments.front().data);
    } else {
      e.header.src = Ipv4Address(it->first.src);
      e.header.dst = Ipv4Address(it->first.dst);
      e.header.protocol = it->first.protocol;
      e.header.ident = it->first.ident;
    }
    expired.push_back(std::move(e));
    auto next = std::next(it);
    drop(it);
    it = next;
  }
}

Instant Reassembler::next_deadline() const {
  Instant next = kNever;
  for (const auto& [k, d] : datagrams_) next = std::min(next, d.deadline);
  return next;
}

}  // namespace shunt
