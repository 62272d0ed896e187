#include "tests/packetdrill/settings.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include "stack/tcp/congestion.h"

namespace shunt::packetdrill {
namespace {

std::vector<uint32_t> numbers(std::string_view s) {
  std::vector<uint32_t> v;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ':' || s[i] == '\n')) ++i;
    if (i == s.size()) break;
    uint32_t n = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), n);
    if (ec != std::errc()) return {};
    v.push_back(n);
    i = static_cast<size_t>(p - s.data());
  }
  return v;
}

bool boolean(std::string_view v, bool& out) {
  if (v == "1" || v == "on" || v == "yes") {
    out = true;
    return true;
  }
  if (v == "0" || v == "off" || v == "no") {
    out = false;
    return true;
  }
  return false;
}

std::string set_one(std::string_view key, std::string_view value, Settings& s) {
  StackConfig& sc = s.stack;
  auto n = numbers(value);
  auto bad = [&] {
    return "packetdrill adapter: bad value '" + std::string(value) + "' for " + std::string(key);
  };
  if (key == "local") {
    auto c = Ipv4Cidr::parse(value);
    if (!c) return bad();
    s.local = *c;
  } else if (key == "gateway") {
    auto a = Ipv4Address::parse(value);
    if (!a) return bad();
    s.gateway = *a;
  } else if (key == "mtu") {
    if (n.size() != 1 || n[0] < 576) return bad();
    s.mtu = n[0];
  } else if (key == "sysctls") {
    if (!boolean(value, s.sysctls)) return bad();
  } else if (key == "tcp_rmem") {
    // min:default:max as Linux's sysctl (the min has no equivalent).
    if (n.size() != 3) return bad();
    sc.tcp.rmem_initial = n[1];
    sc.tcp.rcvbuf_max = n[2];
  } else if (key == "tcp_wmem") {
    if (n.size() != 3) return bad();
    sc.tcp.wmem_initial = n[1];
    sc.tcp.sndbuf_max = n[2];
  } else if (key == "rmem_max") {
    if (n.size() != 1) return bad();
    sc.core.rmem_max = n[0];
  } else if (key == "wmem_max") {
    if (n.size() != 1) return bad();
    sc.core.wmem_max = n[0];
  } else if (key == "tcp_timestamps") {
    if (!boolean(value, sc.tcp.timestamps)) return bad();
  } else if (key == "tcp_sack") {
    if (!boolean(value, sc.tcp.sack)) return bad();
  } else if (key == "tcp_window_scaling") {
    if (!boolean(value, sc.tcp.window_scaling)) return bad();
  } else if (key == "tcp_syncookies") {
    if (!boolean(value, sc.tcp.syncookies)) return bad();
  } else if (key == "tcp_syn_retries") {
    if (n.size() != 1) return bad();
    sc.tcp.syn_retries = n[0];
  } else if (key == "tcp_synack_retries") {
    if (n.size() != 1) return bad();
    sc.tcp.synack_retries = n[0];
  } else if (key == "tcp_congestion_control") {
    std::string cc(value);
    if (tcp::make_congestion_control(cc, 1460, Instant{}) == nullptr) return bad();
    sc.tcp.congestion_control = cc;
  } else {
    return "packetdrill adapter: unknown --so_flags key '" + std::string(key) + "'";
  }
  return {};
}

bool read_file(const char* path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return !out.empty();
}

}  // namespace

std::string parse_settings(std::string_view flags, Settings& out) {
  size_t i = 0;
  while (i < flags.size()) {
    while (i < flags.size() && (flags[i] == ' ' || flags[i] == ',')) ++i;
    if (i == flags.size()) break;
    size_t end = flags.find_first_of(" ,", i);
    if (end == std::string_view::npos) end = flags.size();
    std::string_view word = flags.substr(i, end - i);
    i = end;
    size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      return "packetdrill adapter: --so_flags word '" + std::string(word) + "' is not KEY=VALUE";
    }
    std::string err = set_one(word.substr(0, eq), word.substr(eq + 1), out);
    if (!err.empty()) return err;
  }
  return {};
}

void apply_sysctls(StackConfig& sc) {
  static const std::pair<const char*, const char*> kFiles[] = {
      {"/proc/sys/net/ipv4/tcp_rmem", "tcp_rmem"},
      {"/proc/sys/net/ipv4/tcp_wmem", "tcp_wmem"},
      {"/proc/sys/net/ipv4/tcp_timestamps", "tcp_timestamps"},
      {"/proc/sys/net/ipv4/tcp_sack", "tcp_sack"},
      {"/proc/sys/net/ipv4/tcp_window_scaling", "tcp_window_scaling"},
      {"/proc/sys/net/ipv4/tcp_syncookies", "tcp_syncookies"},
      {"/proc/sys/net/ipv4/tcp_syn_retries", "tcp_syn_retries"},
      {"/proc/sys/net/ipv4/tcp_synack_retries", "tcp_synack_retries"},
      {"/proc/sys/net/ipv4/tcp_congestion_control", "tcp_congestion_control"},
      {"/proc/sys/net/core/rmem_max", "rmem_max"},
      {"/proc/sys/net/core/wmem_max", "wmem_max"},
  };
  Settings s;
  s.stack = sc;
  for (const auto& [path, key] : kFiles) {
    std::string v;
    if (!read_file(path, v)) continue;
    // tcp_timestamps 2 (offsets off) and tcp_syncookies 2 (always) read as
    // on; a congestion control shunt lacks keeps the current one.
    if (v == "2") v = "1";
    // A value shunt cannot take (a congestion control it lacks, as bbr,
    // which a new namespace inherits and defaults.sh cannot change there)
    // keeps the --so_flags one.
    (void)set_one(key, v, s);
  }
  sc = s.stack;
}

}  // namespace shunt::packetdrill
