// `shunt ss`: which sockets to show and how, as ss(8) does it for the
// kernel's (`ss -tani` layout), from the control socket's "ss" replies
// (snapshot_json.h). Pure, so the layout has golden tests.
#pragma once

#include <string>
#include <vector>

#include "control/json.h"

namespace shunt::control {

struct SsOptions {
  bool tcp = false;        // -t (with -u: both; neither: both)
  bool udp = false;        // -u
  bool listening = false;  // -l: only LISTEN / UNCONN
  bool all = false;        // -a: every state
  bool numeric = false;    // -n: no service names
  bool info = false;       // -i: TCP internals
  bool process = false;    // -p: users:(("comm",pid=N,fd=N))
};

// Whether ss would show this socket: by default the connected ones (not
// LISTEN, UNCONN, TIME-WAIT, SYN-RECV, CLOSE); -l only listening ones; -a all.
bool ss_selected(const Json& socket, const SsOptions& o);

// The table for the replies of one or more processes.
std::string format_ss(const std::vector<Json>& replies, const SsOptions& o);

// --json: {"processes": [{"pid", "comm", "sockets": [...selected...]}]}.
Json filter_ss(const std::vector<Json>& replies, const SsOptions& o);

// "0.123/0.061" style milliseconds from microseconds, as ss prints rtt.
std::string ms3(int64_t us);
// "12.3Mbps" style rates, as ss prints delivery_rate.
std::string rate_bps(uint64_t bps);

}  // namespace shunt::control
