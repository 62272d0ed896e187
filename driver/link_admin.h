// LinkAdmin: the rtnetlink operations that building a test network needs
// beyond Netlink (link.h): bridges, bridge ports, and reading an
// interface's master and IPv4 addresses, with libnl-route-3
// (netlink/route/link/bridge.h, rtnl_link_enslave_ifindex, rtnl_addr cache).
//
//   auto nl = Netlink::open();
//   auto admin = LinkAdmin::open();
//   admin->create_bridge("shunt-br0");
//   admin->set_master("shunt0", "shunt-br0");
//   nl->set_up("shunt-br0", true);
//
// Like Netlink, a LinkAdmin owns one NETLINK_ROUTE socket bound to the
// network namespace it was opened in, every error is one line for the user,
// and it is not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "driver/link.h"
#include "stack/base/addr.h"
#include "stack/base/result.h"

struct nl_sock;

namespace shunt {

class LinkAdmin {
 public:
  // A socket in the calling thread's network namespace.
  static Expected<LinkAdmin, std::string> open();
  // A socket in the named network namespace (/run/netns/NAME).
  static Expected<LinkAdmin, std::string> open(std::string_view netns);

  LinkAdmin(LinkAdmin&&) noexcept;
  LinkAdmin& operator=(LinkAdmin&&) noexcept;
  ~LinkAdmin();

  // A bridge (down, no ports), like `ip link add NAME type bridge`. STP is
  // off by default, so ports forward as soon as they are up.
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
  explicit LinkAdmin(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_;
};

}  // namespace shunt
