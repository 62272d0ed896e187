// Netlink (libnl) link helpers against the kernel, in a private namespace:
// what they set is what `ip` reports, and their errors are one clear line.
#include "driver/link.h"

#include <linux/capability.h>
#include <net/if_arp.h>

#include "tests/kernel/kernel_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

class LinkTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto nl = Netlink::open();
    ASSERT_TRUE(nl.ok()) << nl.error();
    nl_.emplace(std::move(*nl));
  }
  std::optional<Netlink> nl_;
};

TEST_F(LinkTest, LooksUpLoopbackAndBringsItUp) {
  auto lo = nl_->link("lo");
  ASSERT_TRUE(lo.ok()) << lo.error();
  EXPECT_EQ(lo->name, "lo");
  EXPECT_EQ(lo->ifindex, 1);
  EXPECT_EQ(lo->arptype, ARPHRD_LOOPBACK);
  EXPECT_TRUE(lo->mac.is_zero());
  EXPECT_FALSE(lo->up);  // down in a new namespace
  ASSERT_TRUE(nl_->set_up("lo", true).ok());
  EXPECT_TRUE(nl_->link("lo")->up);
}

TEST_F(LinkTest, MissingInterfaceIsOneClearError) {
  auto l = nl_->link(ifname("x"));
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error(), "no network interface named '" + ifname("x") +
                           "' in this network namespace: check the name with `ip link`");
  auto up = nl_->set_up(ifname("x"), true);
  ASSERT_FALSE(up.ok());
  EXPECT_NE(up.error().find("no network interface named"), std::string::npos);
  auto long_name = nl_->link("a-name-longer-than-15");
  ASSERT_FALSE(long_name.ok());
  EXPECT_NE(long_name.error().find("too long"), std::string::npos) << long_name.error();
}

