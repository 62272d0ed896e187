// TCP settings with their defaults (docs/settings.md). Defaults follow the
// Linux sysctl of the same meaning.
#pragma once

#include <cstdint>
#include <string>

#include "stack/base/time.h"

namespace shunt::tcp {

struct TcpConfig {
  // Default SO_RCVBUF / SO_SNDBUF in bytes of payload.
  // (Linux grows its buffers by autotuning up to tcp_rmem[2]/tcp_wmem[2];
  // shunt has no autotuning yet and starts at 1 MiB each.)
  uint32_t rcvbuf = 1 << 20;
  uint32_t sndbuf = 1 << 20;
  // The smallest path MTU an ICMP "fragmentation needed" may set (Linux
  // net.ipv4.route.min_pmtu, 552): a forged MTU of 68 would otherwise cut
  // every segment to a few bytes (RFC 5927 5.2: validate and bound it).
  uint32_t min_pmtu = 552;
  // The most either may be set to (Linux tcp_rmem[2] / tcp_wmem[2]).
  uint32_t rcvbuf_max = 6291456;
  uint32_t sndbuf_max = 4194304;
  // What SO_RCVBUF / SO_SNDBUF read on a socket whose size was not set
  // (Linux tcp_rmem[1] / tcp_wmem[1]). Linux starts such a socket there and
  // grows it by autotuning; shunt gives it rcvbuf / sndbuf above from the
  // start and reports these.
  uint32_t rmem_initial = 131072;
  uint32_t wmem_initial = 16384;
  // TIME_WAIT lasts 2*MSL (Linux TCP_TIMEWAIT_LEN: 60 s).
  Duration time_wait = 60s;
  // An orphaned FIN_WAIT_2 connection is dropped after this (tcp_fin_timeout).
  Duration fin_timeout = 60s;
  // SYN retransmissions before connect() fails with ETIMEDOUT (tcp_syn_retries).
  uint32_t syn_retries = 6;
  // SYN-ACK retransmissions for a half-open connection (tcp_synack_retries).
  uint32_t synack_retries = 5;
  // Data retransmissions before the connection fails (tcp_retries2).
  uint32_t retries2 = 15;
  // Orphaned connections give up sooner (tcp_orphan_retries 0 means 8).
  uint32_t orphan_retries = 8;
  // RFC 6298 bounds (Linux TCP_RTO_MIN / TCP_RTO_MAX / TCP_TIMEOUT_INIT).
  Duration rto_min = 200ms;
  Duration rto_max = 120s;
  Duration rto_initial = 1s;
  // Delayed ACK bounds (Linux TCP_DELACK_MIN / TCP_DELACK_MAX); RFC 9293
  // 3.8.6.3 allows at most 500 ms, RFC 1122 asks for less.
  Duration delack_min = 40ms;
  Duration delack_max = 200ms;
  // Keepalive (tcp_keepalive_time / _intvl / _probes).
  Duration keepalive_time = 7200s;
  Duration keepalive_intvl = 75s;
  uint32_t keepalive_probes = 9;
  // listen() backlog clamp (somaxconn) and the SYN queue bound
  // (tcp_max_syn_backlog).
  uint32_t somaxconn = 4096;
  uint32_t max_syn_backlog = 4096;
  // SYN cookies when the SYN queue is full (tcp_syncookies = 1).
  bool syncookies = true;
  // Options we offer (tcp_window_scaling, tcp_timestamps, tcp_sack).
  bool window_scaling = true;
  bool timestamps = true;
  bool sack = true;
  // Congestion control for new sockets (tcp_congestion_control).
  std::string congestion_control = "cubic";
  // RFC 5961 challenge ACKs per second, stack-wide (tcp_challenge_ack_limit)
  // and per connection at most one per this interval.
  uint32_t challenge_ack_limit = 1000;
  // Least time between two ACKs answering out-of-window segments
  // (tcp_invalid_ratelimit).
  Duration invalid_ratelimit = 500ms;
  // Persist timer bounds (zero-window probes).
  Duration persist_min = 200ms;
  Duration persist_max = 120s;
};

}  // namespace shunt::tcp
