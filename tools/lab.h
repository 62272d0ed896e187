// `shunt lab up|down|status`: a reproducible test network for shunt on this
// host (docs/lab.md), built with libnl and in-process namespace set-up
// (driver/link.h, driver/netns.h); it never runs `ip`.
//
//   host network namespace                              namespace shunt-peer
//   ----------------------                              --------------------
//   shunt0 (TAP) ----+
//   shunt1 (TAP) ----+-- shunt-br0 (bridge, no address)
//   shunt-v0 =veth= shunt-vb --+         |
//                              shunt-pb =veth= shunt-p0  198.18.0.1/24 (kernel peer)
//                              shunt-cb =veth= shunt-c0  198.18.0.6/24 (kernel client,
//                                                        namespace shunt-client)
//
// One Ethernet segment, 198.18.0.0/24: the kernel peer at .1; stacks attach
// to shunt0 (.2) and shunt1 (.3) as TAP devices, or to shunt-v0 with
// AF_PACKET (.4, .5, each with its own MAC). A second kernel, in namespace
// shunt-client at .6, is the kernel side of `shunt ab` (tools/ab/): the
// same workload runs there and on a stack, against the peer. No address of the segment is
// owned by the host's kernel (and IPv6 is off on the host-side interfaces),
// so the host never answers for a stack: a kernel that owns a stack's
// address on the stack's interface answers its peers' SYNs with RSTs and
// its ARP requests itself (docs/design.md section 8).
//
// `up` is idempotent: it creates what is missing and re-applies the
// settings of what exists. `down` removes everything `up` made (and only
// that). `status` prints what exists; its exit status is 0 when the lab is
// complete and up, 3 otherwise.
//
// --prefix P renames everything (P-peer, P-br0, P0, ...): the tests use it
// to build a lab inside their own namespaces.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/addr.h"
#include "stack/base/result.h"

namespace shunt::lab {

inline constexpr std::string_view kDefaultPrefix = "shunt";

// The names and addresses of one lab.
struct Layout {
  explicit Layout(std::string_view prefix = kDefaultPrefix);

  std::string prefix;
  std::string netns;              // P-peer: the kernel peer's namespace
  std::string bridge;             // P-br0
  std::vector<std::string> taps;  // P0, P1
  std::string packet_if;          // P-v0: where AF_PACKET stacks attach
  std::string packet_port;        // P-vb: its veth peer, a bridge port
  std::string peer_port;          // P-pb: bridge port of the peer's veth
  std::string peer_if;            // P-p0: the peer's interface, in `netns`
  Ipv4Cidr peer_address;          // 198.18.0.1/24
  std::string client_netns;       // P-client: a second kernel, for `shunt ab`
  std::string client_port;        // P-cb: bridge port of its veth
  std::string client_if;          // P-c0: its interface, in `client_netns`
  Ipv4Cidr client_address;        // 198.18.0.6/24
  // Suggested stack addresses: one per TAP, then two for AF_PACKET.
  std::vector<Ipv4Address> tap_stack_addresses;     // .2, .3
  std::vector<Ipv4Address> packet_stack_addresses;  // .4, .5
};

// A prefix must leave room for the longest suffix in IFNAMSIZ - 1 = 15
// characters and be a plain name. Returns an error for the user, if any.
std::optional<std::string> check_prefix(std::string_view prefix);

// Each prints one line per step to `out` and returns an error for the user
// (one line, naming the object and the fix) on failure.
Expected<void, std::string> up(const Layout& lab, std::FILE* out);
Expected<void, std::string> down(const Layout& lab, std::FILE* out);
// Prints the state; true when the lab is complete and up.
bool status(const Layout& lab, std::FILE* out);

// `shunt lab ...`: args[0] is "lab". Returns the exit status.
int run(const std::vector<std::string_view>& args);

}  // namespace shunt::lab
