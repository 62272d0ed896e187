// `shunt ab`: runs one scenario (scenario.h) on the kernel and on shunt
// over the lab (tools/lab.h, docs/lab.md), interleaved, and writes the
// report (report.h). docs/ab.md describes what is measured and how.
//
//   server  the kernel, in namespace P-peer (198.18.0.1), started once;
//   kernel  the client on the kernel, in namespace P-client (198.18.0.6);
//   shunt   the client through `shunt --tap P0 --ip 198.18.0.2/24` (or
//           --packet P-v0 --ip 198.18.0.4/24) in this namespace.
//
// Both clients reach the server through the lab's bridge. Runs go kernel,
// shunt, kernel, shunt, ...; each run runs every step of the scenario.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shunt::ab {

struct Options {
  std::string scenario = "iperf3";
  int runs = 5;
  int duration_s = 5;
  std::string out_dir;  // empty: ./ab-<scenario>-<YYYYmmdd-HHMMSS>
  std::string prefix = "shunt";
  bool packet = false;                     // shunt on AF_PACKET (P-v0) instead of the TAP P0
  std::vector<std::string> shunt_options;  // given to `shunt` before `--`
  double timeout_s = 0;                    // per client run; 0: 2 x expected + 30 s
  bool plot = true;
  // custom
  std::string server_command;
  std::string client_command;
  uint16_t server_port = 0;
  // redis
  uint64_t requests = 0;
};

// Exit status: 0 when every run succeeded, 1 when a run failed (it is in
// the report), 2 for a setup error (one line on stderr, no report), 130
// when interrupted.
int run(const Options& o);

}  // namespace shunt::ab
