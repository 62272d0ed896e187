// ARP between stacks on a simulated segment: resolution, lost requests,
// failure with EHOSTUNREACH, the bounded queue, gratuitous ARP, ageing.
#include <gtest/gtest.h>

#include "tests/support/frames.h"
#include "tests/support/lan.h"

namespace shunt::testing {
namespace {

// Drops the first `n` ARP frames a device transmits.
class DropArp final : public NetDevice {
 public:
  DropArp(NetDevice& inner, int n) : inner_(inner), left_(n) {}
  void transmit(std::span<PacketBuffer> frames, Instant now) override {
    for (auto& f : frames) {
      auto eth = wire::EthernetRepr::parse(f.bytes());
      if (eth && eth->ethertype == wire::ethertype::kArp && left_ > 0) {
        --left_;
        f = PacketBuffer();
        continue;
      }
      PacketBuffer one[1] = {std::move(f)};
      inner_.transmit(one, now);
    }
  }
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override {
    return inner_.receive(out, max, now);
  }
  DeviceInfo info() const override { return inner_.info(); }

 private:
  NetDevice& inner_;
  int left_;
};

TEST(Arp, ResolvesAndDeliversQueuedDatagram) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto sb = b.udp_open();
  ASSERT_TRUE(b.bind(*sb, {Ipv4Address::any(), 7000}));
  auto sa = a.udp_open();
  auto msg = bytes_of("hello");
  ASSERT_TRUE(a.send_to(*sa, msg, Endpoint{test_ip(2), 7000}, lan.now()));
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kIncomplete);
  ASSERT_TRUE(lan.sim.run_until([&] { return *b.next_datagram_size(*sb) > 0; }, 1s));
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kReachable);
  // B learned A from the request it answered (RFC 826: the target adds the sender).
  EXPECT_EQ(b.arp_cache().state(test_ip(1)), ArpCache::State::kReachable);
  EXPECT_EQ(a.stats().arp.OutRequests, 1u);
  EXPECT_EQ(b.stats().arp.OutReplies, 1u);
  EXPECT_EQ(a.stats().arp.Resolved, 1u);
  std::vector<uint8_t> buf(100);
  auto r = b.recv_from(*sb, buf, 0, lan.now());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->copied, 5u);
  EXPECT_EQ(r->from.addr, test_ip(1));
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 5), "hello");
}

TEST(Arp, RetriesWhenRequestsAreLost) {
  BufferPool pool;
  MemorySegment seg;
  NetDevice& pa = seg.add_port();
  NetDevice& pb = seg.add_port();
  DropArp lossy(pa, 3);  // the gratuitous ARP and the first two requests
  StackConfig ca;
  ca.mac = test_mac(1);
  ca.address = Ipv4Cidr(test_ip(1), 24);
  StackConfig cb = ca;
  cb.mac = test_mac(2);
  cb.address = Ipv4Cidr(test_ip(2), 24);
  Stack a(lossy, pool, ca), b(pb, pool, cb);
  Simulation sim;
  sim.add_host(a, lossy);
  sim.add_host(b, pb);
  sim.settle();
  auto sb = b.udp_open();
  ASSERT_TRUE(b.bind(*sb, {Ipv4Address::any(), 7000}));
  auto sa = a.udp_open();
  auto msg = bytes_of("x");
  Instant start = sim.now();
  ASSERT_TRUE(a.send_to(*sa, msg, Endpoint{test_ip(2), 7000}, sim.now()));
  ASSERT_TRUE(sim.run_until([&] { return *b.next_datagram_size(*sb) > 0; }, 10s));
  // Two lost requests, one second apart (retrans_time), then the third works.
  EXPECT_EQ(sim.now() - start, 2s);
  EXPECT_EQ(a.stats().arp.OutRequests, 3u);
  EXPECT_EQ(a.stats().arp.Failed, 0u);
}

TEST(Arp, FailureGivesEhostunreachAndFreesTheQueue) {
  Lan lan(1);
  Stack& a = lan.stack(0);
  auto s = a.udp_open();
  ASSERT_TRUE(a.connect(*s, Endpoint{test_ip(99), 9}, lan.now()));
  auto msg = bytes_of("nobody home");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a.send_to(*s, msg, std::nullopt, lan.now()));
  // The queue per neighbour is bounded; the rest are counted drops.
  EXPECT_EQ(a.stats().arp.QueuedPackets, a.config().arp.queue_len);
  EXPECT_EQ(a.stats().drop_count(DropReason::kArpQueueFull), 100 - a.config().arp.queue_len);
  EXPECT_EQ(*a.readiness(*s) & readiness::kError, 0u);
  Instant start = lan.now();
  lan.sim.run_until_idle(10s);
  // max_probes requests, retrans_time apart; the entry fails on the third timeout.
  EXPECT_EQ(lan.now() - start, 3s);
  EXPECT_EQ(a.stats().arp.OutRequests, 3u);
  EXPECT_EQ(a.stats().arp.Failed, 1u);
  EXPECT_EQ(a.stats().drop_count(DropReason::kArpFailed), a.config().arp.queue_len);
  EXPECT_FALSE(a.arp_cache().state(test_ip(99)));
  EXPECT_NE(*a.readiness(*s) & readiness::kError, 0u);
  std::vector<uint8_t> buf(16);
  auto r = a.recv_from(*s, buf, 0, lan.now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kHostUnreach);
  // Reported once.
  EXPECT_EQ(a.recv_from(*s, buf, 0, lan.now()).error(), Error::kAgain);
}

