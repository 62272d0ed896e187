// Link and address set-up through rtnetlink, with libnl-3 / libnl-route-3
// (https://www.infradead.org/~tgr/libnl/doc/route.html). Nothing here runs
// the `ip` command: the library and the `shunt` command do all link work
// through a Netlink object.
//
//   auto nl = Netlink::open();                 // this network namespace
//   nl->create_veth("shv0", "shv0p");
//   nl->move_to_netns("shv0p", "shunt-peer");  // /var/run/netns/shunt-peer
//   auto peer = Netlink::open("shunt-peer");   // a socket inside that netns
//   peer->add_address("shv0p", *Ipv4Cidr::parse("198.18.1.1/24"));
//   peer->set_up("shv0p", true);
//   nl->create_bridge("shunt-br0");
//   nl->set_master("shunt0", "shunt-br0");
//
// Every operation returns an error string meant for the user: one line that
// names the operation, the object, what went wrong and, where there is one,
// the fix (most often: CAP_NET_ADMIN is needed, see capabilities(7)).
//
// add_address and add_route replace an existing entry (NLM_F_REPLACE, see
// rtnetlink(7)), so set-up code can run twice (`shunt lab up` is idempotent).
//
// A Netlink object owns one NETLINK_ROUTE socket, bound to the network
// namespace it was opened in for its whole life (netlink(7): a socket keeps
// the namespace it was created in). Not thread-safe: use one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/result.h"

struct nl_sock;  // libnl, kept out of this header

namespace shunt {

// What the kernel reports about one interface (RTM_GETLINK).
struct LinkInfo {
  std::string name;
  int ifindex = 0;
  // All zero for links without a hardware address (loopback).
  MacAddress mac;
  uint32_t mtu = 0;
  // Administratively up (IFF_UP).
  bool up = false;
  // Lower layer up (IFF_LOWER_UP): a TAP with a reader, a veth whose peer is up.
  bool carrier = false;
  // RFC 2863 operational state "up" (Documentation/networking/operstates.rst):
  // the kernel passes traffic. The link watch sets it shortly after carrier.
  bool oper_up = false;
  // ARPHRD_* (1 = Ethernet, 772 = loopback).
  uint16_t arptype = 0;
  // "veth", "tun", "bridge", ...; empty for physical devices.
  std::string kind;
};

using LinkResult = Expected<void, std::string>;

class Netlink {
 public:
  // A socket in the calling thread's network namespace.
  static Expected<Netlink, std::string> open();
  // A socket in the named network namespace (/var/run/netns/NAME, as made by
  // `ip netns add NAME`): the thread enters it with setns(2) just long enough
  // to create the socket, then returns. Needs CAP_SYS_ADMIN.
  static Expected<Netlink, std::string> open(std::string_view netns);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Lookup by name.
  Expected<LinkInfo, std::string> link(std::string_view name);

  LinkResult set_up(std::string_view name, bool up);
  LinkResult set_mtu(std::string_view name, uint32_t mtu);
  LinkResult set_mac(std::string_view name, MacAddress mac);
  // Adds (or replaces) `cidr` on the link, with the directed broadcast
  // address set (like `ip addr add CIDR brd + dev NAME`).
  LinkResult add_address(std::string_view name, Ipv4Cidr cidr);
  // Removes the address; an address that is not there is not an error.
  LinkResult remove_address(std::string_view name, Ipv4Cidr cidr);
  // A veth pair (veth(4)), both ends down, in this namespace.
  LinkResult create_veth(std::string_view name, std::string_view peer_name);
  // Deletes a link (veth: both ends; TAP: also a persistent one).
  LinkResult delete_link(std::string_view name);
  // Moves a link into another network namespace, given by an open fd of
  // that namespace (/proc/PID/ns/net, /var/run/netns/NAME) or by name. The
  // link leaves this namespace; its addresses and up state are lost.
  LinkResult move_to_netns(std::string_view name, int netns_fd);
  LinkResult move_to_netns(std::string_view name, std::string_view netns);
  // Adds (or replaces) a route in the main table: to `dst` through `gateway`
  // on `dev`; an unspecified gateway makes a directly connected route.
  LinkResult add_route(Ipv4Cidr dst, Ipv4Address gateway, std::string_view dev);

  // Bridges (netlink/route/link/bridge.h). A bridge is made down with no
  // ports, like `ip link add NAME type bridge`; STP is off by default, so
  // ports forward as soon as they are up.
  LinkResult create_bridge(std::string_view name);
  // Makes `port` a port of `bridge` (IFLA_MASTER); already being one is fine.
  LinkResult set_master(std::string_view port, std::string_view bridge);
  // Takes `port` out of its bridge (IFLA_MASTER = 0).
  LinkResult release(std::string_view port);
  // The name of the link's master (its bridge); nullopt when it has none.
  Expected<std::optional<std::string>, std::string> master_of(std::string_view name);
  // The IPv4 addresses on the link.
  Expected<std::vector<Ipv4Cidr>, std::string> ipv4_addresses(std::string_view name);
  // The names of every link in this namespace, by ifindex.
  Expected<std::vector<std::string>, std::string> link_names();

 private:
  explicit Netlink(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_;
};

// Opens /var/run/netns/NAME (read-only, close-on-exec); the caller owns the
// fd. The error says how to create the namespace.
Expected<int, std::string> open_netns(std::string_view name);

}  // namespace shunt
