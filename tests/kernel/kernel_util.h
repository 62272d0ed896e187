// Helpers for the kernel-interop tests (label `kernel`). They need root.
//
// Isolation and clean-up, even when a test fails or crashes:
// - Every test runs in a fresh private network namespace (unshare(2) in
//   SetUp). The TAPs and veths it creates live there and vanish with it when
//   the test process exits, whatever happens; the host's `ip link` never
//   shows them.
// - A kernel peer that needs a name (for `ip netns exec`, `ip -n`) is a
//   NamedNetns "shk<pid>-<n>", deleted by its destructor. Names of dead
//   processes left by a crash are removed by the next run's SetUp.
// - Addresses are in 198.18.0.0/15 only, inside those namespaces.
//
// Waiting: tests wait for the kernel with poll(2) on the device fd and a
// deadline, never with a fixed sleep.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/bytes.h"
#include "stack/base/time.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/device.h"
#include "stack/wire/checksum.h"

namespace shunt::ktest {

using Frame = std::vector<uint8_t>;

inline constexpr uint16_t kEtherArp = 0x0806;
inline constexpr uint16_t kEtherIpv4 = 0x0800;
inline constexpr uint16_t kEtherTest = 0x88b5;  // IEEE 802 local experimental

inline Instant now() {
  return instant_from_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count());
}

// Runs a shell command, returns its stdout (and its exit status).
inline std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status != nullptr) *status = st;
  return out;
}

inline std::string unique_prefix() {
  return "shk" + std::to_string(::getpid());
}

// Deletes namespaces named shk<pid>-* whose process is gone (a crashed run).
inline void remove_stale_namespaces() {
  DIR* d = ::opendir("/var/run/netns");
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    int pid = 0;
    if (std::sscanf(e->d_name, "shk%d-", &pid) == 1 && pid > 0 && pid != ::getpid() &&
        ::kill(pid, 0) != 0 && errno == ESRCH) {
      stale.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  for (const auto& n : stale) std::system(("ip netns del " + n + " 2>/dev/null").c_str());
}

// A named network namespace (ip netns add), deleted on destruction.
class NamedNetns {
 public:
  NamedNetns() : name_(unique_prefix() + "-" + std::to_string(counter()++)) {
    ok_ = std::system(("ip netns add " + name_).c_str()) == 0;
  }
  ~NamedNetns() {
    if (ok_) std::system(("ip netns del " + name_ + " 2>/dev/null").c_str());
  }
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string name_;
  bool ok_ = false;
};

// Runs `fn` on this thread inside the named namespace, then comes back.
// Sockets created inside keep that namespace.
template <class Fn>
auto in_netns(const std::string& name, Fn fn) -> decltype(fn()) {
  int target = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (target < 0 || self < 0 || ::setns(target, CLONE_NEWNET) != 0) std::abort();
  auto result = fn();
  if (::setns(self, CLONE_NEWNET) != 0) std::abort();
  ::close(target);
  ::close(self);
  return result;
}

// Runs `fn` on a new thread without the capability `cap` in its effective
// set (capabilities(7) are per thread), and returns its result.
template <class Fn>
auto without_capability(int cap, Fn fn) -> decltype(fn()) {
  std::optional<decltype(fn())> result;
  std::thread t([&] {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &hdr, data) != 0) std::abort();
    data[cap / 32].effective &= ~(1u << (cap % 32));
    if (::syscall(SYS_capset, &hdr, data) != 0) std::abort();
    result.emplace(fn());
  });
  t.join();
  return std::move(*result);
}

// The base fixture: root, a private network namespace per test.
class KernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "kernel tests need root (they create namespaces)";
    remove_stale_namespaces();
    orig_ns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(orig_ns_, 0);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (orig_ns_ >= 0) {
      EXPECT_EQ(::setns(orig_ns_, CLONE_NEWNET), 0);
      ::close(orig_ns_);
    }
  }
  std::string ifname(const std::string& suffix) const { return unique_prefix() + suffix; }

 private:
  int orig_ns_ = -1;
};

