// `shunt ss [-t] [-u] [-l] [-a] [-n] [-i] [-p] [--json] [PID]`: the stack's
// sockets in ss(8)'s layout (control/ss_format.h). Without PID, the sockets
// of every running shunt process.
#include <cstdio>

#include <fmt/format.h>

#include "control/ss_format.h"
#include "tools/control_client.h"

namespace shunt::tools {
namespace {

constexpr const char* kUsage =
    "usage: shunt ss [-t] [-u] [-l] [-a] [-n] [-i] [-p] [--json] [PID]\n"
    "  -t TCP only, -u UDP only, -l listening only, -a all states, -n numeric ports,\n"
    "  -i TCP internals, -p process, --json JSON; no PID: every shunt process\n";

}  // namespace

int ss_main(const std::vector<std::string_view>& args) {
  control::SsOptions o;
  bool json = false;
  std::vector<int> pids;
  bool have_pid = false;
  for (std::string_view a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
      for (char c : a.substr(1)) {
        switch (c) {
          case 't': o.tcp = true; break;
          case 'u': o.udp = true; break;
          case 'l': o.listening = true; break;
          case 'a': o.all = true; break;
          case 'n': o.numeric = true; break;
          case 'i': o.info = true; break;
          case 'p': o.process = true; break;
          default:
            std::fprintf(stderr, "shunt ss: unknown option -%c\n%s", c, kUsage);
            return 2;
        }
      }
    } else if (auto pid = parse_pid(a); pid && !have_pid) {
      pids.push_back(*pid);
      have_pid = true;
    } else {
      std::fprintf(stderr, "shunt ss: unexpected argument '%.*s'\n%s", static_cast<int>(a.size()),
                   a.data(), kUsage);
      return 2;
    }
  }
  if (!have_pid) pids = running_pids();
  std::vector<control::Json> replies;
  int status = 0;
  for (int pid : pids) {
    auto r = control_request(pid, "ss");
    if (!r) {
      // A process that exited between the listing and the request is not
      // an error when listing them all.
      if (have_pid) {
        std::fprintf(stderr, "shunt ss: %s\n", r.error().c_str());
        status = 1;
      }
      continue;
    }
    replies.push_back(std::move(*r));
  }
  if (status != 0) return status;
  if (json) {
    std::fputs((control::filter_ss(replies, o).dump(2) + "\n").c_str(), stdout);
  } else {
    std::fputs(control::format_ss(replies, o).c_str(), stdout);
    if (!have_pid && pids.empty()) std::fputs("(no running shunt process)\n", stderr);
  }
  return 0;
}

}  // namespace shunt::tools
