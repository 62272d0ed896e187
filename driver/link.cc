#include "driver/link.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "stack/base/bytes.h"
#include "stack/base/check.h"

namespace shunt {
namespace {

// IFNAMSIZ - 1 (netdevice(7)): the kernel rejects longer names with EINVAL.
constexpr size_t kMaxIfName = 15;
// IF_OPER_UP from linux/if.h (which clashes with net/if.h), RFC 2863.
constexpr uint8_t kOperUp = 6;

// Owners for libnl objects, which are reference counted (*_put drops one).
struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrPut {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RoutePut {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrPut {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrPut>;
using RoutePtr = std::unique_ptr<rtnl_route, RoutePut>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrPut>;
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

// An IPv4 address as a libnl address, with a prefix length.
NlAddrPtr nl_ipv4(Ipv4Address a, int prefix_len) {
  uint8_t be[4];
  store_be32(be, a.value());
  NlAddrPtr p(nl_addr_build(AF_INET, be, sizeof be));
  if (p) nl_addr_set_prefixlen(p.get(), prefix_len);
  return p;
}

// The fix to suggest for a libnl error code, or "".
std::string_view hint(int nle) {
  switch (nle) {
    case NLE_PERM:
    case NLE_NOACCESS:
      return ": this needs CAP_NET_ADMIN; run as root or grant the capability "
             "(setcap cap_net_admin+ep PROGRAM)";
    case NLE_EXIST:
      return ": it already exists";
    default:
      return "";
  }
}

// "cannot WHAT: REASON[: FIX]" from a negative libnl return value.
std::string nl_failure(std::string_view what, int err) {
  const int nle = err < 0 ? -err : err;
  return fmt::format("cannot {}: {}{}", what, nl_geterror(nle), hint(nle));
}

std::string no_such_link(std::string_view name) {
  return fmt::format(
      "no network interface named '{}' in this network namespace: check the name with "
      "`ip link`",
      name);
}

bool is_not_found(int err) {
  const int nle = err < 0 ? -err : err;
  return nle == NLE_OBJ_NOTFOUND || nle == NLE_NODEV;
}

std::optional<std::string> check_ifname(std::string_view name) {
  if (name.empty()) return std::string("an interface name must not be empty");
  if (name.size() > kMaxIfName) {
    return fmt::format("interface name '{}' is too long: at most {} characters (IFNAMSIZ)", name,
                       kMaxIfName);
  }
  return std::nullopt;
}

}  // namespace

Expected<Netlink, std::string> Netlink::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return std::string("cannot allocate a netlink socket: out of memory");
  int err = nl_connect(sock, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock);
    return nl_failure("open a NETLINK_ROUTE socket", err);
  }
  return Netlink(sock);
}

Expected<Netlink, std::string> Netlink::open(std::string_view netns) {
  auto target = open_netns(netns);
  if (!target.ok()) return target.error();
  // The calling thread's own namespace, to come back to.
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    std::string msg = fmt::format("cannot open /proc/thread-self/ns/net: {}", std::strerror(errno));
    ::close(*target);
    return msg;
  }
  // setns(2): moving a thread into a network namespace needs CAP_SYS_ADMIN.
  if (::setns(*target, CLONE_NEWNET) != 0) {
    const int e = errno;
    ::close(*target);
    ::close(self);
    return fmt::format("cannot enter network namespace '{}': {}{}", netns, std::strerror(e),
                       e == EPERM ? ": this needs CAP_SYS_ADMIN; run as root" : "");
  }
  auto result = open();
  // Failing to return would leave this thread in the wrong namespace for the
  // rest of its life: that is not recoverable.
  SHUNT_CHECK(::setns(self, CLONE_NEWNET) == 0);
  ::close(*target);
  ::close(self);
  if (!result.ok()) {
    return fmt::format("in network namespace '{}': {}", netns, result.error());
  }
  return result;
}

Netlink::Netlink(Netlink&& o) noexcept : sock_(std::exchange(o.sock_, nullptr)) {}

Netlink& Netlink::operator=(Netlink&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
  }
  return *this;
}