// Receives from `dev` until `match` accepts a frame or `timeout` passes.
// Frames that do not match are passed to `seen` (if given) and dropped.
inline std::optional<Frame> receive_until(
    NetDevice& dev, const std::function<bool(Bytes)>& match,
    std::chrono::milliseconds timeout = std::chrono::seconds(3),
    const std::function<void(Bytes)>& seen = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<PacketBuffer> batch;
  while (true) {
    batch.clear();
    dev.receive(batch, 64, now());
    for (auto& f : batch) {
      if (match(f.bytes())) return Frame(f.bytes().begin(), f.bytes().end());
      if (seen) seen(f.bytes());
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{dev.fd(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

// --- frames --------------------------------------------------------------

inline uint16_t ethertype(Bytes f) {
  return f.size() >= 14 ? load_be16(f.data() + 12) : 0;
}
inline MacAddress eth_dst(Bytes f) {
  return MacAddress::from_bytes(f.data());
}
inline MacAddress eth_src(Bytes f) {
  return MacAddress::from_bytes(f.data() + 6);
}

inline Frame ethernet(MacAddress dst, MacAddress src, uint16_t type, size_t payload_len) {
  Frame f(14 + payload_len);
  dst.write(f.data());
  src.write(f.data() + 6);
  store_be16(f.data() + 12, type);
  return f;
}

// RFC 826 ARP for IPv4 over Ethernet. op 1 = request, 2 = reply.
inline Frame arp(uint16_t op, MacAddress eth_dst, MacAddress sender_mac, Ipv4Address sender_ip,
                 MacAddress target_mac, Ipv4Address target_ip) {
  Frame f = ethernet(eth_dst, sender_mac, kEtherArp, 28);
  uint8_t* a = f.data() + 14;
  store_be16(a, 1);  // hardware: Ethernet
  store_be16(a + 2, kEtherIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  sender_mac.write(a + 8);
  store_be32(a + 14, sender_ip.value());
  target_mac.write(a + 18);
  store_be32(a + 24, target_ip.value());
  return f;
}

struct ArpFields {
  uint16_t op;
  MacAddress sender_mac;
  Ipv4Address sender_ip;
  MacAddress target_mac;
  Ipv4Address target_ip;
};
inline std::optional<ArpFields> parse_arp(Bytes f) {
  if (ethertype(f) != kEtherArp || f.size() < 14 + 28) return std::nullopt;
  const uint8_t* a = f.data() + 14;
  return ArpFields{load_be16(a + 6), MacAddress::from_bytes(a + 8), Ipv4Address(load_be32(a + 14)),
                   MacAddress::from_bytes(a + 18), Ipv4Address(load_be32(a + 24))};
}

// IPv4 header (no options) + `l4` with protocol `proto`; header checksum set.
inline Frame ipv4(MacAddress dst_mac, MacAddress src_mac, Ipv4Address src, Ipv4Address dst,
                  uint8_t proto, const Frame& l4) {
  Frame f = ethernet(dst_mac, src_mac, kEtherIpv4, 20 + l4.size());
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + l4.size()));
  store_be16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = proto;
  store_be32(ip + 12, src.value());
  store_be32(ip + 16, dst.value());
  store_be16(ip + 10, checksum::compute({ip, 20}));
  std::copy(l4.begin(), l4.end(), ip + 20);
  return f;
}

inline Frame udp(MacAddress dst_mac, MacAddress src_mac, Ipv4Address src, uint16_t sport,
                 Ipv4Address dst, uint16_t dport, const std::string& payload) {
  Frame u(8 + payload.size());
  store_be16(u.data(), sport);
  store_be16(u.data() + 2, dport);
  store_be16(u.data() + 4, static_cast<uint16_t>(u.size()));
  std::copy(payload.begin(), payload.end(), u.data() + 8);
  uint16_t c = checksum::finish(
      checksum::partial(u, checksum::pseudo_header(src, dst, 17, static_cast<uint16_t>(u.size()))));
  store_be16(u.data() + 6, c == 0 ? 0xffff : c);
  return ipv4(dst_mac, src_mac, src, dst, 17, u);
}

inline Frame icmp_echo_request(MacAddress dst_mac, MacAddress src_mac, Ipv4Address src,
                               Ipv4Address dst, uint16_t id, uint16_t seq,
                               const std::string& payload) {
  Frame m(8 + payload.size());
  m[0] = 8;  // echo request (RFC 792)
  store_be16(m.data() + 4, id);
  store_be16(m.data() + 6, seq);
  std::copy(payload.begin(), payload.end(), m.data() + 8);
  store_be16(m.data() + 2, checksum::compute(m));
  return ipv4(dst_mac, src_mac, src, dst, 1, m);
}

// A view of an IPv4 packet in an Ethernet frame (no VLAN), or nullopt.
struct Ipv4Packet {
  uint8_t proto;
  Ipv4Address src;
  Ipv4Address dst;
  Bytes header;
  Bytes l4;  // the transport part, cut to the IPv4 total length
};
inline std::optional<Ipv4Packet> parse_ipv4(Bytes f) {
  if (ethertype(f) != kEtherIpv4 || f.size() < 34) return std::nullopt;
  const uint8_t* ip = f.data() + 14;
  const size_t ihl = (ip[0] & 0xfu) * 4u;
  const size_t total = load_be16(ip + 2);
  if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || 14 + total > f.size()) return std::nullopt;
  return Ipv4Packet{ip[9], Ipv4Address(load_be32(ip + 12)), Ipv4Address(load_be32(ip + 16)),
                    f.subspan(14, ihl), f.subspan(14 + ihl, total - ihl)};
}

// True when the TCP/UDP checksum of `p` is right.
inline bool l4_checksum_ok(const Ipv4Packet& p) {
  return checksum::verify(
      p.l4, checksum::pseudo_header(p.src, p.dst, p.proto, static_cast<uint16_t>(p.l4.size())));
}

}  // namespace shunt::ktest
