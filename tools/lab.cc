#include "tools/lab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <tuple>

#include "driver/link.h"
#include "driver/netns.h"
#include "driver/tap_device.h"
#include "stack/buffer/buffer_pool.h"

namespace shunt::lab {
namespace {

// ARPHRD_ETHER: a TAP (a TUN device has no link layer).
constexpr uint16_t kArphrdEther = 1;
constexpr size_t kMaxIfName = 15;

using Result = Expected<void, std::string>;

// Writes a /proc/sys value of this network namespace; false if the file is
// missing (IPv6 compiled out) or not writable.
bool write_sysctl(const std::string& path, std::string_view value) {
  std::ofstream f(path);
  if (!f) return false;
  f << value;
  return static_cast<bool>(f);
}

std::string kind_of(const LinkInfo& l) {
  if (l.kind == "tun") return l.arptype == kArphrdEther ? "TAP" : "TUN";
  return l.kind.empty() ? "device" : l.kind;
}

// An existing link of the wrong kind is not ours: never touch it.
Result expect_kind(const LinkInfo& l, std::string_view want) {
  if (kind_of(l) == want) return {};
  return fmt::format(
      "interface '{}' exists but is a {} where the lab wants a {}: delete it (`ip link del {}`) "
      "or use another --prefix",
      l.name, kind_of(l), want, l.name);
}

}  // namespace

Layout::Layout(std::string_view p)
    : prefix(p),
      netns(fmt::format("{}-peer", p)),
      bridge(fmt::format("{}-br0", p)),
      taps{fmt::format("{}0", p), fmt::format("{}1", p)},
      packet_if(fmt::format("{}-v0", p)),
      packet_port(fmt::format("{}-vb", p)),
      peer_port(fmt::format("{}-pb", p)),
      peer_if(fmt::format("{}-p0", p)),
      peer_address(Ipv4Address(198, 18, 0, 1), 24),
      client_netns(fmt::format("{}-client", p)),
      client_port(fmt::format("{}-cb", p)),
      client_if(fmt::format("{}-c0", p)),
      client_address(Ipv4Address(198, 18, 0, 6), 24),
      tap_stack_addresses{Ipv4Address(198, 18, 0, 2), Ipv4Address(198, 18, 0, 3)},
      packet_stack_addresses{Ipv4Address(198, 18, 0, 4), Ipv4Address(198, 18, 0, 5)} {}

std::optional<std::string> check_prefix(std::string_view p) {
  constexpr size_t kLongestSuffix = 4;  // "-br0"
  if (p.empty() || p.size() + kLongestSuffix > kMaxIfName) {
    return fmt::format(
        "--prefix '{}' must have 1 to {} characters (interface names are at most "
        "{})",
        p, kMaxIfName - kLongestSuffix, kMaxIfName);
  }
  for (char c : p) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_')) {
      return fmt::format("--prefix '{}' may only contain letters, digits, '-' and '_'", p);
    }
  }
  return std::nullopt;
}

