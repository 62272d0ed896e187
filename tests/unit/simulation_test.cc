#include "sim/simulation.h"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <vector>

#include "driver/memory_segment.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/wire/ethernet.h"

namespace shunt {
namespace {

constexpr uint8_t kPing = 1;
constexpr uint8_t kPong = 2;

const MacAddress kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kMacB({0x02, 0, 0, 0, 0, 0x0b});
const MacAddress kMacC({0x02, 0, 0, 0, 0, 0x0c});

Instant at(Duration d) {
  return Instant{} + d;
}

// A fake host: pings its peer on a timer and answers every ping with a pong.
// It has the three members Simulation needs but does not derive SimNode.
class PingHost {
 public:
  PingHost(BufferPool& pool, NetDevice& device, MacAddress mac, MacAddress peer)
      : pool_(pool), device_(device), mac_(mac), peer_(peer) {}

  // Sends `count` pings (-1: for ever), the first at `first`.
  void start(Instant first, Duration interval, int count) {
    next_ping_ = first;
    interval_ = interval;
    remaining_ = count;
  }
  void send(uint8_t kind, Instant now) { send_to(peer_, kind, now); }
  void send_to(const MacAddress& dst, uint8_t kind, Instant now) {
    PacketBuffer f = pool_.allocate(60);
    auto b = f.append(60);
    std::memset(b.data(), 0, b.size());
    dst.write(b.data());
    mac_.write(b.data() + 6);
    b[wire::kEthernetHeaderLen] = kind;
    PacketBuffer frames[1] = {std::move(f)};
    device_.transmit(frames, now);
  }

  void receive(PacketBuffer frame, Instant now) {
    if (frame.size() <= wire::kEthernetHeaderLen) return;
    if (MacAddress::from_bytes(frame.data()) != mac_) return;  // flooded to us
    if (frame.data()[wire::kEthernetHeaderLen] == kPing) {
      ++pings_received;
      // Answers from receive(), as a stack answers an ARP request.
      send_to(MacAddress::from_bytes(frame.data() + 6), kPong, now);
    } else {
      pong_times.push_back(now);
    }
  }
  void poll(Instant now) {
    ++polls;
    while (remaining_ != 0 && now >= next_ping_) {
      send(kPing, now);
      if (remaining_ > 0) --remaining_;
      next_ping_ += interval_;
    }
  }
  Instant next_deadline() const { return remaining_ != 0 ? next_ping_ : kNever; }

  int pings_received = 0;
  std::vector<Instant> pong_times;
  uint64_t polls = 0;

 private:
  BufferPool& pool_;
  NetDevice& device_;
  MacAddress mac_;
  MacAddress peer_;
  Instant next_ping_ = kNever;
  Duration interval_{0};
  int remaining_ = 0;
};

// A node with a bug: its deadline never moves past the present.
class StuckNode final : public SimNode {
 public:
  void receive(PacketBuffer, Instant) override {}
  void poll(Instant now) override { ++polls; }
  Instant next_deadline() const override { return Instant{}; }
  uint64_t polls = 0;
};

// A node that sends a frame back for every frame it gets: two of them bounce
// one frame for ever without time passing.
class EchoNode final : public SimNode {
 public:
  explicit EchoNode(NetDevice& device) : device_(device) {}
  void receive(PacketBuffer frame, Instant now) override {
    // Swap the addresses and send it back.
    uint8_t tmp[6];
    std::memcpy(tmp, frame.data(), 6);
    std::memmove(frame.data(), frame.data() + 6, 6);
    std::memcpy(frame.data() + 6, tmp, 6);
    PacketBuffer frames[1] = {std::move(frame)};
    device_.transmit(frames, now);
  }
  void poll(Instant) override {}
  Instant next_deadline() const override { return kNever; }

 private:
  NetDevice& device_;
};

// A device decorator that holds transmitted frames for a fixed time: it has
// its own deadlines, like a RuleFaultDevice with a delay rule.
class DelayDevice final : public NetDevice {
 public:
  DelayDevice(NetDevice& inner, Duration delay) : inner_(inner), delay_(delay) {}
  void transmit(std::span<PacketBuffer> frames, Instant now) override {
    for (PacketBuffer& f : frames) held_.push_back({now + delay_, std::move(f)});
    std::vector<PacketBuffer> due;
    while (!held_.empty() && held_.front().due <= now) {
      due.push_back(std::move(held_.front().frame));
      held_.pop_front();
    }
    if (!due.empty()) inner_.transmit(due, now);
  }
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override {
    return inner_.receive(out, max, now);
  }
  Instant next_deadline() const override { return held_.empty() ? kNever : held_.front().due; }
  DeviceInfo info() const override { return inner_.info(); }

