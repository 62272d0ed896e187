#include "tools/ab/parse.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

namespace shunt::ab {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A finite number at the start of `s` (after blanks), or nullopt.
std::optional<double> number_at(std::string_view s) {
  s = trim(s);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<uint64_t> integer(std::string_view s) {
  s = trim(s);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The number right after the first `key` in `text`.
std::optional<double> after(std::string_view text, std::string_view key) {
  size_t p = text.find(key);
  if (p == std::string_view::npos) return std::nullopt;
  return number_at(text.substr(p + key.size()));
}

std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

// What a failed client printed, for the error message.
std::string complaint(std::string_view tool, std::string_view text, std::string_view marker) {
  for (std::string_view line : lines_of(text)) {
    if (line.find(marker) != std::string_view::npos) {
      return fmt::format("{}: {}", tool, last_line(line));
    }
  }
  std::string last = last_line(text);
  if (last.empty()) return fmt::format("{} printed nothing to parse", tool);
  return fmt::format("{} printed no figures; its last line: {}", tool, last);
}

}  // namespace

std::string strip_ansi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    out += text[i];
  }
  return out;
}

std::string last_line(std::string_view text) {
  const std::string clean = strip_ansi(text);
  std::string_view last;
  for (std::string_view line : lines_of(clean)) {
    if (!trim(line).empty()) last = trim(line);
  }
  std::string out(last.substr(0, 200));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

Parsed<Iperf3Figures> parse_iperf3(std::string_view json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return complaint("iperf3", json_text, "error");
  }
  if (auto e = j.find("error"); e != j.end() && e->is_string()) {
    return fmt::format("iperf3: {}", e->get<std::string>());
  }
  const auto* end = j.contains("end") ? &j["end"] : nullptr;
  if (end == nullptr || !end->contains("sum_received")) {
    return std::string("iperf3: no end.sum_received in its JSON (the test did not finish)");
  }
  const auto& r = (*end)["sum_received"];
  Iperf3Figures f;
  auto get = [&](const char* key, double& out) {
    if (!r.contains(key) || !r[key].is_number()) return false;
    out = r[key].get<double>();
    return std::isfinite(out);
  };
  if (!get("bits_per_second", f.bits_per_second) || !get("bytes", f.bytes) ||
      !get("seconds", f.seconds)) {
    return std::string("iperf3: end.sum_received lacks bits_per_second, bytes or seconds");
  }
  return f;
}

Parsed<SockperfFigures> parse_sockperf(std::string_view raw) {
  const std::string text = strip_ansi(raw);
  SockperfFigures f;
  auto p50 = after(text, "percentile 50.000 =");
  auto p99 = after(text, "percentile 99.000 =");
  if (!p50 || !p99) return complaint("sockperf", text, "ERROR");
  f.p50_us = *p50;
  f.p99_us = *p99;
  if (auto v = after(text, "avg-rtt=")) {
    f.avg_us = *v;
  } else if (auto l = after(text, "avg-lat=")) {
    f.avg_us = *l;
  }
  const size_t valid = text.find("[Valid Duration]");
  if (valid == std::string::npos) return std::string("sockperf: no [Valid Duration] line");
  const std::string_view v = std::string_view(text).substr(valid);
  auto secs = after(v, "RunTime=");
  auto received = after(v, "ReceivedMessages=");
  if (!secs || !received || *secs <= 0) {
    return std::string("sockperf: the [Valid Duration] line lacks RunTime or ReceivedMessages");
  }
  f.seconds = *secs;
  f.observations = *received;
  return f;
}

Parsed<AbFigures> parse_ab(std::string_view report, std::string_view csv) {
  AbFigures f;
  auto rps = after(report, "Requests per second:");
  auto complete = after(report, "Complete requests:");
  auto failed = after(report, "Failed requests:");
  if (!rps || !complete || !failed) return complaint("ab", report, "apr_");
  f.requests_per_second = *rps;
  f.complete = *complete;
  f.failed = *failed;
  f.non_2xx = after(report, "Non-2xx responses:").value_or(0);
  std::optional<double> p50, p99;
  for (std::string_view line : lines_of(csv)) {
    auto cols = split(trim(line), ',');
    if (cols.size() != 2) continue;
    auto pct = number_at(cols[0]);
    auto ms = number_at(cols[1]);
    if (!pct || !ms) continue;  // the header
    if (*pct == 50) p50 = ms;
    if (*pct == 99) p99 = ms;
  }
  if (!p50 || !p99) return std::string("ab: its -e percentile file has no 50% or 99% row");
  f.p50_ms = *p50;
  f.p99_ms = *p99;
  return f;
}

