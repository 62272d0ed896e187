#include "preload/host_sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "preload/libc.h"
#include "stack/tcp/congestion.h"

namespace shunt::preload {
namespace {

// The file's first line (through the real read: no stack fd is involved).
bool read_line(const char* path, std::string& out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t n = libc().read(fd, buf, sizeof buf - 1);
  libc().close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  out.assign(buf, static_cast<size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return true;
}

// Whitespace-separated unsigned numbers.
std::vector<uint32_t> numbers(const char* path) {
  std::vector<uint32_t> v;
  std::string s;
  if (!read_line(path, s)) return v;
  const char* p = s.c_str();
  while (*p != '\0') {
    char* end = nullptr;
    unsigned long n = std::strtoul(p, &end, 10);
    if (end == p) return {};
    v.push_back(static_cast<uint32_t>(std::min<unsigned long>(n, UINT32_MAX)));
    p = end;
    while (*p == ' ' || *p == '\t') ++p;
  }
  return v;
}

void one(const char* path, uint32_t& field) {
  auto v = numbers(path);
  if (v.size() == 1 && v[0] > 0) field = v[0];
}

}  // namespace

void apply_host_sysctls(StackConfig& sc, std::string& notes) {
  one("/proc/sys/net/core/rmem_max", sc.core.rmem_max);
  one("/proc/sys/net/core/wmem_max", sc.core.wmem_max);
  one("/proc/sys/net/core/rmem_default", sc.udp.rcvbuf);
  one("/proc/sys/net/core/wmem_default", sc.udp.sndbuf);
  // tcp_rmem / tcp_wmem: min, default (a new socket's SO_RCVBUF / SO_SNDBUF),
  // max (how far Linux autotunes; the window scale comes from it).
  if (auto v = numbers("/proc/sys/net/ipv4/tcp_rmem"); v.size() == 3) {
    sc.tcp.rmem_initial = v[1];
    sc.tcp.rcvbuf_max = v[2];
  }
  if (auto v = numbers("/proc/sys/net/ipv4/tcp_wmem"); v.size() == 3) {
    sc.tcp.wmem_initial = v[1];
    sc.tcp.sndbuf_max = v[2];
  }
  std::string cc;
  if (read_line("/proc/sys/net/ipv4/tcp_congestion_control", cc) && !cc.empty()) {
    if (tcp::make_congestion_control(cc, 1460, Instant{}) != nullptr) {
      sc.tcp.congestion_control = cc;
    } else {
      notes += "host congestion control '" + cc + "' is not in shunt; new sockets use '" +
               sc.tcp.congestion_control + "'";
    }
  }
}

}  // namespace shunt::preload
