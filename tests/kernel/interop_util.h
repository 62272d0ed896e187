// Helpers for the kernel-interop tests: a Stack embedded in the test binary
// talks to the Linux kernel in a peer network namespace.
//
// Topology (one per test, built by InteropTest::build; everything inside
// namespaces the test creates, removed even when the test fails):
//
//   test namespace (KernelTest's private one)      peer namespace shk<pid>-<n>
//   +-------------------------------------+       +---------------------------+
//   | Stack 198.18.0.2/24                 |       | kernel 198.18.0.1/24      |
//   |  kTap:    TapDevice fd  ------------------->  TAP netdev shk<pid>t      |
//   |  kPacket: PacketDevice on shk<pid>a <=veth=> shk<pid>b                  |
//   +-------------------------------------+       +---------------------------+
//
// - kTap: the TAP is created in the test namespace (so the test holds its
//   fd), then its netdev is moved into the peer namespace, where the kernel
//   owns 198.18.0.1. Frames the stack writes arrive on that netdev; what the
//   kernel sends out of it is read from the fd.
// - kPacket: a veth pair; the stack's end (no address: the kernel must not
//   own the stack's IP on the stack's interface, docs/design.md section 8) is
//   read with AF_PACKET, the peer end holds 198.18.0.1.
// The kernel side is used with plain sockets from threads that setns(2)
// into the peer namespace, and with `ip netns exec` for ping and nft.
#pragma once

#include <fcntl.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "driver/capture_config.h"
#include "driver/link.h"
#include "driver/packet_device.h"
#include "driver/stack_runner.h"
#include "driver/tap_device.h"
#include "stack/net/stack.h"
#include "tests/kernel/kernel_util.h"
#include "tests/support/sha256.h"

extern char** environ;

namespace shunt::ktest {

inline const Ipv4Address kPeerAddr(198, 18, 0, 1);
inline const Ipv4Address kStackAddr(198, 18, 0, 2);
inline const MacAddress kStackTapMac({0x02, 0x00, 0x00, 0x00, 0x00, 0x02});

enum class LinkKind : uint8_t { kTap, kPacket };

inline std::string link_name(const ::testing::TestParamInfo<LinkKind>& info) {
  return info.param == LinkKind::kTap ? "Tap" : "Packet";
}
// For gtest's (and ctest's) test names: "TAP", not "1-byte object <00>".
inline void PrintTo(LinkKind k, std::ostream* os) {
  *os << (k == LinkKind::kTap ? "TAP" : "AF_PACKET");
}

struct TopologyOptions {
  // The stack's MTU (StackConfig::mtu; for kPacket also its veth end's).
  uint32_t stack_mtu = 1500;
  // The kernel peer interface's MTU.
  uint32_t peer_mtu = 1500;
  // Capture every frame of the stack's device to this pcap file ("" = none,
  // or SHUNT_PCAP when set).
  std::string pcap{};
  // Put the kernel peer's address on a bridge in the peer namespace whose
  // only port is the peer interface. Loss rules need it: see add_peer_loss.
  bool peer_bridge = false;
};

// Writes `value` to a /proc/sys file of the calling thread's namespace.
inline bool write_sysctl(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  f << value;
  return static_cast<bool>(f);
}

// Moves the calling thread into the named network namespace for good.
inline bool enter_netns(const std::string& name) {
  int fd = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

inline sockaddr_in to_sockaddr(Ipv4Address a, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(a.value());
  return sa;
}

// A child process with its stdout and stderr collected; killed (by its pid)
// if it is still running when this object goes away.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    out_fd_ = p[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  // Collects output; true once the child has exited (and all output is read).
  bool exited() {
    read_output();
    if (!exited_ && pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_) {
      exited_ = true;
      read_output();
    }
    return exited_ || pid_ <= 0;
  }
  int exit_code() const { return exited_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }
  const std::string& output() const { return output_; }

 private:
  void read_output() {
    char buf[4096];
    ssize_t n;
    while (out_fd_ >= 0 && (n = ::read(out_fd_, buf, sizeof buf)) > 0) output_.append(buf, n);
  }
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::string output_;
};

// ---- TCP: the kernel side ---------------------------------------------------

// One kernel TCP connection in the peer namespace that sends `bytes` of a
// PatternStream, then shuts down its write side, while receiving until EOF;
// both hashed. listen() accepts one connection; connect() makes one.
// Threads: one that sets up and receives, one that sends. Everything is
// torn down (shutdown(2) wakes blocked calls) when the object goes away.
class KernelTcpPeer {
 public:
  static std::unique_ptr<KernelTcpPeer> listen(const std::string& netns, uint16_t port,
                                               size_t bytes, uint64_t seed) {
    auto p = std::unique_ptr<KernelTcpPeer>(new KernelTcpPeer(bytes, seed));
    std::promise<void> ready;
    auto listening = ready.get_future();
    p->main_ =
        std::thread([p = p.get(), netns, port, &ready] { p->run_listen(netns, port, ready); });
    listening.wait();
    return p;
  }
  static std::unique_ptr<KernelTcpPeer> connect(const std::string& netns, Ipv4Address addr,
                                                uint16_t port, size_t bytes, uint64_t seed) {
    auto p = std::unique_ptr<KernelTcpPeer>(new KernelTcpPeer(bytes, seed));
    p->main_ = std::thread([p = p.get(), netns, addr, port] { p->run_connect(netns, addr, port); });
    return p;
  }
  ~KernelTcpPeer() {
    stop();
    if (main_.joinable()) main_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (fd_ >= 0) ::close(fd_);
  }

