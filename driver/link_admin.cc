#include "driver/link_admin.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "stack/base/bytes.h"
#include "stack/base/check.h"

namespace shunt {
namespace {

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;
using CachePtr = std::unique_ptr<nl_cache, CacheFree>;

std::string failure(std::string_view what, int err) {
  const int nle = err < 0 ? -err : err;
  std::string_view fix;
  if (nle == NLE_PERM || nle == NLE_NOACCESS) {
    fix = ": this needs CAP_NET_ADMIN; run as root";
  } else if (nle == NLE_EXIST) {
    fix = ": it already exists";
  }
  return fmt::format("cannot {}: {}{}", what, nl_geterror(nle), fix);
}

Expected<LinkPtr, std::string> get_link(nl_sock* sock, std::string_view name) {
  rtnl_link* l = nullptr;
  const int err = rtnl_link_get_kernel(sock, 0, std::string(name).c_str(), &l);
  if (err < 0) {
    const int nle = -err;
    if (nle == NLE_OBJ_NOTFOUND || nle == NLE_NODEV) {
      return fmt::format(
          "no network interface named '{}' in this network namespace: check the name with "
          "`ip link`",
          name);
    }
    return failure(fmt::format("look up interface '{}'", name), err);
  }
  return LinkPtr(l);
}

}  // namespace

Expected<LinkAdmin, std::string> LinkAdmin::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return std::string("cannot allocate a netlink socket: out of memory");
  const int err = nl_connect(sock, NETLINK_ROUTE);
  if (err < 0) {
    nl_socket_free(sock);
    return failure("open a NETLINK_ROUTE socket", err);
  }
  return LinkAdmin(sock);
}

Expected<LinkAdmin, std::string> LinkAdmin::open(std::string_view netns) {
  auto target = open_netns(netns);
  if (!target.ok()) return target.error();
  const int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    const int e = errno;
    ::close(*target);
    return fmt::format("cannot open /proc/thread-self/ns/net: {}", std::strerror(e));
  }
  if (::setns(*target, CLONE_NEWNET) != 0) {
    const int e = errno;
    ::close(*target);
    ::close(self);
    return fmt::format("cannot enter network namespace '{}': {}{}", netns, std::strerror(e),
                       e == EPERM ? ": this needs CAP_SYS_ADMIN; run as root" : "");
  }
  auto result = open();
  // A thread left in the wrong namespace cannot be trusted with anything.
  SHUNT_CHECK(::setns(self, CLONE_NEWNET) == 0);
  ::close(*target);
  ::close(self);
  if (!result.ok()) return fmt::format("in network namespace '{}': {}", netns, result.error());
  return result;
}

LinkAdmin::LinkAdmin(LinkAdmin&& o) noexcept : sock_(std::exchange(o.sock_, nullptr)) {}

LinkAdmin& LinkAdmin::operator=(LinkAdmin&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
  }
  return *this;
}

LinkAdmin::~LinkAdmin() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

LinkResult LinkAdmin::create_bridge(std::string_view name) {
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
    return failure(fmt::format("create bridge '{}'", name), err);
  }
  return {};
}

LinkResult LinkAdmin::set_master(std::string_view port, std::string_view bridge) {
  auto p = get_link(sock_, port);
  if (!p.ok()) return p.error();
  auto b = get_link(sock_, bridge);
  if (!b.ok()) return b.error();
  const int master = rtnl_link_get_ifindex(b->get());
  if (rtnl_link_get_master(p->get()) == master) return {};
  const int err = rtnl_link_enslave_ifindex(sock_, master, rtnl_link_get_ifindex(p->get()));
  if (err < 0) return failure(fmt::format("make '{}' a port of bridge '{}'", port, bridge), err);
  return {};
}

LinkResult LinkAdmin::release(std::string_view port) {
  auto p = get_link(sock_, port);
  if (!p.ok()) return p.error();
  if (rtnl_link_get_master(p->get()) == 0) return {};
  const int err = rtnl_link_release_ifindex(sock_, rtnl_link_get_ifindex(p->get()));
  if (err < 0) return failure(fmt::format("take '{}' out of its bridge", port), err);
  return {};
}

Expected<std::optional<std::string>, std::string> LinkAdmin::master_of(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  const int master = rtnl_link_get_master(l->get());
  if (master == 0) return std::optional<std::string>();
  rtnl_link* m = nullptr;
  const int err = rtnl_link_get_kernel(sock_, master, nullptr, &m);
  if (err < 0) return failure(fmt::format("look up the master of '{}'", name), err);
  LinkPtr owner(m);
  const char* n = rtnl_link_get_name(m);
  return std::optional<std::string>(n != nullptr ? n : "");
}

Expected<std::vector<Ipv4Cidr>, std::string> LinkAdmin::ipv4_addresses(std::string_view name) {
  auto l = get_link(sock_, name);
  if (!l.ok()) return l.error();
  const int ifindex = rtnl_link_get_ifindex(l->get());
  nl_cache* raw = nullptr;
  const int err = rtnl_addr_alloc_cache(sock_, &raw);
  if (err < 0) return failure("list addresses", err);
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

Expected<std::vector<std::string>, std::string> LinkAdmin::link_names() {
  nl_cache* raw = nullptr;
  const int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &raw);
  if (err < 0) return failure("list interfaces", err);
  CachePtr cache(raw);
  std::vector<std::string> out;
  for (nl_object* o = nl_cache_get_first(raw); o != nullptr; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);  // NOLINT: libnl's object "subclassing"
    if (const char* n = rtnl_link_get_name(l)) out.emplace_back(n);
  }
  return out;
}

}  // namespace shunt
