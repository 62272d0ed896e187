// Fault rules: the parser (every field, and bad rules with the rule, the
// column and what was expected), frame summaries, and RuleFaultDevice's
// decisions on hand-built frames (selection, actions, determinism).
#include "driver/fault_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "driver/memory_segment.h"
#include "driver/rule_fault_device.h"
#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/wire/tcp.h"

namespace shunt {
namespace {

FaultRule rule(std::string_view text) {
  auto r = parse_fault_rule(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : FaultRule{};
}

std::string error_of(std::string_view text) {
  auto r = parse_fault_rules(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.error();
}

// ---- parser -----------------------------------------------------------------

TEST(FaultRulesParse, IssueExamples) {
  FaultRule a = rule("in drop nth=1 tcp synack");
  EXPECT_EQ(a.direction, FaultDirection::kIn);
  EXPECT_EQ(a.action.kind, FaultActionKind::kDrop);
  EXPECT_EQ(a.select.nth, 1u);
  EXPECT_EQ(a.match.proto, FaultProto::kTcp);
  EXPECT_EQ(a.match.tcp_flags, kFaultSynAck);

  FaultRule b = rule("both drop 2%");
  EXPECT_EQ(b.direction, FaultDirection::kBoth);
  ASSERT_TRUE(b.select.probability);
  EXPECT_DOUBLE_EQ(*b.select.probability, 0.02);

  FaultRule c = rule("out reorder=1 every=20");
  EXPECT_EQ(c.direction, FaultDirection::kOut);
  EXPECT_EQ(c.action.kind, FaultActionKind::kReorder);
  EXPECT_EQ(c.action.count, 1u);
  EXPECT_EQ(c.select.every, 20u);

  FaultRule d = rule("both blackhole=3s after=5s");
  EXPECT_EQ(d.action.kind, FaultActionKind::kBlackhole);
  EXPECT_EQ(d.action.time, 3s);
  EXPECT_EQ(d.select.after, 5s);

  FaultRule e = rule("out rate=1mbit");
  EXPECT_EQ(e.action.kind, FaultActionKind::kRate);
  EXPECT_EQ(e.action.rate_bps, 1'000'000u);
}

TEST(FaultRulesParse, EveryField) {
  FaultRule r = rule(
      "  in delay=50ms~10ms tcp rport=80 lport=5000-5010 raddr=198.18.0.1 "
      "laddr=198.18.0.0/24 payload len>=10 len<=1400 first=7 for=3s 12.5%  ");
  EXPECT_EQ(r.text,
            "in delay=50ms~10ms tcp rport=80 lport=5000-5010 raddr=198.18.0.1 "
            "laddr=198.18.0.0/24 payload len>=10 len<=1400 first=7 for=3s 12.5%");
  EXPECT_EQ(r.action.kind, FaultActionKind::kDelay);
  EXPECT_EQ(r.action.time, 50ms);
  EXPECT_EQ(r.action.jitter, 10ms);
  EXPECT_EQ(r.match.rport, (PortRange{80, 80}));
  EXPECT_EQ(r.match.lport, (PortRange{5000, 5010}));
  ASSERT_TRUE(r.match.raddr);
  EXPECT_EQ(r.match.raddr->to_string(), "198.18.0.1/32");
  ASSERT_TRUE(r.match.laddr);
  EXPECT_EQ(r.match.laddr->to_string(), "198.18.0.0/24");
  EXPECT_TRUE(r.match.payload);
  EXPECT_EQ(r.match.len_min, 10u);
  EXPECT_EQ(r.match.len_max, 1400u);
  EXPECT_EQ(r.select.first, 7u);
  EXPECT_EQ(r.select.duration, 3s);
  EXPECT_DOUBLE_EQ(*r.select.probability, 0.125);

  EXPECT_EQ(rule("out syn drop").match.tcp_flags, kFaultSyn);
  EXPECT_EQ(rule("out fin rst drop").match.tcp_flags, kFaultFin | kFaultRst);
  EXPECT_EQ(rule("both udp duplicate").action.kind, FaultActionKind::kDuplicate);
  EXPECT_EQ(rule("both icmp corrupt").match.proto, FaultProto::kIcmp);
  EXPECT_EQ(rule("both arp drop").match.proto, FaultProto::kArp);
  FaultRule t = rule("in truncate=60");
  EXPECT_EQ(t.action.kind, FaultActionKind::kTruncate);
  EXPECT_EQ(t.action.length, 60u);
  FaultRule ro = rule("out reorder=20ms 1%");
  EXPECT_EQ(ro.action.count, 0u);
  EXPECT_EQ(ro.action.time, 20ms);
  EXPECT_EQ(rule("out delay=1.5s").action.time, 1500ms);
  EXPECT_EQ(rule("out delay=250us").action.time, 250us);
  EXPECT_EQ(rule("out rate=2.5Gbit").action.rate_bps, 2'500'000'000u);
  EXPECT_EQ(rule("out rate=500kbit").action.rate_bps, 500'000u);

  FaultRule ge = rule("both drop ge=1%,30%,0.1,0.99");
  ASSERT_TRUE(ge.select.ge);
  EXPECT_DOUBLE_EQ(ge.select.ge->p, 0.01);
  EXPECT_DOUBLE_EQ(ge.select.ge->r, 0.30);
  EXPECT_DOUBLE_EQ(ge.select.ge->h, 0.1);
  EXPECT_DOUBLE_EQ(ge.select.ge->k, 0.99);
  FaultRule ge2 = rule("both drop ge=0.05,0.5");
  EXPECT_DOUBLE_EQ(ge2.select.ge->h, 0.0);  // Gilbert: every packet in bad is hit
  EXPECT_DOUBLE_EQ(ge2.select.ge->k, 1.0);
}

TEST(FaultRulesParse, DelayFifo) {
  FaultRule r = rule("out delay=25ms~5ms,fifo");
  EXPECT_EQ(r.action.kind, FaultActionKind::kDelay);
  EXPECT_EQ(r.action.time, 25ms);
  EXPECT_EQ(r.action.jitter, 5ms);
  EXPECT_TRUE(r.action.keep_order);
  EXPECT_TRUE(rule("in delay=5ms,fifo").action.keep_order);
  EXPECT_FALSE(rule("out delay=25ms~5ms").action.keep_order);
  EXPECT_EQ(error_of("out delay=5ms~1ms,lifo"),
            "rule 1 'out delay=5ms~1ms,lifo', column 19: expected 'fifo' after ',' (frames leave "
            "in the order they came), got 'lifo'");
  EXPECT_EQ(error_of("out delay=x,fifo"),
            "rule 1 'out delay=x,fifo', column 11: expected a delay such as 50ms, optionally with "
            "jitter: 50ms~10ms, got 'x'");
}

TEST(FaultRulesParse, MtuCorruptFrameReorderBoundAndRateOptions) {
  FaultRule m = rule("out mtu=1400 tcp");
  EXPECT_EQ(m.action.kind, FaultActionKind::kMtu);
  EXPECT_EQ(m.action.mtu, 1400u);
  EXPECT_EQ(rule("both mtu=68").action.mtu, 68u);
  EXPECT_EQ(rule("both mtu=65535").action.mtu, 65535u);

  EXPECT_FALSE(rule("out corrupt").action.whole_frame);
  FaultRule c = rule("out corrupt=frame 1%");
  EXPECT_EQ(c.action.kind, FaultActionKind::kCorrupt);
  EXPECT_TRUE(c.action.whole_frame);

  // reorder=K is reorder=K,1s; reorder=K,DUR sets the bound.
  FaultRule k = rule("out reorder=3");
  EXPECT_EQ(k.action.count, 3u);
  EXPECT_EQ(k.action.time, FaultAction::kReorderMaxHold);
  EXPECT_EQ(k.action.time, 1s);
  FaultRule kd = rule("out reorder=2,3ms 5%");
  EXPECT_EQ(kd.action.kind, FaultActionKind::kReorder);
  EXPECT_EQ(kd.action.count, 2u);
  EXPECT_EQ(kd.action.time, 3ms);

  FaultRule r = rule("out rate=1mbit");
  EXPECT_EQ(r.action.burst_bytes, 15'000u);
  EXPECT_EQ(r.action.queue_frames, 1000u);
  FaultRule rb = rule("out rate=2mbit,burst=1500,queue=2");
  EXPECT_EQ(rb.action.rate_bps, 2'000'000u);
  EXPECT_EQ(rb.action.burst_bytes, 1500u);
  EXPECT_EQ(rb.action.queue_frames, 2u);
  FaultRule rq = rule("in rate=500kbit,queue=0");  // a policer
  EXPECT_EQ(rq.action.burst_bytes, 15'000u);
  EXPECT_EQ(rq.action.queue_frames, 0u);
  EXPECT_EQ(rule("in rate=1mbit,queue=5,burst=3000").action.burst_bytes, 3000u);

  EXPECT_EQ(error_of("out mtu=67"),
            "rule 1 'out mtu=67', column 9: expected an MTU in bytes from 68 to 65535 after "
            "'mtu=', e.g. 1400, got '67'");
  EXPECT_EQ(error_of("out mtu=big"),
            "rule 1 'out mtu=big', column 9: expected an MTU in bytes from 68 to 65535 after "
            "'mtu=', e.g. 1400, got 'big'");
  EXPECT_EQ(error_of("out corrupt=eth"),
            "rule 1 'out corrupt=eth', column 13: expected 'frame' after 'corrupt=' (the flipped "
            "bit may also fall in the Ethernet header), got 'eth'");
  EXPECT_EQ(error_of("out reorder=2,soon"),
            "rule 1 'out reorder=2,soon', column 15: expected a time bound after ',' such as 5ms "
            "(reorder=K,DUR), got 'soon'");
  EXPECT_EQ(error_of("out reorder=2,0ms"),
            "rule 1 'out reorder=2,0ms', column 15: expected a time bound after ',' such as 5ms "
            "(reorder=K,DUR), got '0ms'");
  EXPECT_EQ(error_of("out reorder=5ms,5ms"),
            "rule 1 'out reorder=5ms,5ms', column 13: expected a count of packets before ',' "
            "(reorder=K,DUR: K packets or DUR), got '5ms'");
  EXPECT_EQ(error_of("out rate=1mbit,burst=0"),
            "rule 1 'out rate=1mbit,burst=0', column 22: expected a bucket size in bytes from 1 "
            "to 1000000000 after 'burst=', got '0'");
  EXPECT_EQ(error_of("out rate=1mbit,queue=-1"),
            "rule 1 'out rate=1mbit,queue=-1', column 22: expected a queue length in frames from "
            "0 to 1000000 after 'queue=', got '-1'");
  EXPECT_EQ(error_of("out rate=1mbit,queue=1,queue=2"),
            "rule 1 'out rate=1mbit,queue=1,queue=2', column 24: expected burst=BYTES or "
            "queue=FRAMES after ',' (each at most once), got 'queue=2'");
  EXPECT_EQ(error_of("out rate=1mbit,limit=5"),
            "rule 1 'out rate=1mbit,limit=5', column 16: expected burst=BYTES or queue=FRAMES "
            "after ',' (each at most once), got 'limit=5'");
  EXPECT_EQ(error_of("out rate=1mbit,"),
            "rule 1 'out rate=1mbit,', column 16: expected burst=BYTES or queue=FRAMES after ',' "
            "(each at most once) at the end");
  EXPECT_EQ(error_of("out rate=fast,burst=1"),
            "rule 1 'out rate=fast,burst=1', column 10: expected a rate such as 1mbit, 500kbit or "
            "2gbit (bits per second), got 'fast'");
  EXPECT_NE(
      error_of("out corrupt=frame drop").find("one action per rule ('corrupt' already given)"),
      std::string::npos);
}

TEST(FaultRulesParse, RuleSetWithSeed) {
  auto set = parse_fault_rules(" seed=42 ; both drop 2%;; in drop nth=1 tcp synack;");
  ASSERT_TRUE(set.ok()) << set.error();
  EXPECT_EQ(set->seed, 42u);
  ASSERT_EQ(set->rules.size(), 2u);
  EXPECT_EQ(set->rules[0].text, "both drop 2%");
  EXPECT_EQ(set->rules[1].text, "in drop nth=1 tcp synack");
  auto empty = parse_fault_rules("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->rules.empty());
  EXPECT_FALSE(empty->seed);
}

TEST(FaultRulesParse, ErrorsNameRuleColumnAndExpectation) {
  // The rule (numbered among non-empty segments), its text, the 1-based
  // column of the offending word, what was expected and what was found.
  EXPECT_EQ(
      error_of("both drop 2%; in drop nth=x"),
      "rule 2 'in drop nth=x', column 13: expected a whole number >= 1 after 'nth=', got 'x'");
  EXPECT_EQ(
      error_of("sideways drop"),
      "rule 1 'sideways drop', column 1: expected a direction (in, out or both), got 'sideways'");
  EXPECT_EQ(error_of("in tcp"),
            "rule 1 'in tcp', column 7: expected an action (drop, duplicate, corrupt, reorder=K, "
            "delay=D, truncate=N, rate=R, blackhole=D, mtu=N) at the end");
  EXPECT_EQ(error_of("out drop 200%"),
            "rule 1 'out drop 200%', column 10: expected a probability from 0% to 100%, e.g. 2% or "
            "0.5%, got '200%'");
  EXPECT_EQ(error_of("out delay=50"),
            "rule 1 'out delay=50', column 11: expected a delay such as 50ms, optionally with "
            "jitter: 50ms~10ms, got '50'");
  EXPECT_EQ(
      error_of("out delay=5ms~x"),
      "rule 1 'out delay=5ms~x', column 15: expected a jitter after '~' such as 10ms, got 'x'");
  EXPECT_EQ(
      error_of("out rate=1mb"),
      "rule 1 'out rate=1mb', column 10: expected a rate such as 1mbit, 500kbit or 2gbit (bits "
      "per second), got '1mb'");
  EXPECT_EQ(error_of("seed=abc"),
            "rule 1 'seed=abc', column 6: expected a decimal seed after 'seed=', got 'abc'");

  auto has = [](std::string_view spec, std::string_view want) {
    std::string e = error_of(spec);
    EXPECT_NE(e.find(want), std::string::npos) << spec << " -> " << e;
  };
  has("in drop corrupt", "column 9: expected one action per rule ('drop' already given)");
  has("in drop udp syn",
      "column 13: expected no TCP flags in a rule for another protocol, got 'syn'");
  has("in drop syn udp", "column 13: expected tcp (the rule has TCP flags), got 'udp'");
  has("in drop icmp rport=80", "column 14: expected no ports in an icmp or arp rule");
  has("in drop rport=70000", "column 15: expected a port or a range LO-HI");
  has("in drop rport=9-3", "got '9-3'");
  has("in drop raddr=1.2.3", "column 15: expected an IPv4 address");
  has("in drop len>=9 len<=3", "expected len>= no larger than len<=");
  has("in drop ge=0.1", "column 12: expected ge=p,r or ge=p,r,h,k");
  has("in drop ge=0.1,0.2,0.3", "expected ge=p,r or ge=p,r,h,k");
  has("in drop ge=2,0.2", "expected ge=p,r or ge=p,r,h,k");
  has("in drop every=0", "expected a whole number >= 1 after 'every='");
  has("in drop nth=1 nth=2", "column 15: expected one 'nth=' per rule");
  has("in drop 1% 2%", "expected one probability per rule");
  has("in drop for=0s", "expected a duration > 0 after 'for='");
  has("in drop after=soon", "column 15: expected a duration after 'after=' such as 50ms");
  has("in reorder=0", "expected a count of packets (reorder=1) or a hold time (reorder=20ms)");
  has("in truncate=big", "expected a frame length in bytes");
  has("both truncate=0", "expected truncate=14 or more");
  has("in truncate=13", "column 13: expected truncate=14 or more");
  has("in blackhole=0s", "expected a duration such as 3s after 'blackhole='");
  has("in drop frobnicate", "column 9: expected an action");
  has("in drop color=red", "column 9: expected a known key");
  has("in drop seed=1", "no seed= inside a rule");
}

// ---- frames -----------------------------------------------------------------

const MacAddress kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kMacB({0x02, 0, 0, 0, 0, 0x0b});
const Ipv4Address kLocal(198, 18, 0, 2);
const Ipv4Address kRemote(198, 18, 0, 1);

Instant at(Duration d) {
  return Instant{} + d;
}

// An Ethernet/IPv4/TCP frame (checksums left zero: the device does not
// check them) carrying `id` in its first 4 payload bytes (payload >= 4).
PacketBuffer tcp_frame(BufferPool& pool, Ipv4Address src, Ipv4Address dst, uint16_t sport,
                       uint16_t dport, uint8_t flags, size_t payload, uint32_t id) {
  const size_t len = 14 + 20 + 20 + payload;
  PacketBuffer f = pool.allocate(len);
  auto b = f.append(len);
  std::fill(b.begin(), b.end(), 0);
  kMacB.write(b.data());
  kMacA.write(b.data() + 6);
  store_be16(b.data() + 12, 0x0800);
  uint8_t* ip = b.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + 20 + payload));
  ip[8] = 64;
  ip[9] = 6;
  store_be32(ip + 12, src.value());
  store_be32(ip + 16, dst.value());
  uint8_t* tcp = ip + 20;
  store_be16(tcp, sport);
  store_be16(tcp + 2, dport);
  tcp[12] = 0x50;
  tcp[13] = flags;
  if (payload >= 4) store_be32(tcp + 20, id);
  return f;
}

uint32_t id_of(const PacketBuffer& f) {
  return load_be32(f.data() + 54);
}

TEST(FaultRulesSummary, TcpFrame) {
  BufferPool pool;
  PacketBuffer f = tcp_frame(pool, kRemote, kLocal, 80, 40000,
                             wire::tcp_flag::kSyn | wire::tcp_flag::kAck, 0, 0);
  PacketSummary s = summarize_frame({f.data(), f.size()});
  EXPECT_EQ(s.proto, FaultProto::kTcp);
  EXPECT_EQ(s.src, kRemote);
  EXPECT_EQ(s.dst_port, 40000);
  EXPECT_EQ(s.payload_len, 0u);
  EXPECT_EQ(s.to_string(), "TCP 198.18.0.1:80 > 198.18.0.2:40000 [S.] len 0");
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(summarize_frame(junk).to_string(), "frame len 5");
}

// A RuleFaultDevice on port a of a cable; the test plays the peer on port b.
struct Rig {
  Rig(std::string_view spec, uint64_t seed = 7) : dev(link.a, parse(spec), seed) {}
  static FaultRuleSet parse(std::string_view spec) {
    auto r = parse_fault_rules(spec);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    return r.ok() ? *r : FaultRuleSet{};
  }
  // The stack sends data segment `id` (local:40000 -> remote:80).
  void send(uint32_t id, Instant now, uint8_t flags = wire::tcp_flag::kAck, size_t payload = 100) {
    PacketBuffer one[1] = {tcp_frame(pool, kLocal, kRemote, 40000, 80, flags, payload, id)};
    dev.transmit(one, now);
  }
  // The peer sends `id` to the stack; returns the ids the stack receives now.
  void peer_send(uint32_t id, Instant now, uint8_t flags = wire::tcp_flag::kAck,
                 size_t payload = 100) {
    PacketBuffer one[1] = {tcp_frame(pool, kRemote, kLocal, 80, 40000, flags, payload, id)};
    link.b.transmit(one, now);
  }
  std::vector<uint32_t> stack_receives(Instant now) {
    std::vector<PacketBuffer> got;
    dev.receive(got, 1000, now);
    std::vector<uint32_t> ids;
    for (auto& f : got) ids.push_back(id_of(f));
    return ids;
  }
  std::vector<uint32_t> peer_receives(Instant now) {
    dev.transmit({}, now);
    std::vector<PacketBuffer> got;
    link.b.receive(got, 1000, now);
    std::vector<uint32_t> ids;
    for (auto& f : got) ids.push_back(id_of(f));
    return ids;
  }

  BufferPool pool;
  MemoryPair link;
  RuleFaultDevice dev;
};

TEST(FaultRulesDevice, NthDropsExactlyThatPacket) {
  Rig rig("out drop nth=3");
  for (uint32_t i = 1; i <= 6; ++i) rig.send(i, at(1ms * i));
  EXPECT_EQ(rig.peer_receives(at(10ms)), (std::vector<uint32_t>{1, 2, 4, 5, 6}));
  EXPECT_EQ(rig.dev.counters(0).matched, 6u);
  EXPECT_EQ(rig.dev.counters(0).injected, 1u);
  ASSERT_EQ(rig.dev.log().size(), 1u);
  EXPECT_EQ(rig.dev.log()[0].to_string(),
            "0.003000 rule 1 out drop TCP 198.18.0.2:40000 > 198.18.0.1:80 [.] len 100");
}

TEST(FaultRulesDevice, DirectionAndMatchLimitTheRule) {
  // Drops the first SYN-ACK the stack receives; nothing else.
  Rig rig("in drop nth=1 tcp synack");
  const uint8_t synack = wire::tcp_flag::kSyn | wire::tcp_flag::kAck;
  rig.send(1, at(0ms), wire::tcp_flag::kSyn, 4);
  rig.peer_send(2, at(1ms), synack, 4);
  rig.send(3, at(2ms), wire::tcp_flag::kSyn, 4);
  rig.peer_send(4, at(3ms), synack, 4);
  rig.peer_send(5, at(4ms), wire::tcp_flag::kAck, 4);
  EXPECT_EQ(rig.peer_receives(at(5ms)), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(rig.stack_receives(at(5ms)), (std::vector<uint32_t>{4, 5}));
  EXPECT_EQ(rig.dev.counters(0).matched, 2u);  // the two SYN-ACKs
  EXPECT_EQ(rig.dev.counters(0).injected, 1u);
}

TEST(FaultRulesDevice, PortAddressAndLengthMatch) {
  Rig rig(
      "out drop rport=81; out drop raddr=198.18.0.9; out drop len>=500; in drop lport=40000 "
      "len<=9");
  rig.send(1, at(0ms));                                 // rport 80, remote .1, len 100: passes
  rig.send(2, at(0ms), wire::tcp_flag::kAck, 600);      // len 600: rule 3
  rig.peer_send(3, at(0ms), wire::tcp_flag::kAck, 4);   // to lport 40000, len 4: rule 4
  rig.peer_send(4, at(0ms), wire::tcp_flag::kAck, 10);  // len 10: passes
  EXPECT_EQ(rig.peer_receives(at(1ms)), (std::vector<uint32_t>{1}));
  EXPECT_EQ(rig.stack_receives(at(1ms)), (std::vector<uint32_t>{4}));
  EXPECT_EQ(rig.dev.counters(0).injected, 0u);
  EXPECT_EQ(rig.dev.counters(1).injected, 0u);
  EXPECT_EQ(rig.dev.counters(2).injected, 1u);
  EXPECT_EQ(rig.dev.counters(3).injected, 1u);
}

TEST(FaultRulesDevice, EveryAndFirst) {
  Rig rig("out drop every=3; out duplicate first=2");
  for (uint32_t i = 1; i <= 7; ++i) rig.send(i, at(0ms));
  // 3 and 6 dropped by rule 1; rule 2 then sees 1,2,4,5,7 and copies the first two.
  EXPECT_EQ(rig.peer_receives(at(0ms)), (std::vector<uint32_t>{1, 1, 2, 2, 4, 5, 7}));
  EXPECT_EQ(rig.dev.counters(1).matched, 5u);
}

TEST(FaultRulesDevice, ReorderHoldsOneFrameBehindTheNext) {
  Rig rig("out reorder=1 every=3");
  for (uint32_t i = 1; i <= 7; ++i) rig.send(i, at(1ms * i));
  EXPECT_EQ(rig.peer_receives(at(10ms)), (std::vector<uint32_t>{1, 2, 4, 3, 5, 7, 6}));
  EXPECT_EQ(rig.dev.counters(0).injected, 2u);
}

TEST(FaultRulesDevice, ReorderCountIsBoundedInTime) {
  Rig rig("out reorder=5");
  rig.send(1, at(0ms));
  EXPECT_TRUE(rig.peer_receives(at(999ms)).empty());
  EXPECT_EQ(rig.dev.next_deadline(), at(FaultAction::kReorderMaxHold));
  EXPECT_EQ(rig.peer_receives(at(1s)), (std::vector<uint32_t>{1}));
}

TEST(FaultRulesDevice, DelayAndTimeWindow) {
  Rig rig("in delay=30ms after=10ms for=20ms");
  rig.peer_send(1, at(0ms));  // the first frame: t = 0 for the window
  EXPECT_EQ(rig.stack_receives(at(0ms)), (std::vector<uint32_t>{1}));
  rig.peer_send(2, at(10ms));  // inside [10, 30): delayed to 40 ms
  EXPECT_TRUE(rig.stack_receives(at(10ms)).empty());
  EXPECT_EQ(rig.dev.next_deadline(), at(40ms));
  rig.peer_send(3, at(30ms));  // the window has closed
  EXPECT_EQ(rig.stack_receives(at(30ms)), (std::vector<uint32_t>{3}));
  EXPECT_TRUE(rig.stack_receives(at(39ms)).empty());
  EXPECT_EQ(rig.stack_receives(at(40ms)), (std::vector<uint32_t>{2}));
}

TEST(FaultRulesDevice, JitterStaysWithinBoundsAndFifoKeepsOrder) {
  for (bool fifo : {false, true}) {
    Rig rig(fifo ? "out delay=10ms~5ms,fifo" : "out delay=10ms~5ms", 11);
    for (uint32_t i = 0; i < 1000; ++i) rig.send(i, at(0ms));
    std::vector<uint32_t> ids;
    Instant first = kNever;
    Instant last = Instant{};
    for (Instant t = at(0ms); t <= at(1s); t += 100us) {
      const std::vector<uint32_t> got = rig.peer_receives(t);
      if (got.empty()) continue;
      EXPECT_GE(t, at(10ms));
      EXPECT_LE(t, at(15ms));
      first = std::min(first, t);
      last = std::max(last, t);
      ids.insert(ids.end(), got.begin(), got.end());
    }
    ASSERT_EQ(ids.size(), 1000u);
    if (!fifo) {
      EXPECT_GT(last - first, 4ms);  // the draws spread over the range
    }
    // Without fifo frames overtake one another; with it they do not.
    EXPECT_EQ(std::is_sorted(ids.begin(), ids.end()), fifo);
    EXPECT_EQ(rig.dev.counters(0).injected, 1000u);
  }
}

TEST(FaultRulesDevice, BlackholeFiresOnceForItsDuration) {
  Rig rig("both blackhole=3s after=5s");
  std::vector<uint32_t> got;
  for (uint32_t s = 0; s <= 10; ++s) {
    rig.send(s, at(1s * s));
    for (uint32_t id : rig.peer_receives(at(1s * s))) got.push_back(id);
  }
  EXPECT_EQ(got, (std::vector<uint32_t>{0, 1, 2, 3, 4, 8, 9, 10}));
  EXPECT_EQ(rig.dev.counters(0).injected, 3u);
}

TEST(FaultRulesDevice, CorruptFlipsOneBitAndTruncateShortens) {
  Rig rig("out corrupt nth=1; out truncate=60 nth=2");
  rig.send(1, at(0ms));
  rig.send(2, at(0ms));
  std::vector<PacketBuffer> got;
  rig.dev.transmit({}, at(0ms));
  rig.link.b.receive(got, 10, at(0ms));
  ASSERT_EQ(got.size(), 2u);
  PacketBuffer ref = tcp_frame(rig.pool, kLocal, kRemote, 40000, 80, wire::tcp_flag::kAck, 100, 1);
  int flipped = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    flipped += std::popcount<uint8_t>(ref.data()[i] ^ got[0].data()[i]);
  EXPECT_EQ(flipped, 1);
  EXPECT_EQ(got[1].size(), 60u);
}

TEST(FaultRulesDevice, RateCapsThroughput) {
  // 1 Mbit/s = 125 bytes/ms; 200 frames of 154 bytes sent at once take
  // (200 * 154 - 15000 bucket) / 125 bytes/ms ~= 126 ms to leave.
  Rig rig("out rate=1mbit");
  for (uint32_t i = 0; i < 200; ++i) rig.send(i, at(0ms));
  size_t at_once = rig.peer_receives(at(0ms)).size();
  EXPECT_EQ(at_once, 15'000u / 154 + 0);  // the bucket's worth
  size_t total = at_once;
  Instant last{};
  for (Instant t = rig.dev.next_deadline(); t != kNever; t = rig.dev.next_deadline()) {
    total += rig.peer_receives(t).size();
    last = t;
  }
  EXPECT_EQ(total, 200u);
  const double ms = static_cast<double>(to_ns(last)) / 1e6;
  EXPECT_NEAR(ms, (200.0 * 154 - 15'000) / 125, 2.0);
}

// Same seed, same traffic: the same decisions; another seed: others.
std::vector<uint32_t> lossy_run(uint64_t seed) {
  Rig rig("both drop 10%; out duplicate 5%; in delay=1ms~5ms; both drop ge=5%,40%", seed);
  std::vector<uint32_t> got;
  for (uint32_t i = 0; i < 2000; ++i) {
    rig.send(i, at(1ms * i));
    rig.peer_send(100000 + i, at(1ms * i));
    for (uint32_t id : rig.peer_receives(at(1ms * i))) got.push_back(id);
    for (uint32_t id : rig.stack_receives(at(1ms * i))) got.push_back(id);
  }
  return got;
}

TEST(FaultRulesDevice, SameSeedSameDecisions) {
  const auto a = lossy_run(42);
  EXPECT_EQ(a, lossy_run(42));
  EXPECT_NE(a, lossy_run(43));
  EXPECT_LT(a.size(), 4000u * 9 / 10);  // something was dropped
}

// ---- either-side match words ------------------------------------------------

TEST(FaultRulesParse, HostAndPortMatchEitherSide) {
  FaultRule r = rule("both drop host=198.18.0.0/24 port=80-81");
  ASSERT_TRUE(r.match.addr);
  EXPECT_EQ(r.match.addr->to_string(), "198.18.0.0/24");
  EXPECT_EQ(r.match.port, (PortRange{80, 81}));
  EXPECT_NE(error_of("in drop arp port=80").find("no ports in an icmp or arp rule"),
            std::string::npos);
  EXPECT_NE(error_of("in drop port=80 icmp").find("tcp or udp (the rule has ports)"),
            std::string::npos);
  EXPECT_NE(error_of("in drop host=x").find("column 14: expected an IPv4 address"),
            std::string::npos);
}

TEST(FaultRulesDevice, HostAndPortMatchEitherSide) {
  Rig rig("both drop port=80 host=198.18.0.1");
  rig.send(1, at(0ms));       // to 198.18.0.1:80
  rig.peer_send(2, at(0ms));  // from 198.18.0.1:80
  EXPECT_TRUE(rig.peer_receives(at(1ms)).empty());
  EXPECT_TRUE(rig.stack_receives(at(1ms)).empty());
  EXPECT_EQ(rig.dev.counters(0).injected, 2u);
}

// ---- rules by id, added and removed at run time -------------------------------

TEST(FaultRulesDevice, RulesHaveStableIdsNeverReused) {
  Rig rig("out drop nth=1; in drop nth=1; out duplicate");
  ASSERT_EQ(rig.dev.rule_count(), 3u);
  EXPECT_EQ(rig.dev.rule_id(0), 1u);
  EXPECT_EQ(rig.dev.rule_id(2), 3u);
  EXPECT_EQ(rig.dev.next_rule_id(), 4u);
  EXPECT_EQ(rig.dev.add_rule(rule("in delay=5ms")), 4u);
  EXPECT_TRUE(rig.dev.remove_rule(2));
  EXPECT_FALSE(rig.dev.remove_rule(2));
  EXPECT_FALSE(rig.dev.remove_rule(99));
  EXPECT_EQ(rig.dev.find_rule(2), nullptr);
  EXPECT_EQ(rig.dev.find_counters(2), nullptr);
  EXPECT_TRUE(rig.dev.remove_rule(4));
  EXPECT_EQ(rig.dev.add_rule(rule("in drop")), 5u);  // 4 is not reused
  ASSERT_NE(rig.dev.find_rule(5), nullptr);
  EXPECT_EQ(rig.dev.find_rule(5)->text, "in drop");
  const auto status = rig.dev.rule_status();
  ASSERT_EQ(status.size(), 3u);
  EXPECT_EQ(status[0].id, 1u);
  EXPECT_EQ(status[1].id, 3u);
  EXPECT_EQ(status[1].text, "out duplicate");
  EXPECT_EQ(status[2].id, 5u);

  // Counters and log entries follow the id.
  rig.send(1, at(0ms));  // rule 1 drops it
  rig.send(2, at(0ms));  // rule 3 duplicates it
  EXPECT_EQ(rig.peer_receives(at(0ms)), (std::vector<uint32_t>{2, 2}));
  EXPECT_EQ(rig.dev.find_counters(1)->injected, 1u);
  EXPECT_EQ(rig.dev.find_counters(3)->injected, 1u);
  EXPECT_EQ(rig.dev.find_counters(3)->matched, 1u);
  ASSERT_EQ(rig.dev.log().size(), 2u);
  EXPECT_EQ(rig.dev.log()[1].rule, 3u);
  EXPECT_EQ(rig.dev.log()[1].to_string(),
            "0.000000 rule 3 out duplicate TCP 198.18.0.2:40000 > 198.18.0.1:80 [.] len 100");
  EXPECT_EQ(rig.dev.stats_text(),
            "  fault rules:\n"
            "    1 'out drop nth=1': matched 2, injected 1\n"
            "    3 'out duplicate': matched 1, injected 1\n"
            "    5 'in drop': matched 0, injected 0\n");
}

TEST(FaultRulesDevice, NoRulesPassesEverythingAndPrintsNothing) {
  Rig rig("");
  EXPECT_EQ(rig.dev.rule_count(), 0u);
  EXPECT_EQ(rig.dev.stats_text(), "");
  for (uint32_t i = 1; i <= 3; ++i) {
    rig.send(i, at(1ms * i));
    rig.peer_send(10 + i, at(1ms * i));
  }
  EXPECT_EQ(rig.peer_receives(at(5ms)), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(rig.stack_receives(at(5ms)), (std::vector<uint32_t>{11, 12, 13}));
  EXPECT_EQ(rig.dev.next_deadline(), kNever);
  EXPECT_EQ(rig.dev.in_flight(), 0u);
}

TEST(FaultRulesDevice, AddedRuleTimeWindowStartsAtItsFirstFrame) {
  Rig rig("");
  rig.send(1, at(0ms));
  const uint32_t id = rig.dev.add_rule(rule("out drop after=10ms"));
  rig.send(2, at(100ms));  // the rule's first frame: its t = 0
  rig.send(3, at(105ms));
  rig.send(4, at(110ms));
  EXPECT_EQ(rig.peer_receives(at(110ms)), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(rig.dev.find_counters(id)->matched, 1u);
}

TEST(FaultRulesDevice, RemovingARuleReleasesWhatItHolds) {
  // Delayed frames leave at the next call instead of at 50 ms, and go on
  // through the rules after the removed one.
  Rig rig("out delay=50ms; out drop nth=1");
  rig.send(1, at(0ms));
  rig.send(2, at(1ms));
  EXPECT_EQ(rig.dev.rule_status()[0].held, 2u);
  EXPECT_TRUE(rig.dev.remove_rule(1));
  EXPECT_EQ(rig.dev.rule_status()[0].held, 0u);  // released, not held by rule 2
  EXPECT_EQ(rig.dev.in_flight(), 2u);
  EXPECT_EQ(rig.dev.next_deadline(), at(1ms));                        // due now
  EXPECT_EQ(rig.peer_receives(at(2ms)), (std::vector<uint32_t>{2}));  // 1 met rule 2
  EXPECT_EQ(rig.dev.find_counters(2)->injected, 1u);
  EXPECT_EQ(rig.dev.next_deadline(), kNever);

  // A reorder=K hold and a rate queue are released the same way.
  Rig ro("out reorder=5");
  ro.send(1, at(0ms));
  EXPECT_TRUE(ro.peer_receives(at(1ms)).empty());
  EXPECT_TRUE(ro.dev.remove_rule(1));
  EXPECT_EQ(ro.peer_receives(at(2ms)), (std::vector<uint32_t>{1}));
  Rig rate("out rate=1mbit");
  for (uint32_t i = 0; i < 200; ++i) rate.send(i, at(0ms));
  EXPECT_EQ(rate.peer_receives(at(0ms)).size(), 97u);
  EXPECT_EQ(rate.dev.rule_status()[0].held, 103u);
  EXPECT_TRUE(rate.dev.remove_rule(1));
  EXPECT_EQ(rate.peer_receives(at(0ms)).size(), 103u);
  EXPECT_EQ(rate.dev.in_flight(), 0u);
}

TEST(FaultRulesDevice, RemovingAnEarlierRuleKeepsHeldFramesOnTheirWay) {
  // Frame 1 waits in rule 2 (delay); rule 1 goes; at 10 ms frame 1 still
  // meets the duplicate rule that followed the delay.
  Rig rig("out drop udp; out delay=10ms; out duplicate");
  rig.send(1, at(0ms));
  EXPECT_TRUE(rig.dev.remove_rule(1));
  EXPECT_TRUE(rig.peer_receives(at(9ms)).empty());
  EXPECT_EQ(rig.peer_receives(at(10ms)), (std::vector<uint32_t>{1, 1}));
  EXPECT_EQ(rig.dev.find_counters(3)->injected, 1u);
}

// The decisions of a random rule depend on the seed and its id, not on when
// it was added: runs of a chain are the same whether its rules were given
// at start-up or added (before any traffic) at run time, and a rule with id
// 3 decides alike after another rule with id 2 was removed.
std::vector<uint32_t> random_run(Rig& rig) {
  std::vector<uint32_t> got;
  for (uint32_t i = 0; i < 1000; ++i) {
    rig.send(i, at(1ms * i));
    rig.peer_send(100000 + i, at(1ms * i));
    for (uint32_t id : rig.peer_receives(at(1ms * i))) got.push_back(id);
    for (uint32_t id : rig.stack_receives(at(1ms * i))) got.push_back(id);
  }
  return got;
}

TEST(FaultRulesDevice, RuleAddedAtRunTimeDecidesAsAtStartUp) {
  Rig start("both drop 10%; out duplicate 5%; in delay=1ms~5ms", 42);
  const auto expected = random_run(start);

  Rig added("both drop 10%", 42);
  added.dev.add_rule(rule("out duplicate 5%"));
  added.dev.add_rule(rule("in delay=1ms~5ms"));
  EXPECT_EQ(random_run(added), expected);

  // Rule 2 never matches (no UDP here) and goes; the rule added next is id
  // 3 and decides as the start-up rule 3 of the same chain.
  Rig gap("both drop 10%; out drop udp", 42);
  EXPECT_TRUE(gap.dev.remove_rule(2));
  EXPECT_EQ(gap.dev.add_rule(rule("in delay=1ms~5ms")), 3u);
  Rig gap_ref("both drop 10%; out drop udp; in delay=1ms~5ms", 42);
  EXPECT_EQ(random_run(gap), random_run(gap_ref));

  Rig other("both drop 10%", 43);
  other.dev.add_rule(rule("out duplicate 5%"));
  other.dev.add_rule(rule("in delay=1ms~5ms"));
  EXPECT_NE(random_run(other), expected);
}

TEST(FaultRulesDevice, RuleAddedMidRunIsReproducible) {
  auto run = [](uint64_t seed) {
    Rig rig("both drop 5%", seed);
    std::vector<uint32_t> got;
    for (uint32_t i = 0; i < 600; ++i) {
      if (i == 300) rig.dev.add_rule(rule("both drop 20%"));
      rig.send(i, at(1ms * i));
      for (uint32_t id : rig.peer_receives(at(1ms * i))) got.push_back(id);
    }
    return got;
  };
  const auto a = run(9);
  EXPECT_EQ(a, run(9));
  EXPECT_NE(a, run(10));
  EXPECT_LT(a.size(), 600u - 30);
}

}  // namespace
}  // namespace shunt
