// UDP datagrams per second between two stacks over the in-memory pair, in
// one thread: the stack's own cost per datagram (send path, switch, receive
// path, socket queue, recv copy).
#include <benchmark/benchmark.h>

#include <vector>

#include "driver/memory_segment.h"
#include "sim/simulation.h"
#include "stack/net/stack.h"

namespace {

using namespace shunt;

void BM_UdpDatagrams(benchmark::State& state) {
  const size_t payload = static_cast<size_t>(state.range(0));
  constexpr int kBatch = 32;  // 32 x 8 KiB fits the largest SO_RCVBUF
  BufferPool pool;
  MemoryPair link;
  StackConfig ca, cb;
  ca.mac = MacAddress({2, 0, 0xc6, 0x12, 0, 1});
  ca.address = Ipv4Cidr(Ipv4Address(198, 18, 0, 1), 24);
  cb.mac = MacAddress({2, 0, 0xc6, 0x12, 0, 2});
  cb.address = Ipv4Cidr(Ipv4Address(198, 18, 0, 2), 24);
  Stack a(link.a, pool, ca), b(link.b, pool, cb);
  Simulation sim;
  sim.add_host(a, link.a);
  sim.add_host(b, link.b);
  SocketId rx = *b.udp_open();
  (void)b.set_option(rx, SockOpt::kRcvBuf, 1 << 20, sim.now());
  (void)b.bind(rx, {Ipv4Address::any(), 9});
  SocketId tx = *a.udp_open();
  (void)a.connect(tx, {Ipv4Address(198, 18, 0, 2), 9}, sim.now());
  std::vector<uint8_t> out(payload, 'x'), in(65536);
  // Resolve ARP before measuring.
  (void)a.send_to(tx, out, std::nullopt, sim.now());
  sim.settle();
  while (b.recv_from(rx, in, 0, sim.now())) {
  }
  uint64_t received = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) (void)a.send_to(tx, out, std::nullopt, sim.now());
    sim.settle();
    while (b.recv_from(rx, in, 0, sim.now())) ++received;
  }
  state.SetItemsProcessed(static_cast<int64_t>(received));
  state.SetBytesProcessed(static_cast<int64_t>(received * payload));
  if (received != static_cast<uint64_t>(state.iterations()) * kBatch) state.SkipWithError("datagrams were lost");
}
BENCHMARK(BM_UdpDatagrams)->Arg(64)->Arg(1472)->Arg(8192);

}  // namespace