  // Wakes every blocked call; the threads then finish.
  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  bool done() const { return done_.load(); }
  // Only valid once done().
  const std::string& error() const { return error_; }
  size_t sent() const { return sent_.load(); }
  size_t received() const { return received_.load(); }
  const std::string& sent_hash() const { return sent_hash_; }
  const std::string& recv_hash() const { return recv_hash_; }
  // TCP_MAXSEG of the connection, and its tcp_info after the transfer.
  int mss() const { return mss_; }
  uint32_t total_retrans() const { return total_retrans_; }

 private:
  KernelTcpPeer(size_t bytes, uint64_t seed) : bytes_(bytes), gen_(seed) {}

  void fail(const std::string& what) {
    if (error_.empty()) error_ = what + ": " + std::strerror(errno);
  }

  void run_listen(const std::string& netns, uint16_t port, std::promise<void>& ready) {
    if (!enter_netns(netns)) {
      fail("setns");
      ready.set_value();
      done_ = true;
      return;
    }
    int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa = to_sockaddr(Ipv4Address::any(), port);
    if (::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l, 4) != 0) {
      fail("bind/listen");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      listen_fd_ = l;
    }
    ready.set_value();
    if (error_.empty()) {
      int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        fail("accept");
      } else {
        transfer(c);
      }
    }
    done_ = true;
  }

  void run_connect(const std::string& netns, Ipv4Address addr, uint16_t port) {
    if (!enter_netns(netns)) {
      fail("setns");
      done_ = true;
      return;
    }
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    {
      std::lock_guard<std::mutex> lock(mu_);
      fd_ = c;
      if (stopped_) ::shutdown(c, SHUT_RDWR);
    }
    sockaddr_in sa = to_sockaddr(addr, port);
    if (::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      fail("connect");
    } else {
      transfer(c);
    }
    done_ = true;
  }

  void transfer(int c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fd_ != c) fd_ = c;
      if (stopped_) ::shutdown(c, SHUT_RDWR);
    }
    // A safety net: a stalled transfer fails instead of hanging forever.
    timeval tv{120, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    socklen_t len = sizeof mss_;
    ::getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss_, &len);
    std::string send_error;
    std::thread sender([&] {
      std::vector<uint8_t> chunk(256 * 1024);
      testing::Sha256 h;
      size_t sent = 0;
      while (sent < bytes_) {
        const size_t n = std::min(chunk.size(), bytes_ - sent);
        gen_.fill(std::span(chunk).first(n));
        h.update(std::span(chunk).first(n));
        size_t off = 0;
        while (off < n) {
          ssize_t w = ::send(c, chunk.data() + off, n - off, MSG_NOSIGNAL);
          if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            send_error = std::string("send: ") + std::strerror(errno);
            sent_hash_ = h.hex();
            return;
          }
          off += static_cast<size_t>(w);
          sent_ += static_cast<size_t>(w);
        }
        sent += n;
      }
      ::shutdown(c, SHUT_WR);
      sent_hash_ = h.hex();
    });
    std::vector<uint8_t> buf(256 * 1024);
    testing::Sha256 h;
    while (true) {
      ssize_t r = ::recv(c, buf.data(), buf.size(), 0);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EINTR) continue;
        fail("recv");
        break;
      }
      h.update(std::span(buf).first(static_cast<size_t>(r)));
      received_ += static_cast<size_t>(r);
    }
    recv_hash_ = h.hex();
    sender.join();
    if (error_.empty() && !send_error.empty()) error_ = send_error;
    tcp_info ti{};
    len = sizeof ti;
    if (::getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
      total_retrans_ = ti.tcpi_total_retrans;
  }

  const size_t bytes_;
  testing::PatternStream gen_;
  std::thread main_;
  std::mutex mu_;
  bool stopped_ = false;
  int listen_fd_ = -1;
  int fd_ = -1;
  std::atomic<bool> done_{false};
  std::atomic<size_t> sent_{0};
  std::atomic<size_t> received_{0};
  std::string error_;
  std::string sent_hash_;
  std::string recv_hash_;
  int mss_ = 0;
  uint32_t total_retrans_ = 0;
};

