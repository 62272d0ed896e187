// Stack construction, timers and the socket table. The protocol layers are
// in stack_link.cc, stack_ip.cc, stack_icmp.cc, stack_udp.cc and
// stack_tcp*.cc; the socket calls in stack_calls.cc.
#include "stack/net/stack.h"

#include "stack/wire/arp.h"

#include <algorithm>

namespace shunt {

namespace {

// The SO_REUSEPORT flow hash key comes from the seed through a generator of
// its own, so that adding it changed no other random choice of the stack.
SipKey reuseport_key(uint64_t seed) {
  Rng r(seed ^ 0x7265757365706f72);  // "reusepor"
  return {r.next(), r.next()};
}

}  // namespace

Stack::Stack(NetDevice& device, BufferPool& pool, const StackConfig& config)
    : device_(device),
      pool_(pool),
      cfg_(config),
      mtu_(std::min(config.mtu, device.info().mtu)),
      rng_(config.seed),
      routes_(),
      arp_(config.arp),
      reasm_(config.reassembly, pool),
      ports_(config.ephemeral_low, config.ephemeral_high, rng_),
      icmp_errors_(config.icmp.errors_per_sec, config.icmp.error_burst),
      ident_key_{rng_.next(), rng_.next()},
      ident_buckets_(2048),
      reuseport_(reuseport_key(config.seed)),
      isn_(rng_),
      cookies_(rng_),
      ts_key_{rng_.next(), rng_.next()} {
  if (cfg_.tcp_secret) {
    // Separate keys for the two uses, derived from the shared secret.
    auto derive = [&](uint8_t use) {
      const uint8_t a[2] = {use, 0}, b[2] = {use, 1};
      return SipKey{siphash24(*cfg_.tcp_secret, a), siphash24(*cfg_.tcp_secret, b)};
    };
    isn_.rekey(derive(1));
    ts_key_ = derive(2);
  }
  // IP IDs come from hashed per-destination counters with random starts
  // (like Linux's ip_idents), so they do not leak a global packet count.
  for (auto& b : ident_buckets_) b = static_cast<uint32_t>(rng_.next());
  if (cfg_.address) {
    // The interface's own prefix is on-link (RFC 1122 3.3.1.1).
    routes_.add(Route{Ipv4Cidr(cfg_.address->network(), cfg_.address->prefix_len()), std::nullopt});
    if (cfg_.gateway) routes_.add(Route{Ipv4Cidr(Ipv4Address::any(), 0), cfg_.gateway});
  }
}

Stack::~Stack() = default;

void Stack::poll(Instant now) {
  if (!announced_) {
    announced_ = true;
    // A gratuitous ARP when the interface comes up (RFC 5227 3): a request
    // for our own address, so neighbours update stale entries.
    if (cfg_.address) {
      send_arp(wire::arp_op::kRequest, MacAddress::broadcast(), MacAddress(), cfg_.address->address(),
               now);
      ++stats_.arp.OutGratuitous;
    }
  }
  // Packets we sent to ourselves.
  while (!loopback_.empty()) {
    std::vector<PacketBuffer> batch = std::move(loopback_);
    loopback_.clear();
    for (auto& p : batch) ip_input(std::move(p), now, /*loopback=*/true);
  }
  run_arp_timers(now);
  run_reassembly_timers(now);
  run_tcp_timers(now);
  run_defer_timers(now);
  flush(now);
}

Instant Stack::next_deadline() const {
  if (!announced_ || !loopback_.empty() || !tx_.empty()) return Instant::min();
  Instant t = std::min(arp_.next_deadline(), reasm_.next_deadline());
  if (!tcp_timers_.empty()) t = std::min(t, tcp_timers_.front().at);
  return std::min(t, defer_deadline());
}

void Stack::transmit(PacketBuffer frame) {
  ++stats_.link.OutFrames;
  stats_.link.OutBytes += frame.size();
  tx_.push_back(std::move(frame));
}

void Stack::flush(Instant now) {
  if (tx_.empty()) return;
  device_.transmit(tx_, now);
  tx_.clear();
}

void Stack::take_ready_changes(std::vector<SocketId>& out) {
  for (SocketId s : changed_) {
    if (s.slot < slots_.size() && slots_[s.slot].generation == s.generation) {
      slots_[s.slot].changed = false;
      out.push_back(s);
    }
  }
  changed_.clear();
}

void Stack::mark_changed(SocketId s) {
  Slot& slot = slots_[s.slot];
  if (!slot.changed) {
    slot.changed = true;
    changed_.push_back(s);
  }
}

udp::UdpSocket* Stack::udp(SocketId s) {
  if (s.slot >= slots_.size() || slots_[s.slot].generation != s.generation) return nullptr;
  return slots_[s.slot].udp.get();
}

const udp::UdpSocket* Stack::udp(SocketId s) const {
  if (s.slot >= slots_.size() || slots_[s.slot].generation != s.generation) return nullptr;
  return slots_[s.slot].udp.get();
}

Result<SocketId> Stack::open_slot() {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot].changed = false;
  ++live_sockets_;
  return SocketId{slot, slots_[slot].generation};
}

Result<SocketId> Stack::udp_open(uint32_t uid) {
  auto id = open_slot();
  slots_[id->slot].udp = std::make_unique<udp::UdpSocket>(uid, cfg_.udp.rcvbuf, cfg_.udp.sndbuf);
  return id;
}

Result<SocketId> Stack::tcp_open(uint32_t uid) {
  auto id = open_slot();
  slots_[id->slot].tcp = std::make_unique<TcpSocket>();
  slots_[id->slot].tcp->uid = uid;
  return id;
}

TcpSocket* Stack::tcp(SocketId s) {
  if (s.slot >= slots_.size() || slots_[s.slot].generation != s.generation) return nullptr;
  return slots_[s.slot].tcp.get();
}

const TcpSocket* Stack::tcp(SocketId s) const {
  if (s.slot >= slots_.size() || slots_[s.slot].generation != s.generation) return nullptr;
  return slots_[s.slot].tcp.get();
}

void Stack::free_slot(SocketId s) {
  Slot& slot = slots_[s.slot];
  slot.udp.reset();
  slot.tcp.reset();
  ++slot.generation;
  free_slots_.push_back(s.slot);
  --live_sockets_;
}

}  // namespace shunt
