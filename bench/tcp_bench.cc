// TCP between two stacks over the in-memory pair (1500-byte MTU), in one
// thread: the stack's own cost, both ends on one core (issue 3,
// "Benchmarks"; figures in docs/performance.md).
//
//   BM_TcpBulk          bulk throughput, steady state (Gbit/s counter)
//   BM_TcpConnectClose  connections opened, accepted and closed per second
//   BM_TcpIdleMemory    heap bytes per idle established connection
//
// Virtual time does not move while data flows (the Simulation settles at
// one instant), so the figures are CPU cost only: no RTT, no pacing.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "driver/memory_segment.h"
#include "sim/simulation.h"
#include "stack/net/stack.h"

namespace {

using namespace shunt;

constexpr uint16_t kPort = 5001;

StackConfig config_for(uint8_t n) {
  StackConfig c;
  c.mac = MacAddress({2, 0, 0xc6, 0x12, 0, n});
  c.address = Ipv4Cidr(Ipv4Address(198, 18, 0, n), 24);
  c.seed = 1000 + n;
  return c;
}

// Two stacks on a MemoryPair under one Simulation: `a` (198.18.0.1) is the
// client, `b` (198.18.0.2) listens on kPort.
struct TcpPair {
  explicit TcpPair(const StackConfig& ca = config_for(1), const StackConfig& cb = config_for(2))
      : a(link.a, pool, ca), b(link.b, pool, cb) {
    sim.add_host(a, link.a);
    sim.add_host(b, link.b);
    listener = *b.tcp_open();
    (void)b.bind(listener, {Ipv4Address::any(), kPort});
    (void)b.listen(listener, 4096, sim.now());
  }

  // connect + settle + accept; returns false if the handshake did not
  // complete at this instant. On success the accepted socket is in *server.
  bool open(SocketId client, SocketId* server) {
    auto r = a.connect(client, {Ipv4Address(198, 18, 0, 2), kPort}, sim.now());
    if (r || r.error() != Error::kInProgress) return false;
    sim.settle();
    if ((*a.readiness(client) & readiness::kWritable) == 0) return false;
    auto acc = b.accept(listener, sim.now());
    if (!acc) return false;
    *server = acc->socket;
    return true;
  }

  BufferPool pool;  // declared first: destroyed last
  MemoryPair link{1500};
  Stack a, b;
  Simulation sim;
  SocketId listener{};
};

// The byte stream the sender writes: byte i of the stream is
// pattern[i % kPeriod]. The period is prime so it never lines up with the
// segment size, the 16 KiB buffer blocks or the read size.
constexpr size_t kPeriod = 65521;
constexpr size_t kChunk = 64 * 1024;

std::vector<uint8_t> make_pattern() {
  std::vector<uint8_t> p(kPeriod + kChunk);
  uint32_t x = 0x9e3779b9u;
  for (size_t i = 0; i < kPeriod; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<uint8_t>(x >> 24);
  }
  for (size_t i = kPeriod; i < p.size(); ++i) p[i] = p[i - kPeriod];
  return p;
}

// Fills the client's send buffer, settles, drains the server. Checks three
// 8-byte samples of every chunk read against the pattern (start, middle,
// end), so data at the wrong stream offset, or lost, or duplicated is
// caught without comparing every byte in the timed loop.
struct BulkFlow {
  TcpPair& p;
  SocketId c, s;
  const std::vector<uint8_t>& pattern;
  std::vector<uint8_t> in = std::vector<uint8_t>(kChunk);
  uint64_t sent = 0, received = 0;
  uint64_t stalls = 0;  // rounds that needed virtual time to move
  bool corrupt = false;

  bool sample_ok(uint64_t offset, size_t n) const {
    auto check = [&](size_t at) {
      const size_t len = std::min<size_t>(8, n - at);
      return std::memcmp(in.data() + at, pattern.data() + (offset + at) % kPeriod, len) == 0;
    };
    return check(0) && check(n / 2) && check(n > 8 ? n - 8 : 0);
  }

