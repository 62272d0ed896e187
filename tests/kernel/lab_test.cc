// `shunt lab up|down|status` (tools/lab.h), run as the real command inside
// the test's private network namespace with its own --prefix, so that it
// never touches the host's interfaces or a lab the user has up: up, status,
// traffic between two stacks (TAP and AF_PACKET) and the kernel peer over
// the lab's bridge, up again (idempotent), down, nothing left.
#include <filesystem>

#include "driver/netns.h"
#include "tests/kernel/interop_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

// The `shunt` binary of this build: tests/kernel_tests -> tools/shunt.
std::string shunt_binary() {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  return (exe.parent_path().parent_path() / "tools" / "shunt").string();
}

struct CmdResult {
  int code;
  std::string output;
};

// Runs `shunt ARGS...` (in this thread's network namespace) to completion.
CmdResult shunt_cmd(std::vector<std::string> args) {
  args.insert(args.begin(), shunt_binary());
  Child c(args);
  while (!c.exited()) ::usleep(2000);
  return {c.exit_code(), c.output()};
}

// The lab's names and addresses for a prefix, as docs/lab.md gives them
// (restated here rather than taken from tools/lab.h, so that the test checks
// the documented layout).
struct Layout {
  explicit Layout(const std::string& p)
      : netns(p + "-peer"),
        bridge(p + "-br0"),
        taps{p + "0", p + "1"},
        packet_if(p + "-v0"),
        packet_port(p + "-vb"),
        peer_port(p + "-pb"),
        peer_if(p + "-p0"),
        client_netns(p + "-client"),
        client_port(p + "-cb"),
        client_if(p + "-c0") {}
  std::string netns, bridge;
  std::vector<std::string> taps;
  std::string packet_if, packet_port, peer_port, peer_if;
  std::string client_netns, client_port, client_if;
  Ipv4Cidr peer_address{Ipv4Address(198, 18, 0, 1), 24};
  Ipv4Cidr client_address{Ipv4Address(198, 18, 0, 6), 24};
  std::vector<Ipv4Address> tap_stack_addresses{Ipv4Address(198, 18, 0, 2),
                                               Ipv4Address(198, 18, 0, 3)};
  std::vector<Ipv4Address> packet_stack_addresses{Ipv4Address(198, 18, 0, 4),
                                                  Ipv4Address(198, 18, 0, 5)};
};

class LabTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(std::filesystem::exists(shunt_binary())) << shunt_binary() << " is not built";
    // shk<pid>l: remove_stale_namespaces() recognises it after a crash.
    prefix_ = unique_prefix() + "l";
  }
  void TearDown() override {
    // Whatever happened, the named namespace goes (the links vanish with
    // the test's private namespace).
    if (!prefix_.empty()) {
      (void)delete_netns(prefix_ + "-peer");
      (void)delete_netns(prefix_ + "-client");
    }
    KernelTest::TearDown();
  }
  CmdResult lab(const std::string& command) {
    return shunt_cmd({"lab", command, "--prefix", prefix_});
  }

  std::string prefix_;
};