// ---- TCP: the stack side ----------------------------------------------------

// The same job on a stack socket, one step at a time from the runner's
// predicate: send `bytes` of a PatternStream then shut down the write side,
// receive until EOF; both hashed.
class StackTcpFlow {
 public:
  StackTcpFlow(Stack& stack, SocketId s, size_t bytes, uint64_t seed)
      : stack_(stack), s_(s), bytes_(bytes), gen_(seed), buf_(256 * 1024) {}

  // Sends and receives what it can now; true when both directions are done.
  bool step(Instant now) {
    while (sent_ < bytes_) {
      if (pending_.empty()) {
        pending_.resize(std::min<size_t>(64 * 1024, bytes_ - sent_ - pending_.size()));
        gen_.fill(pending_);
        sent_hash_.update(pending_);
      }
      auto r = stack_.send_to(s_, Bytes(pending_).subspan(pending_off_), std::nullopt, now);
      if (!r) {
        if (r.error() != Error::kAgain) set_error("send", r.error());
        break;
      }
      pending_off_ += *r;
      sent_ += *r;
      if (pending_off_ == pending_.size()) {
        pending_.clear();
        pending_off_ = 0;
      }
      if (*r == 0) break;
    }
    if (sent_ == bytes_ && !shut_) {
      auto r = stack_.shutdown(s_, false, true, now);
      if (!r) set_error("shutdown", r.error());
      shut_ = true;
    }
    while (!eof_) {
      auto r = stack_.recv_from(s_, buf_, 0, now);
      if (!r) {
        if (r.error() != Error::kAgain) {
          set_error("recv", r.error());
          eof_ = true;
        }
        break;
      }
      if (r->copied == 0) {
        eof_ = true;
        break;
      }
      recv_hash_.update(Bytes(buf_).first(r->copied));
      received_ += r->copied;
    }
    return (shut_ && eof_) || !error_.empty();
  }

  size_t sent() const { return sent_; }
  size_t received() const { return received_; }
  const std::string& error() const { return error_; }
  std::string sent_hash() { return sent_hash_.hex(); }
  std::string recv_hash() { return recv_hash_.hex(); }

 private:
  void set_error(const char* what, Error e) {
    if (error_.empty()) error_ = std::string(what) + ": " + std::string(to_string(e));
  }
  Stack& stack_;
  SocketId s_;
  size_t bytes_;
  testing::PatternStream gen_;
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> pending_;
  size_t pending_off_ = 0;
  size_t sent_ = 0;
  size_t received_ = 0;
  bool shut_ = false;
  bool eof_ = false;
  testing::Sha256 sent_hash_;
  testing::Sha256 recv_hash_;
  std::string error_;
};

