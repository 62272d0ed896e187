// Test fixtures: stacks on an in-memory Ethernet segment under the
// simulation harness, plus a RawHost that injects hand-built frames and
// records what it receives (for tests that need to craft or inspect the
// bytes on the wire).
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "driver/memory_segment.h"
#include "sim/simulation.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"

namespace shunt::testing {

inline MacAddress test_mac(uint8_t n) { return MacAddress({0x02, 0x00, 0xc6, 0x12, 0x00, n}); }
inline Ipv4Address test_ip(uint8_t n) { return Ipv4Address(198, 18, 0, n); }

// A host that only records frames and sends what the test gives it.
class RawHost {
 public:
  RawHost(NetDevice& dev, MacAddress mac) : dev_(dev), mac_(mac) {}
  void receive(PacketBuffer frame, Instant) { received.push_back(std::move(frame)); }
  void poll(Instant) {}
  Instant next_deadline() const { return kNever; }
  void send(PacketBuffer frame, Instant now) {
    PacketBuffer one[1] = {std::move(frame)};
    dev_.transmit(one, now);
  }
  MacAddress mac() const { return mac_; }
  std::deque<PacketBuffer> received;

 private:
  NetDevice& dev_;
  MacAddress mac_;
};

// N stacks at 198.18.0.1, .2, ... /24 on one switch, plus optional raw hosts.
class Lan {
 public:
  explicit Lan(size_t n_stacks, uint32_t mtu = 1500) {
    for (size_t i = 0; i < n_stacks; ++i) add_stack(mtu);
  }

  Stack& add_stack(uint32_t mtu = 1500, StackConfig cfg = {}) {
    auto n = static_cast<uint8_t>(stacks_.size() + 1);
    NetDevice& port = segment.add_port(mtu);
    cfg.mac = test_mac(n);
    if (!cfg.address) cfg.address = Ipv4Cidr(test_ip(n), 24);
    cfg.mtu = mtu;
    cfg.seed = 1000 + n;
    stacks_.push_back(std::make_unique<Stack>(port, pool, cfg));
    sim.add_host(*stacks_.back(), port);
    return *stacks_.back();
  }

  // A raw host with MAC 02:00:c6:12:00:<n>, n from 200 up.
  RawHost& add_raw(uint32_t mtu = 1500) {
    NetDevice& port = segment.add_port(mtu);
    raws_.push_back(std::make_unique<RawHost>(port, test_mac(static_cast<uint8_t>(200 + raws_.size()))));
    sim.add_host(*raws_.back(), port);
    return *raws_.back();
  }

  Stack& stack(size_t i) { return *stacks_.at(i); }
  Instant now() const { return sim.now(); }

  BufferPool pool;  // declared first: destroyed last
  MemorySegment segment;
  Simulation sim;

 private:
  std::vector<std::unique_ptr<Stack>> stacks_;
  std::vector<std::unique_ptr<RawHost>> raws_;
};

inline std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace shunt::testing
