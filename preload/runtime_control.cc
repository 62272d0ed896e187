// The runtime's side of the control socket (docs/control.md): starting and
// stopping the server, and answering its requests from stack snapshots
// taken under the runtime lock.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "control/path.h"
#include "control/snapshot_json.h"
#include "driver/rule_fault_device.h"
#include "preload/control_server.h"
#include "preload/libc.h"
#include "preload/runtime.h"

namespace shunt::preload {
namespace {

std::string read_comm() {
  char buf[64] = {};
  int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  ssize_t n = libc().read(fd, buf, sizeof buf - 1);
  libc().close(fd);
  std::string s(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s.empty() ? "?" : s;
}

control::Json error_reply(const std::string& message) { return control::Json{{"error", message}}; }

// The rules of the process's fault device with their counts, and its log.
control::Json fault_status(const RuleFaultDevice* dev) {
  std::vector<control::FaultRuleStatus> rules;
  std::vector<std::string> log;
  if (dev == nullptr) return control::faults_to_json(0, rules, log, 0);
  for (const FaultRuleSnapshot& r : dev->rule_status()) {
    rules.push_back({r.id, r.text, r.counters.matched, r.counters.injected, r.counters.rate_dropped});
  }
  for (const FaultLogEntry& e : dev->log()) log.push_back(e.to_string());
  return control::faults_to_json(dev->seed(), rules, log, dev->log_overflow());
}

}  // namespace

void Runtime::start_control() {
  if (!config_.control) return;
  comm_ = read_comm();
  auto server = control::ControlServer::start(control::control_dir(), getpid(),
                                              [this](std::string_view req) { return control_request(req); });
  if (!server) {
    log(Config::LogLevel::kWarn,
        fmt::format("no control socket ({}); shunt ss/stat/fault cannot reach this process; set "
                    "SHUNT_CONTROL_DIR to a writable directory",
                    server.error()));
    return;
  }
  control_ = std::move(*server);
  control_fd_.store(control_->fd());
  log(Config::LogLevel::kInfo, fmt::format("control socket {}", control_->path()));
}

void Runtime::stop_control() {
  if (!control_) return;
  control_fd_.store(-1);
  control_->stop();
  control_.reset();
}

std::string Runtime::control_request(std::string_view req) {
  // The request: a command word, then its arguments.
  while (!req.empty() && (req.back() == '\r' || req.back() == ' ')) req.remove_suffix(1);
  const auto sp = req.find(' ');
  const std::string_view cmd = req.substr(0, sp);
  std::string_view arg = sp == std::string_view::npos ? std::string_view() : req.substr(sp + 1);
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);

  std::lock_guard<std::mutex> lock(mu_);
  control::Json reply{{"pid", getpid()}, {"comm", comm_}};
  if (!owns_stack_ || !stack_) return error_reply("this process does not own a stack").dump();
  reply["address"] = config_.address.to_string();
  reply["device"] = fmt::format("{} {}", config_.device == Config::Device::kTap ? "tap" : "packet",
                                config_.ifname);
  const Instant t = now();

  if (cmd == "ss") {
    std::vector<SocketEntry> entries;
    stack_->list_sockets(entries, t);
    control::Json socks = control::Json::array();
    for (const SocketEntry& e : entries) {
      std::vector<int> fds;
      if (e.id) {
        if (SocketFile* sf = fds_.by_id(*e.id)) fds = sf->fds;
      }
      socks.push_back(control::socket_to_json(e, fds));
    }
    reply["sockets"] = std::move(socks);
    return reply.dump();
  }
  if (cmd == "stat") {
    control::Json s = control::stats_to_json(stack_->stats());
    reply["counters"] = std::move(s["counters"]);
    reply["drops"] = std::move(s["drops"]);
    reply["faults"] = fault_status(faults_);
    return reply.dump();
  }
  if (cmd == "fault") {
    // `shunt fault PID list | add RULE | del ID` (docs/faults.md).
    const auto sp2 = arg.find(' ');
    const std::string_view verb = arg.substr(0, sp2);
    const std::string_view rest = sp2 == std::string_view::npos ? std::string_view() : arg.substr(sp2 + 1);
    if (faults_ == nullptr) return error_reply("this process has no fault device").dump();
    if (verb == "list") {
      reply["faults"] = fault_status(faults_);
      return reply.dump();
    }
    if (verb == "add") {
      auto rule = parse_fault_rule(rest);
      if (!rule) return error_reply("bad rule " + rule.error()).dump();
      const std::string text = rule->text;
      const uint32_t id = faults_->add_rule(std::move(*rule));
      log(Config::LogLevel::kInfo, fmt::format("fault rule {} added: {}", id, text));
      reply["id"] = id;
      reply["rule"] = text;
      return reply.dump();
    }
    if (verb == "del") {
      uint32_t id = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
      if (ec != std::errc() || p != rest.data() + rest.size() || id == 0) {
        return error_reply(fmt::format("'{}' is not a rule id", rest)).dump();
      }
      if (!faults_->remove_rule(id)) return error_reply(fmt::format("no rule {}", id)).dump();
      log(Config::LogLevel::kInfo, fmt::format("fault rule {} deleted", id));
      // Held frames released by the removal go out on the stack thread's
      // next round, which next_deadline() now asks for.
      publish();
      reply["id"] = id;
      return reply.dump();
    }
    return error_reply(fmt::format("unknown fault request '{}' (list, add RULE, del ID)", arg)).dump();
  }
  return error_reply(fmt::format("unknown request '{}' (ss, stat, fault)", cmd)).dump();
}

}  // namespace shunt::preload