Netlink::~Netlink() {
  if (sock_ != nullptr) nl_socket_free(sock_);  // also closes the socket
}

namespace {

// Fetches one link by name (RTM_GETLINK with IFLA_IFNAME).
Expected<LinkPtr, std::string> get_link(nl_sock* sock, std::string_view name) {
  if (auto bad = check_ifname(name)) return *bad;
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(sock, 0, std::string(name).c_str(), &l);
  if (err < 0) {
    if (is_not_found(err)) return no_such_link(name);
    return nl_failure(fmt::format("look up interface '{}'", name), err);
  }
  return LinkPtr(l);
}

// Applies the attributes set on `change` to the link named `name`.
LinkResult change_link(nl_sock* sock, std::string_view name, rtnl_link* change,
                       std::string_view what) {
  auto orig = get_link(sock, name);
  if (!orig.ok()) return orig.error();
  int err = rtnl_link_change(sock, orig->get(), change, 0);
  if (err < 0) return nl_failure(what, err);
  return {};
}

}  // namespace

Expected<LinkInfo, std::string> Netlink::link(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  rtnl_link* p = l->get();
  LinkInfo info;
  const char* n = rtnl_link_get_name(p);
  info.name = n != nullptr ? n : std::string(name);
  info.ifindex = rtnl_link_get_ifindex(p);
  if (nl_addr* a = rtnl_link_get_addr(p); a != nullptr && nl_addr_get_len(a) == 6) {
    info.mac = MacAddress::from_bytes(static_cast<const uint8_t*>(nl_addr_get_binary_addr(a)));
  }
  info.mtu = rtnl_link_get_mtu(p);
  info.up = (rtnl_link_get_flags(p) & IFF_UP) != 0;
  info.carrier = rtnl_link_get_carrier(p) != 0;
  info.oper_up = rtnl_link_get_operstate(p) == kOperUp;
  info.arptype = static_cast<uint16_t>(rtnl_link_get_arptype(p));
  const char* kind = rtnl_link_get_type(p);
  info.kind = kind != nullptr ? kind : "";
  return info;
}

LinkResult Netlink::set_up(std::string_view name, bool up) {
  LinkPtr change(rtnl_link_alloc());
  if (up) {
    rtnl_link_set_flags(change.get(), IFF_UP);
  } else {
    rtnl_link_unset_flags(change.get(), IFF_UP);
  }
  return change_link(sock_, name, change.get(),
                     fmt::format("bring interface '{}' {}", name, up ? "up" : "down"));
}

LinkResult Netlink::set_mtu(std::string_view name, uint32_t mtu) {
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_mtu(change.get(), mtu);
  return change_link(
      sock_, name, change.get(),
      fmt::format("set the MTU of '{}' to {} (the driver's range may be smaller)", name, mtu));
}

LinkResult Netlink::set_mac(std::string_view name, MacAddress mac) {
  LinkPtr change(rtnl_link_alloc());
  NlAddrPtr a(nl_addr_build(AF_LLC, mac.bytes().data(), 6));
  rtnl_link_set_addr(change.get(), a.get());  // takes its own reference
  return change_link(sock_, name, change.get(),
                     fmt::format("set the MAC address of '{}' to {}", name, mac.to_string()));
}

