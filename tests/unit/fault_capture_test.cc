// Fault comments in captures: frames go through
// RuleFaultDevice(CaptureDevice(MemoryPort)) as in the runtime, the pcapng
// file is parsed back, and every fault a rule injected is a comment on
// exactly the frame it hit: inbound frames as they came off the wire (before
// the faults), outbound ones as they went on it (after), outbound frames a
// rule ended recorded with "not sent". Also: a classic pcap gets no comments
// and no unsent frames, the filter applies to all of it, and no note leaks
// to another frame of a later batch. tshark reads the comments back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "driver/capture_device.h"
#include "driver/memory_segment.h"
#include "driver/rule_fault_device.h"
#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/wire/tcp.h"
#include "tests/support/pcapng_reader.h"
#include "tests/support/shell.h"

namespace shunt {
namespace {

using testing::PcapngFile;
using testing::read_pcapng;

const MacAddress kMacStack({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kMacPeer({0x02, 0, 0, 0, 0, 0x0b});
const Ipv4Address kLocal(198, 18, 0, 2);
const Ipv4Address kRemote(198, 18, 0, 1);
constexpr uint8_t kSyn = wire::tcp_flag::kSyn;
constexpr uint8_t kAck = wire::tcp_flag::kAck;

Instant at(Duration d) {
  return Instant{} + d;
}

// Ethernet/IPv4/TCP (checksums zero: nothing here checks them) with `id` in
// the first 4 payload bytes.
PacketBuffer tcp_frame(BufferPool& pool, bool outbound, uint16_t port, uint8_t flags, uint32_t id,
                       size_t payload = 100) {
  const size_t len = 14 + 20 + 20 + payload;
  PacketBuffer f = pool.allocate(len);
  auto b = f.append(len);
  std::fill(b.begin(), b.end(), 0);
  (outbound ? kMacPeer : kMacStack).write(b.data());
  (outbound ? kMacStack : kMacPeer).write(b.data() + 6);
  store_be16(b.data() + 12, 0x0800);
  uint8_t* ip = b.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + 20 + payload));
  ip[8] = 64;
  ip[9] = 6;
  store_be32(ip + 12, (outbound ? kLocal : kRemote).value());
  store_be32(ip + 16, (outbound ? kRemote : kLocal).value());
  uint8_t* tcp = ip + 20;
  store_be16(tcp, outbound ? 40000 : port);
  store_be16(tcp + 2, outbound ? port : 40000);
  tcp[12] = 0x50;
  tcp[13] = flags;
  store_be32(tcp + 20, id);
  return f;
}

uint32_t id_of(const std::vector<uint8_t>& f) {
  return f.size() >= 58 ? load_be32(f.data() + 54) : 0;
}
uint32_t id_of(const PacketBuffer& f) {
  return load_be32(f.data() + 54);
}

struct TempFile {
  explicit TempFile(const std::string& ext)
      : path(::testing::TempDir() + "shunt_faultcap_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++) + ext) {}
  ~TempFile() { std::remove(path.c_str()); }
  static inline int counter = 0;
  std::string path;
};

// The runtime's composition: faults outside, capture inside, the wire (port
// a of a cable; the test plays the peer on port b).
struct Rig {
  explicit Rig(std::string_view spec, std::string_view ext = ".pcapng",
               std::string_view filter = "", uint64_t seed = 7)
      : file(std::string(ext)) {
    auto w = PcapWriter::open(file.path, PcapWriter::kDefaultSnaplen,
                              capture_format_for_path(file.path));
    EXPECT_TRUE(w.ok());
    capture = std::make_unique<CaptureDevice>(link.a, std::move(*w), 0);
    auto f = parse_capture_filter(filter);
    EXPECT_TRUE(f.ok());
    capture->set_filter(std::move(*f));
    auto rules = parse_fault_rules(spec);
    EXPECT_TRUE(rules.ok()) << (rules.ok() ? "" : rules.error());
    faults =
        std::make_unique<RuleFaultDevice>(*capture, rules.ok() ? *rules : FaultRuleSet{}, seed);
    faults->set_observer(capture.get());
  }
  void send(uint32_t id, Instant now, uint8_t flags = kAck, uint16_t port = 80) {
    PacketBuffer one[1] = {tcp_frame(pool, true, port, flags, id)};
    faults->transmit(one, now);
  }
  void peer_send(uint32_t id, Instant now, uint8_t flags = kAck, uint16_t port = 80) {
    PacketBuffer one[1] = {tcp_frame(pool, false, port, flags, id)};
    link.b.transmit(one, now);
  }
  std::vector<PacketBuffer> stack_receives(Instant now) {
    std::vector<PacketBuffer> got;
    faults->receive(got, 1000, now);
    return got;
  }
  std::vector<uint32_t> peer_receives(Instant now) {
    faults->transmit({}, now);
    std::vector<PacketBuffer> got;
    link.b.receive(got, 1000, now);
    std::vector<uint32_t> ids;
    for (auto& f : got) ids.push_back(id_of(f));
    return ids;
  }
  PcapngFile read() {
    capture->writer().flush();
    auto f = read_pcapng(file.path);
    EXPECT_TRUE(f) << "not a pcapng file";
    return f ? *f : PcapngFile{};
  }