// ---- the topology -----------------------------------------------------------

// The peer namespace, the link, the stack and its runner. Use from a
// KernelTest (which provides the private test namespace):
//   ASSERT_NO_FATAL_FAILURE(topo_.build(LinkKind::kTap));
class Topology {
 public:
  Topology() = default;
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  ~Topology() { reset(); }

  // Builds the topology and the stack (see the top of this file).
  void build(LinkKind kind, const TopologyOptions& o = {}) {
    kind_ = kind;
    peer_ns_ = std::make_unique<NamedNetns>();
    ASSERT_TRUE(peer_ns_->ok());
    // IPv6 off in both namespaces: no router solicitations or MLD reports
    // in the captures, nothing but the test's own IPv4.
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    in_netns(peer_ns_->name(), [] {
      write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
      return write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    });
    auto nl = Netlink::open();
    ASSERT_TRUE(nl.ok()) << nl.error();
    const std::string prefix = unique_prefix();
    MacAddress mac;
    std::unique_ptr<NetDevice> dev;
    if (kind == LinkKind::kTap) {
      peer_if_ = prefix + "t";
      auto tap = TapDevice::open({.name = peer_if_, .mode = TapOptions::Mode::kCreate}, pool_);
      ASSERT_TRUE(tap.ok()) << tap.error();
      dev = std::move(*tap);
      auto r = nl->move_to_netns(peer_if_, peer_ns_->name());
      ASSERT_TRUE(r.ok()) << r.error();
      mac = kStackTapMac;
    } else {
      stack_if_ = prefix + "a";
      peer_if_ = prefix + "b";
      auto r = nl->create_veth(stack_if_, peer_if_);
      ASSERT_TRUE(r.ok()) << r.error();
      r = nl->move_to_netns(peer_if_, peer_ns_->name());
      ASSERT_TRUE(r.ok()) << r.error();
      r = nl->set_mtu(stack_if_, o.stack_mtu);
      ASSERT_TRUE(r.ok()) << r.error();
      ASSERT_TRUE(nl->set_up(stack_if_, true).ok());
      auto pkt = PacketDevice::open({.interface = stack_if_}, pool_);
      ASSERT_TRUE(pkt.ok()) << pkt.error();
      mac = (*pkt)->mac();
      dev = std::move(*pkt);
    }
    raw_device_ = dev.get();
    auto peer = Netlink::open(peer_ns_->name());
    ASSERT_TRUE(peer.ok()) << peer.error();
    auto r = peer->set_mtu(peer_if_, o.peer_mtu);
    ASSERT_TRUE(r.ok()) << r.error();
    peer_addr_if_ = peer_if_;
    if (o.peer_bridge) {
      peer_addr_if_ = "br0";
      r = peer->create_bridge(peer_addr_if_);
      ASSERT_TRUE(r.ok()) << r.error();
      r = peer->set_master(peer_if_, peer_addr_if_);
      ASSERT_TRUE(r.ok()) << r.error();
      ASSERT_TRUE(peer->set_up(peer_addr_if_, true).ok());
    }
    r = peer->add_address(peer_addr_if_, Ipv4Cidr(kPeerAddr, 24));
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_TRUE(peer->set_up(peer_if_, true).ok());
    ASSERT_TRUE(peer->set_up("lo", true).ok());
    peer_mac_ = peer->link(peer_addr_if_)->mac;

    // SHUNT_PCAP=FILE captures any of these tests, for debugging.
    auto captured = o.pcap.empty() ? with_capture_from_env(std::move(dev))
                                   : with_capture(std::move(dev), o.pcap);
    ASSERT_TRUE(captured.ok()) << captured.error();
    device_ = std::move(*captured);
    StackConfig cfg;
    cfg.mac = mac;
    cfg.address = Ipv4Cidr(kStackAddr, 24);
    cfg.mtu = o.stack_mtu;
    cfg.seed = 42;
    stack_ = std::make_unique<Stack>(*device_, pool_, cfg);
    runner_ = std::make_unique<StackRunner>(*stack_, *device_);
    // Wait until the peer's link passes traffic: the link watch sets a
    // veth's operational state (and attaches its qdisc) a few ms after
    // IFF_UP and carrier. A TAP's operational state stays "unknown"; it
    // passes traffic once up with carrier (a reader attached).
    ASSERT_TRUE(runner_->run_until(
        [&] {
          auto l = peer->link(peer_if_);
          auto a = peer->link(peer_addr_if_);
          // ... and the stack's own veth end, or our first frames meet
          // its noop qdisc.
          auto ours = stack_if_.empty() ? l : nl->link(stack_if_);
          return l.ok() && (l->oper_up || (l->kind == "tun" && l->up && l->carrier)) && a.ok() &&
                 (a->oper_up || a->kind == "tun") && ours.ok() &&
                 (ours->oper_up || ours->kind == "tun");
        },
        5s))
        << "the peer interface never came up";
  }

