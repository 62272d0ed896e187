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

#include "tests/sim/fault_pair.h"
#include "tests/support/pcapng_reader.h"

namespace shunt::testing {
namespace {

std::unique_ptr<PcapWriter> writer(const std::string& path) {
  auto w = PcapWriter::open(path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
  EXPECT_TRUE(w.ok());
  return w.ok() ? std::move(*w) : nullptr;
}

// A behind RuleFaultDevice(CaptureDevice(port)), writing to `path`.
struct Pair : FaultPair {
  Pair(std::string_view spec, uint64_t seed, const std::string& path)
      : FaultPair(spec, seed, writer(path)) {}
  // B sends `bytes` to A, checked by hash.
  bool transfer(size_t bytes) {
    return FaultPair::transfer(
               bytes, {.a_sends = false, .pattern = 5, .chunk = 16 * 1024, .buffer = 64 * 1024})
        .has_value();
  }
};

struct TempFile {
  explicit TempFile(const std::string& n)
      : path(::testing::TempDir() + "shunt_fcsim_" + std::to_string(::getpid()) + "_" + n +
             ".pcapng") {}
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

PcapngFile read(Pair& p, const std::string& path) {
  p.capture->writer().flush();
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
  EXPECT_EQ(p.capture->captured_unsent(), out_notes);
}

}  // namespace
}  // namespace shunt::testing