Result up(const Layout& lab, std::FILE* out) {
  auto say = [out](const std::string& line) { std::fprintf(out, "%s\n", line.c_str()); };

  // The namespaces of the kernel peer and of the kernel client.
  for (const std::string& ns : {lab.netns, lab.client_netns}) {
    auto made = create_netns(ns);
    if (!made.ok()) return made.error();
    say(fmt::format("namespace {}: {}", ns, *made ? "created" : "exists"));
  }

  auto nl = Netlink::open();
  if (!nl.ok()) return nl.error();

  // The bridge.
  if (auto l = nl->link(lab.bridge); l.ok()) {
    if (auto r = expect_kind(*l, "bridge"); !r.ok()) return r;
    say(fmt::format("bridge {}: exists", lab.bridge));
  } else {
    if (auto r = nl->create_bridge(lab.bridge); !r.ok()) return r;
    say(fmt::format("bridge {}: created", lab.bridge));
  }

  // Persistent TAPs. A TAP a stack is attached to right now is left alone.
  BufferPool pool;
  for (const std::string& tap : lab.taps) {
    if (auto l = nl->link(tap); l.ok()) {
      if (auto r = expect_kind(*l, "TAP"); !r.ok()) return r;
      say(fmt::format("TAP {}: exists", tap));
      continue;
    }
    auto dev =
        TapDevice::open({.name = tap, .mode = TapOptions::Mode::kCreate, .persist = true}, pool);
    if (!dev.ok()) return dev.error();
    say(fmt::format("TAP {}: created", tap));
  }  // the fds close here; persistent TAPs stay

  // The AF_PACKET veth pair.
  if (auto l = nl->link(lab.packet_if); l.ok()) {
    if (auto r = expect_kind(*l, "veth"); !r.ok()) return r;
    say(fmt::format("veth {} / {}: exists", lab.packet_if, lab.packet_port));
  } else {
    if (auto r = nl->create_veth(lab.packet_if, lab.packet_port); !r.ok()) return r;
    say(fmt::format("veth {} / {}: created", lab.packet_if, lab.packet_port));
  }

  // The peer's and the client's veth pairs; the far end of each goes into
  // its namespace. An end still in this namespace (an interrupted `up`) is
  // moved now.
  for (const auto& [port, ifname, ns] :
       {std::tuple{lab.peer_port, lab.peer_if, lab.netns},
        std::tuple{lab.client_port, lab.client_if, lab.client_netns}}) {
    if (auto l = nl->link(port); l.ok()) {
      if (auto r = expect_kind(*l, "veth"); !r.ok()) return r;
      say(fmt::format("veth {} / {}: exists", port, ifname));
    } else {
      if (auto r = nl->create_veth(port, ifname); !r.ok()) return r;
      say(fmt::format("veth {} / {}: created", port, ifname));
    }
    if (nl->link(ifname).ok()) {
      if (auto r = nl->move_to_netns(ifname, ns); !r.ok()) return r;
      say(fmt::format("{}: moved into {}", ifname, ns));
    }
  }

  // Bridge ports, no IPv6 on the host side, everything up.
  std::vector<std::string> ports = lab.taps;
  ports.push_back(lab.packet_port);
  ports.push_back(lab.peer_port);
  ports.push_back(lab.client_port);
  for (const std::string& port : ports) {
    if (auto r = nl->set_master(port, lab.bridge); !r.ok()) return r;
  }
  std::vector<std::string> host_links = ports;
  host_links.push_back(lab.packet_if);
  host_links.push_back(lab.bridge);
  for (const std::string& name : host_links) {
    write_sysctl(fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", name), "1");
    if (auto r = nl->set_up(name, true); !r.ok()) return r;
  }
  say(fmt::format("{}: ports {}, {}, {}, {}, {}; all up", lab.bridge, lab.taps[0], lab.taps[1],
                  lab.packet_port, lab.peer_port, lab.client_port));

  // The kernel peer and the kernel client.
  for (const auto& [who, ifname, ns, address] :
       {std::tuple{"kernel peer", lab.peer_if, lab.netns, lab.peer_address},
        std::tuple{"kernel client", lab.client_if, lab.client_netns, lab.client_address}}) {
    auto k = Netlink::open(ns);
    if (!k.ok()) return k.error();
    if (auto r = k->add_address(ifname, address); !r.ok()) return r;
    if (auto r = k->set_up(ifname, true); !r.ok()) return r;
    if (auto r = k->set_up("lo", true); !r.ok()) return r;
    say(fmt::format("{}: {} on {} in namespace {}", who, address.to_string(), ifname, ns));
  }
  return {};
}

Result down(const Layout& lab, std::FILE* out) {
  auto say = [out](const std::string& line) { std::fprintf(out, "%s\n", line.c_str()); };
  auto nl = Netlink::open();
  if (!nl.ok()) return nl.error();
  int removed = 0;
  // Deleting one end of a veth deletes both; the peer's end goes with
  // shunt-pb even though it is in another namespace.
  std::vector<std::string> links = lab.taps;
  links.push_back(lab.packet_if);
  links.push_back(lab.peer_port);
  links.push_back(lab.client_port);
  links.push_back(lab.bridge);
  for (const std::string& name : links) {
    auto l = nl->link(name);
    if (!l.ok()) continue;
    if (auto r = nl->delete_link(name); !r.ok()) return r;
    say(fmt::format("{} {}: deleted", kind_of(*l), name));
    ++removed;
  }
  // Ends left behind by an interrupted `up`.
  for (const std::string& name : {lab.packet_port, lab.peer_if, lab.client_if}) {
    if (nl->link(name).ok()) {
      if (auto r = nl->delete_link(name); !r.ok()) return r;
      say(fmt::format("veth {}: deleted", name));
      ++removed;
    }
  }
  for (const std::string& ns : {lab.netns, lab.client_netns}) {
    auto gone = delete_netns(ns);
    if (!gone.ok()) return gone.error();
    if (*gone) {
      say(fmt::format("namespace {}: deleted", ns));
      ++removed;
    }
  }
  if (removed == 0) say("nothing to remove: the lab is down");
  return {};
}

bool status(const Layout& lab, std::FILE* out) {
  std::vector<std::string> lines;
  bool complete = true;
  const bool ns = netns_exists(lab.netns);
  const bool client_ns = netns_exists(lab.client_netns);
  complete &= ns && client_ns;
  lines.push_back(fmt::format("  namespace {:<12} {}", lab.netns, ns ? "present" : "missing"));
  lines.push_back(
      fmt::format("  namespace {:<12} {}", lab.client_netns, client_ns ? "present" : "missing"));

  auto nl = Netlink::open();
  if (!nl.ok()) {
    std::fprintf(out, "shunt lab: cannot read the links: %s\n", nl.error().c_str());
    return false;
  }
  auto describe = [&](Netlink& n, const std::string& name, std::string_view want,
                      const std::string& master, const std::string& note) {
    auto l = n.link(name);
    if (!l.ok()) {
      complete = false;
      lines.push_back(fmt::format("  {:<12} missing", name));
      return;
    }
    std::string s = fmt::format("  {:<12} {:<6} {:<4}", name, kind_of(*l), l->up ? "up" : "down");
    complete &= kind_of(*l) == want && l->up;
    if (!master.empty()) {
      auto m = n.master_of(name);
      const bool ok = m.ok() && m->has_value() && **m == master;
      complete &= ok;
      s += ok ? fmt::format(" port of {}", master) : std::string(" NOT a bridge port");
    }
    if (kind_of(*l) == "TAP") s += l->carrier ? " (a stack is attached)" : " (no stack attached)";
    if (auto addrs = n.ipv4_addresses(name); addrs.ok()) {
      for (const Ipv4Cidr& c : *addrs) {
        s += ' ';  // (not `" " + ...`: GCC 12 -O2 warns -Wrestrict falsely)
        s += c.to_string();
      }
    }
    if (!note.empty()) s += "  " + note;
    lines.push_back(s);
  };
  describe(*nl, lab.bridge, "bridge", "", "");
  for (size_t i = 0; i < lab.taps.size(); ++i) {
    describe(*nl, lab.taps[i], "TAP", lab.bridge,
             fmt::format("stack address {}", lab.tap_stack_addresses[i].to_string()));
  }
  describe(*nl, lab.packet_if, "veth", "",
           fmt::format("AF_PACKET stacks: {}, {}", lab.packet_stack_addresses[0].to_string(),
                       lab.packet_stack_addresses[1].to_string()));
  describe(*nl, lab.packet_port, "veth", lab.bridge, "");
  describe(*nl, lab.peer_port, "veth", lab.bridge, "");
  describe(*nl, lab.client_port, "veth", lab.bridge, "");
  // The kernels' interfaces, each in its namespace, with its address.
  for (const auto& [present, ifname, netns, address] :
       {std::tuple{ns, lab.peer_if, lab.netns, lab.peer_address},
        std::tuple{client_ns, lab.client_if, lab.client_netns, lab.client_address}}) {
    if (!present) {
      complete = false;
      lines.push_back(fmt::format("  {:<12} missing", ifname));
      continue;
    }
    auto knl = Netlink::open(netns);
    if (!knl.ok()) {
      complete = false;
      continue;
    }
    describe(*knl, ifname, "veth", "", fmt::format("(in {})", netns));
    if (auto a = knl->ipv4_addresses(ifname);
        !a.ok() || std::find(a->begin(), a->end(), address) == a->end()) {
      complete = false;
    }
  }
  bool any = ns || client_ns;
  for (const auto& l : lines) any |= l.find(" missing") == std::string::npos;
  std::fprintf(out, "shunt lab (prefix %s): %s\n", lab.prefix.c_str(),
               complete ? "up"
               : any    ? "incomplete: run `shunt lab up` to repair or `shunt lab down`"
                        : "down");
  for (const auto& l : lines) std::fprintf(out, "%s\n", l.c_str());
  return complete;
}

namespace {

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: shunt lab up|down|status [--prefix P]\n"
               "  up      build the test network (idempotent)\n"
               "  down    remove everything `up` made\n"
               "  status  print what exists; exit status 0 when complete, 3 otherwise\n"
               "  --prefix P  name everything P-peer, P-br0, P0, ... (default: shunt)\n"
               "See docs/lab.md for the topology and the addresses.\n");
}

}  // namespace