TEST(Arp, GratuitousArpWhenTheInterfaceComesUp) {
  Lan lan(0);
  RawHost& raw = lan.add_raw();
  lan.add_stack();
  lan.sim.settle();
  ASSERT_EQ(raw.received.size(), 1u);
  auto eth = wire::EthernetRepr::parse(raw.received[0].bytes());
  ASSERT_TRUE(eth);
  EXPECT_TRUE(eth->dst.is_broadcast());
  EXPECT_EQ(raw.received[0].size(), 60u);  // padded to the Ethernet minimum
  auto arp = wire::ArpRepr::parse(raw.received[0].bytes().subspan(14));
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->operation, wire::arp_op::kRequest);
  EXPECT_EQ(arp->sender_ip, test_ip(1));
  EXPECT_EQ(arp->target_ip, test_ip(1));
  EXPECT_EQ(arp->sender_mac, test_mac(1));
  EXPECT_EQ(lan.stack(0).stats().arp.OutGratuitous, 1u);
}

TEST(Arp, AnswersRequestsForItsAddressOnly) {
  Lan lan(1);
  RawHost& raw = lan.add_raw();
  lan.sim.settle();
  raw.received.clear();
  wire::ArpRepr req;
  req.operation = wire::arp_op::kRequest;
  req.sender_mac = raw.mac();
  req.sender_ip = test_ip(50);
  req.target_ip = test_ip(1);
  raw.send(arp_frame(lan.pool, MacAddress::broadcast(), req), lan.now());
  req.target_ip = test_ip(77);  // someone else
  raw.send(arp_frame(lan.pool, MacAddress::broadcast(), req), lan.now());
  lan.sim.settle();
  ASSERT_EQ(raw.received.size(), 1u);
  auto reply = wire::ArpRepr::parse(raw.received[0].bytes().subspan(14));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->operation, wire::arp_op::kReply);
  EXPECT_EQ(reply->sender_mac, test_mac(1));
  EXPECT_EQ(reply->sender_ip, test_ip(1));
  EXPECT_EQ(reply->target_mac, raw.mac());
  EXPECT_EQ(reply->target_ip, test_ip(50));
  EXPECT_EQ(lan.stack(0).stats().drop_count(DropReason::kArpNotForUs), 1u);
}

TEST(Arp, ClaimsOfOurAddressAreIgnored) {
  Lan lan(1);
  RawHost& raw = lan.add_raw();
  lan.sim.settle();
  wire::ArpRepr bad;
  bad.operation = wire::arp_op::kReply;
  bad.sender_mac = raw.mac();
  bad.sender_ip = test_ip(1);  // ours
  bad.target_ip = test_ip(1);
  raw.send(arp_frame(lan.pool, test_mac(1), bad), lan.now());
  lan.sim.settle();
  EXPECT_EQ(lan.stack(0).stats().drop_count(DropReason::kArpBadSender), 1u);
}

TEST(Arp, EntriesGoStaleAreProbedAndExpire) {
  Lan lan(2);
  Stack& a = lan.stack(0);
  Stack& b = lan.stack(1);
  auto sb = b.udp_open();
  ASSERT_TRUE(b.bind(*sb, {Ipv4Address::any(), 7000}));
  auto sa = a.udp_open();
  auto msg = bytes_of("x");
  ASSERT_TRUE(a.send_to(*sa, msg, Endpoint{test_ip(2), 7000}, lan.now()));
  lan.sim.settle();
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kReachable);
  lan.sim.run_for(31s);
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kStale);
  uint64_t requests = a.stats().arp.OutRequests;
  // Using a stale entry sends the datagram at once and re-confirms by unicast.
  ASSERT_TRUE(a.send_to(*sa, msg, Endpoint{test_ip(2), 7000}, lan.now()));
  lan.sim.settle();
  EXPECT_EQ(*b.next_datagram_size(*sb), 1u);
  EXPECT_EQ(a.stats().arp.OutRequests, requests + 1);
  EXPECT_EQ(a.arp_cache().state(test_ip(2)), ArpCache::State::kReachable);
  // Unused, it goes stale and is collected after gc_stale_time.
  lan.sim.run_for(30s + 61s);
  EXPECT_FALSE(a.arp_cache().state(test_ip(2)));
}

}  // namespace
}  // namespace shunt::testing