namespace {

Expected<AddrPtr, std::string> make_addr(nl_sock* sock, std::string_view name, Ipv4Cidr cidr) {
  auto l = get_link(sock, name);
  if (!l.ok()) return l.error();
  AddrPtr a(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(a.get(), rtnl_link_get_ifindex(l->get()));
  NlAddrPtr local = nl_ipv4(cidr.address(), cidr.prefix_len());
  int err = rtnl_addr_set_local(a.get(), local.get());  // also sets the prefix length
  if (err < 0) return nl_failure("build an address", err);
  return a;
}

}  // namespace

LinkResult Netlink::add_address(std::string_view name, Ipv4Cidr cidr) {
  auto a = make_addr(sock_, name, cidr);
  if (!a.ok()) return a.error();
  if (cidr.prefix_len() < 31) {
    // RFC 3021: /31 and /32 have no broadcast address.
    NlAddrPtr brd = nl_ipv4(cidr.directed_broadcast(), 32);
    rtnl_addr_set_broadcast(a->get(), brd.get());
  }
  int err = rtnl_addr_add(sock_, a->get(), NLM_F_REPLACE);
  if (err < 0) {
    return nl_failure(fmt::format("add address {} to '{}'", cidr.to_string(), name), err);
  }
  return {};
}

LinkResult Netlink::remove_address(std::string_view name, Ipv4Cidr cidr) {
  auto a = make_addr(sock_, name, cidr);
  if (!a.ok()) return a.error();
  int err = rtnl_addr_delete(sock_, a->get(), 0);
  // The kernel answers EADDRNOTAVAIL for an address that is not there.
  if (err < 0 && -err != NLE_NOADDR) {
    return nl_failure(fmt::format("remove address {} from '{}'", cidr.to_string(), name), err);
  }
  return {};
}

LinkResult Netlink::create_veth(std::string_view name, std::string_view peer_name) {
  if (auto bad = check_ifname(name)) return *bad;
  if (auto bad = check_ifname(peer_name)) return *bad;
  LinkPtr l(rtnl_link_veth_alloc());
  if (!l) return std::string("cannot create a veth pair: libnl has no veth support");
  rtnl_link_set_name(l.get(), std::string(name).c_str());
  {
    LinkPtr peer(rtnl_link_veth_get_peer(l.get()));  // a new reference
    rtnl_link_set_name(peer.get(), std::string(peer_name).c_str());
  }
  int err = rtnl_link_add(sock_, l.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err < 0) {
    std::string what = fmt::format("create veth pair '{}' / '{}'", name, peer_name);
    if (-err == NLE_EXIST) {
      return fmt::format(
          "cannot {}: an interface with one of these names already exists "
          "(delete it with `ip link del NAME` or choose other names)",
          what);
    }
    return nl_failure(what, err);
  }
  return {};
}

LinkResult Netlink::delete_link(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  int err = rtnl_link_delete(sock_, l->get());
  if (err < 0) return nl_failure(fmt::format("delete interface '{}'", name), err);
  return {};
}

LinkResult Netlink::move_to_netns(std::string_view name, int netns_fd) {
  LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_ns_fd(change.get(), netns_fd);  // IFLA_NET_NS_FD
  auto r = change_link(sock_, name, change.get(),
                       fmt::format("move interface '{}' to another network namespace", name));
  return r;
}

LinkResult Netlink::move_to_netns(std::string_view name, std::string_view netns) {
  auto fd = open_netns(netns);
  if (!fd.ok()) return fd.error();
  auto r = move_to_netns(name, *fd);
  ::close(*fd);
  if (!r.ok()) {
    return fmt::format("{} (namespace '{}'; an interface with the same name may exist there)",
                       r.error(), netns);
  }
  return r;
}

LinkResult Netlink::add_route(Ipv4Cidr dst, Ipv4Address gateway, std::string_view dev) {
  auto l = get_link(sock_, dev);
  if (!l.ok()) return l.error();
  RoutePtr route(rtnl_route_alloc());
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  // rtnetlink(7): RTPROT_STATIC marks a route added by an administrator.
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), gateway.is_unspecified() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
  NlAddrPtr d = nl_ipv4(dst.network(), dst.prefix_len());
  rtnl_route_set_dst(route.get(), d.get());  // takes its own reference
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(l->get()));
  if (!gateway.is_unspecified()) {
    NlAddrPtr gw = nl_ipv4(gateway, 32);
    rtnl_route_nh_set_gateway(nh, gw.get());  // takes its own reference
  }
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  int err = rtnl_route_add(sock_, route.get(), NLM_F_CREATE | NLM_F_REPLACE);
  if (err < 0) {
    std::string via = gateway.is_unspecified() ? "" : " via " + gateway.to_string();
    return nl_failure(fmt::format("add route {}{} dev '{}'",
                                  Ipv4Cidr(dst.network(), dst.prefix_len()).to_string(), via, dev),
                      err);
  }
  return {};
}