 private:
  struct Held {
    Instant due;
    PacketBuffer frame;
  };
  NetDevice& inner_;
  Duration delay_;
  std::deque<Held> held_;
};

struct TwoHosts {
  BufferPool pool;
  MemoryPair link;
  PingHost a{pool, link.a, kMacA, kMacB};
  PingHost b{pool, link.b, kMacB, kMacA};
  Simulation sim;
  TwoHosts() {
    sim.add_host(a, link.a);
    sim.add_host(b, link.b);
  }
};

TEST(Simulation, SettleDeliversWithoutMovingTime) {
  TwoHosts t;
  t.sim.clock().advance(7ms);
  t.a.send(kPing, t.sim.now());
  EXPECT_EQ(t.sim.settle(), 2u);  // the ping and its pong
  EXPECT_EQ(t.b.pings_received, 1);
  ASSERT_EQ(t.a.pong_times.size(), 1u);
  EXPECT_EQ(t.a.pong_times[0], at(7ms));
  EXPECT_EQ(t.sim.now(), at(7ms));
  EXPECT_EQ(t.sim.steps(), 0u);
  EXPECT_EQ(t.sim.settle(), 0u);
  EXPECT_GT(t.a.polls, 0u);
  EXPECT_EQ(t.sim.next_deadline(), kNever);
}

TEST(Simulation, RunUntilIdleFollowsDeadlines) {
  TwoHosts t;
  t.a.start(at(0ms), 10ms, 5);
  EXPECT_TRUE(t.sim.run_until_idle(1s));
  EXPECT_EQ(t.sim.now(), at(40ms));  // the last ping went at 40 ms
  EXPECT_EQ(t.sim.steps(), 4u);      // 0 -> 10 -> 20 -> 30 -> 40
  ASSERT_EQ(t.a.pong_times.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(t.a.pong_times[i], at(10ms * i));
  // Already idle: returns at once.
  EXPECT_TRUE(t.sim.run_until_idle(1s));
  EXPECT_EQ(t.sim.now(), at(40ms));
}

TEST(Simulation, RunUntilIdleStopsAtTheLimit) {
  TwoHosts t;
  t.a.start(at(0ms), 10ms, -1);
  EXPECT_FALSE(t.sim.run_until_idle(95ms));
  EXPECT_EQ(t.sim.now(), at(95ms));
  EXPECT_EQ(t.a.pong_times.size(), 10u);  // 0, 10, ..., 90
  // A huge limit does not overflow the clock.
  TwoHosts idle;
  idle.a.start(at(0ms), 10ms, 2);
  EXPECT_TRUE(idle.sim.run_until_idle(Duration::max()));
  EXPECT_EQ(idle.sim.now(), at(10ms));
}

TEST(Simulation, RunUntilStopsWhenThePredicateHolds) {
  TwoHosts t;
  t.a.start(at(0ms), 10ms, -1);
  EXPECT_TRUE(t.sim.run_until([&] { return t.a.pong_times.size() >= 3; }, 1s));
  EXPECT_EQ(t.sim.now(), at(20ms));
  // Too short a limit: stops exactly at the limit.
  EXPECT_FALSE(t.sim.run_until([&] { return t.a.pong_times.size() >= 100; }, 50ms));
  EXPECT_EQ(t.sim.now(), at(70ms));
  EXPECT_EQ(t.a.pong_times.size(), 8u);
}

TEST(Simulation, RunUntilReturnsFalseWhenIdle) {
  TwoHosts t;
  t.a.start(at(5ms), 10ms, 2);
  EXPECT_FALSE(t.sim.run_until([&] { return t.a.pong_times.size() >= 5; }, 1s));
  EXPECT_EQ(t.sim.now(), at(15ms));  // went idle after the second ping
  EXPECT_TRUE(t.sim.run_until([&] { return t.a.pong_times.size() == 2; }, 0s));
}

TEST(Simulation, RunForEndsExactly) {
  TwoHosts t;
  t.a.start(at(0ms), 10ms, -1);
  t.sim.run_for(25ms);
  EXPECT_EQ(t.sim.now(), at(25ms));
  EXPECT_EQ(t.a.pong_times.size(), 3u);
  t.sim.run_for(25ms);  // deadline at exactly the end (50 ms) is included
  EXPECT_EQ(t.sim.now(), at(50ms));
  EXPECT_EQ(t.a.pong_times.size(), 6u);
  t.sim.run_for(0ms);
  EXPECT_EQ(t.sim.now(), at(50ms));
  // With nothing scheduled, time still moves to the end.
  TwoHosts idle;
  idle.sim.run_for(1s);
  EXPECT_EQ(idle.sim.now(), at(1s));
  EXPECT_EQ(idle.sim.steps(), 1u);
}

TEST(Simulation, StartsAtTheGivenInstant) {
  Simulation sim(at(1h));
  EXPECT_EQ(sim.now(), at(1h));
  EXPECT_EQ(sim.clock().now(), at(1h));
  EXPECT_TRUE(sim.run_until_idle(1s));
  EXPECT_EQ(sim.settle(), 0u);
}

TEST(Simulation, DeviceDeadlinesCount) {
  BufferPool pool;
  MemoryPair link;
  DelayDevice slow(link.a, 3ms);  // A's pings take 3 ms; B's pongs are instant
  PingHost a(pool, slow, kMacA, kMacB);
  PingHost b(pool, link.b, kMacB, kMacA);
  Simulation sim;
  sim.add_host(a, slow);
  sim.add_host(b, link.b);
  a.start(at(0ms), 10ms, 3);
  EXPECT_TRUE(sim.run_until_idle(1s));
  ASSERT_EQ(a.pong_times.size(), 3u);
  EXPECT_EQ(a.pong_times[0], at(3ms));
  EXPECT_EQ(a.pong_times[1], at(13ms));
  EXPECT_EQ(a.pong_times[2], at(23ms));
  EXPECT_EQ(sim.now(), at(23ms));
}

TEST(Simulation, SeveralHostsOnOneSegment) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& pa = seg.add_port();
  MemoryPort& pb = seg.add_port();
  MemoryPort& pc = seg.add_port();
  PingHost a(pool, pa, kMacA, kMacB);
  PingHost b(pool, pb, kMacB, kMacC);
  PingHost c(pool, pc, kMacC, kMacA);
  Simulation sim;
  sim.add_host(a, pa);
  sim.add_host(b, pb);
  sim.add_host(c, pc);
  a.start(at(1ms), 1ms, 4);
  b.start(at(2ms), 2ms, 2);
  c.start(at(3ms), 3ms, 1);
  EXPECT_TRUE(sim.run_until_idle(1s));
  EXPECT_EQ(a.pong_times.size(), 4u);
  EXPECT_EQ(b.pong_times.size(), 2u);
  EXPECT_EQ(c.pong_times.size(), 1u);
  EXPECT_EQ(b.pings_received, 4);
  EXPECT_EQ(c.pings_received, 2);
  EXPECT_EQ(a.pings_received, 1);
  EXPECT_EQ(sim.now(), at(4ms));
}

TEST(Simulation, AcceptsSimNodesDirectly) {
  BufferPool pool;
  MemoryPair link;
  PingHost a(pool, link.a, kMacA, kMacB);
  EchoNode echo(link.b);
  HostNode<PingHost> node(a);
  Simulation sim;
  sim.add(node, link.a);
  sim.add(echo, link.b);
  a.send(kPing, sim.now());
  // A's ping comes back (as a ping) and A answers with a pong, which comes
  // back too: four deliveries.
  EXPECT_EQ(sim.settle(), 4u);
  EXPECT_EQ(a.pings_received, 1);
  EXPECT_EQ(a.pong_times.size(), 1u);
  EXPECT_EQ(&node.host(), &a);
}

// The progress guard aborts instead of hanging (documented in simulation.h).
TEST(SimulationDeathTest, NodeWhoseDeadlineDoesNotMove) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BufferPool pool;
  MemoryPair link;
  StuckNode stuck;
  Simulation sim;
  sim.add(stuck, link.a);
  sim.clock().advance(1ms);
  EXPECT_DEATH(sim.run_until_idle(1s), "no progress after 1000001 rounds at t=1000000 ns");
  sim.set_stall_limit(1000);
  EXPECT_EQ(sim.stall_limit(), 1000u);
  EXPECT_DEATH(sim.run_for(1s), "node 0: next_deadline\\(\\) = 0 ns");
  EXPECT_DEATH(sim.run_until([] { return false; }, 1s), "no progress");
}

TEST(SimulationDeathTest, FramesBouncingForEver) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BufferPool pool;
  MemoryPair link;
  EchoNode a(link.a);
  EchoNode b(link.b);
  Simulation sim;
  sim.add(a, link.a);
  sim.add(b, link.b);
  sim.set_stall_limit(10'000);
  PingHost sender(pool, link.a, kMacA, kMacB);
  sender.send(kPing, sim.now());
  EXPECT_DEATH(sim.settle(), "no progress");
}

TEST(Simulation, StallCounterResetsWhenTimeMoves) {
  TwoHosts t;
  t.sim.set_stall_limit(3);
  t.a.start(at(0ms), 1ms, 100);
  // Each instant needs three rounds (ping, pong, then an empty one); the
  // limit of 3 holds because the counter restarts at every clock advance.
  EXPECT_TRUE(t.sim.run_until_idle(1s));
  EXPECT_EQ(t.a.pong_times.size(), 100u);
}

}  // namespace
}  // namespace shunt
