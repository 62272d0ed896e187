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

namespace shunt::tools {
namespace {

struct Option {
  const char* flag;
  const char* env;
  const char* arg;
  const char* help;
};

// Every option and the environment variable the library reads for it.
constexpr Option kOptions[] = {
    {"--tap", "SHUNT_TAP", "IFNAME", "use (or create) the TAP device IFNAME (default: shunt0)"},
    {"--packet", "SHUNT_PACKET", "IFNAME", "use an AF_PACKET socket on the existing interface IFNAME"},
    {"--ip", "SHUNT_IP", "ADDR/PREFIX", "the stack's address (default: 198.18.0.2/24)"},
    {"--gateway", "SHUNT_GATEWAY", "ADDR", "default route (default: none, on-link only)"},
    {"--mac", "SHUNT_MAC", "MAC", "the stack's MAC (default: 02:00 followed by the IPv4 address)"},
    {"--mtu", "SHUNT_MTU", "N", "IP MTU, 576..9000 (default: the device's)"},
    {"--tap-host-ip", "SHUNT_TAP_HOST_IP", "ADDR/PREFIX",
     "kernel side of a TAP shunt creates (default: 198.18.0.1/24)"},
    {"--pcap", "SHUNT_PCAP", "FILE",
     "capture every frame in and out to FILE (pcapng with the faults as comments if it ends in "
     ".pcapng, else pcap)"},
    {"--pcap-filter", "SHUNT_PCAP_FILTER", "EXPR",
     "capture only the frames EXPR matches, e.g. 'port 80' or 'host 198.18.0.1 or arp'"},
    {"--log", "SHUNT_LOG", "LEVEL", "error, warn, info or debug (default: warn)"},
    {"--log-file", "SHUNT_LOG_FILE", "FILE", "log to FILE instead of stderr"},
    {"--loopback", "SHUNT_LOOPBACK", "kernel|stack", "where 127.x sockets go (default: kernel)"},
    {"--fork", "SHUNT_FORK", "parent|child", "who keeps the stack after fork() (default: parent)"},
    {"--busy-poll", "SHUNT_BUSY_POLL_US", "US", "busy-poll microseconds before sleeping (default: 0)"},
    {"--seed", "SHUNT_SEED", "N", "seed for the stack's random choices (default: from the OS)"},
    {"--stats", "SHUNT_STATS", "1|0", "print the stack's counters when the program exits (default: 0)"},
    // Repeatable: the rules are joined with ';' (see docs/faults.md).
    {"--fault", "SHUNT_FAULTS", "RULE", "a fault rule, e.g. 'both drop 2%' (repeatable; default: none)"},
};

// `path` made absolute, its directory without symlinks or "..", its file
// name kept: /usr/lib/shunt/libshunt.so stays the symlink to the current
// version, so that a program started before an upgrade still preloads the
// library when it execs another. Empty if the file is not readable.
std::string absolute_library(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) return {};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
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
  for (const std::string& cand : {dir + "/../preload/libshunt.so", dir + "/../lib/shunt/libshunt.so",
                                  dir + "/libshunt.so"}) {
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
      "       shunt fault PID list|add RULE|del ID   change its fault rules while it runs\n"
      "       shunt ab [--scenario iperf3|sockperf|nginx|redis|custom] [--runs N] [--out DIR] ...\n"
      "            the same client on the kernel and on shunt, compared (shunt ab --help)\n"
      "\n"
      "Runs PROGRAM with its AF_INET sockets served by shunt's user-space TCP/IP stack\n"
      "(LD_PRELOAD=libshunt.so). Everything else still goes to the kernel.\n\n"
      "options (each also read from its environment variable):\n");
  for (const Option& o : kOptions) {
    std::printf("  %-12s %-13s %s [%s]\n", o.flag, o.arg, o.help, o.env);
  }
  std::printf("  %-26s %s\n", "-h, --help", "show this help");
  std::printf("\nSee docs/settings.md for every setting and its default.\n");
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
    const Option* opt = nullptr;
    std::string value;
    for (const Option& o : kOptions) {
      std::string_view f = o.flag;
      if (a == f) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "shunt: %s needs a value (%s)\n", o.flag, o.arg);
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
    if (std::string_view(opt->flag) == "--fault") {
      // The first --fault replaces an inherited SHUNT_FAULTS; later ones add.
      if (!faults.empty()) faults += "; ";
      faults += value;
      value = faults;
    }
    setenv(opt->env, value.c_str(), 1);
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