TEST_F(LabTest, UpStatusUpAgainDownLeavesNothing) {
  const Layout l(prefix_);

  // Before: down.
  CmdResult r = lab("status");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find(": down"), std::string::npos) << r.output;

  // up
  r = lab("up");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("namespace " + l.netns + ": created"), std::string::npos) << r.output;
  r = lab("status");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(": up"), std::string::npos) << r.output;

  // What exists, checked independently of the tool's own status.
  auto nl = Netlink::open();
  ASSERT_TRUE(nl.ok());
  auto admin = Netlink::open();
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(nl->link(l.bridge)->kind, "bridge");
  for (const std::string& port :
       {l.taps[0], l.taps[1], l.packet_port, l.peer_port, l.client_port}) {
    auto m = admin->master_of(port);
    ASSERT_TRUE(m.ok()) << m.error();
    EXPECT_EQ(m->value_or("(none)"), l.bridge) << port;
    EXPECT_TRUE(nl->link(port)->up) << port;
  }
  EXPECT_EQ(nl->link(l.taps[0])->kind, "tun");
  EXPECT_EQ(nl->link(l.packet_if)->kind, "veth");
  // The host owns no address on the lab's segment.
  for (const std::string& name : {l.bridge, l.taps[0], l.packet_if, l.peer_port}) {
    EXPECT_TRUE(admin->ipv4_addresses(name)->empty()) << name;
  }
  EXPECT_TRUE(netns_exists(l.netns));
  auto peer_admin = Netlink::open(l.netns);
  ASSERT_TRUE(peer_admin.ok()) << peer_admin.error();
  auto addrs = peer_admin->ipv4_addresses(l.peer_if);
  ASSERT_TRUE(addrs.ok()) << addrs.error();
  EXPECT_EQ(*addrs, std::vector<Ipv4Cidr>{l.peer_address});
  // The second kernel, the client side of `shunt ab`.
  EXPECT_TRUE(netns_exists(l.client_netns));
  auto client_admin = Netlink::open(l.client_netns);
  ASSERT_TRUE(client_admin.ok()) << client_admin.error();
  addrs = client_admin->ipv4_addresses(l.client_if);
  ASSERT_TRUE(addrs.ok()) << addrs.error();
  EXPECT_EQ(*addrs, std::vector<Ipv4Cidr>{l.client_address});

  // Traffic: stack A on TAP P0 (.2) and stack B with AF_PACKET on P-v0
  // (.4) talk to each other and to the kernel peer (.1), over the bridge.
  {
    BufferPool pool;
    auto tap = TapDevice::open({.name = l.taps[0], .mode = TapOptions::Mode::kAttach}, pool);
    ASSERT_TRUE(tap.ok()) << tap.error();
    auto pkt = PacketDevice::open({.interface = l.packet_if}, pool);
    ASSERT_TRUE(pkt.ok()) << pkt.error();
    StackConfig ca;
    ca.mac = MacAddress({0x02, 0, 0, 0, 0, 0x02});
    ca.address = Ipv4Cidr(l.tap_stack_addresses[0], 24);
    StackConfig cb;
    cb.mac = (*pkt)->mac();
    cb.address = Ipv4Cidr(l.packet_stack_addresses[0], 24);
    Stack a(**tap, pool, ca);
    Stack b(**pkt, pool, cb);
    StackRunner ra(a, **tap);
    StackRunner rb(b, **pkt);
    ra.set_max_wait(1ms);
    SocketId ua = *a.udp_open();
    ASSERT_TRUE(a.bind(ua, {Ipv4Address::any(), 9000}));
    SocketId ub = *b.udp_open();
    ASSERT_TRUE(b.bind(ub, {Ipv4Address::any(), 9000}));
    int k = in_netns(l.netns, [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0); });
    ASSERT_GE(k, 0);
    sockaddr_in ksa = to_sockaddr(Ipv4Address::any(), 9000);
    ASSERT_EQ(::bind(k, reinterpret_cast<sockaddr*>(&ksa), sizeof ksa), 0);

    const std::string hello = "hello over the lab";
    const Bytes msg(reinterpret_cast<const uint8_t*>(hello.data()), hello.size());
    bool b_got = false, a_got = false, kernel_got = false;
    std::vector<uint8_t> buf(2048);
    Instant last_send{};
    ASSERT_TRUE(ra.run_until(
        [&] {
          rb.step(Duration::zero());
          // Resend every 200 ms until everyone has heard (ARP and the
          // bridge learning its ports may cost the first datagrams).
          if (ra.now() - last_send > 200ms) {
            last_send = ra.now();
            if (!b_got)
              (void)a.send_to(ua, msg, Endpoint{l.packet_stack_addresses[0], 9000}, ra.now());
            if (!kernel_got)
              (void)a.send_to(ua, msg, Endpoint{l.peer_address.address(), 9000}, ra.now());
          }
          if (auto r = b.recv_from(ub, buf, 0, rb.now()); r) {
            b_got = true;
            (void)b.send_to(ub, Bytes(buf).first(r->copied), r->from, rb.now());
          }
          if (auto r = a.recv_from(ua, buf, 0, ra.now()); r) a_got = true;
          sockaddr_in from{};
          socklen_t flen = sizeof from;
          if (::recvfrom(k, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen) >
              0) {
            kernel_got = from.sin_addr.s_addr == htonl(l.tap_stack_addresses[0].value());
          }
          return a_got && b_got && kernel_got;
        },
        10s))
        << "A heard B's echo: " << a_got << ", B got A's: " << b_got
        << ", kernel got A's: " << kernel_got;
    ::close(k);
  }

  // up again: nothing is created, everything is still there.
  r = lab("up");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("created"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("namespace " + l.netns + ": exists"), std::string::npos) << r.output;
  r = lab("status");
  EXPECT_EQ(r.code, 0) << r.output;

  // down: everything goes.
  r = lab("down");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("namespace " + l.netns + ": deleted"), std::string::npos) << r.output;
  EXPECT_FALSE(netns_exists(l.netns));
  EXPECT_FALSE(std::filesystem::exists(std::string(kNetnsRunDir) + "/" + l.netns));
  EXPECT_FALSE(netns_exists(l.client_netns));
  EXPECT_FALSE(std::filesystem::exists(std::string(kNetnsRunDir) + "/" + l.client_netns));
  auto names = admin->link_names();
  ASSERT_TRUE(names.ok());
  for (const std::string& n : *names) {
    EXPECT_NE(n.rfind(prefix_, 0), 0u) << n << " is left behind";
  }
  r = lab("status");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find(": down"), std::string::npos) << r.output;

  // down again: nothing to do, not an error.
  r = lab("down");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("nothing to remove"), std::string::npos) << r.output;
}

