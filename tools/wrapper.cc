#include "tools/wrapper.h"

#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "preload/config.h"
#include "tools/settings.h"

namespace shunt::tools {
namespace {

// `path` made absolute, its directory without symlinks or "..", its file
// name kept: /usr/lib/shunt/libshunt.so stays the symlink to the current
// version, so that a program started before an upgrade still preloads the
// library when it execs another. Empty if the file is not readable.
std::string absolute_library(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) return {};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  char real[PATH_MAX];
  if (realpath(dir.c_str(), real) == nullptr) return {};
  return std::string(real) + (real[1] == '\0' ? "" : "/") + path.substr(slash + 1);
}

// The library next to this program: <bindir>/../preload/libshunt.so in a
// build tree, <prefix>/lib/shunt/libshunt.so when installed; SHUNT_LIBRARY
// overrides. Always an absolute path: the program may change directory
// before it execs another, and glibc ignores a relative LD_PRELOAD in a
// secure-execution program. Empty, with *error set, if there is none.
std::string find_library(std::string* error) {
  if (const char* v = std::getenv("SHUNT_LIBRARY")) {
    std::string lib = absolute_library(v);
    if (lib.empty()) *error = fmt::format("SHUNT_LIBRARY={}: {}", v, std::strerror(errno));
    return lib;
  }
  *error = "cannot find libshunt.so next to this program; set SHUNT_LIBRARY=PATH";
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  exe[n] = '\0';
  std::string dir(exe);
  dir.resize(dir.rfind('/'));
  for (const std::string& cand :
       {dir + "/../preload/libshunt.so", dir + "/../lib/shunt/libshunt.so", dir + "/libshunt.so"}) {
    if (std::string lib = absolute_library(cand); !lib.empty()) return lib;
  }
  return {};
}

}  // namespace

void print_usage() {
  std::printf(
      "usage: shunt [options] -- PROGRAM [ARGS...]\n"
      "       shunt lab up|down|status\n"
      "       shunt ss [-tulanip] [--json] [PID]     a running program's sockets, like ss\n"
      "       shunt stat [--json] [--watch] [PID]    its counters, drops and fault counts\n"
      "       shunt fault PID list|add RULE|del ID|log [N]   change its fault rules while it runs\n"
      "       shunt ab [--scenario iperf3|sockperf|nginx|redis|custom] [--runs N] [--out DIR] ...\n"
      "            the same client on the kernel and on shunt, compared (shunt ab --help)\n"
      "\n"
      "Runs PROGRAM with its AF_INET sockets served by shunt's user-space TCP/IP stack\n"
      "(LD_PRELOAD=libshunt.so). Everything else still goes to the kernel.\n\n"
      "options (each also read from its environment variable; --opt=VALUE works too):\n");
  // "help (repeatable; default: X)"
  auto line = [](const Setting& s) {
    std::string notes = s.repeatable ? "repeatable" : "";
    if (!s.fallback.empty()) {
      notes += (notes.empty() ? "default: " : "; default: ") + plain_text(s.fallback);
    }
    return std::string(s.help) + (notes.empty() ? "" : " (" + notes + ")");
  };
  for (const Setting& s : settings()) {
    if (s.flag.empty()) continue;
    std::printf("  %-13.*s %-13.*s %s [%.*s]\n", static_cast<int>(s.flag.size()), s.flag.data(),
                static_cast<int>(s.arg.size()), s.arg.data(), line(s).c_str(),
                static_cast<int>(s.env.size()), s.env.data());
  }
  std::printf("  %-27s %s\n", "-h, --help", "show this help");
  std::printf("\nenvironment variables without an option:\n");
  for (const Setting& s : settings()) {
    if (!s.flag.empty()) continue;
    std::printf("  %-27.*s %s\n", static_cast<int>(s.env.size()), s.env.data(), line(s).c_str());
  }
  std::printf("\nSee man shunt, or docs/settings.md, for every setting and its default.\n");
}

int wrapper_main(int argc, char** argv) {
  std::string faults;  // --fault rules so far
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      print_usage();
      return 0;
    }
    const Setting* opt = nullptr;
    std::string value;
    for (const Setting& o : settings()) {
      std::string_view f = o.flag;
      if (f.empty()) continue;
      if (a == f) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "shunt: %s needs a value (%s)\n", argv[i],
                       std::string(o.arg).c_str());
          return 2;
        }
        opt = &o;
        value = argv[++i];
        break;
      }
      if (a.size() > f.size() && a.substr(0, f.size()) == f && a[f.size()] == '=') {
        opt = &o;
        value = std::string(a.substr(f.size() + 1));
        break;
      }
    }
    if (opt == nullptr) {
      if (!a.empty() && a[0] != '-') break;  // the program itself, without "--"
      std::fprintf(stderr, "shunt: unknown option '%s' (see shunt --help)\n", argv[i]);
      return 2;
    }
    if (opt->repeatable) {
      // The first --fault replaces an inherited SHUNT_FAULTS; later ones add.
      if (!faults.empty()) faults += "; ";
      faults += value;
      value = faults;
    }
    setenv(std::string(opt->env).c_str(), value.c_str(), 1);
  }
  if (i >= argc) {
    std::fprintf(stderr, "shunt: no program given; usage: shunt [options] -- PROGRAM [ARGS...]\n");
    return 2;
  }
  // Validate everything now, with the library's own parser, so a wrong
  // setting stops before the program runs.
  auto cfg = preload::config_from_env();
  if (!cfg) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return 2;
  }
  if (cfg->device == preload::Config::Device::kTap) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      std::fprintf(stderr,
                   "shunt: cannot open /dev/net/tun for the TAP device %s: %s; run as root or grant "
                   "CAP_NET_ADMIN (or use --packet IFNAME)\n",
                   cfg->ifname.c_str(), std::strerror(errno));
      return 2;
    }
    close(fd);
  } else if (if_nametoindex(cfg->ifname.c_str()) == 0) {
    // (if_nametoindex asks this network namespace; /sys/class/net shows the
    // one that mounted sysfs, which differs under `unshare -n`.)
    std::fprintf(stderr, "shunt: --packet %s: no such interface; see `ip link` for the names\n",
                 cfg->ifname.c_str());
    return 2;
  }
  std::string error;
  std::string lib = find_library(&error);
  if (lib.empty()) {
    std::fprintf(stderr, "shunt: %s\n", error.c_str());
    return 2;
  }
  std::string preload = lib;
  if (const char* old = std::getenv("LD_PRELOAD"); old != nullptr && *old != '\0') {
    preload += ":";
    preload += old;
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  execvp(argv[i], argv + i);
  std::fprintf(stderr, "shunt: cannot run %s: %s\n", argv[i], std::strerror(errno));
  return 127;
}

}  // namespace shunt::tools
