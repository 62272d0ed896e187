// `shunt fault PID list | add RULE | del ID`: the fault rules of a running
// program (docs/faults.md). A rule is checked here first, so a typo gets
// the same one-line error as `shunt --fault`.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "driver/fault_rules.h"
#include "tools/control_client.h"

namespace shunt::tools {
namespace {

constexpr const char* kUsage =
    "usage: shunt fault PID list [--json]\n"
    "       shunt fault PID add 'RULE'      e.g. 'both drop 2%' (docs/faults.md)\n"
    "       shunt fault PID del ID          ID as `list` shows it\n"
    "       shunt fault PID log [N]         the last N faults injected (default 20, at most 1024 kept):\n"
    "                                       time (s, CLOCK_MONOTONIC), rule id, direction, action, packet\n";

void print_rules(const control::Json& reply) {
  const control::Json faults = reply.value("faults", control::Json::object());
  const control::Json rules = faults.value("rules", control::Json::array());
  if (rules.empty()) {
    std::printf("no fault rules in process %d\n", reply.value("pid", 0));
    return;
  }
  std::printf("%3s %12s %12s  %s\n", "id", "matched", "injected", "rule");
  for (const auto& r : rules) {
    std::printf("%3d %12llu %12llu  %s\n", r.value("id", 0),
                static_cast<unsigned long long>(r.value("matched", uint64_t{0})),
                static_cast<unsigned long long>(r.value("injected", uint64_t{0})),
                r.value("rule", "").c_str());
  }
}

}  // namespace

int fault_main(const std::vector<std::string_view>& args) {
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args.size() < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto pid = parse_pid(args[0]);
  if (!pid) {
    std::fprintf(stderr, "shunt fault: %s\n%s", pid.error().c_str(), kUsage);
    return 2;
  }
  const std::string_view verb = args[1];
  std::string request;
  if (verb == "list") {
    if (args.size() > 3 || (args.size() == 3 && args[2] != "--json")) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    request = "fault list";
  } else if (verb == "add") {
    if (args.size() < 3) {
      std::fprintf(stderr, "shunt fault: add needs a RULE\n%s", kUsage);
      return 2;
    }
    std::string rule;
    for (size_t i = 2; i < args.size(); ++i) rule += (i > 2 ? " " : "") + std::string(args[i]);
    if (auto parsed = parse_fault_rule(rule); !parsed) {
      std::fprintf(stderr, "shunt fault: bad rule %s\n", parsed.error().c_str());
      return 2;
    }
    request = "fault add " + rule;
  } else if (verb == "log") {
    if (args.size() > 3 || (args.size() == 3 && !parse_pid(args[2]))) {
      std::fprintf(stderr, "shunt fault: log takes an optional count N >= 1\n%s", kUsage);
      return 2;
    }
    request = "fault list";
  } else if (verb == "del") {
    if (args.size() != 3 || !parse_pid(args[2])) {
      std::fprintf(stderr, "shunt fault: del needs one rule ID (a number from `list`)\n%s", kUsage);
      return 2;
    }
    request = "fault del " + std::string(args[2]);
  } else {
    std::fprintf(stderr, "shunt fault: unknown action '%.*s'\n%s", static_cast<int>(verb.size()),
                 verb.data(), kUsage);
    return 2;
  }
  auto r = control_request(*pid, request);
  if (!r) {
    std::fprintf(stderr, "shunt fault: %s\n", r.error().c_str());
    return 1;
  }
  if (verb == "list") {
    if (args.size() == 3) {
      std::fputs((r->value("faults", control::Json::object()).dump(2) + "\n").c_str(), stdout);
    } else {
      print_rules(*r);
    }
  } else if (verb == "log") {
    const size_t n = args.size() == 3 ? static_cast<size_t>(*parse_pid(args[2])) : 20;
    const control::Json faults = r->value("faults", control::Json::object());
    const control::Json log = faults.value("log", control::Json::array());
    const size_t skip = log.size() > n ? log.size() - n : 0;
    for (size_t i = skip; i < log.size(); ++i) std::printf("%s\n", log[i].get<std::string>().c_str());
    if (log.empty()) std::printf("no faults injected yet in process %d\n", *pid);
  } else if (verb == "add") {
    std::printf("process %d: added rule %d: %s\n", *pid, r->value("id", 0), r->value("rule", "").c_str());
  } else {
    std::printf("process %d: deleted rule %.*s\n", *pid, static_cast<int>(args[2].size()), args[2].data());
  }
  return 0;
}

}  // namespace shunt::tools
