// What the fault simulation tests share: two stacks on one segment, A
// (198.18.0.1) behind a RuleFaultDevice, B (198.18.0.2) on a clean port; A
// connects to B:5001, and either side streams checked bytes to the other.
// With a pcap writer, a CaptureDevice sits between the rules and A's port
// and is their observer, as the runtime composes them:
//
//   stack A -> RuleFaultDevice -> [CaptureDevice] -> port a ~ port b <- stack B
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "driver/capture_device.h"
#include "driver/rule_fault_device.h"
#include "tests/support/lan.h"
#include "tests/support/sha256.h"

namespace shunt::testing {

inline FaultRuleSet fault_rules(std::string_view spec) {
  auto r = parse_fault_rules(spec);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : FaultRuleSet{};
}

// How FaultPair::transfer goes: who sends, the PatternStream seed, the
// largest send and the receive buffer.
struct FaultStream {
  bool a_sends = true;
  uint64_t pattern = 77;
  size_t chunk = 64 * 1024;
  size_t buffer = 256 * 1024;
};

struct FaultPair {
  // `capture`: the writer of a CaptureDevice under the rules; nullptr: none.
  FaultPair(std::string_view spec, uint64_t seed, std::unique_ptr<PcapWriter> capture_to = nullptr)
      : pa(seg.add_port()),
        pb(seg.add_port()),
        capture(capture_to ? std::make_unique<CaptureDevice>(pa, std::move(capture_to), 0)
                           : nullptr),
        dev(capture ? static_cast<NetDevice&>(*capture) : pa, fault_rules(spec), seed),
        a(dev, pool, config(1)),
        b(pb, pool, config(2)) {
    if (capture) dev.set_observer(capture.get());
    sim.add_host(a, dev);
    sim.add_host(b, pb);
  }
  static StackConfig config(uint8_t n) {
    StackConfig c;
    c.mac = test_mac(n);
    c.address = Ipv4Cidr(test_ip(n), 24);
    c.seed = 100 + n;
    return c;
  }

  // A connects to B:5001; returns how long the handshake took (A's view).
  std::optional<Duration> connect() {
    l = *b.tcp_open();
    EXPECT_TRUE(b.bind(l, {Ipv4Address::any(), 5001}));
    EXPECT_TRUE(b.listen(l, 8, sim.now()));
    ac = *a.tcp_open();
    const Instant start = sim.now();
    EXPECT_EQ(a.connect(ac, {test_ip(2), 5001}, sim.now()).error(), Error::kInProgress);
    const bool ok = sim.run_until(
        [&] {
          if (!bc) {
            auto r = b.accept(l, sim.now());
            if (r) bc = r->socket;
          }
          return bc && (*a.readiness(ac) & readiness::kWritable) != 0;
        },
        60s);
    if (!ok || a.take_error(ac)->has_value()) return std::nullopt;
    return sim.now() - start;
  }

  // Sends `bytes` over the connection; returns the virtual time it took, or
  // nothing if it did not finish (or arrived damaged).
  std::optional<Duration> transfer(size_t bytes, FaultStream how = {}) {
    Stack& from = how.a_sends ? a : b;
    Stack& to = how.a_sends ? b : a;
    const SocketId from_s = how.a_sends ? ac : *bc;
    const SocketId to_s = how.a_sends ? *bc : ac;
    PatternStream gen(how.pattern);
    Sha256 sent_hash, recv_hash;
    std::vector<uint8_t> pending, buf(how.buffer);
    size_t sent = 0, received = 0;
    const Instant start = sim.now();
    const bool ok = sim.run_until(
        [&] {
          while (sent < bytes) {
            if (pending.empty()) {
              pending.resize(std::min<size_t>(how.chunk, bytes - sent));
              gen.fill(pending);
            }
            auto r = from.send_to(from_s, pending, std::nullopt, sim.now());
            if (!r) break;
            sent_hash.update(Bytes(pending).first(*r));
            sent += *r;
            pending.erase(pending.begin(), pending.begin() + static_cast<long>(*r));
          }
          while (true) {
            auto r = to.recv_from(to_s, buf, 0, sim.now());
            if (!r || r->copied == 0) break;
            recv_hash.update(Bytes(buf).first(r->copied));
            received += r->copied;
          }
          return received == bytes;
        },
        600s);
    if (!ok || sent_hash.hex() != recv_hash.hex()) return std::nullopt;
    return sim.now() - start;
  }

  BufferPool pool;
  MemorySegment seg;
  MemoryPort& pa;
  MemoryPort& pb;
  std::unique_ptr<CaptureDevice> capture;
  RuleFaultDevice dev;
  Stack a, b;
  Simulation sim;
  SocketId l{}, ac{};
  std::optional<SocketId> bc;
};

}  // namespace shunt::testing