  // One round; returns the bytes received. Without `send` it only delivers
  // what is already in flight.
  uint64_t round(bool send = true) {
    const uint64_t before = received;
    const Instant now = p.sim.now();
    while (send) {
      const size_t off = static_cast<size_t>(sent % kPeriod);
      auto r = p.a.send_to(c, Bytes(pattern).subspan(off, kChunk), std::nullopt, now);
      if (!r || *r == 0) break;
      sent += *r;
    }
    p.sim.settle();
    while (true) {
      auto r = p.b.recv_from(s, in, 0, p.sim.now());
      if (!r || r->copied == 0) break;
      if (!sample_ok(received, r->copied)) corrupt = true;
      received += r->copied;
    }
    if (received == before) {
      // Nothing moved at this instant (a timer must run): let time pass.
      ++stalls;
      p.sim.run_for(1ms);
    }
    return received - before;
  }
};

// Argument: SO_SNDBUF = SO_RCVBUF in KiB for both stacks (1024 is the
// default, TcpConfig::sndbuf / rcvbuf).
void BM_TcpBulk(benchmark::State& state) {
  const std::vector<uint8_t> pattern = make_pattern();
  StackConfig ca = config_for(1), cb = config_for(2);
  for (StackConfig* c : {&ca, &cb}) {
    c->tcp.sndbuf = c->tcp.rcvbuf = static_cast<uint32_t>(state.range(0)) * 1024;
  }
  TcpPair p(ca, cb);
  SocketId c = *p.a.tcp_open(), s{};
  if (!p.open(c, &s)) {
    state.SkipWithError("handshake failed");
    return;
  }
  BulkFlow f{p, c, s, pattern};
  // Warm up outside the timed loop: slow start over, buffers and the pool's
  // free lists at their steady-state size.
  while (f.received < (64u << 20) && !f.corrupt) f.round();
  const uint64_t warm_received = f.received;
  const uint64_t warm_stalls = f.stalls;
  const uint64_t retrans_before = p.a.stats().tcp.RetransSegs;

  for (auto _ : state) {
    benchmark::DoNotOptimize(f.round());
  }

  const uint64_t bytes = f.received - warm_received;
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["Gbit/s"] =
      benchmark::Counter(static_cast<double>(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["stalls"] = static_cast<double>(f.stalls - warm_stalls);
  state.counters["retrans"] = static_cast<double>(p.a.stats().tcp.RetransSegs - retrans_before);
  // After timing: everything sent must arrive, in order.
  for (int i = 0; i < 10000 && f.received < f.sent && !f.corrupt; ++i) f.round(/*send=*/false);
  if (f.corrupt) {
    state.SkipWithError("received data does not match what was sent");
  } else if (f.received != f.sent) {
    static std::string error;
    error = "data was lost: sent " + std::to_string(f.sent) + ", received " +
            std::to_string(f.received);
    state.SkipWithError(error.c_str());
  }
}
BENCHMARK(BM_TcpBulk)->Arg(1024)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_TcpConnectClose(benchmark::State& state) {
  // The client closes first and keeps TIME-WAIT for time_wait; each
  // connection moves the virtual clock by 1 ms, so about 1,000 TIME-WAIT
  // connections exist at a time (with the default 60 s the 28,232
  // ephemeral ports would run out after 28,232 iterations).
  StackConfig ca = config_for(1), cb = config_for(2);
  ca.tcp.time_wait = 1s;
  TcpPair p(ca, cb);
  uint64_t opened = 0;
  for (auto _ : state) {
    SocketId c = *p.a.tcp_open(), s{};
    if (!p.open(c, &s)) {
      state.SkipWithError("handshake failed");
      break;
    }
    (void)p.a.close(c, p.sim.now());
    p.sim.settle();
    (void)p.b.close(s, p.sim.now());
    p.sim.run_for(1ms);
    ++opened;
  }
  state.SetItemsProcessed(static_cast<int64_t>(opened));
  state.counters["time_wait"] = static_cast<double>(p.a.tcp_connection_count());
  // The server side must be gone (it closed second: LAST-ACK, then CLOSED).
  if (p.b.tcp_connection_count() != 0) state.SkipWithError("server connections leaked");
}
BENCHMARK(BM_TcpConnectClose);

// Heap bytes (glibc mallinfo2: bytes in use) held per idle established
// connection, counted at both ends (one connection = a client socket and
// the accepted server socket) and per end. The pool's free lists are
// warmed first so frames in flight during the handshakes are not counted.
void BM_TcpIdleMemory(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  double per_conn = 0, per_end = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto p = std::make_unique<TcpPair>();
    std::vector<SocketId> clients, servers;
    clients.reserve(n);
    servers.reserve(n);
    {  // Warm-up: one connection, so ARP and the pool's free lists exist.
      SocketId c = *p->a.tcp_open(), s{};
      (void)p->open(c, &s);
      (void)p->a.set_option(c, SockOpt::kLinger, 0, p->sim.now());
      (void)p->a.close(c, p->sim.now());
      (void)p->b.close(s, p->sim.now());
      p->sim.settle();
    }
    const size_t before = mallinfo2().uordblks;
    state.ResumeTiming();
    for (size_t i = 0; i < n; ++i) {
      SocketId c = *p->a.tcp_open(), s{};
      if (!p->open(c, &s)) {
        state.SkipWithError("handshake failed");
        return;
      }
      clients.push_back(c);
      servers.push_back(s);
    }
    p->sim.run_for(1s);  // delayed ACKs and the like have run: idle
    state.PauseTiming();
    const size_t after = mallinfo2().uordblks;
    if (p->a.tcp_connection_count() != n || p->b.tcp_connection_count() != n) {
      state.SkipWithError("not every connection is established");
      return;
    }
    // (The benchmark's own vectors were reserved before `before`.)
    const double bytes = static_cast<double>(after) - static_cast<double>(before);
    per_conn = bytes / static_cast<double>(n);
    per_end = per_conn / 2;
    p.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_conn"] = per_conn;
  state.counters["bytes_per_end"] = per_end;
  // The control block alone (the rest: the socket, the congestion control
  // object, hash table and timer heap entries, vectors' capacity).
  state.counters["sizeof_TcpConnection"] = static_cast<double>(sizeof(tcp::TcpConnection));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_TcpIdleMemory)->Arg(1000)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