int run(const std::vector<std::string_view>& args) {
  std::string_view command;
  std::string prefix(kDefaultPrefix);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "-h" || args[i] == "--help") {
      usage(stdout);
      return 0;
    }
    if (args[i] == "--prefix") {
      if (i + 1 == args.size()) {
        std::fprintf(stderr, "shunt lab: --prefix needs a value\n");
        return 2;
      }
      prefix = std::string(args[++i]);
    } else if (args[i].starts_with("--prefix=")) {
      prefix = std::string(args[i].substr(9));
    } else if (command.empty() && !args[i].starts_with("-")) {
      command = args[i];
    } else {
      std::fprintf(stderr, "shunt lab: unexpected argument '%s'\n", std::string(args[i]).c_str());
      usage(stderr);
      return 2;
    }
  }
  if (auto bad = check_prefix(prefix)) {
    std::fprintf(stderr, "shunt lab: %s\n", bad->c_str());
    return 2;
  }
  const Layout lab(prefix);
  if (command == "status") return status(lab, stdout) ? 0 : 3;
  if (command != "up" && command != "down") {
    if (command.empty()) {
      std::fprintf(stderr, "shunt lab: which one: up, down or status?\n");
    } else {
      std::fprintf(stderr, "shunt lab: unknown subcommand '%s'\n", std::string(command).c_str());
    }
    usage(stderr);
    return 2;
  }
  auto r = command == "up" ? up(lab, stdout) : down(lab, stdout);
  if (!r.ok()) {
    std::fprintf(stderr, "shunt lab %s: %s\n", std::string(command).c_str(), r.error().c_str());
    return 1;
  }
  if (command == "up") {
    std::fprintf(stdout, "\n");
    return status(lab, stdout) ? 0 : 1;
  }
  return 0;
}

}  // namespace shunt::lab
