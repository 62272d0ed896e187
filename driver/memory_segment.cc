#include "driver/memory_segment.h"

#include <utility>

#include "stack/base/check.h"
#include "stack/wire/ethernet.h"

namespace shunt {

void MemoryPort::transmit(std::span<PacketBuffer> frames, Instant /*now*/) {
  for (PacketBuffer& f : frames) {
    PacketBuffer frame = std::move(f);
    if (!frame) continue;
    if (frame.size() < wire::kEthernetHeaderLen) {
      ++stats_.tx_dropped;  // a runt: no header to switch on
      continue;
    }
    ++stats_.tx_frames;
    stats_.tx_bytes += frame.size();
    segment_.forward(*this, std::move(frame));
  }
}

size_t MemoryPort::receive(std::vector<PacketBuffer>& out, size_t max, Instant /*now*/) {
  size_t n = 0;
  while (n < max && !rx_queue_.empty()) {
    out.push_back(std::move(rx_queue_.front()));
    rx_queue_.pop_front();
    ++n;
  }
  return n;
}

bool MemoryPort::admit(size_t frame_size) {
  if (frame_size > size_t{mtu_} + wire::kEthernetHeaderLen || rx_queue_.size() >= capacity_) {
    ++stats_.rx_dropped;
    return false;
  }
  return true;
}

void MemoryPort::deliver(PacketBuffer frame) {
  ++stats_.rx_frames;
  stats_.rx_bytes += frame.size();
  rx_queue_.push_back(std::move(frame));
}

MemoryPort& MemorySegment::add_port(uint32_t mtu, size_t queue_capacity) {
  // MemoryPort's constructor is private to keep ports owned by a segment.
  ports_.push_back(
      std::unique_ptr<MemoryPort>(new MemoryPort(*this, ports_.size(), mtu, queue_capacity)));
  return *ports_.back();
}

std::optional<size_t> MemorySegment::lookup(const MacAddress& mac) const {
  auto it = mac_table_.find(mac);
  if (it == mac_table_.end()) return std::nullopt;
  return it->second->index();
}

void MemorySegment::forward(MemoryPort& from, PacketBuffer frame) {
  SHUNT_CHECK(frame.size() >= wire::kEthernetHeaderLen);
  const MacAddress dst = MacAddress::from_bytes(frame.data());
  const MacAddress src = MacAddress::from_bytes(frame.data() + 6);
  if (!src.is_multicast()) mac_table_[src] = &from;

  if (!dst.is_multicast()) {
    auto it = mac_table_.find(dst);
    if (it != mac_table_.end()) {
      if (it->second == &from) {
        ++stats_.filtered;
        return;
      }
      ++stats_.unicast;
      if (it->second->admit(frame.size())) it->second->deliver(std::move(frame));
      return;
    }
  }

  // Flood: clone for every receiver but the last, which gets the original.
  // Ports that would drop the frame are skipped before anything is cloned.
  ++stats_.flooded;
  MemoryPort* last = nullptr;
  for (auto& p : ports_) {
    if (p.get() == &from || !p->admit(frame.size())) continue;
    if (last != nullptr) last->deliver(frame.clone());
    last = p.get();
  }
  if (last != nullptr) last->deliver(std::move(frame));
}

}  // namespace shunt
