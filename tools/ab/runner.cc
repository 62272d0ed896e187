#include "tools/ab/runner.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "driver/link.h"
#include "driver/netns.h"
#include "tools/ab/parse.h"
#include "tools/ab/process.h"
#include "tools/ab/report.h"
#include "tools/ab/scenario.h"
#include "tools/lab.h"

namespace shunt::ab {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr int kSetupError = 2;
constexpr int kInterrupted = 130;
constexpr auto kServerStartLimit = std::chrono::seconds(10);
// Between two client runs: the server's end of the last connection settles
// (iperf3 refuses a new test while it is still closing the previous one).
constexpr auto kPause = milliseconds(500);

void say(const std::string& line) {
  std::fprintf(stderr, "shunt ab: %s\n", line.c_str());
}

std::string now_text(const char* format) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string host_text() {
  utsname u{};
  uname(&u);
  std::string model;
  if (auto cpu = read_file("/proc/cpuinfo")) {
    if (size_t p = cpu->find("model name"); p != std::string::npos) {
      size_t colon = cpu->find(':', p);
      size_t end = cpu->find('\n', p);
      if (colon != std::string::npos && colon < end)
        model = cpu->substr(colon + 2, end - colon - 2);
    }
  }
  std::string load = "?";
  if (auto l = read_file("/proc/loadavg")) load = l->substr(0, l->find(' '));
  return fmt::format("{} (Linux {}, {} CPUs{}{}), load average {} at the start", u.nodename,
                     u.release, sysconf(_SC_NPROCESSORS_ONLN), model.empty() ? "" : ": ", model,
                     load);
}

// This `shunt`, for the shunt side's wrapper. A rebuild during a long run
// replaces the file: the new one at the same path is as good.
std::string self_exe() {
  std::error_code ec;
  std::string p = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return "shunt";
  constexpr std::string_view kDeleted = " (deleted)";
  if (p.ends_with(kDeleted)) p.resize(p.size() - kDeleted.size());
  return p;
}

std::optional<uint64_t> retrans_in(const std::string& netns) {
  auto t = read_in_netns(netns, "/proc/self/net/snmp");
  if (!t.ok()) return std::nullopt;
  auto m = parse_snmp(t->text);
  auto it = m.find("Tcp.RetransSegs");
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<double> delta(std::optional<uint64_t> before, std::optional<uint64_t> after) {
  if (!before || !after || *after < *before) return std::nullopt;
  return static_cast<double>(*after - *before);
}

// Brings the lab up if it is not complete, and down again at the end if it
// was absent before (it is left alone if it was there, complete or not).
// If `up` fails half-way, what it made is removed and nothing else.
class LabGuard {
 public:
  explicit LabGuard(const lab::Layout& l, std::string log_path)
      : lab_(l), log_(std::move(log_path)) {}
  LabGuard(const LabGuard&) = delete;
  LabGuard& operator=(const LabGuard&) = delete;
  ~LabGuard() {
    if (!created_) return;
    if (failed_) {
      remove_new_objects();
      return;
    }
    std::FILE* f = std::fopen(log_.c_str(), "a");
    auto r = lab::down(lab_, f != nullptr ? f : stderr);
    if (f != nullptr) std::fclose(f);
    if (r.ok()) {
      say(fmt::format("lab {} down again (this run made it)", lab_.prefix));
    } else {
      say(fmt::format("taking the lab down: {}; run `shunt lab down --prefix {}`", r.error(),
                      lab_.prefix));
    }
  }

  Expected<void, std::string> ensure() {
    std::FILE* devnull = std::fopen("/dev/null", "w");
    const bool complete = lab::status(lab_, devnull != nullptr ? devnull : stderr);
    if (devnull != nullptr) std::fclose(devnull);
    if (complete) return {};
    bool absent = !netns_exists(lab_.netns) && !netns_exists(lab_.client_netns);
    if (absent) {
      auto nl = Netlink::open();
      absent = nl.ok() && !nl->link(lab_.bridge).ok();
    }
    say(fmt::format("{} the lab (shunt lab up --prefix {})", absent ? "making" : "repairing",
                    lab_.prefix));
    before_ = existing_objects();
    std::FILE* f = std::fopen(log_.c_str(), "a");
    auto r = lab::up(lab_, f != nullptr ? f : stderr);
    if (f != nullptr) std::fclose(f);
    created_ = absent;
    if (!r.ok()) {
      created_ = failed_ = true;
      return fmt::format("the lab: {}", r.error());
    }
    return {};
  }

 private:
  // The lab's namespaces ("ns:NAME") and host-side links that exist.
  std::set<std::string> existing_objects() const {
    std::set<std::string> out;
    for (const std::string& ns : {lab_.netns, lab_.client_netns}) {
      if (netns_exists(ns)) out.insert("ns:" + ns);
    }
    auto nl = Netlink::open();
    if (!nl.ok()) return out;
    std::vector<std::string> links = lab_.taps;
    links.insert(links.end(), {lab_.bridge, lab_.packet_if, lab_.packet_port, lab_.peer_port,
                               lab_.peer_if, lab_.client_port, lab_.client_if});
    for (const std::string& l : links) {
      if (nl->link(l).ok()) out.insert(l);
    }
    return out;
  }

  void remove_new_objects() {
    auto nl = Netlink::open();
    for (const std::string& o : existing_objects()) {
      if (before_.contains(o)) continue;
      if (o.starts_with("ns:")) {
        (void)delete_netns(o.substr(3));
      } else if (nl.ok()) {
        (void)nl->delete_link(o);
      }
    }
  }

  std::set<std::string> before_;
  bool failed_ = false;
  const lab::Layout& lab_;
  std::string log_;
  bool created_ = false;
};

class Runner {
 public:
  Runner(const Options& o, Scenario sc, const lab::Layout& l, std::string out, SignalWatch& sig)
      : o_(o), sc_(std::move(sc)), lab_(l), out_(std::move(out)), sig_(sig) {}

  // Starts every server and waits until each listens; an error (one line).
  Expected<void, std::string> start_servers();
  // Stops the servers; false if one had died before.
  bool stop_servers();
  // A dead server, if any: its name and how it ended.
  std::optional<std::string> dead_server();
  // One client run; nullopt when interrupted.
  std::optional<StepResult> run_step(int run, Side side, const StepSpec& step);
  Report& report() { return report_; }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  std::string shunt_description() const;
  std::vector<std::string> shunt_prefix() const;

 private:
  Expected<void, std::string> wait_listening(Process& p, const ServerSpec& s,
                                             const std::set<uint16_t>& tcp_before);

  const Options& o_;
  Scenario sc_;
  const lab::Layout& lab_;
  std::string out_;
  SignalWatch& sig_;
  std::vector<std::pair<std::string, Process>> servers_;
  Report report_;
  Clock::time_point start_ = Clock::now();
};

std::vector<std::string> Runner::shunt_prefix() const {
  std::vector<std::string> argv = {self_exe()};
  if (o_.packet) {
    argv.insert(argv.end(), {"--packet", lab_.packet_if, "--ip",
                             lab_.packet_stack_addresses[0].to_string() + "/24"});
  } else {
    argv.insert(argv.end(),
                {"--tap", lab_.taps[0], "--ip", lab_.tap_stack_addresses[0].to_string() + "/24"});
  }
  argv.insert(argv.end(), {"--stats", "1"});
  argv.insert(argv.end(), o_.shunt_options.begin(), o_.shunt_options.end());
  argv.emplace_back("--");
  return argv;
}

std::string Runner::shunt_description() const {
  std::vector<std::string> argv = shunt_prefix();
  argv[0] = "shunt";
  return fmt::format(
      "the client through shunt, `{} CLIENT`, in the host namespace ({} {} on bridge {})",
      fmt::join(argv, " "), o_.packet ? "AF_PACKET on veth" : "TAP",
      o_.packet ? lab_.packet_if : lab_.taps[0], lab_.bridge);
}

Expected<void, std::string> Runner::wait_listening(Process& p, const ServerSpec& s,
                                                   const std::set<uint16_t>& tcp_before) {
  const auto deadline = Clock::now() + kServerStartLimit;
  const std::string log = fmt::format("logs/server-{}.err", s.name);
  while (true) {
    if (!p.running()) {
      auto err = read_file(fmt::format("{}/{}", out_, log)).value_or("");
      auto out = read_file(fmt::format("{}/logs/server-{}.out", out_, s.name)).value_or("");
      std::string last = last_line(err);
      if (last.empty()) last = last_line(out);
      return fmt::format("server {} ({}) ended with {} before it listened{}{}", s.name,
                         fmt::join(s.argv, " "), describe_status(p.exit_info().status),
                         last.empty() ? "" : ": ", last);
    }
    const auto tcp =
        parse_bound_ports(read_file(fmt::format("/proc/{}/net/tcp", p.pid())).value_or(""), true);
    const auto udp =
        parse_bound_ports(read_file(fmt::format("/proc/{}/net/udp", p.pid())).value_or(""), false);
    bool ready = true;
    for (const Listen& l : s.listens) {
      if (l.port == 0) {
        bool fresh = false;
        for (uint16_t port : tcp) fresh |= !tcp_before.contains(port);
        ready &= fresh;
      } else if (l.either) {
        ready &= tcp.contains(l.port) || udp.contains(l.port);
      } else {
        ready &= l.tcp ? tcp.contains(l.port) : udp.contains(l.port);
      }
    }
    if (ready) return {};
    if (sig_.poll()) return std::string("interrupted");
    if (Clock::now() > deadline) {
      std::string what;
      for (const Listen& l : s.listens) {
        what += l.port == 0 ? std::string(" a new TCP port")
                            : fmt::format(" {} port {}", l.tcp ? "TCP" : "UDP", l.port);
      }
      return fmt::format("server {} is running but does not listen on{} after {} s{} (log: {})",
                         s.name, what, kServerStartLimit.count(),
                         sc_.name == "custom" && o_.server_port == 0
                             ? "; give its port with --server-port PORT"
                             : "",
                         log);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

Expected<void, std::string> Runner::start_servers() {
  for (const ServerSpec& s : sc_.servers) {
    std::set<uint16_t> before;
    if (auto t = read_in_netns(lab_.netns, "/proc/self/net/tcp"); t.ok()) {
      before = parse_bound_ports(t->text, true);
    }
    SpawnOptions so;
    so.argv = s.argv;
    so.netns = lab_.netns;
    so.stdout_path = fmt::format("{}/logs/server-{}.out", out_, s.name);
    so.stderr_path = fmt::format("{}/logs/server-{}.err", out_, s.name);
    so.cwd = out_;
    auto p = Process::spawn(so);
    if (!p.ok()) return fmt::format("server {}: {}", s.name, p.error());
    servers_.emplace_back(s.name, std::move(*p));
    if (auto r = wait_listening(servers_.back().second, s, before); !r.ok()) return r;
    say(fmt::format("server {} listening in namespace {} (pid {})", s.name, lab_.netns,
                    servers_.back().second.pid()));
  }
  return {};
}

std::optional<std::string> Runner::dead_server() {
  for (auto& [name, p] : servers_) {
    if (!p.running()) {
      auto err = read_file(fmt::format("{}/logs/server-{}.err", out_, name)).value_or("");
      std::string last = last_line(err);
      return fmt::format("server {} ended with {}{}{}", name, describe_status(p.exit_info().status),
                         last.empty() ? "" : ": ", last);
    }
  }
  return std::nullopt;
}

bool Runner::stop_servers() {
  bool all_alive = !dead_server().has_value();
  for (auto it = servers_.rbegin(); it != servers_.rend(); ++it) it->second.stop();
  servers_.clear();
  return all_alive;
}

std::optional<StepResult> Runner::run_step(int run, Side side, const StepSpec& step) {
  StepResult r;
  r.run = run;
  r.side = side;
  r.step = step.id;
  const std::string name = fmt::format("run{}-{}-{}", run, to_string(side), step.id);
  const std::string files = fmt::format("{}/logs/{}", out_, name);
  r.log = fmt::format("logs/{}.out, .err", name);

  std::vector<std::string> argv;
  if (side == Side::kShunt) argv = shunt_prefix();
  for (const std::string& a : step.argv) {
    std::string x = a;
    if (size_t p = x.find("{files}"); p != std::string::npos) x.replace(p, 7, files);
    argv.push_back(std::move(x));
  }
  SpawnOptions so;
  so.argv = argv;
  so.netns = side == Side::kKernel ? lab_.client_netns : "";
  so.stdout_path = files + ".out";
  so.stderr_path = files + ".err";
  so.cwd = out_;

  const auto server_before = retrans_in(lab_.netns);
  const auto client_before =
      side == Side::kKernel ? retrans_in(lab_.client_netns) : std::optional<uint64_t>();
  auto p = Process::spawn(so);
  if (!p.ok()) {
    r.error = p.error();
    return r;
  }
  const double timeout_s = o_.timeout_s > 0 ? o_.timeout_s : 2 * step.expected_s + 30;
  switch (p->wait(milliseconds(static_cast<int64_t>(timeout_s * 1000)), &sig_)) {
    case WaitOutcome::kInterrupted:
      p->stop();
      return std::nullopt;
    case WaitOutcome::kTimedOut:
      p->stop();
      r.error = fmt::format("no exit after {} s (the timeout; --timeout S changes it): stopped",
                            format_number(timeout_s));
      r.wall_s = p->exit_info().wall_s;
      return r;
    case WaitOutcome::kExited:
      break;
  }
  const ExitInfo& e = p->exit_info();
  r.wall_s = e.wall_s;
  ClientOutput out{read_file(files + ".out").value_or(""), read_file(files + ".err").value_or(""),
                   files};
  auto parsed = step.parse(out);
  const bool exited_ok = WIFEXITED(e.status) && WEXITSTATUS(e.status) == 0;
  if (!exited_ok) {
    std::string why = !parsed.ok() ? parsed.error() : last_line(out.err);
    if (why.empty()) why = last_line(out.out);
    r.error = fmt::format("{}{}{}", describe_status(e.status), why.empty() ? "" : ": ", why);
    return r;
  }
  if (!parsed.ok()) {
    r.error = parsed.error();
    return r;
  }
  r.ok = true;
  for (const auto& [k, v] : *parsed) {
    if (k != kWork) r.values[k] = v;
  }
  r.values[step.id + ".cpu"] = e.cpu_s;
  if (!step.work_unit.empty()) {
    if (auto w = parsed->find(kWork); w != parsed->end() && w->second > 0) {
      r.values[step.id + ".cpu_per"] = e.cpu_s / w->second * step.cpu_scale;
    }
  }
  if (step.wall) r.values[step.id + ".wall"] = e.wall_s;
  if (step.tcp) {
    if (auto d = delta(server_before, retrans_in(lab_.netns)))
      r.values[step.id + ".retrans_server"] = *d;
    if (side == Side::kKernel) {
      if (auto d = delta(client_before, retrans_in(lab_.client_netns))) {
        r.values[step.id + ".retrans_client"] = *d;
      }
    } else if (auto stats = parse_shunt_stats(out.err)) {
      auto it = stats->find("Tcp.RetransSegs");
      r.values[step.id + ".retrans_client"] =
          it == stats->end() ? 0.0 : static_cast<double>(it->second);
    }
  }
  return r;
}

// The metrics of a scenario in report order: each step's own, then the
// ones the runner measures.
std::vector<MetricDef> all_metrics(const Scenario& sc) {
  std::vector<MetricDef> m;
  for (const StepSpec& s : sc.steps) {
    m.insert(m.end(), s.metrics.begin(), s.metrics.end());
    auto add = [&](std::string_view name, std::string_view label, std::string_view unit,
                   bool plot = true) {
      m.push_back({fmt::format("{}.{}", s.id, name), fmt::format("{}: {}", s.title, label),
                   std::string(unit), Better::kLower, plot});
    };
    if (s.wall) add("wall", "wall time", "s");
    add("cpu", "client CPU, user+sys", "s");
    if (!s.work_unit.empty())
      add("cpu_per", fmt::format("client CPU per {}", s.work_unit), s.cpu_unit);
    if (s.tcp) {
      add("retrans_client", "segments retransmitted by the client", "segments", false);
      add("retrans_server", "segments retransmitted by the server", "segments", false);
    }
  }
  return m;
}

std::string headline(const StepSpec& s, const StepResult& r) {
  if (!r.ok) return "FAILED: " + r.error;
  std::string line;
  if (!s.headline.empty()) {
    for (const MetricDef& m : s.metrics) {
      if (m.id == s.headline && r.values.contains(m.id)) {
        line = fmt::format("{} {}, ", format_number(r.values.at(m.id)), m.unit);
      }
    }
  }
  if (s.wall) line += fmt::format("{} s, ", format_number(r.wall_s));
  return line + fmt::format("client CPU {} s", format_number(r.values.at(s.id + ".cpu")));
}

// An address of the lab's segment owned by this namespace (the default
// `shunt` TAP gives its host side 198.18.0.1/24) makes this kernel answer
// ARP for it on the bridge too (Linux answers for any local address on any
// interface), so the clients' traffic goes astray (docs/lab.md).
Expected<void, std::string> check_no_host_address(const lab::Layout& lab) {
  auto admin = Netlink::open();
  if (!admin.ok()) return {};
  auto names = admin->link_names();
  if (!names.ok()) return {};
  for (const std::string& name : *names) {
    auto addrs = admin->ipv4_addresses(name);
    if (!addrs.ok()) continue;
    for (const Ipv4Cidr& a : *addrs) {
      if (lab.peer_address.contains(a.address())) {
        return fmt::format(
            "this network namespace owns {} on {}, inside the lab's segment {}/{}: it would answer "
            "ARP for the lab's kernels and stacks; remove it (`ip addr del {} dev {}`)",
            a.to_string(), name, lab.peer_address.network().to_string(),
            lab.peer_address.prefix_len(), a.to_string(), name);
      }
    }
  }
  return {};
}

Expected<void, std::string> write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return fmt::format("cannot write {}", path);
  return {};
}

}  // namespace

int run(const Options& o) {
  if (geteuid() != 0) {
    say("needs root (network namespaces, TAP devices, AF_PACKET): run it with sudo");
    return kSetupError;
  }
  if (auto bad = lab::check_prefix(o.prefix)) {
    say(*bad);
    return kSetupError;
  }
  const std::string out = o.out_dir.empty()
                              ? fmt::format("ab-{}-{}", o.scenario, now_text("%Y%m%d-%H%M%S"))
                              : o.out_dir;
  std::error_code ec;
  fs::create_directories(fs::path(out) / "logs", ec);
  if (ec) {
    say(fmt::format("--out {}: cannot create the directory: {}", out, ec.message()));
    return kSetupError;
  }
  const std::string abs_out = fs::absolute(out, ec).lexically_normal().string();

  const lab::Layout lab(o.prefix);
  ScenarioParams params;
  params.duration_s = o.duration_s;
  params.server_ip = lab.peer_address.address().to_string();
  params.dir = abs_out + "/server";
  params.server_command = o.server_command;
  params.client_command = o.client_command;
  params.server_port = o.server_port;
  params.requests = o.requests;
  auto sc = make_scenario(o.scenario, params);
  if (!sc.ok()) {
    say(sc.error());
    return kSetupError;
  }
  std::vector<std::string> programs = sc->programs;
  if (o.plot) programs.emplace_back("gnuplot");
  for (const std::string& prog : programs) {
    if (!find_program(prog)) {
      say(fmt::format("the {} scenario needs '{}', which is not in PATH{}", sc->name, prog,
                      prog == "gnuplot" ? " (install gnuplot-nox, or give --no-plot)"
                                        : " (scripts/setup installs it)"));
      return kSetupError;
    }
  }
  fs::create_directories(params.dir, ec);
  if (sc->prepare) {
    if (auto r = sc->prepare(params.dir); !r.ok()) {
      say(r.error());
      return kSetupError;
    }
  }

  if (auto r = check_no_host_address(lab); !r.ok()) {
    say(r.error());
    return kSetupError;
  }
  SignalWatch sig;
  LabGuard guard(lab, abs_out + "/logs/lab.log");
  if (auto r = guard.ensure(); !r.ok()) {
    say(r.error());
    return kSetupError;
  }
  {
    auto nl = Netlink::open();
    const std::string dev = o.packet ? lab.packet_if : lab.taps[0];
    auto l = nl.ok() ? nl->link(dev) : Expected<LinkInfo, std::string>(nl.error());
    if (!l.ok()) {
      say(fmt::format("the lab's {} is missing: {}", dev, l.error()));
      return kSetupError;
    }
    if (!o.packet && l->carrier) {
      say(
          fmt::format("TAP {} already has a stack attached (another program uses it): stop it, or "
                      "give --device packet",
                      dev));
      return kSetupError;
    }
  }

  Runner runner(o, *sc, lab, abs_out, sig);
  Report& rep = runner.report();
  rep.info.scenario = sc->name;
  rep.info.description = sc->description;
  rep.info.runs = o.runs;
  rep.info.duration_s = o.duration_s;
  rep.info.server = fmt::format("the kernel in namespace {} at {}, veth {} on bridge {}", lab.netns,
                                params.server_ip, lab.peer_if, lab.bridge);
  rep.info.kernel = fmt::format(
      "the client on the kernel in namespace {} at {}, veth {} on bridge {}", lab.client_netns,
      lab.client_address.address().to_string(), lab.client_if, lab.bridge);
  rep.info.shunt = runner.shunt_description();
  rep.info.started = now_text("%Y-%m-%d %H:%M:%S %z");
  rep.info.host = host_text();
  rep.metrics = all_metrics(*sc);

  if (auto r = runner.start_servers(); !r.ok()) {
    say(r.error());
    runner.stop_servers();
    return sig.fired() ? kInterrupted : kSetupError;
  }

  say(fmt::format("{}: {} runs per side, {} step{} each, output in {}", sc->name, o.runs,
                  sc->steps.size(), sc->steps.size() == 1 ? "" : "s", out));
  bool interrupted = false;
  std::optional<std::string> died;
  for (int i = 1; i <= o.runs && !interrupted && !died; ++i) {
    for (Side side : {Side::kKernel, Side::kShunt}) {
      for (const StepSpec& step : sc->steps) {
        if ((died = runner.dead_server())) break;
        std::fprintf(stderr, "[%4.0fs] run %d/%d %-6s %s ...\n", runner.elapsed(), i, o.runs,
                     std::string(to_string(side)).c_str(), step.title.c_str());
        auto r = runner.run_step(i, side, step);
        if (!r) {
          interrupted = true;
          break;
        }
        std::fprintf(stderr, "[%4.0fs] run %d/%d %-6s %s: %s\n", runner.elapsed(), i, o.runs,
                     std::string(to_string(side)).c_str(), step.title.c_str(),
                     headline(step, *r).c_str());
        rep.results.push_back(std::move(*r));
        std::this_thread::sleep_for(kPause);
      }
      if (interrupted || died) break;
    }
  }
  runner.stop_servers();
  if (interrupted) {
    say(fmt::format("interrupted by signal {}: servers stopped", sig.signal()));
    rep.info.notes.push_back(fmt::format("interrupted by signal {} after {} client runs",
                                         sig.signal(), rep.results.size()));
  }
  if (died) {
    say(*died + "; the runs stop here");
    rep.info.notes.push_back(fmt::format("{}; no runs after that", *died));
  }

  // The report, with whatever ran.
  if (rep.results.empty()) return interrupted ? kInterrupted : 1;
  const std::string md = markdown(rep);
  std::string json = to_json(rep).dump(2) + "\n";
  bool ok = true;
  for (const auto& [file, text] :
       {std::pair{"ab.md", md}, std::pair{"ab.json", json},
        std::pair{"ab.gp", std::string(o.plot ? gnuplot_script(rep, "ab.png") : "")}}) {
    if (!o.plot && std::string_view(file) == "ab.gp") continue;
    if (auto r = write_file(fmt::format("{}/{}", abs_out, file), text); !r.ok()) {
      say(r.error());
      ok = false;
    }
  }
  std::fputs(md.c_str(), stdout);
  std::fflush(stdout);
  if (o.plot) {
    SpawnOptions so;
    so.argv = {"gnuplot", "ab.gp"};
    so.cwd = abs_out;
    so.stderr_path = abs_out + "/logs/gnuplot.err";
    auto g = Process::spawn(so);
    if (!g.ok()) {
      say(fmt::format("gnuplot: {}", g.error()));
      ok = false;
    } else if (g->wait(std::chrono::seconds(30), nullptr) != WaitOutcome::kExited ||
               g->exit_info().status != 0) {
      g->stop();
      say(fmt::format("gnuplot failed ({}): {}", describe_status(g->exit_info().status),
                      last_line(read_file(abs_out + "/logs/gnuplot.err").value_or(""))));
      ok = false;
    }
  }
  say(fmt::format("wrote {}/ab.md, ab.json{}", out, o.plot ? ", ab.png (ab.gp)" : ""));
  if (interrupted) return kInterrupted;
  bool all_ok = ok && !died;
  for (const StepResult& r : rep.results) all_ok &= r.ok;
  return all_ok ? 0 : 1;
}

}  // namespace shunt::ab