  BufferPool pool;
  MemoryPair link;
  TempFile file;
  std::unique_ptr<CaptureDevice> capture;
  std::unique_ptr<RuleFaultDevice> faults;
};

// "id comment|comment" for each captured packet, in file order, with 'o'
// or 'i' for the direction.
std::vector<std::string> describe(const PcapngFile& f) {
  std::vector<std::string> out;
  for (const auto& p : f.packets) {
    std::string s = (p.outbound() ? "o" : p.inbound() ? "i" : "?") + std::to_string(id_of(p.data));
    for (const auto& c : p.comments) s += " | " + c;
    out.push_back(s);
  }
  return out;
}

using Lines = std::vector<std::string>;

TEST(FaultCapture, InboundDropIsNotedOnTheFrameThatArrived) {
  Rig rig("in drop nth=1 tcp synack");
  rig.send(1, at(0ms), kSyn);
  rig.peer_send(2, at(1ms), kSyn | kAck);
  EXPECT_TRUE(rig.stack_receives(at(1ms)).empty());
  rig.send(3, at(2ms), kSyn);
  rig.peer_send(4, at(3ms), kSyn | kAck);
  EXPECT_EQ(rig.stack_receives(at(3ms)).size(), 1u);
  EXPECT_EQ(
      describe(rig.read()),
      (Lines{"o1", "i2 | shunt fault rule 1 'in drop nth=1 tcp synack': dropped before the stack",
             "o3", "i4"}));
  EXPECT_EQ(rig.capture->captured_rx(), 2u);
  EXPECT_EQ(rig.capture->captured_tx(), 2u);
}

TEST(FaultCapture, OutboundDropIsRecordedAsNotSent) {
  Rig rig("out drop nth=2");
  for (uint32_t i = 1; i <= 3; ++i) rig.send(i, at(1ms * i));
  EXPECT_EQ(rig.peer_receives(at(5ms)), (std::vector<uint32_t>{1, 3}));
  const PcapngFile f = rig.read();
  EXPECT_EQ(describe(f),
            (Lines{"o1", "o2 | shunt fault rule 1 'out drop nth=2': dropped, not sent", "o3"}));
  EXPECT_EQ(f.packets[1].ts, 2'000'000u);  // the time of the decision
  EXPECT_EQ(rig.capture->captured_unsent(), 1u);
  EXPECT_EQ(rig.capture->captured_tx(), 2u);
}

TEST(FaultCapture, MtuDropsBothWays) {
  // Frames of 154 bytes carry a 140-byte IP packet.
  Rig rig("both mtu=139");
  rig.send(1, at(1ms));
  rig.peer_send(2, at(2ms));
  EXPECT_TRUE(rig.peer_receives(at(2ms)).empty());
  EXPECT_TRUE(rig.stack_receives(at(2ms)).empty());
  EXPECT_EQ(describe(rig.read()),
            (Lines{"o1 | shunt fault rule 1 'both mtu=139': dropped (over mtu 139), not sent",
                   "i2 | shunt fault rule 1 'both mtu=139': dropped (over mtu 139) before the "
                   "stack"}));
  EXPECT_EQ(rig.faults->counters(0).injected, 2u);
}

TEST(FaultCapture, DuplicateDelayTruncate) {
  Rig rig("out duplicate nth=1; out delay=20ms nth=3; out truncate=60 nth=4");
  rig.send(1, at(0ms));  // duplicated: rule 2 sees 1 and its copy
  rig.send(2, at(1ms));  // rule 2's third frame: delayed to 21 ms
  rig.send(3, at(2ms));  // rule 3's third frame (1, copy, 3): not its fourth
  rig.send(4, at(3ms));  // rule 3's fourth: truncated
  EXPECT_EQ(rig.peer_receives(at(21ms)), (std::vector<uint32_t>{1, 1, 3, 4, 2}));
  const PcapngFile f = rig.read();
  EXPECT_EQ(describe(f),
            (Lines{"o1 | shunt fault rule 1 'out duplicate nth=1': duplicated",
                   "o1 | shunt fault rule 1 'out duplicate nth=1': the duplicate", "o3",
                   "o4 | shunt fault rule 3 'out truncate=60 nth=4': truncated to 60 bytes",
                   "o2 | shunt fault rule 2 'out delay=20ms nth=3': delayed 20 ms"}));
  EXPECT_EQ(f.packets[3].data.size(), 60u);
  EXPECT_EQ(f.packets[4].ts, 21'000'000u);  // captured when it left
}

TEST(FaultCapture, InboundCorruptionKeepsTheWireBytesAndNamesTheBit) {
  Rig rig("in corrupt");
  rig.peer_send(1, at(0ms));
  auto got = rig.stack_receives(at(0ms));
  ASSERT_EQ(got.size(), 1u);
  const PcapngFile f = rig.read();
  ASSERT_EQ(f.packets.size(), 1u);
  const auto& p = f.packets[0];
  ASSERT_EQ(p.comments.size(), 1u);
  // The capture holds the frame as it arrived; the stack got it with one
  // bit flipped, the one the comment names.
  BufferPool pool;
  PacketBuffer original = tcp_frame(pool, false, 80, kAck, 1);
  ASSERT_EQ(p.data, std::vector<uint8_t>(original.data(), original.data() + original.size()));
  size_t bit = 0;
  int flipped = 0;
  for (size_t i = 0; i < p.data.size(); ++i) {
    const uint8_t x = p.data[i] ^ got[0].data()[i];
    if (x != 0) bit = i * 8 + static_cast<size_t>(std::countr_zero(x));
    flipped += std::popcount(x);
  }
  EXPECT_EQ(flipped, 1);
  EXPECT_GE(bit, 14u * 8);
  EXPECT_EQ(p.comments[0], "shunt fault rule 1 'in corrupt': corrupted bit " + std::to_string(bit));
}

TEST(FaultCapture, InboundDuplicateAndItsCopyDropped) {
  Rig rig("in duplicate nth=1; in drop nth=2");
  rig.peer_send(1, at(0ms));
  EXPECT_EQ(rig.stack_receives(at(0ms)).size(), 1u);  // the original; the copy was dropped
  EXPECT_EQ(describe(rig.read()),
            (Lines{"i1 | shunt fault rule 1 'in duplicate nth=1': duplicated | shunt fault rule 2 "
                   "'in drop nth=2': dropped before the stack (the duplicate)"}));
}

TEST(FaultCapture, BlackholeBothWays) {
  Rig rig("both blackhole=1s");
  rig.send(1, at(0ms));
  rig.peer_send(2, at(1ms));
  EXPECT_TRUE(rig.stack_receives(at(1ms)).empty());
  rig.send(3, at(2s));
  EXPECT_EQ(rig.peer_receives(at(2s)), (std::vector<uint32_t>{3}));
  EXPECT_EQ(
      describe(rig.read()),
      (Lines{"o1 | shunt fault rule 1 'both blackhole=1s': blackholed, not sent",
             "i2 | shunt fault rule 1 'both blackhole=1s': blackholed before the stack", "o3"}));
}

TEST(FaultCapture, RateAndReorderHolds) {
  // 1 Mbit/s: 154-byte frames, the 15000-byte bucket lets 97 go at once
  // (14938 bytes); the 98th waits for 154 - 62 = 92 bytes: 736 us.
  Rig rig("out rate=1mbit");
  for (uint32_t i = 1; i <= 98; ++i) rig.send(i, at(0ms));
  EXPECT_EQ(rig.peer_receives(at(0ms)).size(), 97u);
  EXPECT_EQ(rig.peer_receives(at(10ms)), (std::vector<uint32_t>{98}));
  const PcapngFile f = rig.read();
  ASSERT_EQ(f.packets.size(), 98u);
  EXPECT_TRUE(f.packets[96].comments.empty());
  EXPECT_EQ(f.packets[97].comments,
            (std::vector<std::string>{
                "shunt fault rule 1 'out rate=1mbit': held 736 us by the rate limit"}));

  Rig ro("out reorder=1 nth=1");
  ro.send(1, at(0ms));
  ro.send(2, at(1ms));
  EXPECT_EQ(ro.peer_receives(at(1ms)), (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(describe(ro.read()),
            (Lines{"o2",
                   "o1 | shunt fault rule 1 'out reorder=1 nth=1': held back until 1 later "
                   "frame passes (reorder)"}));
}

TEST(FaultCapture, LaterFaultsOnAHeldInboundFrameAreInTheLogOnly) {
  // The frame was written when it arrived; rule 2 drops it 10 ms later.
  Rig rig("in delay=10ms; in drop");
  rig.peer_send(1, at(0ms));
  EXPECT_TRUE(rig.stack_receives(at(0ms)).empty());
  rig.peer_send(2, at(5ms));  // index 0 of another batch: must not get rule 2's note
  EXPECT_TRUE(rig.stack_receives(at(10ms)).empty());
  EXPECT_EQ(describe(rig.read()),
            (Lines{"i1 | shunt fault rule 1 'in delay=10ms': delayed 10 ms",
                   "i2 | shunt fault rule 1 'in delay=10ms': delayed 10 ms"}));
  // Frame 1 released and dropped at 10 ms, before frame 2 was received.
  ASSERT_EQ(rig.faults->log().size(), 3u);
  EXPECT_EQ(rig.faults->log()[1].rule, 2u);
  EXPECT_EQ(rig.faults->log()[1].action, FaultActionKind::kDrop);
}

TEST(FaultCapture, NotesNeverReachAFrameOfAnotherBatch) {
  Rig rig("in drop nth=1");
  rig.peer_send(1, at(0ms));
  rig.peer_send(2, at(0ms));
  EXPECT_EQ(rig.stack_receives(at(0ms)).size(), 1u);
  for (uint32_t i = 3; i <= 5; ++i) {
    rig.peer_send(i, at(1ms * i));
    EXPECT_EQ(rig.stack_receives(at(1ms * i)).size(), 1u);
  }
  EXPECT_EQ(describe(rig.read()),
            (Lines{"i1 | shunt fault rule 1 'in drop nth=1': dropped before the stack", "i2", "i3",
                   "i4", "i5"}));
}

TEST(FaultCapture, ClassicPcapHasNoCommentsAndOnlyTheWire) {
  Rig rig("out drop nth=1; in drop nth=1", ".pcap");
  rig.send(1, at(0ms));
  rig.send(2, at(0ms));
  rig.peer_send(3, at(0ms));
  rig.stack_receives(at(0ms));
  rig.capture->writer().flush();
  // 24-byte header and records of 16 + 154 bytes: 2 and 3 (1 never left).
  std::FILE* fp = std::fopen(rig.file.path.c_str(), "rb");
  ASSERT_NE(fp, nullptr);
  std::fseek(fp, 0, SEEK_END);
  EXPECT_EQ(std::ftell(fp), 24 + 2 * (16 + 154));
  std::fclose(fp);
  EXPECT_EQ(rig.capture->captured_unsent(), 0u);
}

TEST(FaultCapture, FilterAppliesToUnsentAndKeptBackFrames) {
  Rig rig("both drop nth=1", ".pcapng", "port 80");
  rig.send(1, at(0ms), kAck, 81);  // filtered out (and dropped)
  rig.send(2, at(1ms), kAck, 80);
  rig.peer_send(3, at(2ms), kAck, 81);
  rig.peer_send(4, at(2ms), kAck, 80);
  EXPECT_EQ(rig.stack_receives(at(2ms)).size(), 2u);
  EXPECT_EQ(describe(rig.read()), (Lines{"o2", "i4"}));
  EXPECT_EQ(rig.capture->filtered(), 2u);
}

TEST(FaultCapture, NoRulesNoNotesAndRulesAddedLater) {
  Rig rig("");
  rig.send(1, at(0ms));
  rig.peer_send(2, at(0ms));
  EXPECT_EQ(rig.stack_receives(at(0ms)).size(), 1u);
  auto r = parse_fault_rule("out drop");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(rig.faults->add_rule(*r), 1u);
  rig.send(3, at(1ms));
  EXPECT_EQ(rig.peer_receives(at(1ms)), (std::vector<uint32_t>{1}));
  EXPECT_EQ(describe(rig.read()),
            (Lines{"o1", "i2", "o3 | shunt fault rule 1 'out drop': dropped, not sent"}));
}

// --- tshark ----------------------------------------------------------------

TEST(FaultCapture, TsharkShowsTheComments) {
  ASSERT_TRUE(shunt::testing::have_tool("tshark"));
  int status = 0;
  Rig rig("in drop nth=1 tcp synack; out delay=20ms nth=2");
  rig.send(1, at(0ms), kSyn);
  rig.peer_send(2, at(1ms), kSyn | kAck);
  rig.stack_receives(at(1ms));
  rig.send(3, at(2ms), kSyn);
  rig.peer_receives(at(30ms));
  rig.capture->writer().flush();
  const std::string out = shunt::testing::run_command("tshark -r " + rig.file.path +
                                  " -Y frame.comment -T fields -e tcp.flags.str -e frame.comment "
                                  "2>/dev/null",
                              &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out,
            "·······A··S·\tshunt fault rule 1 'in drop nth=1 tcp synack': dropped before the "
            "stack\n"
            "··········S·\tshunt fault rule 2 'out delay=20ms nth=2': delayed 20 ms\n");
}

}  // namespace
}  // namespace shunt