  // The stack and its device go before the namespace.
  void reset() {
    runner_.reset();
    stack_.reset();
    device_.reset();
    raw_device_ = nullptr;
    peer_ns_.reset();
  }

  LinkKind kind() const { return kind_; }
  Stack& stack() { return *stack_; }
  StackRunner& run() { return *runner_; }
  Instant now() const { return runner_->now(); }
  NetDevice& device() { return *device_; }
  // The TAP or AF_PACKET device under any capture.
  NetDevice& raw_device() { return *raw_device_; }
  const std::string& peer_ns() const { return peer_ns_->name(); }
  const std::string& peer_if() const { return peer_if_; }
  // The stack's veth end (kPacket only).
  const std::string& stack_if() const { return stack_if_; }
  MacAddress peer_mac() const { return peer_mac_; }

  // Runs `cmd` (a shell command) inside the peer namespace; returns stdout.
  std::string peer_sh(const std::string& cmd, int* status = nullptr) const {
    return sh("ip netns exec " + peer_ns() + " " + cmd, status);
  }

  // nftables rules dropping `percent`% of the frames on the peer interface,
  // in both directions (netdev ingress and egress hooks; docs/design.md section
  // 8: this kernel has no netem).
  //
  // Build the topology with peer_bridge = true: a drop at the egress hook
  // of the device a TCP socket transmits on is reported back to TCP
  // (NET_XMIT_DROP from dev_queue_xmit), which then treats the segment as
  // never sent and sends it again at once, with no retransmission and no
  // loss seen by the receiver. With the address on a bridge, the socket
  // transmits on the bridge, whose xmit always succeeds; the drop happens
  // when the bridge forwards to its port, and is a real loss on the wire.
  //
  // A GSO frame the kernel sends counts as one frame at the egress hook (it
  // is segmented later, by the TAP, or never, over veth): it is dropped or
  // passed whole, so kernel -> stack losses come in bursts of segments.
  void add_peer_loss(int percent) {
    const std::string rule =
        "counter; numgen random mod 100 < " + std::to_string(percent) + " counter drop";
    const std::string dev = "device \"" + peer_if_ + "\" priority 0; policy accept; ";
    const std::string script =
        "table netdev shunt_loss {\n"
        "  chain in { type filter hook ingress " +
        dev + rule +
        "; }\n"
        "  chain out { type filter hook egress " +
        dev + rule +
        "; }\n"
        "}\n";
    char path[] = "/tmp/shunt-nft-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, script.data(), script.size()), static_cast<ssize_t>(script.size()));
    ::close(fd);
    int status = 0;
    std::string out = peer_sh(std::string("nft -f ") + path + " 2>&1", &status);
    ::unlink(path);
    ASSERT_EQ(status, 0) << "nft failed: " << out << "\n" << script;
  }

  // The drop counters of the loss rules ("in" and "out" chains).
  std::string peer_loss_counters() const {
    return peer_sh("nft list table netdev shunt_loss 2>&1");
  }

  BufferPool& pool() { return pool_; }

