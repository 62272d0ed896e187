// `shunt stat [--json] [--watch] [--interval S] [-z] PID`: the stack's
// counters like nstat / netstat -s, its drop reasons and the fault rules'
// counts (control/stat_format.h). Without PID: the running shunt processes.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "control/stat_format.h"
#include "tools/control_client.h"

namespace shunt::tools {
namespace {

constexpr const char* kUsage =
    "usage: shunt stat [--json] [--watch] [--interval SECONDS] [-z] [PID]\n"
    "  --watch     print again every interval (default 1 s), with each counter's change\n"
    "  -z          counters that are zero too\n"
    "  no PID      list the running shunt processes\n";

int list_processes(bool json) {
  control::Json procs = control::Json::array();
  for (int pid : running_pids()) {
    auto r = control_request(pid, "ss");
    if (!r) continue;
    procs.push_back({{"pid", pid},
                     {"comm", r->value("comm", "")},
                     {"address", r->value("address", "")},
                     {"device", r->value("device", "")},
                     {"sockets", r->value("sockets", control::Json::array()).size()}});
  }
  if (json) {
    std::fputs((control::Json{{"processes", procs}}.dump(2) + "\n").c_str(), stdout);
    return 0;
  }
  std::printf("%-8s %-16s %-18s %-16s %s\n", "PID", "COMMAND", "ADDRESS", "DEVICE", "SOCKETS");
  for (const auto& p : procs) {
    std::printf("%-8d %-16s %-18s %-16s %zu\n", p["pid"].get<int>(), p["comm"].get<std::string>().c_str(),
                p["address"].get<std::string>().c_str(), p["device"].get<std::string>().c_str(),
                p["sockets"].get<size_t>());
  }
  return 0;
}

double seconds_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int stat_main(const std::vector<std::string_view>& args) {
  bool json = false;
  bool watch = false;
  double interval = 1.0;
  control::StatOptions o;
  std::optional<int> pid;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--watch" || a == "-w") {
      watch = true;
    } else if (a == "-z" || a == "--zeros") {
      o.zeros = true;
    } else if (a == "--interval") {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "shunt stat: --interval needs SECONDS\n%s", kUsage);
        return 2;
      }
      std::string v(args[++i]);
      char* end = nullptr;
      interval = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(interval >= 0.05 && interval <= 3600)) {
        std::fprintf(stderr, "shunt stat: --interval '%s': give seconds between 0.05 and 3600\n", v.c_str());
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (auto p = parse_pid(a); p && !pid) {
      pid = *p;
    } else {
      std::fprintf(stderr, "shunt stat: unexpected argument '%.*s'\n%s", static_cast<int>(a.size()),
                   a.data(), kUsage);
      return 2;
    }
  }
  if (!pid) return list_processes(json);

  std::optional<control::Json> previous;
  double previous_at = 0;
  for (int round = 0;; ++round) {
    auto r = control_request(*pid, "stat");
    if (!r) {
      // --watch ends quietly when the program it watched exits.
      if (watch && round > 0) return 0;
      std::fprintf(stderr, "shunt stat: %s\n", r.error().c_str());
      return 1;
    }
    const double t = seconds_now();
    if (json) {
      std::fputs(((watch ? r->dump() : r->dump(2)) + "\n").c_str(), stdout);
    } else {
      if (watch && isatty(STDOUT_FILENO)) std::fputs("\033[H\033[2J", stdout);
      if (watch) std::printf("--- %s\n", fmt::format("{:.1f} s", round * interval).c_str());
      std::fputs(control::format_stat(*r, o, previous ? &*previous : nullptr, t - previous_at).c_str(),
                 stdout);
    }
    std::fflush(stdout);
    if (!watch) return 0;
    previous = std::move(*r);
    previous_at = t;
    usleep(static_cast<useconds_t>(interval * 1e6));
  }
}

}  // namespace shunt::tools
