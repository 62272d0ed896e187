// shunt-bench-devices: TCP throughput of the stack against the Linux kernel
// over TAP and over AF_PACKET/veth, next to kernel-to-kernel TCP over the
// same veth, measured in one run (docs/performance.md, "Kernel A/B").
// scripts/bench-devices builds Release and runs it.
//
//   shunt-bench-devices [--mib N] [--runs R] [--markdown]
//
// Topology (this process unshares a private network namespace S; the peer
// is a named namespace shunt-bench-PID, removed at the end):
//
//   S: stack 198.18.0.2 on AF_PACKET bv0  <=veth=>  P: bv1 198.18.0.1/24
//   S: stack 198.18.1.2 on TAP bt0 (its netdev moved to P, 198.18.1.1/24)
//   S: kernel 198.18.0.3 on bv0 (only while measuring kernel <-> kernel)
//
// Every measurement is one TCP connection moving N MiB in one direction
// (default 512), repeated R times (default 3); the table gives the median
// and the range, in Mbit/s of payload, measured at the receiver from the
// first to the last byte, and the CPU time of the thread that runs the
// stack as a share of the wall time (the stack's single thread does the
// device I/O and the protocol work; the kernel's work is on other cores).
// The stack runs with its default settings (1 MiB socket buffers, CUBIC).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "driver/link.h"
#include "driver/netns.h"
#include "driver/packet_device.h"
#include "driver/stack_runner.h"
#include "driver/tap_device.h"
#include "stack/net/stack.h"

using namespace shunt;

namespace {

const Ipv4Address kVethPeer(198, 18, 0, 1);
const Ipv4Address kVethStack(198, 18, 0, 2);
const Ipv4Address kVethKernel(198, 18, 0, 3);
const Ipv4Address kTapPeer(198, 18, 1, 1);
const Ipv4Address kTapStack(198, 18, 1, 2);
constexpr uint16_t kPort = 5201;
constexpr size_t kChunk = size_t{256} * 1024;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "shunt-bench-devices: %s\n", msg.c_str());
  std::exit(1);
}

double thread_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

sockaddr_in sockaddr_of(Ipv4Address a, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(a.value());
  return sa;
}

bool enter_netns(const std::string& name) {
  auto fd = open_netns(name);
  if (!fd.ok()) return false;
  const bool ok = ::setns(*fd, CLONE_NEWNET) == 0;
  ::close(*fd);
  return ok;
}

// Removes shunt-bench-PID namespaces whose process is gone.
void remove_stale_namespaces() {
  for (const std::string& n : list_netns()) {
    constexpr std::string_view kPrefix = "shunt-bench-";
    if (n.rfind(kPrefix, 0) != 0) continue;
    const long pid = std::strtol(n.c_str() + kPrefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      (void)delete_netns(n);
    }
  }
}

// One kernel TCP endpoint on its own thread, in namespace `netns` ("" = this
// one): a source sends `bytes` then closes, a sink receives until EOF and
// times the transfer from the first byte to the last.
class KernelEnd {
 public:
  enum class Role : uint8_t { kSource, kSink };

