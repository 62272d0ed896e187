// Named network namespaces, made and removed the way `ip netns add` and
// `ip netns del` do it (iproute2 ip/ipnetns.c, ip-netns(8)), in C++ and
// without running `ip`:
//
// create_netns(NAME)
//   1. mkdir /run/netns and make it a shared mount point (bind-mounting it
//      onto itself first if it is not one), so that namespace mounts made
//      later propagate to every mount namespace that shares it;
//   2. create the empty file /run/netns/NAME;
//   3. a child process unshare(CLONE_NEWNET)s, which gives it a new, empty
//      network namespace (only a loopback, down), bind-mounts its
//      /proc/self/ns/net onto /run/netns/NAME and exits. The bind mount
//      keeps the namespace alive after the child is gone; open_netns(NAME)
//      (link.h) and `ip netns exec NAME` find it there.
// delete_netns(NAME)
//   umount2(MNT_DETACH) and unlink. The kernel destroys the namespace, and
//   the virtual interfaces in it (a veth also takes its peer along), once
//   nothing refers to it any more: no process inside, no open fd. That
//   happens asynchronously; delete interfaces first when their absence
//   matters right away.
//
// Both need CAP_SYS_ADMIN (root). Errors are one line for the user.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"

namespace shunt {

inline constexpr const char* kNetnsRunDir = "/run/netns";

// Creates the named namespace. Returns true when it was created, false when
// a namespace of that name already existed (nothing is changed then).
Expected<bool, std::string> create_netns(std::string_view name);

// Removes the named namespace. Returns false (not an error) if there was
// none.
Expected<bool, std::string> delete_netns(std::string_view name);

// True when /run/netns/NAME exists and is a mounted namespace.
bool netns_exists(std::string_view name);

// The names in /run/netns, sorted.
std::vector<std::string> list_netns();

}  // namespace shunt