Expected<int, std::string> open_netns(std::string_view name) {
  // ip-netns(8): named namespaces are bind mounts under /var/run/netns.
  const std::string path = fmt::format("/var/run/netns/{}", name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      return fmt::format(
          "no network namespace named '{}' ({} does not exist): create it with "
          "`ip netns add {}`",
          name, path, name);
    }
    return fmt::format("cannot open network namespace '{}' ({}): {}", name, path, std::strerror(e));
  }
  return fd;
}

// ---- bridges and queries ----------------------------------------------------

LinkResult Netlink::create_bridge(std::string_view name) {
  if (name.empty() || name.size() > 15) {
    return fmt::format("bridge name '{}' must have 1 to 15 characters (IFNAMSIZ)", name);
  }
  const int err = rtnl_link_bridge_add(sock_, std::string(name).c_str());
  if (err < 0) {
    if (-err == NLE_EXIST) {
      return fmt::format(
          "cannot create bridge '{}': an interface of that name already exists (delete it with "
          "`ip link del {}` or choose another name)",
          name, name);
    }
    return nl_failure(fmt::format("create bridge '{}'", name), err);
  }
  return {};
}

LinkResult Netlink::set_master(std::string_view port, std::string_view bridge) {
  auto p = get_link(sock_, port);
  if (!p.ok()) return p.error();
  auto b = get_link(sock_, bridge);
  if (!b.ok()) return b.error();
  const int master = rtnl_link_get_ifindex(b->get());
  if (rtnl_link_get_master(p->get()) == master) return {};
  const int err = rtnl_link_enslave_ifindex(sock_, master, rtnl_link_get_ifindex(p->get()));
  if (err < 0) return nl_failure(fmt::format("make '{}' a port of bridge '{}'", port, bridge), err);
  return {};
}

LinkResult Netlink::release(std::string_view port) {
  auto p = get_link(sock_, port);
  if (!p.ok()) return p.error();
  if (rtnl_link_get_master(p->get()) == 0) return {};
  const int err = rtnl_link_release_ifindex(sock_, rtnl_link_get_ifindex(p->get()));
  if (err < 0) return nl_failure(fmt::format("take '{}' out of its bridge", port), err);
  return {};
}

Expected<std::optional<std::string>, std::string> Netlink::master_of(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  const int master = rtnl_link_get_master(l->get());
  if (master == 0) return std::optional<std::string>();
  rtnl_link* m = nullptr;
  const int err = rtnl_link_get_kernel(sock_, master, nullptr, &m);
  if (err < 0) return nl_failure(fmt::format("look up the master of '{}'", name), err);
  LinkPtr owner(m);
  const char* n = rtnl_link_get_name(m);
  return std::optional<std::string>(n != nullptr ? n : "");
}

Expected<std::vector<Ipv4Cidr>, std::string> Netlink::ipv4_addresses(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  const int ifindex = rtnl_link_get_ifindex(l->get());
  nl_cache* raw = nullptr;
  const int err = rtnl_addr_alloc_cache(sock_, &raw);
  if (err < 0) return nl_failure("list addresses", err);
  CachePtr cache(raw);
  std::vector<Ipv4Cidr> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);  // NOLINT: libnl's object "subclassing"
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (local == nullptr || nl_addr_get_len(local) != 4) continue;
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(local));
    out.emplace_back(Ipv4Address(load_be32(bytes)),
                     static_cast<uint8_t>(rtnl_addr_get_prefixlen(a)));
  }
  return out;
}

Expected<std::vector<std::string>, std::string> Netlink::link_names() {
  nl_cache* raw = nullptr;
  const int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &raw);
  if (err < 0) return nl_failure("list interfaces", err);
  CachePtr cache(raw);
  std::vector<std::string> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);  // NOLINT: libnl's object "subclassing"
    if (const char* n = rtnl_link_get_name(l)) out.emplace_back(n);
  }
  return out;
}

}  // namespace shunt