  // Listens on `port`; returns once listening.
  static std::unique_ptr<KernelEnd> listen(const std::string& netns, Role role, uint16_t port,
                                           size_t bytes) {
    auto e = std::unique_ptr<KernelEnd>(new KernelEnd(role, bytes));
    std::promise<void> ready;
    auto f = ready.get_future();
    e->thread_ = std::thread([e = e.get(), netns, port, &ready] {
      if (!netns.empty() && !enter_netns(netns)) die("cannot enter " + netns);
      int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in sa = sockaddr_of(Ipv4Address::any(), port);
      if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 1) != 0) {
        die(std::string("kernel listen: ") + std::strerror(errno));
      }
      ready.set_value();
      int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      ::close(l);
      e->work(c);
    });
    f.wait();
    return e;
  }
  static std::unique_ptr<KernelEnd> connect(const std::string& netns, Role role, Ipv4Address to,
                                            uint16_t port, size_t bytes) {
    auto e = std::unique_ptr<KernelEnd>(new KernelEnd(role, bytes));
    e->thread_ = std::thread([e = e.get(), netns, to, port] {
      if (!netns.empty() && !enter_netns(netns)) die("cannot enter " + netns);
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa = sockaddr_of(to, port);
      if (::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        die(std::string("kernel connect: ") + std::strerror(errno));
      }
      e->work(c);
    });
    return e;
  }
  ~KernelEnd() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_.load(); }
  size_t moved() const { return moved_; }
  Duration elapsed() const { return last_ - first_; }
  // Segments the kernel retransmitted on this connection (tcp_info).
  uint32_t retransmitted() const { return retrans_; }

 private:
  KernelEnd(Role role, size_t bytes) : role_(role), bytes_(bytes) {}

  void work(int c) {
    std::vector<uint8_t> buf(kChunk, 0x5a);
    if (c < 0) die(std::string("kernel accept: ") + std::strerror(errno));
    if (role_ == Role::kSource) {
      while (moved_ < bytes_) {
        ssize_t n = ::send(c, buf.data(), std::min(buf.size(), bytes_ - moved_), MSG_NOSIGNAL);
        if (n <= 0) die(std::string("kernel send: ") + std::strerror(errno));
        moved_ += static_cast<size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      while (::recv(c, buf.data(), buf.size(), 0) > 0) {
      }
    } else {
      while (true) {
        ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (moved_ == 0) first_ = monotonic_now();
        moved_ += static_cast<size_t>(n);
        last_ = monotonic_now();
      }
    }
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) retrans_ = ti.tcpi_total_retrans;
    ::close(c);
    done_ = true;
  }

  Role role_;
  size_t bytes_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  size_t moved_ = 0;
  Instant first_{};
  Instant last_{};
  uint32_t retrans_ = 0;
};

struct Sample {
  double mbps = 0;
  double cpu = 0;        // stack thread CPU / wall, 0 for kernel-only runs
  uint64_t retrans = 0;  // segments the sender retransmitted
};

// A stack on one device, with its runner.
struct StackSide {
  StackSide(std::unique_ptr<NetDevice> d, BufferPool& pool, MacAddress mac, Ipv4Address addr)
      : dev(std::move(d)) {
    StackConfig cfg;
    cfg.mac = mac;
    cfg.address = Ipv4Cidr(addr, 24);
    cfg.seed = static_cast<uint64_t>(::getpid());
    stack = std::make_unique<Stack>(*dev, pool, cfg);
    runner = std::make_unique<StackRunner>(*stack, *dev);
  }
  std::unique_ptr<NetDevice> dev;
  std::unique_ptr<Stack> stack;
  std::unique_ptr<StackRunner> runner;
};

// One transfer between the stack and the kernel peer; `stack_sends` picks
// the direction. The stack is the client.
Sample stack_transfer(StackSide& s, const std::string& peer_ns, Ipv4Address peer, bool stack_sends,
                      size_t bytes) {
  Stack& st = *s.stack;
  StackRunner& run = *s.runner;
  auto kernel = KernelEnd::listen(
      peer_ns, stack_sends ? KernelEnd::Role::kSink : KernelEnd::Role::kSource, kPort, bytes);
  SocketId c = *st.tcp_open();
  if (st.connect(c, {peer, kPort}, run.now()).error() != Error::kInProgress) die("connect");
  if (!run.run_until([&] { return (*st.readiness(c) & readiness::kWritable) != 0; }, 10s)) {
    die("the stack could not connect to the kernel peer");
  }
  if (auto e = st.take_error(c); !e || e->has_value()) die("connect failed");

  std::vector<uint8_t> buf(kChunk, 0xa5);
  size_t moved = 0;
  bool shut = false, eof = false;
  Instant first{}, last{};
  const double cpu0 = thread_cpu_seconds();
  const uint64_t retrans0 = st.stats().tcp.RetransSegs;
  const Instant t0 = run.now();
  const bool ok = run.run_until(
      [&] {
        const Instant now = run.now();
        if (stack_sends) {
          while (moved < bytes) {
            auto r = st.send_to(c, Bytes(buf).first(std::min(buf.size(), bytes - moved)),
                                std::nullopt, now);
            if (!r || *r == 0) break;
            moved += *r;
          }
          if (moved == bytes && !shut) {
            (void)st.shutdown(c, false, true, now);
            shut = true;
          }
          return kernel->done();
        }
        while (!eof) {
          auto r = st.recv_from(c, buf, 0, now);
          if (!r) break;
          if (r->copied == 0) {
            eof = true;
            (void)st.shutdown(c, false, true, now);  // the kernel waits for our FIN
            break;
          }
          if (moved == 0) first = now;
          moved += r->copied;
          last = now;
        }
        return eof && kernel->done();
      },
      600s);
  const double wall = seconds(run.now() - t0);
  const double cpu = thread_cpu_seconds() - cpu0;
  if (!ok) die("a transfer did not finish in 600 s");
  Sample out;
  const Duration took = stack_sends ? kernel->elapsed() : last - first;
  const size_t got = stack_sends ? kernel->moved() : moved;
  if (got != bytes) die("a transfer moved the wrong number of bytes");
  out.mbps = static_cast<double>(bytes) * 8 / seconds(took) / 1e6;
  out.cpu = cpu / wall;
  out.retrans = stack_sends ? st.stats().tcp.RetransSegs - retrans0 : 0;
  (void)st.close(c, run.now());
  run.run_for(20ms);
  return out;
}

