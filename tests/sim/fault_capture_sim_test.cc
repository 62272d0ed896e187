// Fault comments on real TCP traffic between two stacks: A's device is
// RuleFaultDevice(CaptureDevice(port)) with a pcapng file, as the runtime
// composes it. The first SYN-ACK dropped shows as the one commented frame,
// an inbound SYN-ACK, between A's two SYNs; under random loss both ways,
// every drop is a comment on exactly one frame (inbound: the frame that
// arrived; outbound: the frame recorded as not sent) and the capture holds
// every frame the rule saw.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "driver/capture_device.h"
#include "driver/rule_fault_device.h"
#include "tests/support/lan.h"
#include "tests/support/pcapng_reader.h"
#include "tests/support/sha256.h"

namespace shunt::testing {
namespace {

FaultRuleSet rules(std::string_view spec) {
  auto r = parse_fault_rules(spec);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : FaultRuleSet{};
}

std::unique_ptr<PcapWriter> writer(const std::string& path) {
  auto w = PcapWriter::open(path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
  EXPECT_TRUE(w.ok());
  return w.ok() ? std::move(*w) : nullptr;
}

struct Pair {
  Pair(std::string_view spec, uint64_t seed, const std::string& path)
      : pa(seg.add_port()),
        pb(seg.add_port()),
        capture(pa, writer(path), 0),
        dev(capture, rules(spec), seed),
        a(dev, pool, config(1)),
        b(pb, pool, config(2)) {
    dev.set_observer(&capture);
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

  bool connect() {
    l = *b.tcp_open();
    EXPECT_TRUE(b.bind(l, {Ipv4Address::any(), 5001}));
    EXPECT_TRUE(b.listen(l, 8, sim.now()));
    ac = *a.tcp_open();
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
    return ok && !a.take_error(ac)->has_value();
  }

  // B sends `bytes` to A, checked by hash.
  bool transfer(size_t bytes) {
    PatternStream gen(5);
    Sha256 sent_hash, recv_hash;
    std::vector<uint8_t> pending, buf(64 * 1024);
    size_t sent = 0, received = 0;
    const bool ok = sim.run_until(
        [&] {
          while (sent < bytes) {
            if (pending.empty()) {
              pending.resize(std::min<size_t>(16 * 1024, bytes - sent));
              gen.fill(pending);
            }
            auto r = b.send_to(*bc, pending, std::nullopt, sim.now());
            if (!r) break;
            sent_hash.update(Bytes(pending).first(*r));
            sent += *r;
            pending.erase(pending.begin(), pending.begin() + static_cast<long>(*r));
          }
          while (true) {
            auto r = a.recv_from(ac, buf, 0, sim.now());
            if (!r || r->copied == 0) break;
            recv_hash.update(Bytes(buf).first(r->copied));
            received += r->copied;
          }
          return received == bytes;
        },
        600s);
    return ok && sent_hash.hex() == recv_hash.hex();
  }

  BufferPool pool;
  MemorySegment seg;
  MemoryPort& pa;
  MemoryPort& pb;
  CaptureDevice capture;
  RuleFaultDevice dev;
  Stack a, b;
  Simulation sim;
  SocketId l{}, ac{};
  std::optional<SocketId> bc;
};

struct TempFile {
  explicit TempFile(const std::string& n)
      : path(::testing::TempDir() + "shunt_fcsim_" + std::to_string(::getpid()) + "_" + n +
             ".pcapng") {}
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

PcapngFile read(Pair& p, const std::string& path) {
  p.capture.writer().flush();
  auto f = read_pcapng(path);
  EXPECT_TRUE(f);
  return f ? *f : PcapngFile{};
}

bool is_tcp(const PcapngPacket& p, uint8_t flags) {
  return p.data.size() >= 54 && p.data[12] == 0x08 && p.data[13] == 0x00 && p.data[23] == 6 &&
         (p.data[47] & 0x12) == flags;
}

TEST(FaultCaptureSim, DroppedSynAckIsTheOneCommentedFrame) {
  TempFile file("synack");
  Pair p("in drop nth=1 tcp synack", 1, file.path);
  ASSERT_TRUE(p.connect());
  const PcapngFile f = read(p, file.path);
  std::vector<size_t> commented, syns;
  for (size_t i = 0; i < f.packets.size(); ++i) {
    if (!f.packets[i].comments.empty()) commented.push_back(i);
    if (is_tcp(f.packets[i], 0x02) && f.packets[i].outbound()) syns.push_back(i);
  }
  ASSERT_EQ(commented.size(), 1u);
  const PcapngPacket& dropped = f.packets[commented[0]];
  EXPECT_TRUE(dropped.inbound());
  EXPECT_TRUE(is_tcp(dropped, 0x12)) << "not a SYN-ACK";
  EXPECT_EQ(dropped.comments,
            (std::vector<std::string>{
                "shunt fault rule 1 'in drop nth=1 tcp synack': dropped before the stack"}));
  // A's SYN, the dropped SYN-ACK, then A's second SYN a second later.
  ASSERT_EQ(syns.size(), 2u);
  EXPECT_LT(syns[0], commented[0]);
  EXPECT_GT(syns[1], commented[0]);
  EXPECT_GE(f.packets[syns[1]].ts - f.packets[syns[0]].ts, 1'000'000'000u);
}

TEST(FaultCaptureSim, EveryRandomDropIsACommentOnOneFrame) {
  TempFile file("loss");
  Pair p("both drop 3%", 11, file.path);
  ASSERT_TRUE(p.connect());
  ASSERT_TRUE(p.transfer(1u << 20));
  const PcapngFile f = read(p, file.path);
  const FaultRuleCounters& c = p.dev.counters(0);
  size_t in_notes = 0, out_notes = 0;
  for (const PcapngPacket& pkt : f.packets) {
    if (pkt.comments.empty()) continue;
    ASSERT_EQ(pkt.comments.size(), 1u);
    if (pkt.inbound()) {
      EXPECT_EQ(pkt.comments[0], "shunt fault rule 1 'both drop 3%': dropped before the stack");
      ++in_notes;
    } else {
      EXPECT_EQ(pkt.comments[0], "shunt fault rule 1 'both drop 3%': dropped, not sent");
      ++out_notes;
    }
  }
  EXPECT_GT(in_notes, 10u);
  EXPECT_GT(out_notes, 0u);
  EXPECT_EQ(in_notes + out_notes, c.injected);
  // The rule saw every frame; the capture holds each of them once.
  EXPECT_EQ(f.packets.size(), c.matched);
  EXPECT_EQ(p.capture.captured_unsent(), out_notes);
}

}  // namespace
}  // namespace shunt::testing
