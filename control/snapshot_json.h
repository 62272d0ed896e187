// The JSON documents a preloaded process answers on its control socket
// (docs/control.md), made from stack snapshots. Pure: the preload runtime
// takes the snapshot under its lock, this shapes it, and the tests check the
// shape without a process.
//
//   ss    {"pid", "comm", "address", "sockets": [socket...]}
//   stat  {"pid", "comm", "counters": {"Ip": {"InReceives": 12, ...}, ...},
//          "drops": {"tcp_bad_checksum": 3, ...}, "faults": {...}}
//
// A socket: {"proto": "tcp"|"udp", "state": "ESTAB" (ss's names), "recv_q",
// "send_q", "local": "198.18.0.2:40000", "peer": "198.18.0.1:80" ("*:*"
// when none), "fds": [5, 7], and for TCP connections "info": TCP_INFO with
// units in the key names (rtt_us, rto_us, delivery_rate_bps, ...)}.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/json.h"

#include "stack/net/socket_list.h"
#include "stack/net/stats.h"

namespace shunt::control {

// ss's name for a state: ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2,
// TIME-WAIT, CLOSE-WAIT, LAST-ACK, LISTEN, CLOSING, and UNCONN for a UDP
// socket without a peer.
std::string_view ss_state_name(SocketEntry::Proto proto, tcp::TcpState state);

Json tcp_info_to_json(const tcp::TcpInfo& info);
Json socket_to_json(const SocketEntry& e, std::span<const int> fds);
// Every counter by group (zeros included), and the nonzero drop reasons
// under "drops".
Json stats_to_json(const Stats& s);

// One fault rule's counts, as the runtime reads them from its fault device.
struct FaultRuleStatus {
  uint32_t id = 0;
  std::string rule;
  uint64_t matched = 0;
  uint64_t injected = 0;
  uint64_t rate_dropped = 0;
};
// {"seed": N, "rules": [{"id", "rule", "matched", "injected",
// "rate_dropped"}], "log": ["0.123456 rule 1 in drop TCP ...", ...],
// "log_dropped": N}
Json faults_to_json(uint64_t seed, const std::vector<FaultRuleStatus>& rules,
                              const std::vector<std::string>& log, uint64_t log_dropped);

}  // namespace shunt::control