// Kernel to kernel over the veth: this namespace (198.18.0.3 on bv0) and
// the peer.
Sample kernel_transfer(const std::string& peer_ns, bool from_here, size_t bytes) {
  auto sink = KernelEnd::listen(from_here ? peer_ns : "", KernelEnd::Role::kSink, kPort, bytes);
  auto source = KernelEnd::connect(from_here ? "" : peer_ns, KernelEnd::Role::kSource,
                                   from_here ? kVethPeer : kVethKernel, kPort, bytes);
  while (!sink->done()) std::this_thread::sleep_for(5ms);
  if (sink->moved() != bytes) die("a kernel transfer moved the wrong number of bytes");
  while (!source->done()) std::this_thread::sleep_for(1ms);
  return Sample{static_cast<double>(bytes) * 8 / seconds(sink->elapsed()) / 1e6, 0,
                source->retransmitted()};
}

struct Row {
  std::string path;
  std::string direction;
  std::vector<Sample> samples;
};

void print_table(const std::vector<Row>& rows, size_t mib, int runs) {
  std::printf(
      "\n| path | direction | Mbit/s (median of %d) | range | stack thread CPU | "
      "retransmitted |\n",
      runs);
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    std::vector<double> v;
    double cpu = 0;
    uint64_t retrans = 0;
    for (const Sample& s : r.samples) {
      v.push_back(s.mbps);
      cpu += s.cpu;
      retrans += s.retrans;
    }
    std::sort(v.begin(), v.end());
    const double median = v[v.size() / 2];
    std::string cpu_s = "-";
    if (cpu > 0) {
      char b[32];
      std::snprintf(b, sizeof b, "%.0f%%", 100 * cpu / static_cast<double>(r.samples.size()));
      cpu_s = b;
    }
    std::printf("| %s | %s | %.0f | %.0f-%.0f | %s | %lu |\n", r.path.c_str(), r.direction.c_str(),
                median, v.front(), v.back(), cpu_s.c_str(),
                static_cast<unsigned long>(retrans / r.samples.size()));
  }
  std::printf(
      "\n%zu MiB per transfer, one connection; Mbit/s of payload over the receiver's time from "
      "the first to the last byte; retransmitted: segments the sender retransmitted (mean per "
      "transfer).\n",
      mib);
}

