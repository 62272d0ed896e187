#include "tools/ab/scenario.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tools/ab/parse.h"
#include "tools/ab/process.h"

namespace shunt::ab {
namespace {

MetricDef metric(const StepSpec& s, std::string_view name, std::string_view label,
                 std::string_view unit, Better better) {
  return {fmt::format("{}.{}", s.id, name), fmt::format("{}: {}", s.title, label),
          std::string(unit), better};
}

// iperf3: bulk TCP, one step per direction.
Scenario iperf3(const ScenarioParams& p) {
  Scenario sc;
  sc.name = "iperf3";
  sc.description = fmt::format(
      "Bulk TCP with iperf3, {} s each way: upload (the client sends to `iperf3 -s` on the "
      "peer) and download (`-R`, the peer sends). Throughput is the receiver's goodput "
      "(iperf3 -J, end.sum_received).",
      p.duration_s);
  sc.programs = {"iperf3"};
  sc.servers.push_back(
      {"iperf3", {"iperf3", "-s", "-p", "5201", "-B", p.server_ip}, {{true, 5201}}});
  for (bool reverse : {false, true}) {
    StepSpec s;
    s.id = reverse ? "download" : "upload";
    s.title = s.id;
    s.argv = {"iperf3", "-c", p.server_ip, "-p", "5201", "-t", std::to_string(p.duration_s), "-J"};
    if (reverse) s.argv.emplace_back("-R");
    s.expected_s = p.duration_s + 3;
    s.metrics = {metric(s, "throughput", "throughput", "Mbit/s", Better::kHigher)};
    s.headline = s.metrics[0].id;
    s.work_unit = "GB";
    s.cpu_unit = "s";
    s.parse = [id = s.id](const ClientOutput& o) -> Expected<Values, std::string> {
      auto f = parse_iperf3(o.out);
      if (!f.ok()) return f.error();
      return Values{{id + ".throughput", f->bits_per_second / 1e6}, {kWork, f->bytes / 1e9}};
    };
    sc.steps.push_back(std::move(s));
  }
  return sc;
}

// sockperf: ping-pong round trips over UDP and TCP.
Scenario sockperf(const ScenarioParams& p) {
  Scenario sc;
  sc.name = "sockperf";
  sc.description = fmt::format(
      "Round-trip latency with sockperf ping-pong (`--full-rtt`, 14-byte messages, one in "
      "flight), {} s over UDP, then {} s over TCP, against `sockperf server` on the peer. "
      "Percentiles are sockperf's own, over the valid part of each run.",
      p.duration_s, p.duration_s);
  sc.programs = {"sockperf"};
  sc.servers.push_back(
      {"sockperf-udp", {"sockperf", "server", "-i", p.server_ip, "-p", "11111"}, {{false, 11111}}});
  sc.servers.push_back({"sockperf-tcp",
                        {"sockperf", "server", "-i", p.server_ip, "-p", "11112", "--tcp"},
                        {{true, 11112}}});
  for (bool tcp : {false, true}) {
    StepSpec s;
    s.id = tcp ? "tcp" : "udp";
    s.title = tcp ? "TCP" : "UDP";
    s.argv = {"sockperf",  "ping-pong",
              "-i",        p.server_ip,
              "-p",        tcp ? "11112" : "11111",
              "-t",        std::to_string(p.duration_s),
              "--full-rtt"};
    if (tcp) s.argv.emplace_back("--tcp");
    s.tcp = tcp;
    s.expected_s = p.duration_s + 2;
    s.metrics = {metric(s, "rtt_p50", "round trip p50", "us", Better::kLower),
                 metric(s, "rtt_p99", "round trip p99", "us", Better::kLower),
                 metric(s, "rate", "rate", "round trips/s", Better::kHigher)};
    s.headline = s.metrics[0].id;
    s.work_unit = "round trip";
    s.cpu_scale = 1e6;
    s.cpu_unit = "us";
    s.parse = [id = s.id](const ClientOutput& o) -> Expected<Values, std::string> {
      auto f = parse_sockperf(o.out + o.err);
      if (!f.ok()) return f.error();
      return Values{{id + ".rtt_p50", f->p50_us},
                    {id + ".rtt_p99", f->p99_us},
                    {id + ".rate", f->observations / f->seconds},
                    {kWork, f->observations}};
    };
    sc.steps.push_back(std::move(s));
  }
  return sc;
}

// nginx + ab: new connections per second, then keep-alive requests.
Scenario nginx(const ScenarioParams& p) {
  Scenario sc;
  sc.name = "nginx";
  sc.description = fmt::format(
      "HTTP with ApacheBench against nginx (one process, a 1 KiB file), 10 concurrent "
      "requests, {} s each: a new TCP connection per request (`ab` without -k: connections/s), "
      "then keep-alive connections (`ab -k`: requests/s). Latency percentiles are ab's (-e), per "
      "request, connection set-up included.",
      p.duration_s);
  sc.programs = {"nginx", "ab"};
  const std::string conf = p.dir + "/nginx.conf";
  sc.servers.push_back({"nginx",
                        {"nginx", "-c", conf, "-p", p.dir + "/", "-e", p.dir + "/error.log"},
                        {{true, 8080}}});
  sc.prepare = [dir = p.dir, ip = p.server_ip](const std::string&) -> Expected<void, std::string> {
    std::error_code ec;
    std::filesystem::create_directories(dir + "/www", ec);
    if (ec) return fmt::format("cannot create {}/www: {}", dir, ec.message());
    std::ofstream page(dir + "/www/1k.bin", std::ios::binary);
    for (int i = 0; i < 1024; ++i) page.put(static_cast<char>('a' + i % 26));
    std::ofstream f(dir + "/nginx.conf");
    f << fmt::format(
        "# Written by shunt ab: one process, in the foreground, everything under {0}.\n"
        "daemon off;\n"
        "master_process off;\n"
        "worker_processes 1;\n"
        "pid {0}/nginx.pid;\n"
        "error_log {0}/error.log warn;\n"
        "events {{ worker_connections 4096; }}\n"
        "http {{\n"
        "  access_log off;\n"
        "  keepalive_requests 1000000;\n"
        "  client_body_temp_path {0}/body;\n"
        "  proxy_temp_path {0}/proxy;\n"
        "  fastcgi_temp_path {0}/fastcgi;\n"
        "  uwsgi_temp_path {0}/uwsgi;\n"
        "  scgi_temp_path {0}/scgi;\n"
        "  server {{ listen {1}:8080; root {0}/www; }}\n"
        "}}\n",
        dir, ip);
    if (!page || !f) return fmt::format("cannot write the nginx files in {}", dir);
    return {};
  };
  for (bool keepalive : {false, true}) {
    StepSpec s;
    s.id = keepalive ? "keepalive" : "connect";
    s.title = keepalive ? "keep-alive" : "new connection per request";
    s.argv = {"ab", "-q", "-t",         std::to_string(p.duration_s), "-n", "100000000", "-c",
              "10", "-e", "{files}.csv"};
    if (keepalive) s.argv.emplace_back("-k");
    s.argv.push_back(fmt::format("http://{}:8080/1k.bin", p.server_ip));
    s.expected_s = p.duration_s + 2;
    s.metrics = {
        metric(s, "rate", "rate", keepalive ? "requests/s" : "connections/s", Better::kHigher),
        metric(s, "p50", "latency p50", "ms", Better::kLower),
        metric(s, "p99", "latency p99", "ms", Better::kLower)};
    s.headline = s.metrics[0].id;
    s.work_unit = "request";
    s.cpu_scale = 1e6;
    s.cpu_unit = "us";
    s.parse = [id = s.id](const ClientOutput& o) -> Expected<Values, std::string> {
      auto f = parse_ab(o.out, read_file(o.files + ".csv").value_or(""));
      if (!f.ok()) return f.error();
      if (f->failed > 0 || f->non_2xx > 0) {
        return fmt::format("ab: {} failed requests, {} non-2xx responses of {}", f->failed,
                           f->non_2xx, f->complete);
      }
      return Values{{id + ".rate", f->requests_per_second},
                    {id + ".p50", f->p50_ms},
                    {id + ".p99", f->p99_ms},
                    {kWork, f->complete}};
    };
    sc.steps.push_back(std::move(s));
  }
  return sc;
}

// redis-server + redis-benchmark: SET and GET.
Scenario redis(const ScenarioParams& p) {
  const uint64_t n = p.requests != 0 ? p.requests : 50000ULL * static_cast<uint64_t>(p.duration_s);
  Scenario sc;
  sc.name = "redis";
  sc.description = fmt::format(
      "Redis with redis-benchmark: {} SET then {} GET requests from 50 connections, no "
      "pipelining, against redis-server on the peer (no persistence). Requests/s and the "
      "latency percentiles are redis-benchmark's own (--csv).",
      n, n);
  sc.programs = {"redis-server", "redis-benchmark"};
  sc.servers.push_back(
      {"redis-server",
       {"redis-server", "--port", "6379", "--bind", p.server_ip, "--save", "", "--appendonly", "no",
        "--protected-mode", "no", "--daemonize", "no", "--dir", p.dir},
       {{true, 6379}}});
  StepSpec s;
  s.id = "redis";
  s.title = "SET+GET";
  s.argv = {"redis-benchmark", "-h", p.server_ip,       "-p", "6379", "-t",
            "set,get",         "-n", std::to_string(n), "-c", "50",   "--csv"};
  // 2n requests at a pessimistic 10,000/s.
  s.expected_s = static_cast<double>(2 * n) / 10000.0 + 2;
  for (const char* t : {"SET", "GET"}) {
    const std::string lower = t[0] == 'S' ? "set" : "get";
    s.metrics.push_back({fmt::format("redis.{}_rate", lower), fmt::format("{}: rate", t),
                         "requests/s", Better::kHigher});
    s.metrics.push_back({fmt::format("redis.{}_p50", lower), fmt::format("{}: latency p50", t),
                         "ms", Better::kLower});
    s.metrics.push_back({fmt::format("redis.{}_p99", lower), fmt::format("{}: latency p99", t),
                         "ms", Better::kLower});
  }
  s.headline = "redis.get_rate";
  s.work_unit = "request";
  s.cpu_scale = 1e6;
  s.cpu_unit = "us";
  s.parse = [n](const ClientOutput& o) -> Expected<Values, std::string> {
    auto rows = parse_redis_csv(o.out);
    if (!rows.ok()) return rows.error();
    Values v;
    for (const RedisRow& r : *rows) {
      std::string t = r.test == "SET" ? "set" : r.test == "GET" ? "get" : "";
      if (t.empty()) continue;
      v["redis." + t + "_rate"] = r.rps;
      if (std::isfinite(r.p50_ms)) v["redis." + t + "_p50"] = r.p50_ms;
      if (std::isfinite(r.p99_ms)) v["redis." + t + "_p99"] = r.p99_ms;
    }
    if (!v.contains("redis.set_rate") || !v.contains("redis.get_rate")) {
      return std::string("redis-benchmark: no SET or GET row in its CSV");
    }
    v[kWork] = static_cast<double>(2 * n);  // both tests' requests
    return v;
  };
  sc.steps.push_back(std::move(s));
  return sc;
}

Expected<Scenario, std::string> custom(const ScenarioParams& p) {
  if (p.client_command.empty()) {
    return std::string(
        "the custom scenario needs --client 'COMMAND' (and usually --server 'COMMAND')");
  }
  Scenario sc;
  sc.name = "custom";
  sc.description =
      fmt::format("A custom pair: server `{}` on the peer; client `{}`, run to completion.",
                  p.server_command.empty() ? "(none)" : expand_placeholders(p.server_command, p),
                  expand_placeholders(p.client_command, p));
  sc.programs = {"sh"};
  if (!p.server_command.empty()) {
    sc.servers.push_back({"custom",
                          {"sh", "-c", expand_placeholders(p.server_command, p)},
                          {{.tcp = true, .port = p.server_port, .either = p.server_port != 0}}});
  }
  StepSpec s;
  s.id = "client";
  s.title = "client command";
  s.argv = {"sh", "-c", expand_placeholders(p.client_command, p)};
  s.expected_s = 45;  // the default timeout: 120 s
  s.wall = true;
  s.parse = [](const ClientOutput&) -> Expected<Values, std::string> { return Values{}; };
  sc.steps.push_back(std::move(s));
  return sc;
}

}  // namespace

const std::vector<std::string_view>& scenario_names() {
  static const std::vector<std::string_view> names = {"iperf3", "sockperf", "nginx", "redis",
                                                      "custom"};
  return names;
}

std::string expand_placeholders(std::string_view command, const ScenarioParams& p) {
  std::string out;
  for (size_t i = 0; i < command.size(); ++i) {
    if (command.substr(i).starts_with("{server}")) {
      out += p.server_ip;
      i += 7;
    } else if (command.substr(i).starts_with("{duration}")) {
      out += std::to_string(p.duration_s);
      i += 9;
    } else {
      out += command[i];
    }
  }
  return out;
}

Expected<Scenario, std::string> make_scenario(std::string_view name, const ScenarioParams& p) {
  if (name == "iperf3") return iperf3(p);
  if (name == "sockperf") return sockperf(p);
  if (name == "nginx") return nginx(p);
  if (name == "redis") return redis(p);
  if (name == "custom") return custom(p);
  return fmt::format("unknown scenario '{}': choose one of {}", name,
                     fmt::join(scenario_names(), ", "));
}

}  // namespace shunt::ab
