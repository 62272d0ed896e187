// shunt-sim-demo: two stacks on a simulated Ethernet link with loss and
// delay injected, a UDP request/response client with retries, and the
// stacks' own counters at the end. Everything runs in virtual time, so the
// output is the same on every run with the same --seed.
//
//   shunt-sim-demo [--requests N] [--loss PERCENT] [--delay-ms MS] [--seed S]
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "driver/memory_segment.h"
#include "driver/rule_fault_device.h"
#include "sim/simulation.h"
#include "stack/net/stack.h"

using namespace shunt;

namespace {

struct Options {
  int requests = 200;
  double loss = 5.0;
  int delay_ms = 2;
  uint64_t seed = 1;
};

[[noreturn]] void usage(const char* msg) {
  fmt::print(stderr,
             "shunt-sim-demo: {}\nusage: shunt-sim-demo [--requests N] [--loss PERCENT] "
             "[--delay-ms MS] [--seed S]\n",
             msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") usage("runs two simulated stacks and prints their counters");
    if (i + 1 >= argc) usage(fmt::format("{} needs a value", a).c_str());
    char* end = nullptr;
    const char* v = argv[++i];
    if (a == "--requests")
      o.requests = static_cast<int>(std::strtol(v, &end, 10));
    else if (a == "--loss")
      o.loss = std::strtod(v, &end);
    else if (a == "--delay-ms")
      o.delay_ms = static_cast<int>(std::strtol(v, &end, 10));
    else if (a == "--seed")
      o.seed = std::strtoull(v, &end, 10);
    else
      usage(fmt::format("unknown option {}", a).c_str());
    if (end == v || *end != '\0') usage(fmt::format("{}: '{}' is not a number", a, v).c_str());
  }
  if (o.requests < 1 || o.loss < 0 || o.loss > 100 || o.delay_ms < 0) usage("value out of range");
  return o;
}

void print_stats(std::string_view who, const Stats& s) {
  fmt::print("\n{} counters (netstat -s style, nonzero only):\n", who);
  std::string group;
  s.for_each([&](std::string_view g, std::string_view name, uint64_t v) {
    if (v == 0) return;
    if (g != group) {
      group = g;
      fmt::print("  {}:\n", g);
    }
    fmt::print("    {:<22} {}\n", name, v);
  });
}

// The echo server's application runs inside its node, so the harness sees
// the replies it sends like any other frame.
struct EchoServer {
  Stack& stack;
  SocketId sock;
  std::vector<uint8_t> buf = std::vector<uint8_t>(65536);
  void serve(Instant now) {
    while (auto r = stack.recv_from(sock, buf, 0, now)) {
      (void)stack.send_to(sock, {buf.data(), r->copied}, r->from, now);
    }
  }
  void receive(PacketBuffer frame, Instant now) {
    stack.receive(std::move(frame), now);
    serve(now);
  }
  void poll(Instant now) { stack.poll(now); }
  Instant next_deadline() const { return stack.next_deadline(); }
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  BufferPool pool;
  MemoryPair link;
  // Loss, then delay, in each direction (docs/faults.md).
  std::string spec;
  for (const char* dir : {"out", "in"}) {
    if (opt.loss > 0) spec += fmt::format("{} drop {}%; ", dir, opt.loss);
    if (opt.delay_ms > 0) spec += fmt::format("{} delay={}ms; ", dir, opt.delay_ms);
  }
  auto rules = parse_fault_rules(spec);
  if (!rules.ok()) {
    fmt::print(stderr, "shunt-sim-demo: {}\n", rules.error());
    return 2;
  }
  RuleFaultDevice faults(link.a, std::move(*rules), opt.seed);
  StackConfig client_cfg, server_cfg;
  client_cfg.mac = MacAddress({0x02, 0, 0xc6, 0x12, 0, 2});
  client_cfg.address = Ipv4Cidr(Ipv4Address(198, 18, 0, 2), 24);
  client_cfg.seed = opt.seed;
  server_cfg.mac = MacAddress({0x02, 0, 0xc6, 0x12, 0, 1});
  server_cfg.address = Ipv4Cidr(Ipv4Address(198, 18, 0, 1), 24);
  server_cfg.seed = opt.seed + 1;
  Stack client(faults, pool, client_cfg), server(link.b, pool, server_cfg);
  SocketId srv = *server.udp_open();
  (void)server.bind(srv, {Ipv4Address::any(), 7});
  EchoServer echo{server, srv};
  Simulation sim;
  sim.add_host(client, faults);
  sim.add_host(echo, link.b);
  SocketId cli = *client.udp_open();
  (void)client.connect(cli, {server_cfg.address->address(), 7}, sim.now());

  fmt::print(
      "shunt-sim-demo: client 198.18.0.2 -> UDP echo server 198.18.0.1:7, {} requests,\n"
      "{}% loss and {} ms delay each way on the client's link (seed {})\n\n",
      opt.requests, opt.loss, opt.delay_ms, opt.seed);

  std::vector<uint8_t> buf(2048);
  std::map<int, int> attempts_hist;
  Duration total_rtt{};
  int answered = 0;
  const auto timeout = std::chrono::milliseconds(4 * opt.delay_ms + 50);
  for (int i = 0; i < opt.requests; ++i) {
    std::string req = fmt::format("request {}", i);
    Bytes req_bytes(reinterpret_cast<const uint8_t*>(req.data()), req.size());
    bool ok = false;
    int attempt = 0;
    while (!ok && attempt < 10) {
      ++attempt;
      Instant sent = sim.now();
      (void)client.send_to(cli, req_bytes, std::nullopt, sim.now());
      ok = sim.run_until(
          [&] {
            auto r = client.recv_from(cli, buf, 0, sim.now());
            return r && std::string_view(reinterpret_cast<char*>(buf.data()), r->copied) == req;
          },
          timeout);
      if (ok) total_rtt += sim.now() - sent;
    }
    attempts_hist[attempt] += 1;
    answered += ok;
  }
  fmt::print(
      "answered {}/{} requests in {:.3f} s of virtual time, mean RTT {:.2f} ms\n", answered,
      opt.requests, std::chrono::duration<double>(sim.now().time_since_epoch()).count(),
      answered ? std::chrono::duration<double, std::milli>(total_rtt).count() / answered : 0.0);
  for (auto [tries, n] : attempts_hist)
    fmt::print("  {:>4} requests needed {} send(s)\n", n, tries);
  fmt::print("\non the client's link (docs/faults.md):\n{}", faults.stats_text());
  print_stats("client", client.stats());
  print_stats("server", server.stats());
  return answered == opt.requests ? 0 : 1;
}