TEST_F(LinkTest, VethPairMtuMacUpAddressesAndRoutes) {
  const std::string a = ifname("a");
  const std::string b = ifname("b");
  auto r = nl_->create_veth(a, b);
  ASSERT_TRUE(r.ok()) << r.error();

  auto la = nl_->link(a);
  ASSERT_TRUE(la.ok()) << la.error();
  EXPECT_EQ(la->kind, "veth");
  EXPECT_EQ(la->arptype, ARPHRD_ETHER);
  EXPECT_EQ(la->mtu, 1500u);
  EXPECT_FALSE(la->up);
  EXPECT_FALSE(la->mac.is_zero());
  ASSERT_TRUE(nl_->link(b).ok());

  ASSERT_TRUE(nl_->set_mtu(a, 1400).ok());
  EXPECT_EQ(nl_->link(a)->mtu, 1400u);
  const MacAddress mac({0x02, 0x00, 0x00, 0x00, 0x00, 0x10});
  ASSERT_TRUE(nl_->set_mac(a, mac).ok());
  EXPECT_EQ(nl_->link(a)->mac, mac);

  ASSERT_TRUE(nl_->set_up(a, true).ok());
  ASSERT_TRUE(nl_->set_up(b, true).ok());
  EXPECT_TRUE(nl_->link(a)->up);
  EXPECT_TRUE(nl_->link(a)->carrier);  // the peer is up
  // The operational state follows through the kernel's link watch.
  bool oper_up = false;
  for (int i = 0; i < 100 && !oper_up; ++i) {
    oper_up = nl_->link(a)->oper_up;
    if (!oper_up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(oper_up);
  ASSERT_TRUE(nl_->set_up(b, false).ok());
  EXPECT_FALSE(nl_->link(b)->up);
  EXPECT_FALSE(nl_->link(a)->carrier);
  ASSERT_TRUE(nl_->set_up(b, true).ok());

  const Ipv4Cidr cidr(Ipv4Address(198, 18, 2, 1), 24);
  r = nl_->add_address(a, cidr);
  ASSERT_TRUE(r.ok()) << r.error();
  r = nl_->add_address(a, cidr);  // again: replaced, not an error
  ASSERT_TRUE(r.ok()) << r.error();
  std::string addrs = sh("ip -o -4 addr show dev " + a);
  EXPECT_NE(addrs.find("inet 198.18.2.1/24 brd 198.18.2.255"), std::string::npos) << addrs;

  r = nl_->add_route(Ipv4Cidr(Ipv4Address(198, 19, 5, 0), 24), Ipv4Address(198, 18, 2, 254), a);
  ASSERT_TRUE(r.ok()) << r.error();
  r = nl_->add_route(Ipv4Cidr(Ipv4Address(198, 19, 5, 0), 24), Ipv4Address(198, 18, 2, 253), a);
  ASSERT_TRUE(r.ok()) << r.error();  // replaced
  r = nl_->add_route(Ipv4Cidr(Ipv4Address(198, 19, 6, 7), 24), Ipv4Address(), a);
  ASSERT_TRUE(r.ok()) << r.error();
  const std::string routes = sh("ip -4 route show");
  EXPECT_NE(routes.find("198.19.5.0/24 via 198.18.2.253 dev " + a + " proto static"),
            std::string::npos)
      << routes;
  EXPECT_EQ(routes.find("198.18.2.254"), std::string::npos) << routes;
  EXPECT_NE(routes.find("198.19.6.0/24 dev " + a + " proto static scope link"), std::string::npos)
      << routes;

  r = nl_->add_route(Ipv4Cidr(Ipv4Address(198, 19, 7, 0), 24), Ipv4Address(198, 19, 99, 1), a);
  ASSERT_FALSE(r.ok());  // the gateway is not on the link
  EXPECT_NE(r.error().find("cannot add route 198.19.7.0/24 via 198.19.99.1"), std::string::npos)
      << r.error();

  ASSERT_TRUE(nl_->remove_address(a, cidr).ok());
  EXPECT_EQ(sh("ip -o -4 addr show dev " + a).find("198.18.2.1"), std::string::npos);
  EXPECT_TRUE(nl_->remove_address(a, cidr).ok());  // already gone: fine

  auto again = nl_->create_veth(a, ifname("c"));
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("already exists"), std::string::npos) << again.error();

  auto bad_mtu = nl_->set_mtu(a, 100000);
  ASSERT_FALSE(bad_mtu.ok());
  EXPECT_NE(bad_mtu.error().find("cannot set the MTU of '" + a + "' to 100000"), std::string::npos)
      << bad_mtu.error();

  ASSERT_TRUE(nl_->delete_link(a).ok());
  EXPECT_FALSE(nl_->link(a).ok());
  EXPECT_FALSE(nl_->link(b).ok());  // a veth pair goes together
}

TEST_F(LinkTest, MovesLinksIntoNamedNamespaces) {
  NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  const std::string a = ifname("a");
  const std::string b = ifname("b");
  ASSERT_TRUE(nl_->create_veth(a, b).ok());

  auto r = nl_->move_to_netns(b, ns.name());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(nl_->link(b).ok());

  auto peer = Netlink::open(ns.name());
  ASSERT_TRUE(peer.ok()) << peer.error();
  auto lb = peer->link(b);
  ASSERT_TRUE(lb.ok()) << lb.error();
  ASSERT_TRUE(peer->add_address(b, Ipv4Cidr(Ipv4Address(198, 18, 3, 1), 24)).ok());
  ASSERT_TRUE(peer->set_up(b, true).ok());
  const std::string shown = sh("ip -n " + ns.name() + " -o -4 addr show dev " + b);
  EXPECT_NE(shown.find("198.18.3.1/24"), std::string::npos) << shown;
  // This thread is back in its own namespace.
  EXPECT_TRUE(nl_->link(a).ok());

  // By fd: move it back.
  auto self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(self, 0);
  r = peer->move_to_netns(b, self);
  ::close(self);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(nl_->link(b).ok());
}

TEST_F(LinkTest, NamespaceErrorsAreOneClearLine) {
  auto missing = Netlink::open("shunt-no-such-netns");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(),
            "no network namespace named 'shunt-no-such-netns' (/var/run/netns/shunt-no-such-netns "
            "does not exist): create it with `ip netns add shunt-no-such-netns`");
  const std::string a = ifname("a");
  ASSERT_TRUE(nl_->create_veth(a, ifname("b")).ok());
  auto r = nl_->move_to_netns(a, "shunt-no-such-netns");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("ip netns add shunt-no-such-netns"), std::string::npos) << r.error();
}

TEST_F(LinkTest, MissingCapNetAdminIsOneClearError) {
  std::string msg = without_capability(CAP_NET_ADMIN, [] {
    auto nl = Netlink::open();
    if (!nl.ok()) return nl.error();
    auto r = nl->set_up("lo", true);
    return r.ok() ? std::string("allowed") : r.error();
  });
  EXPECT_EQ(msg,
            "cannot bring interface 'lo' up: Operation not permitted: this needs CAP_NET_ADMIN; "
            "run as root or grant the capability (setcap cap_net_admin+ep PROGRAM)");
}

}  // namespace
}  // namespace shunt