TEST_F(LabTest, RepairsAPartialLab) {
  const Layout l(prefix_);
  ASSERT_EQ(lab("up").code, 0);
  // Somebody deletes a TAP and the peer's veth pair.
  auto nl = Netlink::open();
  ASSERT_TRUE(nl->delete_link(l.taps[1]).ok());
  ASSERT_TRUE(nl->delete_link(l.peer_port).ok());
  CmdResult r = lab("status");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("incomplete"), std::string::npos) << r.output;
  r = lab("up");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("TAP " + l.taps[1] + ": created"), std::string::npos) << r.output;
  EXPECT_EQ(lab("status").code, 0);
  EXPECT_EQ(lab("down").code, 0);
  EXPECT_FALSE(netns_exists(l.netns));
}

TEST_F(LabTest, RefusesToTakeOverAForeignInterface) {
  const Layout l(prefix_);
  // An interface with the bridge's name that is not a bridge.
  auto nl = Netlink::open();
  ASSERT_TRUE(nl->create_veth(l.bridge, prefix_ + "-x").ok());
  CmdResult r = lab("up");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("exists but is a veth where the lab wants a bridge"), std::string::npos)
      << r.output;
  // It was not touched.
  EXPECT_TRUE(nl->link(l.bridge).ok());
  EXPECT_EQ(lab("down").code, 0);
}

TEST_F(LabTest, BadArgumentsAreOneClearLine) {
  CmdResult r = shunt_cmd({"lab"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("which one: up, down or status?"), std::string::npos) << r.output;
  r = shunt_cmd({"lab", "sideways"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown subcommand 'sideways'"), std::string::npos) << r.output;
  r = shunt_cmd({"lab", "up", "--prefix", "much-too-long-prefix"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--prefix 'much-too-long-prefix' must have 1 to 11 characters"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace shunt