void usage() {
  std::printf(
      "usage: shunt-bench-devices [--mib N] [--runs R]\n"
      "TCP throughput stack<->kernel over TAP and AF_PACKET/veth and kernel<->kernel over the\n"
      "same veth, in private network namespaces (198.18.0.0/15). Needs root.\n");
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 512;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mib" && i + 1 < argc) {
      mib = std::strtoul(argv[++i], nullptr, 10);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = static_cast<int>(std::max(1L, std::strtol(argv[++i], nullptr, 10)));
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (mib == 0) die("--mib must be at least 1");
  const size_t bytes = mib << 20;
  ::signal(SIGPIPE, SIG_IGN);

  // Our own private namespace: everything made here vanishes with the
  // process. The peer is a named namespace, removed below.
  if (::unshare(CLONE_NEWNET) != 0) {
    die(std::string("cannot create a network namespace: ") + std::strerror(errno) +
        (errno == EPERM ? ": run as root" : ""));
  }
  remove_stale_namespaces();
  const std::string peer_ns = "shunt-bench-" + std::to_string(::getpid());
  if (auto r = create_netns(peer_ns); !r.ok()) die(r.error());
  struct Cleanup {
    std::string ns;
    ~Cleanup() { (void)delete_netns(ns); }
  } cleanup{peer_ns};
  // Interrupted (Ctrl-C, a timeout): remove the namespace too. umount2 and
  // unlink are async-signal-safe system calls.
  static std::string mount_point;
  mount_point = std::string(kNetnsRunDir) + "/" + peer_ns;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    ::signal(sig, [](int) {
      ::umount2(mount_point.c_str(), MNT_DETACH);
      ::unlink(mount_point.c_str());
      ::_exit(130);
    });
  }

  auto nl = Netlink::open();
  if (!nl.ok()) die(nl.error());
  auto peer = Netlink::open(peer_ns);
  if (!peer.ok()) die(peer.error());
  auto check = [](const LinkResult& r) {
    if (!r.ok()) die(r.error());
  };
  BufferPool pool;

  // veth + AF_PACKET
  check(nl->create_veth("bv0", "bv1"));
  check(nl->move_to_netns("bv1", peer_ns));
  check(peer->add_address("bv1", Ipv4Cidr(kVethPeer, 24)));
  check(peer->set_up("bv1", true));
  check(peer->set_up("lo", true));
  check(nl->set_up("bv0", true));
  check(nl->set_up("lo", true));
  auto pkt = PacketDevice::open({.interface = "bv0"}, pool);
  if (!pkt.ok()) die(pkt.error());
  const MacAddress pkt_mac = (*pkt)->mac();
  StackSide packet(std::move(*pkt), pool, pkt_mac, kVethStack);

  // TAP, its netdev in the peer namespace
  auto tap = TapDevice::open({.name = "bt0", .mode = TapOptions::Mode::kCreate}, pool);
  if (!tap.ok()) die(tap.error());
  check(nl->move_to_netns("bt0", peer_ns));
  check(peer->add_address("bt0", Ipv4Cidr(kTapPeer, 24)));
  check(peer->set_up("bt0", true));
  StackSide tapside(std::move(*tap), pool, MacAddress({0x02, 0, 0, 0, 0x01, 0x02}), kTapStack);

  // Let the links come up (the veth's operational state follows IFF_UP
  // through the link watch).
  packet.runner->run_until(
      [&] {
        auto a = nl->link("bv0");
        auto b = peer->link("bv1");
        return a.ok() && b.ok() && a->oper_up && b->oper_up;
      },
      5s);

  std::vector<Row> rows = {
      {"TAP", "stack -> kernel", {}},
      {"TAP", "kernel -> stack", {}},
      {"AF_PACKET/veth", "stack -> kernel", {}},
      {"AF_PACKET/veth", "kernel -> stack", {}},
      {"kernel/veth", "kernel -> kernel", {}},
      {"kernel/veth", "kernel <- kernel", {}},
  };
  for (int run = 0; run < runs; ++run) {
    std::fprintf(stderr, "run %d/%d ...\n", run + 1, runs);
    rows[0].samples.push_back(stack_transfer(tapside, peer_ns, kTapPeer, true, bytes));
    rows[1].samples.push_back(stack_transfer(tapside, peer_ns, kTapPeer, false, bytes));
    rows[2].samples.push_back(stack_transfer(packet, peer_ns, kVethPeer, true, bytes));
    rows[3].samples.push_back(stack_transfer(packet, peer_ns, kVethPeer, false, bytes));
    // Kernel to kernel over the same veth: an address on our end only for
    // this part, so that it never owns anything while the stack uses bv0.
    check(nl->add_address("bv0", Ipv4Cidr(kVethKernel, 24)));
    rows[4].samples.push_back(kernel_transfer(peer_ns, true, bytes));
    rows[5].samples.push_back(kernel_transfer(peer_ns, false, bytes));
    check(nl->remove_address("bv0", Ipv4Cidr(kVethKernel, 24)));
  }
  print_table(rows, mib, runs);
  return 0;
}
