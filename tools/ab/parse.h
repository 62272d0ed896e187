// Parsers for what the benchmark clients print and for the kernel's and
// shunt's counters, as `shunt ab` reads them. Each takes the text and
// returns the figures or one line saying what was wrong; none throws.
// Unit-tested with real output (tests/unit/ab_parse_test.cc).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"

namespace shunt::ab {

template <class T>
using Parsed = Expected<T, std::string>;

// `iperf3 -c ... -J`: the receiver's side of the whole test (end.sum_received),
// which is the goodput in either direction (-R included).
struct Iperf3Figures {
  double bits_per_second = 0;
  double bytes = 0;
  double seconds = 0;
};
Parsed<Iperf3Figures> parse_iperf3(std::string_view json_text);

// `sockperf ping-pong --full-rtt`: round-trip percentiles (microseconds) and
// the round trips counted in the valid part of the run.
struct SockperfFigures {
  double p50_us = 0;
  double p99_us = 0;
  double avg_us = 0;
  double observations = 0;
  double seconds = 0;  // "[Valid Duration] RunTime"
};
Parsed<SockperfFigures> parse_sockperf(std::string_view text);

// ApacheBench's report and its `-e` CSV of percentiles (milliseconds).
struct AbFigures {
  double requests_per_second = 0;
  double complete = 0;
  double failed = 0;
  double non_2xx = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};
Parsed<AbFigures> parse_ab(std::string_view report, std::string_view percentiles_csv);

// `redis-benchmark --csv`: one row per test (SET, GET, ...).
struct RedisRow {
  std::string test;
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};
Parsed<std::vector<RedisRow>> parse_redis_csv(std::string_view text);

// The counters SHUNT_STATS=1 prints to stderr at exit
// ("shunt[PID]: stack counters ..." then "  Group:" / "    Name  value"),
// keyed "Group.Name" and summed over every block (one per process with a
// stack). nullopt when there is no block at all (the stack never started,
// or the process did not exit normally). Counters that are 0 are not
// printed, so a missing name reads as 0.
std::optional<std::map<std::string, uint64_t>> parse_shunt_stats(std::string_view stderr_text);

// /proc/net/snmp (and netstat): header and value line pairs, keyed
// "Tcp.RetransSegs".
std::map<std::string, uint64_t> parse_snmp(std::string_view text);

// The local ports in /proc/net/tcp that are in LISTEN, or (tcp = false) the
// ports of every socket in /proc/net/udp.
std::set<uint16_t> parse_bound_ports(std::string_view proc_net_text, bool tcp);

// The last non-empty line, trimmed and cut to 200 characters, without
// terminal colour codes: what an error message quotes.
std::string last_line(std::string_view text);

// Removes ANSI escape sequences (sockperf colours its output).
std::string strip_ansi(std::string_view text);

}  // namespace shunt::ab