Parsed<std::vector<RedisRow>> parse_redis_csv(std::string_view text) {
  std::vector<RedisRow> rows;
  int test_col = -1, rps_col = -1, p50_col = -1, p99_col = -1;
  for (std::string_view raw : lines_of(text)) {
    // Progress lines end in '\r' without a newline; the CSV rows come after.
    std::string_view line = raw;
    if (size_t cr = line.rfind('\r'); cr != std::string_view::npos && cr + 1 < line.size()) {
      line.remove_prefix(cr + 1);
    }
    line = trim(line);
    if (line.empty() || line.front() != '"') continue;
    auto cols = split(line, ',');
    if (test_col < 0) {
      for (size_t c = 0; c < cols.size(); ++c) {
        const std::string name = unquote(cols[c]);
        if (name == "test") test_col = static_cast<int>(c);
        if (name == "rps") rps_col = static_cast<int>(c);
        if (name == "p50_latency_ms") p50_col = static_cast<int>(c);
        if (name == "p99_latency_ms") p99_col = static_cast<int>(c);
      }
      if (test_col < 0 || rps_col < 0) {
        return fmt::format("redis-benchmark: unexpected CSV header: {}", last_line(line));
      }
      continue;
    }
    auto col = [&](int c) -> std::optional<double> {
      if (c < 0 || static_cast<size_t>(c) >= cols.size()) return std::nullopt;
      return number_at(unquote(cols[static_cast<size_t>(c)]));
    };
    RedisRow row;
    row.test = unquote(cols[static_cast<size_t>(test_col)]);
    auto rps = col(rps_col);
    if (!rps) return fmt::format("redis-benchmark: no requests/s in row {}", last_line(line));
    row.rps = *rps;
    row.p50_ms = col(p50_col).value_or(NAN);
    row.p99_ms = col(p99_col).value_or(NAN);
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return complaint("redis-benchmark", text, "rror");
  return rows;
}

std::optional<std::map<std::string, uint64_t>> parse_shunt_stats(std::string_view text) {
  std::map<std::string, uint64_t> out;
  bool any = false;
  bool in_block = false;
  std::string group;
  for (std::string_view line : lines_of(text)) {
    if (line.starts_with("shunt[") && line.find("stack counters") != std::string_view::npos) {
      any = in_block = true;
      group.clear();
      continue;
    }
    if (!in_block) continue;
    if (line.starts_with("    ")) {
      auto w = words(line);
      if (w.size() == 2 && !group.empty()) {
        if (auto v = integer(w[1])) out[group + "." + std::string(w[0])] += *v;
      }
    } else if (line.starts_with("  ") && trim(line).ends_with(":")) {
      group = std::string(trim(line));
      group.pop_back();
    } else {
      in_block = false;  // the program's own output again
    }
  }
  if (!any) return std::nullopt;
  return out;
}

std::map<std::string, uint64_t> parse_snmp(std::string_view text) {
  auto is_number = [](std::string_view w) {
    return !w.empty() && ((w[0] >= '0' && w[0] <= '9') || w[0] == '-');
  };
  std::map<std::string, uint64_t> out;
  auto lines = lines_of(text);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    auto names = words(lines[i]);
    auto values = words(lines[i + 1]);
    if (names.size() < 2 || values.size() < 2 || names[0] != values[0] ||
        !names[0].ends_with(":") || is_number(names[1]) || !is_number(values[1])) {
      continue;
    }
    std::string group(names[0].substr(0, names[0].size() - 1));
    for (size_t k = 1; k < names.size() && k < values.size(); ++k) {
      if (auto v = integer(values[k])) out[group + "." + std::string(names[k])] = *v;  // not -1
    }
    ++i;
  }
  return out;
}

std::set<uint16_t> parse_bound_ports(std::string_view text, bool tcp) {
  std::set<uint16_t> ports;
  for (std::string_view line : lines_of(text)) {
    auto w = words(line);
    // sl local_address rem_address st ...
    if (w.size() < 4 || !w[0].ends_with(":")) continue;
    size_t colon = w[1].find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view port_hex = w[1].substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_hex.data(), port_hex.data() + port_hex.size(), port, 16);
    if (ec != std::errc() || port > 0xffff) continue;
    if (tcp && w[3] != "0A") continue;  // TCP_LISTEN
    ports.insert(static_cast<uint16_t>(port));
  }
  return ports;
}

}  // namespace shunt::ab
