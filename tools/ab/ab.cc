#include "tools/ab/ab.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>

#include "tools/ab/runner.h"
#include "tools/ab/scenario.h"

namespace shunt::ab {
namespace {

void usage(std::FILE* f) {
  std::fprintf(
      f,
      "usage: shunt ab [--scenario NAME] [--runs N] [--duration S] [--out DIR] [options]\n"
      "       shunt ab --server 'COMMAND' --client 'COMMAND' [options]\n"
      "\n"
      "Runs the same client on the kernel and through shunt against one server on the\n"
      "kernel peer of the lab (docs/lab.md), interleaved kernel, shunt, kernel, ..., and\n"
      "reports the medians and the shunt/kernel ratios: DIR/ab.md (also on stdout),\n"
      "DIR/ab.json and DIR/ab.png. Needs root; brings the lab up if it is missing.\n"
      "\n"
      "  --scenario NAME     iperf3 | sockperf | nginx | redis | custom (default: iperf3)\n"
      "  --runs N            runs per side, 1..1000 (default: 5)\n"
      "  --duration S        seconds per step, whole, 1..3600 (default: 5)\n"
      "  --out DIR           where the report goes (default: ./ab-SCENARIO-YYYYmmdd-HHMMSS)\n"
      "  --device tap|packet shunt on TAP P0 at 198.18.0.2, or AF_PACKET on P-v0 at\n"
      "                      198.18.0.4 (default: tap)\n"
      "  --shunt-option OPT  give OPT to `shunt` on the shunt side, e.g. --busy-poll=50\n"
      "                      (repeatable; default: none)\n"
      "  --timeout S         limit of one client run (default: twice its usual length + 30 s;\n"
      "                      custom: 120 s)\n"
      "  --requests N        redis: requests per test (default: 50,000 x --duration)\n"
      "  --no-plot           no ab.png (gnuplot is not needed then)\n"
      "  --prefix P          the lab's prefix (default: shunt)\n"
      "  --server 'CMD'      custom: the server, run by sh on the peer (198.18.0.1)\n"
      "  --client 'CMD'      custom: the client, run by sh once per side and run\n"
      "  --server-port PORT  custom: wait until the server listens on PORT (TCP or UDP;\n"
      "                      default: until any new TCP port listens)\n"
      "In custom commands {server} is 198.18.0.1 and {duration} the --duration.\n"
      "Exit status: 0 all runs succeeded, 1 a run failed (see the report), 2 a setup error.\n"
      "See docs/ab.md.\n");
}

template <class T>
std::optional<T> number(std::string_view s, T lo, T hi) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

int bad(const std::string& line) {
  std::fprintf(stderr, "shunt ab: %s (see shunt ab --help)\n", line.c_str());
  return 2;
}

}  // namespace

int command(const std::vector<std::string_view>& args) {
  Options o;
  bool scenario_given = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "--no-plot") {
      o.plot = false;
      continue;
    }
    std::string_view flag = a;
    std::optional<std::string_view> value;
    if (size_t eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    static constexpr std::string_view kWithValue[] = {
        "--scenario", "--runs",   "--duration", "--out",    "--device",      "--shunt-option",
        "--timeout",  "--prefix", "--server",   "--client", "--server-port", "--requests"};
    bool known = false;
    for (std::string_view k : kWithValue) known |= flag == k;
    if (!known) {
      return bad(a.starts_with("-") ? fmt::format("unknown option '{}'", a)
                                    : fmt::format("unexpected argument '{}'", a));
    }
    if (!value) {
      if (i + 1 == args.size()) return bad(fmt::format("{} needs a value", flag));
      value = args[++i];
    }
    const std::string_view v = *value;
    if (flag == "--scenario") {
      o.scenario = std::string(v);
      scenario_given = true;
    } else if (flag == "--runs") {
      auto n = number<int>(v, 1, 1000);
      if (!n) return bad(fmt::format("--runs '{}': give a whole number from 1 to 1000", v));
      o.runs = *n;
    } else if (flag == "--duration") {
      auto n = number<int>(v, 1, 3600);
      if (!n) return bad(fmt::format("--duration '{}': give whole seconds from 1 to 3600", v));
      o.duration_s = *n;
    } else if (flag == "--out") {
      if (v.empty()) return bad("--out needs a directory");
      o.out_dir = std::string(v);
    } else if (flag == "--device") {
      if (v != "tap" && v != "packet") return bad(fmt::format("--device '{}': tap or packet", v));
      o.packet = v == "packet";
    } else if (flag == "--shunt-option") {
      if (!v.starts_with("--")) {
        return bad(
            fmt::format("--shunt-option '{}': an option of `shunt`, like --busy-poll=50", v));
      }
      o.shunt_options.emplace_back(v);
    } else if (flag == "--timeout") {
      auto n = number<double>(v, 1, 86400);
      if (!n) return bad(fmt::format("--timeout '{}': give seconds from 1 to 86400", v));
      o.timeout_s = *n;
    } else if (flag == "--prefix") {
      o.prefix = std::string(v);
    } else if (flag == "--server") {
      o.server_command = std::string(v);
    } else if (flag == "--client") {
      o.client_command = std::string(v);
    } else if (flag == "--server-port") {
      auto n = number<int>(v, 1, 65535);
      if (!n) return bad(fmt::format("--server-port '{}': give a port from 1 to 65535", v));
      o.server_port = static_cast<uint16_t>(*n);
    } else if (flag == "--requests") {
      auto n = number<uint64_t>(v, 1, 100'000'000);
      if (!n) return bad(fmt::format("--requests '{}': give a number from 1 to 100000000", v));
      o.requests = *n;
    }
  }
  const bool custom_args =
      !o.server_command.empty() || !o.client_command.empty() || o.server_port != 0;
  if (custom_args && !scenario_given) o.scenario = "custom";
  if (custom_args && o.scenario != "custom") {
    return bad(fmt::format(
        "--server, --client and --server-port go with the custom scenario, not '{}'", o.scenario));
  }
  if (o.scenario == "custom" && o.client_command.empty()) {
    return bad("the custom scenario needs --client 'COMMAND'");
  }
  bool known = false;
  for (std::string_view n : scenario_names()) known |= o.scenario == n;
  if (!known) {
    return bad(fmt::format("unknown scenario '{}': choose one of {}", o.scenario,
                           fmt::join(scenario_names(), ", ")));
  }
  if (o.requests != 0 && o.scenario != "redis") return bad("--requests goes with --scenario redis");
  if (o.scenario == "custom" && o.timeout_s == 0) o.timeout_s = 120;
  return run(o);
}

}  // namespace shunt::ab
