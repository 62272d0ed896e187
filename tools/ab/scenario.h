// The workloads of `shunt ab` (docs/ab.md): which servers run on the
// kernel peer, which client commands run once per side and run, and how
// each client's output becomes figures.
//
// A scenario has servers (started once, in the peer namespace, on the
// kernel) and steps (one client command each, e.g. iperf3's upload and its
// download). The runner (runner.h) runs every step on both sides and adds
// the figures every step has: the client's CPU time, its CPU per unit of
// work, and the TCP segments each end retransmitted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/result.h"
#include "tools/ab/report.h"

namespace shunt::ab {

using Values = std::map<std::string, double>;

// The key of Values that a parser sets to the units of work the client did
// (GB, round trips, requests), for "client CPU per unit"; not a metric.
inline constexpr const char* kWork = "_work";

// What one client run printed. `files` is the path prefix the command got
// for "{files}" (ab writes its percentiles to "{files}.csv").
struct ClientOutput {
  std::string out;
  std::string err;
  std::string files;
};

struct Listen {
  bool tcp = true;      // a TCP listener; false: a bound UDP socket
  uint16_t port = 0;    // 0: any TCP listener that was not there before
  bool either = false;  // a TCP listener or a UDP socket on `port`
};

struct ServerSpec {
  std::string name;
  std::vector<std::string> argv;
  std::vector<Listen> listens;  // ready when all of these exist
};

struct StepSpec {
  std::string id;                  // "upload": the first part of its metric ids
  std::string title;               // "upload": the first part of its labels
  std::vector<std::string> argv;   // the client; "{files}" is replaced per run
  double expected_s = 0;           // a run's usual length; the default timeout is 2x + 30 s
  bool tcp = true;                 // count retransmitted TCP segments
  bool wall = false;               // report the wall time (custom clients)
  std::vector<MetricDef> metrics;  // what parse() sets, in report order
  // The figures; an error (one line) makes the run a failed one.
  std::function<Expected<Values, std::string>(const ClientOutput&)> parse;
  std::string work_unit;  // "GB", "round trip", "request"; empty: no per-unit CPU
  double cpu_scale = 1;   // seconds of CPU per unit -> the unit below
  std::string cpu_unit;   // "s", "us"
  std::string headline;   // the metric id the progress line shows
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<std::string> programs;  // needed in PATH (servers and clients)
  std::vector<ServerSpec> servers;
  std::vector<StepSpec> steps;
  // Writes the files the servers need (nginx's configuration) into `dir`.
  std::function<Expected<void, std::string>(const std::string& dir)> prepare;
};

struct ScenarioParams {
  int duration_s = 5;  // whole seconds: iperf3, sockperf and ab take no fractions
  std::string server_ip = "198.18.0.1";
  std::string dir;  // the scenario's own files (absolute)
  // custom
  std::string server_command;
  std::string client_command;
  uint16_t server_port = 0;
  // redis: requests per test; 0: 50,000 per second of --duration
  uint64_t requests = 0;
};

const std::vector<std::string_view>& scenario_names();

// An error (one line) for an unknown name or missing parameters.
Expected<Scenario, std::string> make_scenario(std::string_view name, const ScenarioParams& p);

// "{server}" and "{duration}" in a custom command.
std::string expand_placeholders(std::string_view command, const ScenarioParams& p);

}  // namespace shunt::ab
