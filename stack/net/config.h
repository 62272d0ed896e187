// Stack settings with their defaults (docs/settings.md lists them). Defaults
// follow Linux where Linux has a sysctl for the same thing.
#pragma once

#include <cstdint>
#include <optional>

#include "stack/base/addr.h"
#include "stack/base/random.h"
#include "stack/base/sock_buf.h"
#include "stack/base/time.h"
#include "stack/tcp/tcp_config.h"

namespace shunt {

struct ArpConfig {
  // How long a confirmed neighbour is REACHABLE (Linux base_reachable_time_ms).
  Duration reachable_time = 30s;
  // Unused STALE entries are removed after this (Linux gc_stale_time).
  Duration gc_stale_time = 60s;
  // Between two requests for one neighbour (Linux retrans_time_ms).
  Duration retrans_time = 1s;
  // Requests sent before giving up (Linux mcast_solicit / ucast_solicit: 3).
  uint32_t max_probes = 3;
  // Packets queued per unresolved neighbour (Linux unres_qlen ~ 101).
  uint32_t queue_len = 64;
  // Most neighbours kept (Linux gc_thresh3).
  uint32_t max_entries = 1024;
};

struct ReassemblyConfig {
  // RFC 791 suggests 15 s; Linux ipfrag_time is 30 s.
  Duration timeout = 30s;
  // Bytes of fragments held at once (Linux ipfrag_high_thresh, 4 MiB).
  uint32_t memory_limit = 4u << 20;
  // Datagrams being reassembled at once.
  uint32_t max_datagrams = 1024;
};

struct IcmpConfig {
  // Token bucket for ICMP errors we send (Linux icmp_msgs_per_sec / burst).
  uint32_t errors_per_sec = 1000;
  uint32_t error_burst = 50;
  // Answer echo requests sent to a broadcast address (Linux
  // icmp_echo_ignore_broadcasts=1 means no).
  bool echo_broadcast = false;
};

struct UdpConfig {
  // Default SO_RCVBUF / SO_SNDBUF in bytes (Linux rmem_default / wmem_default).
  uint32_t rcvbuf = 212992;
  uint32_t sndbuf = 212992;
};

struct StackConfig {
  MacAddress mac;
  // The interface address; without one the stack only answers nothing.
  std::optional<Ipv4Cidr> address;
  std::optional<Ipv4Address> gateway;
  // IP MTU of the link (the stack uses the smaller of this and the device's).
  uint32_t mtu = 1500;
  uint8_t default_ttl = 64;
  // Ephemeral port range (Linux ip_local_port_range).
  uint16_t ephemeral_low = 32768;
  uint16_t ephemeral_high = 60999;
  // Seeds every random choice (ports, IP IDs, secrets). The preload runtime
  // draws it from the OS; simulations fix it.
  uint64_t seed = 1;
  // The secret behind TCP's initial sequence numbers (RFC 6528) and
  // timestamp offsets (RFC 7323 5.4), when it must outlive the stack: the
  // processes of one host share it, as Linux's per-boot secret is shared by
  // every socket, so that a new process's SYN on a 4-tuple the peer still
  // holds in TIME-WAIT has a newer ISN and timestamp and is accepted (RFC
  // 6191) instead of stalling for an RTO. nullopt: drawn from `seed`.
  std::optional<SipKey> tcp_secret;
  ArpConfig arp;
  ReassemblyConfig reassembly;
  IcmpConfig icmp;
  CoreConfig core;
  UdpConfig udp;
  tcp::TcpConfig tcp;
};

}  // namespace shunt