  // The kernel peer's TCP recovery counters (nstat), nonzero ones.
  std::string peer_tcp_counters() const {
    std::string out = peer_sh(
        "nstat -az TcpRetransSegs TcpExtTCPLossProbes TcpExtTCPTimeouts TcpExtTCPSackRecovery "
        "TcpExtTCPFastRetrans TcpExtTCPSpuriousRTOs TcpExtTCPDSACKRecv TcpExtTCPSACKReorder "
        "TcpExtTCPLostRetransmit 2>/dev/null | awk 'NR>1 && $2 != 0 {printf \"%s=%s \", $1, $2}'");
    return out.empty() ? "none" : out;
  }

  // The stack's nonzero drop counters ("Drop.kTcpNoSocket=3 ...").
  std::string stack_drops() const {
    std::string out;
    stack_->stats().for_each([&](std::string_view g, std::string_view n, uint64_t v) {
      if (g == "Drop" && v > 0) out += std::string(n) + "=" + std::to_string(v) + " ";
    });
    return out.empty() ? "none" : out;
  }

  // Drop counters of the device and of the kernel around it, for failure
  // messages and test output.
  std::string device_report() const {
    std::string out;
    if (kind_ == LinkKind::kPacket) {
      auto* p = static_cast<const PacketDevice*>(raw_device_);
      const PacketDeviceStats& st = p->stats();
      tpacket_stats ks{};
      socklen_t len = sizeof ks;
      ::getsockopt(p->fd(), SOL_PACKET, PACKET_STATISTICS, &ks, &len);
      out = "AF_PACKET: rx " + std::to_string(st.rx_frames) + " (large " +
            std::to_string(st.rx_large) + ", csum completed " +
            std::to_string(st.rx_checksum_completed) + ", dropped " +
            std::to_string(st.rx_dropped) + ", truncated " + std::to_string(st.rx_truncated) +
            "), tx " + std::to_string(st.tx_frames) + " (dropped " + std::to_string(st.tx_dropped) +
            "); socket drops " + std::to_string(ks.tp_drops);
    } else {
      auto* t = static_cast<const TapDevice*>(raw_device_);
      const DeviceStats& st = t->stats();
      out = "TAP: rx " + std::to_string(st.rx_frames) + " tx " + std::to_string(st.tx_frames) +
            " (dropped " + std::to_string(st.tx_dropped) + ")";
    }
    std::string tx_dropped = peer_sh("cat /sys/class/net/" + peer_if_ + "/statistics/tx_dropped");
    std::string rx_dropped = peer_sh("cat /sys/class/net/" + peer_if_ + "/statistics/rx_dropped");
    while (!tx_dropped.empty() && tx_dropped.back() == '\n') tx_dropped.pop_back();
    while (!rx_dropped.empty() && rx_dropped.back() == '\n') rx_dropped.pop_back();
    return out + "; peer interface drops: tx " + tx_dropped + " rx " + rx_dropped;
  }

 private:
  LinkKind kind_ = LinkKind::kTap;
  BufferPool pool_;
  std::unique_ptr<NamedNetns> peer_ns_;
  std::string peer_if_;
  std::string peer_addr_if_;
  std::string stack_if_;
  MacAddress peer_mac_;
  std::unique_ptr<NetDevice> device_;
  NetDevice* raw_device_ = nullptr;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<StackRunner> runner_;
};

// A fixture parameterized by the link kind, with one Topology.
class InteropTest : public KernelTest, public ::testing::WithParamInterface<LinkKind> {
 protected:
  void TearDown() override {
    topo_.reset();
    KernelTest::TearDown();
  }
  void build(const TopologyOptions& o = {}) { topo_.build(GetParam(), o); }
  Stack& stack() { return topo_.stack(); }
  StackRunner& run() { return topo_.run(); }
  Instant now() const { return topo_.now(); }
  const std::string& peer_ns() const { return topo_.peer_ns(); }
  std::string peer_sh(const std::string& cmd, int* status = nullptr) const {
    return topo_.peer_sh(cmd, status);
  }

  Topology topo_;
};

}  // namespace shunt::ktest
